"""Each word of a sync's summary, from a real situation: the host, both emulators, plexapi.

The words (issue 17): synced, already right, waiting for Plex to scan, waiting to retry,
would change (dry run), failed, cancelled (``test_sync_cancel.py``). Each scene is counted
under one word, and a scene that only waits is never called synced or right.
"""

from __future__ import annotations

import pytest

from tests.support.waiting import wait_until
from tests.support.world import SyncWorld

#: A Plex error is retried, not given up on, while the test looks.
SLOW_RETRIES = dict(transient_base_seconds=60, transient_cap_seconds=60, breaker_failures=50)


@pytest.fixture
def world(tmp_path):
    w = SyncWorld(tmp_path, scenes=5)
    yield w
    w.close()


def summary(world: SyncWorld, *, settled: bool = False, **request: object) -> str:
    """What ``stashplex sync`` prints at the end of this sync (it ends once all that is left
    of it waits on timers); ``settled``: once nothing of it waits on a timer either."""
    job_id = world.ask(type="sync", **request)["job"]

    def over(reply: dict) -> bool:
        return bool(reply.get("done")) and not (settled and reply.get("waiting_for_retry"))

    reply = wait_until(
        lambda: over(r := world.ask(type="job", job=job_id)) and r,
        timeout=60,
        message=f"sync {job_id} over",
    )
    return reply["summary"]


def test_a_first_sync_says_synced_and_the_next_ones_already_right(world):
    # Given a library Plex has, with nothing of Stash's written yet
    world.start()
    # When it is synced, then synced again, then synced again forced (sent to Plex anyway)
    first = summary(world, mode="all")
    again = summary(world, mode="all")
    forced = summary(world, mode="all", force=True)
    # Then the first wrote every scene, and the others found every scene right
    assert first.startswith("5 scenes: 5 synced (") and "0 already right" in first
    assert again.startswith("5 scenes: 0 synced (0 field changes), 5 already right, 0 failed")
    assert forced.startswith("5 scenes: 0 synced (0 field changes), 5 already right, 0 failed")


def test_a_dry_run_says_what_would_change_and_never_synced(world):
    # Given a synced library, and then one scene edited in Stash
    world.start()
    summary(world, mode="all")
    world.stash.update_scene(world.world.scene_ids[0], title="Edited for the dry run")
    # When a dry run of the whole library is asked for, and has settled (once, in a loaded
    # full run, its edited scene still waited on a timer when the job first counted as done;
    # the cause is not pinned down yet, see the closing note of 2026-12-03)
    text = summary(world, mode="all", dry_run=True, settled=True)
    # Then it counts the edited scene as one that would change, the rest as right
    assert text.startswith("5 scenes (dry run, nothing written): 1 would change (")
    assert "4 already right" in text and "synced" not in text


def test_a_scene_whose_file_plex_has_not_scanned_waits_for_plex_to_scan(tmp_path):
    # Given a scene whose file is in a Plex library's folder but not scanned yet
    world = SyncWorld(tmp_path)
    try:
        world.stash.add_scene(title="Late arrival", files=[{"path": "/data/new/late.mp4"}])
        world.plex.add_section("Movies", "movie", ["/media/"])
        world.start(scan_on_miss=False)
        # When it is synced
        text = summary(world, mode="all")
        # Then the summary says it waits for Plex to scan it, not that Plex failed
        assert text.startswith("1 scenes: 0 synced (0 field changes), 0 already right, 0 failed")
        assert "1 waiting for Plex to scan their files" in text
        assert "waiting to retry" not in text
    finally:
        world.close()


def test_scenes_plex_answers_with_errors_wait_to_retry(world):
    # Given Plex answering every request with a server error
    world.plex.faults.status(500)
    world.start(**SLOW_RETRIES)
    # When the library is synced
    text = summary(world, mode="all")
    # Then every scene waits to retry, none is said to wait for a scan or to be synced
    assert text.startswith("5 scenes: 0 synced (0 field changes), 0 already right, 0 failed")
    assert "5 waiting to retry (Plex answered with an error or is down)" in text
    assert "waiting for Plex to scan" not in text


def test_a_scene_that_cannot_be_matched_is_counted_failed(world):
    # Given, next to the library, a scene whose file name matches no one Plex item
    world.stash.add_scene(title="Two candidates", files=[{"path": "/data/nowhere/shared name.mp4"}])
    world.start(scan_on_miss=False)
    # When the library is synced
    text = summary(world, mode="all")
    # Then that scene is failed, the others synced
    assert text.startswith("6 scenes: 5 synced (") and text.endswith(", 0 already right, 1 failed")
