"""Losing Intake's state loses no edit (issue 16, item 8).

PlexGateway and the Scheduler remember the newest revision per scene and drop older writes as
stale. If ``state/intake.db`` is lost, Intake's revision counter would restart at 1, and every
later edit would be dropped. Revisions now never go back, and a dropped write is never counted
as synced.
"""

import time

import pytest

from actors.addresses import INTAKE
from actors.intake_state import SyncState, job_progress
from actors.messages import HOOK_EVENT
from stashplex.plex.state import GatewayState
from stashplex.runtime.envelope import Envelope
from tests.support.waiting import wait_until
from tests.support.world import SyncWorld

EDITS = 40


@pytest.fixture
def world(tmp_path):
    w = SyncWorld(tmp_path, scenes=EDITS)
    yield w
    w.close()


def plex_equals_stash(world, scene_ids) -> list[str]:
    """The scenes whose Plex items do not show Stash's title."""
    wrong = []
    for scene_id in scene_ids:
        wanted = world.stash.scene(scene_id)["title"]
        if any(item["fields"].get("title") != wanted for item in world.plex_items_of(scene_id)):
            wrong.append(scene_id)
    return wrong


def hook(world, scene_id: str) -> None:
    """What the control socket puts in Intake for a Stash edit."""
    event = {
        "trigger": "Scene.Update.Post",
        "scene_id": scene_id,
        "input_fields": ["title"],
        "received_at": time.time(),
    }
    world.host.post.send(INTAKE, Envelope(kind=HOOK_EVENT, scene_id=scene_id, payload=event))


def test_losing_intake_state_before_40_edits_loses_none_of_them(world):
    # Given a world synced several times, so PlexGateway remembers high revisions
    scene_ids = world.world.scene_ids
    world.start()
    for _ in range(3):
        assert world.sync(force=True)["done"] == EDITS
    world.stop()
    # When Intake's state is lost while the supervisor is down
    for suffix in ("", "-wal", "-shm"):
        (world.data.state / f"intake.db{suffix}").unlink(missing_ok=True)
    # And after the next start (Intake recovers with a full sync), 40 scenes are edited
    world.start()
    world.wait_idle()
    for n, scene_id in enumerate(scene_ids):
        world.stash.update_scene(scene_id, title=f"Edited after the loss {n}")
        hook(world, scene_id)
    # Then every edit reaches Plex, without --force
    wait_until(
        lambda: not plex_equals_stash(world, scene_ids),
        timeout=60,
        message="Plex showing all 40 edits",
    )
    world.wait_idle()
    assert plex_equals_stash(world, scene_ids) == []
    assert world.dead_letters() == []


def test_a_write_dropped_as_stale_is_not_counted_as_synced(world):
    # Given a synced world whose PlexGateway has seen a newer revision than a sync will send
    scene_id = world.world.scene_ids[0]
    world.start()
    world.sync(force=True)
    world.stop()
    gateway = GatewayState(world.data)
    with gateway.store.transaction() as conn:
        conn.execute(
            "UPDATE written SET revision = revision + ? WHERE scene_id = ?", (10**16, scene_id)
        )
    gateway.store.close()
    world.start()
    # When a sync of that scene is dropped as stale
    job = world.sync("scenes", scene_ids=[scene_id], force=True)
    # Then the summary says it was left to a newer write, not that it was synced
    assert (job["done"], job["superseded"], job["finished"]) == (0, 1, True)
    state = SyncState(world.data)
    try:
        assert job_progress(state.store, job["job_id"])["superseded"] == 1
    finally:
        state.store.close()
