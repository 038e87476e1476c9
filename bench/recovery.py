"""Recovery: SIGKILL the whole supervisor mid-sync, restart it, count what was lost (issue 9, 6).

A 10,000-scene ``sync all`` runs through a real supervisor; at a random point (a seeded fraction
of the scenes done) the watchdog and its host are killed together with SIGKILL, as a power cut
would. A new supervisor is started at once and the benchmark measures:
- time until it answers ``ping`` and until a hook frame is acknowledged (probed every 5 ms from
  here over the real socket, so no hook process can spawn a rival supervisor meanwhile), then
  one real hook process right after;
- time until the killed job finishes, and the Plex writes the restart cost;
- lost updates: scenes whose Plex items lack their synced, locked title (must be 0), including
  scenes edited in Stash while the supervisor was dead and reported only by a hook afterwards.
Run: ``.venv/bin/python bench/recovery.py [--scenes 10000] [--seed 7]``.
"""

from __future__ import annotations

import argparse
import random
import re
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from _common import figure, figure_rows, print_table, save
from _world import (
    BenchTimeout,
    BenchWorld,
    hook_event,
    hook_stdin,
    install_hook,
    run_hook,
    wait_for,
)

from stashplex.ipc import send_request

MAX_HOOKS_BACK_S = 1.0
EDITED_WHILE_DOWN = 20


def jobs_done(world: BenchWorld) -> int:
    try:
        return int(world.supervisor.status()["counters"].get("jobs_done", 0))
    except (OSError, RuntimeError):
        return 0


def first_acknowledgements(world: BenchWorld, scene_id: str, timeout: float) -> dict[str, float]:
    """Seconds (from now) until ``ping`` and a ``hook`` frame are first answered ``ok``."""
    started = time.perf_counter()
    seen: dict[str, float] = {}
    probes = {
        "ping": {"v": 1, "type": "ping"},
        "hook": {"v": 1, "type": "hook", "event": hook_event(scene_id)},
    }
    while len(seen) < len(probes):
        if time.perf_counter() - started > timeout:
            raise BenchTimeout(f"the restarted supervisor did not answer in {timeout:.0f} s")
        for name, message in probes.items():
            if name in seen:
                continue
            try:
                reply = send_request(world.data_dir, message, timeout=1)
            except OSError:
                continue
            if reply.get("ok"):
                seen[name] = time.perf_counter() - started
        time.sleep(0.005)
    return seen


LOG_LINE = re.compile(
    r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) \w+ \[(\d+) [^\]]*\] ([\w.]+): (.*)$"
)


def startup_timeline(host_log: Path, pid: int) -> dict[str, float]:
    """Seconds from the host's first log line to each actor's "started" and to "ready".

    It is the evidence of where a restart spends its time, read from the product's own log.
    """
    stamps: list[tuple[float, str]] = []
    for line in host_log.read_text(errors="replace").splitlines():
        match = LOG_LINE.match(line)
        if not match or int(match.group(2)) != pid:
            continue
        moment = datetime.strptime(match.group(1), "%Y-%m-%d %H:%M:%S,%f").timestamp()
        stamps.append((moment, match.group(4)))
    if not stamps:
        return {}
    first = stamps[0][0]
    timeline: dict[str, float] = {}
    for moment, text in stamps:
        if text.startswith("started ") or text.startswith("actor host") and "ready" in text:
            name = text.removeprefix("started ") if text.startswith("started ") else "ready"
            timeline.setdefault(name, round(moment - first, 3))
    return timeline


def idle_restart_seconds(world: BenchWorld) -> float:
    """The reference: a clean stop and start of the same supervisor with empty queues."""
    world.supervisor.stop()
    started = time.perf_counter()
    world.supervisor.start(wait=False)
    wait_for(world.supervisor.answering, timeout=60, interval=0.005, what="ping")
    return time.perf_counter() - started


