"""Scale: path-index build time against library size, and the supervisor's memory (issue 9, 5).

Three measurements:
- Index build: ``IndexBuilder.build`` over plexapi against a seeded emulator in its own process,
  at 10k, 50k and 100k items, beside the raw HTTP fetch of the same pages (the server's share).
- Loaded RSS: a supervisor syncing 10,000 scenes against a 100,000-item Plex library, sampled
  every 0.25 s while its queues hold the jobs; the peak is reported.
- Idle RSS: a supervisor started with nothing to do, after it settles.
Run: ``.venv/bin/python bench/scale.py [--items 10000,50000,100000] [--scenes 10000]``.
"""

from __future__ import annotations

import argparse
import threading
import time
from typing import Any
from xml.etree import ElementTree

import requests
from _common import figure, peak_rss_mb, publish
from _plex_process import TOKEN, EmulatorProcess
from _world import BenchWorld
from plexapi.server import PlexServer

from stashplex.plex.index import PAGE_SIZE, IndexBuilder, PathIndex

MAX_LOADED_RSS_MB = 150.0
#: Index build time per item may grow by this factor from the smallest to the largest library
#: and still count as linear.
LINEAR_SLACK = 1.5


def raw_pages(url: str, builder: IndexBuilder) -> tuple[float, int]:
    """Fetch every page the builder fetches, without parsing: seconds and bytes."""
    session = requests.Session()
    headers = {"X-Plex-Token": TOKEN}
    started = time.perf_counter()
    size = 0
    for section in builder.load_sections():
        listing = "1" if section.type == "movie" else "4"
        start = 0
        while True:
            reply = session.get(
                f"{url}/library/sections/{section.key}/all",
                params={"type": listing},
                headers={
                    **headers,
                    "X-Plex-Container-Start": str(start),
                    "X-Plex-Container-Size": str(PAGE_SIZE),
                },
                timeout=120,
            )
            reply.raise_for_status()
            size += len(reply.content)
            total = ElementTree.fromstring(reply.content).get("totalSize")
            start += PAGE_SIZE
            if start >= int(total or 0):
                break
    return time.perf_counter() - started, size


def index_build(items: int) -> dict[str, Any]:
    emulator = EmulatorProcess(items)
    try:
        plex = PlexServer(emulator.url, TOKEN, session=requests.Session(), timeout=120)
        builder = IndexBuilder(plex, libraries=())
        started = time.perf_counter()
        index = builder.build(PathIndex())
        seconds = time.perf_counter() - started
        raw_seconds, raw_bytes = raw_pages(emulator.url, IndexBuilder(plex, libraries=()))
    finally:
        emulator.stop()
    return {
        "items": items,
        "indexed": len(index),
        "requests": builder.requests,
        "seconds": round(seconds, 2),
        "us_per_item": round(seconds / max(1, items) * 1e6, 1),
        "raw_http_seconds": round(raw_seconds, 2),
        "raw_http_mb": round(raw_bytes / 2**20, 1),
    }


class RssSampler(threading.Thread):
    """Peak RSS of the watchdog and host, and the deepest queues seen, while a sync runs."""

    def __init__(self, world: BenchWorld) -> None:
        super().__init__(daemon=True)
        self.world = world
        self.stopping = threading.Event()
        self.peak: dict[str, float] = {"watchdog": 0.0, "host": 0.0, "total": 0.0}
        self.deepest_queue = 0
        self.samples = 0

    def run(self) -> None:
        ticks = 0
        while not self.stopping.wait(0.25):
            rss = self.world.supervisor.rss_mb()
            for role, value in rss.items():
                self.peak[role] = max(self.peak[role], value)
            self.peak["total"] = max(self.peak["total"], sum(rss.values()))
            self.samples += 1
            ticks += 1
            if ticks % 4 == 0:
                try:
                    depths = self.world.supervisor.status()["mailboxes"]
                except (OSError, RuntimeError):
                    continue
                self.deepest_queue = max(self.deepest_queue, sum(depths.values()))


