"""PlexGateway against a Plex with latency (issue 19): plex_concurrency bounds the requests in
Plex, and the threads around them keep those slots busy while covers download from Stash."""

from __future__ import annotations

from itertools import pairwise

import pytest

from tests.support.world import SyncWorld

#: Plex spends this long on every request here, and Stash on every cover download.
SERVICE_S = 0.1


def write_requests(world: SyncWorld) -> list:
    """The edits and poster uploads Plex received, in arrival order."""
    return [e for e in world.plex.requests.entries if e.method in ("PUT", "POST")]


def busy_share(arrivals: list[float], service_s: float) -> float:
    """How much of the write phase one slot spent serving (requests never overlap here)."""
    window = arrivals[-1] + service_s - arrivals[0]
    return len(arrivals) * service_s / window


@pytest.fixture
def slow_world(tmp_path):
    world = SyncWorld(tmp_path, scenes=12)
    world.stash.faults.slow(SERVICE_S)
    yield world
    world.close()


def test_with_one_slot_plex_stays_busy_while_covers_download_and_each_item_is_edited_first(
    slow_world,
):
    # Given a Plex serving one request at a time, SERVICE_S each, and a Stash as slow per cover
    world = slow_world
    world.plex.configure_latency(base_ms=SERVICE_S * 1000, concurrency=1)
    world.start(plex_concurrency=1)
    # When the library is synced
    job = world.sync("all", timeout=120)
    assert job["done"] == 12
    writes = write_requests(world)
    # Then Plex never had two requests at once
    assert world.plex.latency.waited_for_slot == 0
    # And its slot was busy through the write phase: another thread's request ran while a job
    # downloaded its cover (one thread alone leaves it idle a third of the time)
    assert busy_share([e.at for e in writes], SERVICE_S) >= 0.85
    # And every item got its edit before its poster
    first_edit: dict[str, float] = {}
    for entry in writes:
        if entry.method == "PUT":
            first_edit.setdefault(entry.query["id"], entry.at)
    for entry in writes:
        if entry.method == "POST":
            key = entry.path.split("/")[3]
            assert first_edit[key] < entry.at


def test_plex_never_gets_more_requests_at_once_than_plex_concurrency_and_gets_that_many(
    slow_world,
):
    # Given a Plex serving two requests at once, and plex_concurrency 2
    world = slow_world
    world.plex.configure_latency(base_ms=SERVICE_S * 1000, concurrency=2)
    world.start(plex_concurrency=2)
    # When the library is synced
    job = world.sync("all", timeout=120)
    assert job["done"] == 12
    # Then no request ever waited for a slot on Plex's side (never more than two in flight)
    assert world.plex.latency.waited_for_slot == 0
    # And two were in flight at once: writes arrived closer together than one request lasts
    arrivals = [e.at for e in write_requests(world)]
    assert min(b - a for a, b in pairwise(arrivals)) < SERVICE_S / 2
