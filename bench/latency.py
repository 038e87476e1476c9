"""First sync against a Plex with real latency (issue 19): measured rate next to the server's bound.

The Plex emulator answers in about a millisecond; a real Plex Media Server spends tens of
milliseconds per edit and serves a few requests at once. Here the emulator's latency model
(``configure_latency``: base ms per request, extra ms per upload, N requests served at once) is
switched on after seeding, a real supervisor runs a full sync, and the rate is printed next to
the bound that server allows for the request mix the sync actually sent
(``stashplex.sandbox.plex.latency.max_rate``), with the share of it reached. The target
(issue 19) is 10,000 scenes at the default ``plex_concurrency``; ``plex_concurrency`` 1 runs
as a reference row on fewer scenes (one request at a time takes ~4x as long). The sync runs
under ``lean_emulators`` (``_common``): the model, not the emulators' GIL, is the server.
Run: ``.venv/bin/python bench/latency.py [--scenes 10000] [--latency-ms 20,50]
[--reference-scenes 500]``. Asserts nothing.
"""

from __future__ import annotations

import argparse
from typing import Any

from _common import figure, lean_emulators, publish
from _world import BenchWorld
from first_sync import is_poster_upload, timed_sync

from stashplex.config.settings import Settings
from stashplex.sandbox.plex.latency import LatencySettings, RequestShape, max_rate

#: Requests a server of this kind serves at once (issue 19's reference server).
SERVER_SLOTS = 4
#: A poster upload costs the server this much more than an edit (image processing).
UPLOAD_EXTRA_MS = 20.0
#: Target: the measured rate is at least this share of the bound.
MIN_SHARE_OF_BOUND = 0.8


def one_run(scenes: int, latency_ms: float, concurrency: int) -> dict[str, Any]:
    world = BenchWorld(scenes, plex_concurrency=concurrency)
    try:
        world.plex.configure_latency(
            base_ms=latency_ms, upload_ms=UPLOAD_EXTRA_MS, concurrency=SERVER_SLOTS
        )
        world.supervisor.start()
        with lean_emulators():
            sync = timed_sync(world, scenes)
        entries = world.plex.requests.entries
        uploads = sum(1 for e in entries if is_poster_upload(e.method, e.template))
        mix = [
            RequestShape("request", weight=len(entries) - uploads),
            RequestShape("upload", weight=max(uploads, 0), upload=True),
        ]
        settings = LatencySettings(
            base_ms=latency_ms, upload_ms=UPLOAD_EXTRA_MS, concurrency=SERVER_SLOTS
        )
        bound = max_rate(settings, [shape for shape in mix if shape.weight > 0])
        requests_per_scene = len(entries) / scenes
        return {
            "scenes": scenes,
            "latency_ms": latency_ms,
            "plex_concurrency": concurrency,
            "scenes_per_s": sync["scenes_per_s"],
            "seconds": sync["seconds"],
            "requests_per_scene": round(requests_per_scene, 3),
            "bound_scenes_per_s": round(bound.requests_per_second / requests_per_scene, 1),
            "job": sync["job"],
        }
    finally:
        world.close()


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenes", type=int, default=10_000)
    parser.add_argument("--latency-ms", default="20,50")
    parser.add_argument(
        "--concurrency",
        default=str(Settings().plex_concurrency),
        help="plex_concurrency values to run (default: the setting's default)",
    )
    parser.add_argument(
        "--reference-scenes",
        type=int,
        default=500,
        help="scenes of the plex_concurrency 1 reference rows (0: none; within the sync's "
        "120 s wait at 50 ms)",
    )
    options = parser.parse_args(argv)
    plan = [
        (options.scenes, float(ms), int(workers))
        for ms in options.latency_ms.split(",")
        for workers in options.concurrency.split(",")
    ]
    if options.reference_scenes:
        plan += [(options.reference_scenes, float(ms), 1) for ms in options.latency_ms.split(",")]
    runs = []
    for step in plan:
        runs.append(one_run(*step))
        print(f"run done: {runs[-1]}", flush=True)  # a later run's failure keeps this one
    figures = []
    for run in runs:
        share = run["scenes_per_s"] / run["bound_scenes_per_s"]
        reaches = run["plex_concurrency"] > 1  # one at a time is a reference only
        figures.append(
            figure(
                f"first sync of {run['scenes']:,} scenes at {run['latency_ms']:g} ms/request, "
                f"{SERVER_SLOTS} served at once, plex_concurrency {run['plex_concurrency']}",
                run["scenes_per_s"],
                "scenes/s",
                target=f">= {MIN_SHARE_OF_BOUND:.0%} of the bound" if reaches else "",
                met=share >= MIN_SHARE_OF_BOUND if reaches else None,
                reference=f"bound {run['bound_scenes_per_s']} scenes/s ({share:.0%}), "
                f"{run['requests_per_scene']} requests/scene",
            )
        )
    result = {"scenes": options.scenes, "runs": runs}
    title = f"first sync against a slow Plex, {options.scenes:,} scenes"
    publish("latency", title, result, figures)
    return result


if __name__ == "__main__":
    main()
