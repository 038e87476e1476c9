"""The scheduled reconciliation: what fires no hook and moves no ``updated_at`` still reaches Plex.

A performer merge (Stash fires no hook and leaves the scenes' stamps alone) and a title changed
by hand in Plex are both invisible to hooks and to the catch-up cursor. The reconciliation, a
forced diff-based sync of the whole library, fixes exactly those items and writes nothing else.
"""

from __future__ import annotations

import logging

import pytest
from plexapi.server import PlexServer

from actors.addresses import INTAKE
from actors.intake_state import SyncState, job_progress
from actors.messages import INTAKE_RECONCILE
from stashplex.runtime.envelope import Envelope
from tests.support.waiting import wait_until
from tests.support.world import SyncWorld

PERFORMER_MERGE = """
mutation ($input: PerformerMergeInput!) { performerMerge(input: $input) { id } }
"""


@pytest.fixture
def world(tmp_path):
    w = SyncWorld(tmp_path, scenes=10, seed=5)
    yield w
    w.close()


def plex_writes(world: SyncWorld) -> list[str]:
    return [f"{e.method} {e.path}" for e in world.plex.requests.entries if e.method != "GET"]


def items_written(world: SyncWorld) -> set[int]:
    """The items Plex was asked to change (plexapi edits are ``PUT .../all?id=KEY``)."""
    return {
        int(e.query["id"]) if "id" in e.query else int(e.path.split("/")[3])
        for e in world.plex.requests.entries
        if e.method != "GET"
    }


def reconcile(world: SyncWorld) -> dict:
    """What the Scheduler's recurring timer does: ask Intake for a reconciliation; its job."""
    assert world.host is not None and world.host.post is not None
    state = SyncState(world.data)
    try:
        before = state.kv.get("reconcile_job")
        world.host.post.send(INTAKE, Envelope(kind=INTAKE_RECONCILE))
        job_id = wait_until(
            lambda: (j := state.kv.get("reconcile_job")) != before and j,
            message="a reconciliation started",
        )
        return wait_until(
            lambda: (p := job_progress(state.store, job_id)) and p["finished"] and p,
            timeout=60,
            message="the reconciliation finished",
        )
    finally:
        state.store.close()


def test_a_reconciliation_fixes_hookless_and_plex_side_drift_and_writes_nothing_else(
    world, caplog
):
    # Given a library synced to Plex
    assert world.world is not None
    merged_away, edited_in_plex = world.world.scene_ids[0], world.world.scene_ids[1]
    world.start(reconcile_interval_hours=24)
    world.sync()
    world.wait_idle()
    # And a performer merged into another in Stash (no hook; the scene's updated_at stays)
    source = world.stash.add_performer("Merged Away")
    destination = world.stash.add_performer("Merged Into")
    world.stash.update_scene(merged_away, performer_ids=[source])
    world.sync("scenes", scene_ids=[merged_away])
    stamp = world.stash.scene(merged_away)["updated_at"]
    payload = world.stash.graphql(
        PERFORMER_MERGE, {"input": {"source": [source], "destination": destination}}
    )
    assert "errors" not in payload and world.stash.scene(merged_away)["updated_at"] == stamp
    # And a title changed by hand in Plex
    (key,) = [f.rating_key for f in world.world.files_of(edited_in_plex)]
    PlexServer(world.plex.url, world.plex.token).fetchItem(key).editTitle("Retitled in Plex")
    stash_title = world.stash.scene(edited_in_plex)["title"]
    world.plex.requests.reset()

    # When the scheduled reconciliation runs
    with caplog.at_level(logging.INFO, logger="actors.intake"):
        job = reconcile(world)
    world.wait_idle()

    # Then both items show Stash's values again
    (item,) = world.plex_items_of(merged_away)
    assert item["tags"].get("actor") == ["Merged Into"]
    (item,) = world.plex_items_of(edited_in_plex)
    assert item["fields"]["title"] == stash_title
    # And only those two items were written, every scene was compared, and the counts are logged
    (merged_key,) = [f.rating_key for f in world.world.files_of(merged_away)]
    assert items_written(world) == {merged_key, key}
    assert (job["written"], job["queued"], job["failed"]) == (2, 10, 0)
    summary = [r.getMessage() for r in caplog.records if "reconciliation" in r.getMessage()]
    assert any(f"{job['job_id']} finished" in line and "2 fixed" in line for line in summary)

    # When it runs again with nothing changed
    world.plex.requests.reset()
    again = reconcile(world)
    world.wait_idle()
    # Then it compares every scene and writes nothing
    assert (again["written"], again["queued"], again["changes"]) == (0, 10, 0)
    assert plex_writes(world) == []
