"""Catch-up's ``updated_at`` cursor against Stash's whole-second, shared timestamps.

Stash stamps saves with whole seconds and a bulk edit stamps all its scenes with one time, so a
cursor "``updated_at`` > last seen" meets scenes that share the cursor's second but were saved
after the pass that set it. These tests hold the emulator's clock on one second (no sleeping) and
edit without a plugin attached, so catch-up is the only way an edit can reach Plex.
"""

from __future__ import annotations

import pytest

from actors.addresses import INTAKE
from actors.intake_state import SyncState
from actors.messages import INTAKE_CATCHUP
from stashplex.config.watch import SettingsWatch
from stashplex.runtime.envelope import Envelope
from stashplex.sync.stamps import instant
from tests.support.stash_schema import post_graphql
from tests.support.waiting import wait_until
from tests.support.world import SyncWorld

BULK_TITLE = """
mutation Bulk($input: BulkSceneUpdateInput!) { bulkSceneUpdate(input: $input) { id updated_at } }
"""


@pytest.fixture
def world(tmp_path):
    w = SyncWorld(tmp_path, scenes=8)
    yield w
    w.close()


def cursor(world: SyncWorld) -> str | None:
    state = SyncState(world.data)
    try:
        return state.kv.get("cursor")
    finally:
        state.store.close()


def fetched_at(world: SyncWorld, scene_id: str) -> float | None:
    """When Intake last read the scene to emit a job for it (None: never)."""
    state = SyncState(world.data)
    try:
        return state.synced([scene_id]).get(scene_id, {}).get("fetched_at")
    finally:
        state.store.close()


def catch_up(world: SyncWorld) -> None:
    """One catch-up pass, run to the end: Intake's mailbox (and the pipeline) drained."""
    assert world.host is not None and world.host.post is not None
    world.host.post.send(INTAKE, Envelope(kind=INTAKE_CATCHUP))
    world.wait_idle()


def plex_title_is(world: SyncWorld, scene_id: str, title: str) -> bool:
    items = world.plex_items_of(scene_id)
    return bool(items) and all(item["fields"].get("title") == title for item in items)


def caught_up(world: SyncWorld, scene_id: str, title: str, read_before: float | None) -> None:
    # Intake read the scene in that pass (checked first: it fails fast and says where it broke)
    read = fetched_at(world, scene_id)
    assert read is not None and (read_before is None or read > read_before), (
        f"catch-up (cursor {cursor(world)}) did not read scene {scene_id}"
    )
    wait_until(
        lambda: plex_title_is(world, scene_id, title), timeout=30, message=f"{title!r} in Plex"
    )


def first_edit_caught_up(world, scene_id: str) -> str:
    """Start, hold Stash's clock on one second, edit ``scene_id`` in it and catch it up."""
    world.start()
    wait_until(lambda: cursor(world), message="start-up catch-up set the cursor")
    stamp = world.stash.clock.freeze()
    world.stash.update_scene(scene_id, title="First edit")
    catch_up(world)
    caught_up(world, scene_id, "First edit", None)
    return stamp


def test_a_second_edit_in_the_cursor_s_own_second_is_still_caught_up(world):
    # Given a running pipeline, and a Stash clock held on one second
    assert world.world is not None
    first, second = world.world.scene_ids[:2]
    # And an edit in that second, already caught up (the cursor does not pass that second)
    stamp = first_edit_caught_up(world, first)
    assert instant(cursor(world)) <= instant(stamp)
    before = fetched_at(world, second)
    # When another scene is saved in that same second, and catch-up runs again
    world.stash.update_scene(second, title="Second edit, same second")
    assert world.stash.scene(second)["updated_at"] == stamp
    catch_up(world)
    # Then catch-up still finds it, and it reaches Plex
    caught_up(world, second, "Second edit, same second", before)


def test_a_bulk_edit_in_the_cursor_s_second_reaches_plex_for_every_scene(world):
    # Given a running pipeline, a Stash clock held on one second, and an edit in that second
    # already caught up
    assert world.world is not None
    first, *others = world.world.scene_ids[:5]
    stamp = first_edit_caught_up(world, first)
    before = {scene_id: fetched_at(world, scene_id) for scene_id in others}
    # When one bulkSceneUpdate retitles four more scenes in that second (one shared stamp)
    response = post_graphql(
        world.stash.graphql_url, BULK_TITLE, {"input": {"ids": others, "title": "Bulk title"}}
    )
    assert {s["updated_at"] for s in response.json()["data"]["bulkSceneUpdate"]} == {stamp}
    catch_up(world)
    # Then catch-up finds every one of them, and each reaches Plex
    for scene_id in others:
        caught_up(world, scene_id, "Bulk title", before[scene_id])


def test_an_edit_in_the_same_second_as_the_start_up_cursor_is_caught_up(world):
    # Given Stash's newest save at one held second, seen by the start-up catch-up
    assert world.world is not None
    first, second = world.world.scene_ids[:2]
    stamp = world.stash.clock.freeze()
    world.stash.update_scene(first, title="Saved before start")
    world.start()
    wait_until(lambda: cursor(world), message="start-up catch-up set the cursor")
    before = fetched_at(world, second)
    # When another scene is saved in that same second (no hook), and catch-up runs
    world.stash.update_scene(second, title="Saved after start, same second")
    assert world.stash.scene(second)["updated_at"] == stamp
    catch_up(world)
    # Then catch-up finds it, and it reaches Plex
    caught_up(world, second, "Saved after start, same second", before)


def test_an_edit_made_after_a_settings_change_is_left_to_the_host_with_the_new_settings(world):
    # Given a running pipeline whose settings' sources the test holds, and the start-up cursor
    assert world.world is not None
    scene = world.world.scene_ids[0]
    running = world.settings()
    sources = {"now": running}
    restarts: list[str] = []
    watch = SettingsWatch(
        running, from_stash=False, load=lambda: (sources["now"], False), on_change=restarts.append
    )
    world.start(settings=running, services={"settings_watch": watch})
    wait_until(lambda: cursor(world), message="start-up catch-up set the cursor")
    start_cursor, plex_title = cursor(world), world.plex_items_of(scene)[0]["fields"]["title"]
    # When title syncing is turned off, then the scene retitled in Stash (no hook), and a pass runs
    sources["now"] = running.model_copy(update={"sync_title": False})
    world.stash.update_scene(scene, title="Retitled after the change")
    catch_up(world)
    # Then the pass stops at the scenes it read: a restart with the new settings is asked for
    assert restarts == ["sync_title true -> false"]
    # And nothing was judged by the old settings: Plex keeps its title, the cursor stays put
    assert fetched_at(world, scene) is None
    assert plex_title_is(world, scene, plex_title)
    assert cursor(world) == start_cursor