def loaded_rss(scenes: int, library_items: int) -> dict[str, Any]:
    world = BenchWorld(scenes)
    try:
        movies = world.world.sections[""]
        started = time.perf_counter()
        world.plex.seed(max(0, library_items - len(world.world.files)), seed=7, sections=[movies])
        seeded = time.perf_counter() - started
        world.supervisor.start()
        # One scene first: the host builds its whole path index but has almost nothing queued.
        one = world.supervisor.sync("scenes", scene_ids=world.world.scene_ids[:1])
        world.supervisor.wait_job(one, timeout=300, interval=0.5)
        index_only = world.supervisor.rss_mb()
        sampler = RssSampler(world)
        sampler.start()
        started = time.perf_counter()
        job_id = world.supervisor.sync("all")
        world.supervisor.wait_job(job_id, timeout=max(300.0, scenes / 5), interval=1.0)
        seconds = time.perf_counter() - started
        sampler.stopping.set()
        sampler.join()
        status = world.supervisor.status()
        after = world.supervisor.rss_mb()
    finally:
        world.close()
    return {
        "scenes": scenes,
        "library_items": status["index_items"],
        "extra_items_seed_seconds": round(seeded, 1),
        "sync_seconds": round(seconds, 1),
        "index_only_rss_mb": index_only,
        "peak_rss_mb": sampler.peak,
        "rss_after_mb": after,
        "deepest_queue": sampler.deepest_queue,
        "samples": sampler.samples,
    }


def idle_rss(settle_s: float) -> dict[str, Any]:
    world = BenchWorld(0)
    try:
        world.supervisor.start()
        time.sleep(settle_s)
        peak = peak_rss_mb(world.supervisor)
        status_rss = world.supervisor.status()["rss_mb"]
    finally:
        world.close()
    return {"settle_s": settle_s, "rss_mb": peak, "host_says_mb": status_rss}


def run(sizes: list[int], scenes: int, library_items: int, settle_s: float) -> dict[str, Any]:
    return {
        "index_builds": [index_build(items) for items in sizes],
        "idle": idle_rss(settle_s),
        "loaded": loaded_rss(scenes, library_items),
    }


def figures_of(result: dict[str, Any]) -> list[dict[str, Any]]:
    builds = result["index_builds"]
    rows = [
        figure(
            f"index build, {b['items']:,} items ({b['indexed']:,} indexed, {b['requests']} req)",
            b["seconds"],
            "s",
            reference=f"raw HTTP of the same pages {b['raw_http_seconds']} s, "
            f"{b['raw_http_mb']} MB; {b['us_per_item']} us/item",
        )
        for b in builds
    ]
    if len(builds) >= 2:
        growth = builds[-1]["us_per_item"] / builds[0]["us_per_item"]
        rows.append(
            figure(
                f"index build time per item, {builds[-1]['items']:,} vs {builds[0]['items']:,}",
                round(growth, 2),
                "x",
                target=f"<= {LINEAR_SLACK:g} (linear)",
                met=growth <= LINEAR_SLACK,
            )
        )
    loaded, idle = result["loaded"], result["idle"]
    peak = loaded["peak_rss_mb"]
    rows += [
        figure(
            f"supervisor RSS peak, watchdog + host, {loaded['library_items']:,}-item library, "
            f"{loaded['scenes']:,} jobs (deepest queue {loaded['deepest_queue']:,})",
            round(peak["total"], 1),
            "MB",
            target=f"<= {MAX_LOADED_RSS_MB:g}",
            met=peak["total"] <= MAX_LOADED_RSS_MB,
            reference=f"host {peak['host']} MB (with the index built and 1 job: "
            f"{loaded['index_only_rss_mb']['host']} MB), watchdog {peak['watchdog']} MB",
        ),
        figure(
            "supervisor RSS, watchdog + host, host up with nothing to do (fresh start)",
            round(idle["rss_mb"]["host"] + idle["rss_mb"]["watchdog"], 1),
            "MB",
            reference=f"host {idle['rss_mb']['host']} MB, watchdog {idle['rss_mb']['watchdog']} "
            "MB; the idle target is footprint.py's (host asleep after idle_stop_minutes)",
        ),
        figure("sync of the loaded run", loaded["sync_seconds"], "s"),
    ]
    return rows


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", default="10000,50000,100000", help="index sizes, comma list")
    parser.add_argument("--scenes", type=int, default=10_000, help="jobs of the loaded run")
    parser.add_argument("--library", type=int, default=100_000, help="Plex items, loaded run")
    parser.add_argument("--settle", type=float, default=10.0, help="idle seconds before sampling")
    options = parser.parse_args(argv)
    sizes = [int(part) for part in options.items.split(",") if part.strip()]
    result = run(sizes, options.scenes, options.library, options.settle)
    figures = figures_of(result)
    publish("scale", "scale: index build and supervisor memory", result, figures)
    return result


if __name__ == "__main__":
    main()