def run(scenes: int, seed: int, *, keep: bool = False) -> dict[str, Any]:
    chooser = random.Random(seed)  # noqa: S311 - a reproducible kill point, not security
    fraction = chooser.uniform(0.1, 0.9)
    world = BenchWorld(scenes)
    try:
        hook = install_hook(world)
        world.supervisor.start()
        job_id = world.supervisor.sync("all")
        kill_after = int(fraction * scenes)
        wait_for(
            lambda: jobs_done(world) >= kill_after,
            timeout=max(300.0, scenes / 10),
            interval=0.1,
            what=f"{kill_after} scenes done",
        )
        done_at_kill = jobs_done(world)
        writes_before_kill = world.plex_writes()
        world.supervisor.kill_group()
        killed_at = time.perf_counter()

        edited = chooser.sample(world.world.scene_ids, EDITED_WHILE_DOWN)
        for scene_id in edited:
            world.stash.update_scene(scene_id, title=f"Edited while down {scene_id}")

        restarted_at = time.perf_counter()
        world.supervisor.start(wait=False)
        acks = first_acknowledgements(world, edited[0], timeout=60)
        restarted_pid = int(world.supervisor.status()["pid"])
        hook_runs = [run_hook(hook, hook_stdin(world.stash, sid)) for sid in edited[1:]]

        try:
            world.supervisor.wait_job(job_id, timeout=max(300.0, scenes / 5), interval=0.25)
            job_seconds: float | None = time.perf_counter() - restarted_at
        except BenchTimeout:
            job_seconds = None
        wait_for(
            lambda: world.supervisor.idle(include_scheduler=True),
            timeout=300,
            interval=0.5,
            what="an idle pipeline",
        )
        drained_seconds = time.perf_counter() - restarted_at
        lost = world.scenes_not_in_plex()
        status = world.supervisor.status()
        reference = idle_restart_seconds(world)
        timeline = startup_timeline(world.data_dir / "logs" / "host.log", restarted_pid)
    finally:
        world.close(keep=keep)
    writes_total = status["counters"].get("jobs_done", 0)
    return {
        "scenes": scenes,
        "seed": seed,
        "killed_after_fraction": round(fraction, 3),
        "jobs_done_at_kill": done_at_kill,
        "plex_writes_before_kill": writes_before_kill,
        "plex_writes_total": world.plex_writes(),
        "down_seconds": round(restarted_at - killed_at, 3),
        "ping_after_restart_s": round(acks["ping"], 3),
        "hook_frame_after_restart_s": round(acks["hook"], 3),
        "hook_process_after_restart_s": round(hook_runs[0].seconds, 3) if hook_runs else None,
        "hook_processes_queued": sum(run.queued for run in hook_runs),
        "hook_processes": len(hook_runs),
        "job_finished_after_restart_s": None if job_seconds is None else round(job_seconds, 1),
        "drained_after_restart_s": round(drained_seconds, 1),
        "lost_updates": len(lost),
        "lost_examples": lost[:10],
        "edited_while_down": len(edited),
        "jobs_done_counter": writes_total,
        "idle_restart_ping_s": round(reference, 3),
        "restart_timeline_s": timeline,
        "dead_letters": status["dead_letters"],
        "restarts": status["restarts"],
    }


def figures_of(r: dict[str, Any]) -> list[dict[str, Any]]:
    hooks_back = max(r["ping_after_restart_s"], r["hook_frame_after_restart_s"])
    return [
        figure(
            f"SIGKILL of the process group at {r['jobs_done_at_kill']:,}/{r['scenes']:,} scenes: "
            "ping answered after restart",
            r["ping_after_restart_s"],
            "s",
            reference=f"idle restart of the same supervisor {r['idle_restart_ping_s']} s",
        ),
        figure(
            "restarted host: seconds from first log line to each actor started, and ready",
            ", ".join(f"{k} {v}" for k, v in r["restart_timeline_s"].items()),
            "",
        ),
        figure(
            "hook frame acknowledged after restart",
            r["hook_frame_after_restart_s"],
            "s",
            target=f"<= {MAX_HOOKS_BACK_S:g}",
            met=hooks_back <= MAX_HOOKS_BACK_S,
            reference=f"then a real hook process took {r['hook_process_after_restart_s']} s; "
            f"{r['hook_processes_queued']}/{r['hook_processes']} hook processes queued",
        ),
        figure(
            "killed sync finished after restart",
            r["job_finished_after_restart_s"] if r["job_finished_after_restart_s"] else "never",
            "s",
            reference=f"pipeline drained after {r['drained_after_restart_s']} s",
        ),
        figure(
            "lost updates after recovery",
            r["lost_updates"],
            f"of {r['scenes']:,} scenes ({r['edited_while_down']} edited while down)",
            target="0",
            met=r["lost_updates"] == 0,
        ),
        figure(
            "Plex writes (PUT+POST) over the whole run",
            r["plex_writes_total"],
            "",
            reference=f"{r['plex_writes_before_kill']:,} before the kill",
        ),
    ]


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenes", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=7, help="chooses the kill point")
    parser.add_argument("--keep", action="store_true", help="keep the data dir and logs")
    options = parser.parse_args(argv)
    result = run(options.scenes, options.seed, keep=options.keep)
    figures = figures_of(result)
    print_table(f"recovery from SIGKILL, {options.scenes:,} scenes", figure_rows(figures))
    save("recovery", {"figures": figures, "details": result})
    return result


if __name__ == "__main__":
    main()
