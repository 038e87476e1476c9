"""Outage: Plex answers 503 to everything for 60 s in the middle of a sync (issue 9, figure 7).

The emulator keeps listening and counts every request while it refuses them
(``faults.status(503)``), so the figure "requests sent while Plex was down" is exact; the
circuit breaker should keep it to a handful. The supervisor runs with the default settings
(``breaker_failures`` 5, ``breaker_reset_seconds`` 60, transient retries 5 from 5 s) unless
``--breaker-reset`` says otherwise. Afterwards: time from Plex's recovery to a drained queue
(job finished, no mailbox or timer left), dead letters, and scenes missing from Plex.
Run: ``.venv/bin/python bench/outage.py [--scenes 10000] [--outage 60]``.
"""

from __future__ import annotations

import argparse
import time
from collections import Counter
from typing import Any

from _common import figure, publish
from _world import BenchTimeoutError, BenchWorld, wait_for

#: Bound on waiting for the queue to drain after Plex is back (two breaker intervals and the
#: rest of a 10,000-scene sync fit well inside it).
SETTLE_TIMEOUT_S = 900.0
#: Issue 19: the first request within this many seconds of Plex answering again.
MAX_FIRST_REQUEST_S = 2.0


def jobs_done(world: BenchWorld) -> int:
    return int(world.supervisor.status()["counters"].get("jobs_done", 0))


def run(scenes: int, outage_s: float, start_fraction: float, breaker_reset: float | None) -> dict:
    settings = {} if breaker_reset is None else {"breaker_reset_seconds": breaker_reset}
    world = BenchWorld(scenes, **settings)
    try:
        world.supervisor.start()
        world.reset_counts()
        job_id = world.supervisor.sync("all")
        started = time.perf_counter()
        wait_for(
            lambda: jobs_done(world) >= int(start_fraction * scenes),
            timeout=max(300.0, scenes / 10),
            interval=0.1,
            what="the outage's start point",
        )
        done_at_outage = jobs_done(world)
        world.plex.faults.status(503)
        down_at = time.time()
        time.sleep(outage_s)
        breaker_during = world.supervisor.status()["breaker"]
        timers_during = world.supervisor.status()["timers"]
        world.plex.faults.clear()
        up_at = time.time()
        up_clock = time.perf_counter()
        try:
            world.supervisor.wait_job(job_id, timeout=SETTLE_TIMEOUT_S, interval=0.25)
            finished_s: float | None = time.perf_counter() - up_clock
        except BenchTimeoutError:
            finished_s = None
        wait_for(
            lambda: world.supervisor.idle(include_scheduler=True),
            timeout=SETTLE_TIMEOUT_S,
            interval=0.5,
            what="a drained pipeline",
        )
        drained_s = time.perf_counter() - up_clock
        total_s = time.perf_counter() - started
        entries = world.plex.requests.entries
        during = [e for e in entries if down_at <= e.at < up_at]
        first_after = min((e.at for e in entries if e.at >= up_at), default=None)
        lost = world.scenes_not_in_plex()
        status = world.supervisor.status()
    finally:
        world.close()
    return {
        "scenes": scenes,
        "outage_s": outage_s,
        "breaker_reset_seconds": breaker_reset if breaker_reset is not None else "default (60)",
        "jobs_done_at_outage": done_at_outage,
        "requests_during_outage": len(during),
        "requests_during_outage_by_kind": dict(
            Counter(f"{e.method} {e.template}" for e in during).most_common()
        ),
        "request_times_during_outage_s": [round(e.at - down_at, 2) for e in during],
        "breaker_at_end_of_outage": breaker_during,
        "timers_at_end_of_outage": timers_during,
        "first_request_after_recovery_s": (
            None if first_after is None else round(first_after - up_at, 2)
        ),
        "job_finished_after_recovery_s": None if finished_s is None else round(finished_s, 1),
        "drained_after_recovery_s": round(drained_s, 1),
        "whole_sync_s": round(total_s, 1),
        "dead_letters": status["dead_letters"],
        "lost_updates": len(lost),
    }


def figures_of(r: dict[str, Any]) -> list[dict[str, Any]]:
    probes = r["requests_during_outage_by_kind"].get("GET /identity", 0)
    first = r["first_request_after_recovery_s"]
    return [
        figure(
            f"Plex 503 for {r['outage_s']:g} s from scene {r['jobs_done_at_outage']:,} of "
            f"{r['scenes']:,}: requests that reached Plex meanwhile",
            r["requests_during_outage"],
            "req",
            target="<= 1 probe/s",
            met=probes <= r["outage_s"],
            reference=f"{probes} probes (GET /identity); breaker_reset_seconds "
            f"{r['breaker_reset_seconds']}; at {r['request_times_during_outage_s'][:12]} s",
        ),
        figure(
            "first Plex request after recovery",
            first,
            "s",
            target=f"<= {MAX_FIRST_REQUEST_S:g}",
            met=first is not None and first <= MAX_FIRST_REQUEST_S,
            reference=f"breaker then: {r['breaker_at_end_of_outage'].get('state')}",
        ),
        figure(
            "recovery to drained queue",
            r["drained_after_recovery_s"],
            "s",
            reference=f"{r['scenes'] - r['jobs_done_at_outage']:,} scenes were left, "
            f"{(r['scenes'] - r['jobs_done_at_outage']) / r['drained_after_recovery_s']:.0f} "
            f"scenes/s; job finished after {r['job_finished_after_recovery_s']} s; whole sync "
            f"{r['whole_sync_s']} s",
        ),
        figure(
            "dead letters / lost updates after the outage",
            f"{sum(r['dead_letters'].values())} / {r['lost_updates']}",
            "",
            target="0 / 0",
            met=not r["dead_letters"] and r["lost_updates"] == 0,
        ),
    ]


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenes", type=int, default=10_000)
    parser.add_argument("--outage", type=float, default=60.0, help="seconds of 503")
    parser.add_argument("--at", type=float, default=0.2, help="fraction done when Plex fails")
    parser.add_argument("--breaker-reset", type=float, default=None, help="override the default")
    options = parser.parse_args(argv)
    result = run(options.scenes, options.outage, options.at, options.breaker_reset)
    figures = figures_of(result)
    publish("outage", f"Plex outage during a {options.scenes:,}-scene sync", result, figures)
    return result


if __name__ == "__main__":
    main()
