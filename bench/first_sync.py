"""First full sync and unchanged re-syncs through a real supervisor (issue 9, figures 3 and 4).

Stash emulator -> ``stashplex run`` -> Plex emulator, on loopback. The reference measured in
the same run is the emulator floor: how fast one client can send the same number of plain edits
straight to a Plex emulator, i.e. the best any sync could do against it on this machine.
Run: ``.venv/bin/python bench/first_sync.py [--scenes 10000]``. Prints figures, asserts nothing.
"""

from __future__ import annotations

import argparse
import time
from collections import Counter
from typing import Any

import psutil
import requests
from _common import figure, publish
from _world import TOKEN, BenchWorld, job_counts, stash_request_counts

from stashplex.sandbox.plex import PlexEmulator

#: Targets of issue 9 for the first full sync.
MIN_SCENES_PER_S = 100.0
MAX_PLEX_REQUESTS_PER_SCENE = 2.0
MAX_STASH_REQUESTS_PER_SCENE = 0.05


def is_poster_upload(method: str, template: str) -> bool:
    return method == "POST" and template.endswith("/posters")


def plex_breakdown(world: BenchWorld) -> dict[str, int]:
    counts = Counter(f"{e.method} {e.template}" for e in world.plex.requests.entries)
    return dict(counts.most_common())


def timed_sync(world: BenchWorld, scenes: int, *, force: bool = False) -> dict[str, Any]:
    """One ``sync all`` from request to finished job, with what it cost on both emulators."""
    supervisor = world.supervisor
    world.reset_counts()
    own = psutil.Process()
    own_cpu_before = sum(own.cpu_times()[:2])
    cpu_before = supervisor.cpu_seconds()
    started = time.perf_counter()
    job_id = supervisor.sync("all", force=force)
    supervisor.wait_job(job_id, timeout=max(120.0, scenes / 10))
    elapsed = time.perf_counter() - started
    cpu = supervisor.cpu_seconds() - cpu_before
    entries = world.plex.requests.entries
    posters = sum(1 for e in entries if is_poster_upload(e.method, e.template))
    return {
        "seconds": round(elapsed, 2),
        "scenes_per_s": round(scenes / elapsed, 1),
        "job": job_counts(world.data_dir, job_id),
        "plex_requests": len(entries) - posters,
        "plex_poster_uploads": posters,
        "plex_writes": world.plex_writes(),
        "plex_breakdown": plex_breakdown(world),
        "stash": stash_request_counts(world.stash),
        "supervisor_cpu_s": round(cpu, 2),
        "bench_process_cpu_s": round(sum(own.cpu_times()[:2]) - own_cpu_before, 2),
    }


def emulator_floor(edits: int) -> float:
    """Plain edits per second one keep-alive client gets from a fresh Plex emulator."""
    plex = PlexEmulator(token=TOKEN).start()
    try:
        section = plex.add_section("Movies", "movie", ["/media/"])
        keys = [plex.add_movie(section, f"/media/f{i}.mp4", title=f"t{i}") for i in range(edits)]
        session = requests.Session()
        headers = {"X-Plex-Token": TOKEN}
        started = time.perf_counter()
        for key in keys:
            session.put(
                f"{plex.url}/library/sections/{section}/all",
                params={"type": "1", "id": str(key), "title.value": "edited", "title.locked": "1"},
                headers=headers,
                timeout=30,
            ).raise_for_status()
        return edits / (time.perf_counter() - started)
    finally:
        plex.stop()


def run(scenes: int) -> dict[str, Any]:
    world = BenchWorld(scenes)
    try:
        world.supervisor.start()
        first = timed_sync(world, scenes)
        lost = len(world.scenes_not_in_plex())
        plain = timed_sync(world, scenes)
        forced = timed_sync(world, scenes, force=True)
        rss = world.supervisor.rss_mb()
    finally:
        world.close()
    floor = emulator_floor(min(scenes, 2000))
    return {
        "scenes": scenes,
        "seed_seconds": round(world.seed_seconds, 2),
        "first_sync": first,
        "scenes_not_in_plex_after_first_sync": lost,
        "resync_unchanged": plain,
        "resync_forced": forced,
        "rss_after_mb": rss,
        "emulator_floor_edits_per_s": round(floor, 1),
    }


def figures_of(result: dict[str, Any]) -> list[dict[str, Any]]:
    scenes = result["scenes"]
    first, plain, forced = result["first_sync"], result["resync_unchanged"], result["resync_forced"]
    floor = f"emulator floor {result['emulator_floor_edits_per_s']:,.0f} plain edits/s"
    plex_per_scene = first["plex_requests"] / scenes
    graphql_per_scene = first["stash"]["graphql"] / scenes
    return [
        figure(
            f"first sync of {scenes:,} scenes",
            first["scenes_per_s"],
            "scenes/s",
            target=f">= {MIN_SCENES_PER_S:g}",
            met=first["scenes_per_s"] >= MIN_SCENES_PER_S,
            reference=floor,
        ),
        figure("first sync wall time", first["seconds"], "s"),
        figure(
            "first sync Plex requests per scene (posters excluded)",
            round(plex_per_scene, 3),
            "req",
            target=f"<= {MAX_PLEX_REQUESTS_PER_SCENE:g}",
            met=plex_per_scene <= MAX_PLEX_REQUESTS_PER_SCENE,
        ),
        figure(
            "first sync Plex poster uploads per scene",
            round(first["plex_poster_uploads"] / scenes, 3),
            "req",
        ),
        figure(
            "first sync Stash GraphQL requests per scene",
            round(graphql_per_scene, 4),
            "req",
            target=f"<= {MAX_STASH_REQUESTS_PER_SCENE:g}",
            met=graphql_per_scene <= MAX_STASH_REQUESTS_PER_SCENE,
        ),
        figure(
            "first sync Stash image downloads per scene",
            round(first["stash"]["images"] / scenes, 3),
            "req",
        ),
        figure(
            "first sync supervisor CPU per 1,000 scenes",
            round(first["supervisor_cpu_s"] / scenes * 1000, 2),
            "s",
            reference=f"emulators (bench process) "
            f"{first['bench_process_cpu_s'] / scenes * 1000:.2f} s per 1,000",
        ),
        figure(
            "scenes missing from Plex after first sync",
            result["scenes_not_in_plex_after_first_sync"],
            "",
            target="0",
            met=result["scenes_not_in_plex_after_first_sync"] == 0,
        ),
        figure(
            "unchanged re-sync (fingerprint skip): Plex writes",
            plain["plex_writes"],
            "PUT+POST",
            target="0",
            met=plain["plex_writes"] == 0,
        ),
        figure(
            "unchanged re-sync (fingerprint skip): time",
            plain["seconds"],
            "s",
            reference=f"{plain['job'].get('skipped')} skipped, {plain['plex_requests']} Plex req",
        ),
        figure(
            "unchanged re-sync (force): Plex writes",
            forced["plex_writes"],
            "PUT+POST",
            target="0",
            met=forced["plex_writes"] == 0,
        ),
        figure(
            "unchanged re-sync (force): time",
            forced["seconds"],
            "s",
            reference=f"{forced['plex_requests'] / scenes:.3f} Plex req/scene",
        ),
    ]


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenes", type=int, default=10_000)
    options = parser.parse_args(argv)
    result = run(options.scenes)
    figures = figures_of(result)
    publish("first_sync", f"first sync and re-syncs, {options.scenes:,} scenes", result, figures)
    return result


if __name__ == "__main__":
    main()
