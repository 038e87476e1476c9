"""A Stash scan storm: 5,000 new files, one ``Scene.Create.Post`` each, before Plex has any.

Every scene's job finds no Plex item and waits for Plex with the others, on one shared timer,
instead of each starting a not-found retry chain of its own; Plex is asked to scan their
folders a bounded number of times. When Plex has scanned the files, one index refresh finds them
and the waiting jobs go on together.

The same storm against the code before this design (per-job not-found retries; 1 s refresh
interval, not-found base 1 s and cap 4 s, Plex scanning after 9 s): 1,251 Plex requests while
waiting (1,232 of them folder scans), 1,692 in all, up to 1,365 retry timers held by the
Scheduler at once, everything written after 35 s. This design: 18 while waiting (6 folder
scans), 143 in all, at most 2 timers, everything written after about 20 s.
"""

from __future__ import annotations

import threading
import time
from collections import Counter

import pytest

from actors.scheduler import open_store as scheduler_store
from stashplex.plex.state import GatewayState
from tests.support.hooks import InProcessHooks
from tests.support.waiting import wait_until
from tests.support.world import SyncWorld

FILES = 5000
FOLDERS = 100


class TimerSampler:
    """The most timers (other than the recurring ones) the Scheduler held at any sample."""

    def __init__(self, world: SyncWorld) -> None:
        self.world = world
        self.most = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.1):
            store = scheduler_store(self.world.data)
            try:
                held = store.scalar("SELECT COUNT(*) FROM timers WHERE every_s IS NULL")
            finally:
                store.close()
            self.most = max(self.most, int(held or 0))

    def stop(self) -> int:
        self._stop.set()
        self._thread.join(5)
        return self.most


def waiting_for_plex(world: SyncWorld) -> int:
    state = GatewayState(world.data)
    try:
        return int(state.store.scalar("SELECT COUNT(*) FROM awaiting") or 0)
    finally:
        state.store.close()


def scenes_written(world: SyncWorld) -> int:
    state = GatewayState(world.data)
    try:
        return int(state.store.scalar("SELECT COUNT(DISTINCT scene_id) FROM written") or 0)
    finally:
        state.store.close()


def by_kind(world: SyncWorld) -> Counter[str]:
    return Counter(f"{e.method} {e.template}" for e in world.plex.requests.entries)


@pytest.mark.slow
def test_a_5000_file_scan_storm_waits_for_plex_together_with_plex_requests_bounded(tmp_path):
    # Given a Plex movie library at /media/ and a running pipeline, its hooks delivered by the
    # supervisor's own handler (a hook process per file would take minutes)
    world = SyncWorld(tmp_path)
    try:
        section = world.plex.add_section("Movies", "movie", ["/media/"])
        world.start(not_found_base_seconds=1, not_found_cap_seconds=4)
        world.stash.runner = InProcessHooks(world)
        world.wait_idle()
        world.plex.requests.reset()
        timers = TimerSampler(world)
        started = time.monotonic()

        # When a Stash scan finds 5,000 new files in 100 folders, before Plex has scanned any
        paths = [f"/data/storm/studio{i % FOLDERS:03d}/scene{i:05d}.mp4" for i in range(FILES)]
        scan = world.stash.scan_new_files(paths, generate_covers=False)
        assert len(scan.scene_ids) == FILES and world.stash.runner.delivered == FILES

        # Then every scene's job waits for Plex, on one shared timer, and Plex was asked for a
        # bounded number of folder scans (collapsed to the studios' common folder)
        wait_until(lambda: waiting_for_plex(world) == FILES, timeout=40, message="all waiting")
        waited = time.monotonic()
        time.sleep(3)  # a few rechecks find nothing new
        before_plex = by_kind(world)

        # When Plex scans the files in on its own
        for path in paths:
            world.plex.put_on_disk(path.replace("/data/", "/media/"), duration_ms=60_000)
        world.plex.scan_now(section)

        # Then one refresh finds them and every scene reaches Plex, with no dead letter
        wait_until(lambda: scenes_written(world) == FILES, timeout=40, message="all written")
        world.wait_idle(include_scheduler=False)
        assert world.dead_letters() == []
        assert waiting_for_plex(world) == 0
        total = by_kind(world)
        most_timers = timers.stop()
        print(
            f"\nscan storm of {FILES}: waiting after {waited - started:.1f} s, all written after "
            f"{time.monotonic() - started:.1f} s; Plex requests while waiting "
            f"{sum(before_plex.values())} {dict(before_plex)}; in all {sum(total.values())} "
            f"{dict(total)}; most timers held by the Scheduler: {most_timers}"
        )
        scans = "GET /library/sections/{id}/refresh"
        assert before_plex[scans] <= 12, before_plex
        assert sum(before_plex.values()) <= 40, before_plex
        assert sum(total.values()) <= 300, total  # detail reads in batches, no per-scene chatter
        assert most_timers <= 5
    finally:
        world.stash.runner = None
        world.close()
