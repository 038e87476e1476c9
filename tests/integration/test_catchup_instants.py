"""Catch-up never loses a hookless change: not behind its own walk, not in a repeated DST hour.

No plugin is attached, so the edits fire no hook and catch-up is the only way they reach Plex.
The Stash emulator stamps in Europe/Berlin, as a real server in that zone would.
"""

from __future__ import annotations

from datetime import datetime

import pytest

from actors.addresses import INTAKE
from actors.intake_state import SyncState
from actors.messages import INTAKE_CATCHUP
from stashplex.runtime.envelope import Envelope
from stashplex.sandbox.seed import seed_world
from stashplex.sync.stamps import instant
from tests.support.stash_schema import post_graphql
from tests.support.waiting import wait_until
from tests.support.world import SyncWorld

LISTING = "SceneStampsPage"
TEXT_FILTER = """
query ($value: String!) {
  findScenes(scene_filter: {updated_at: {value: $value, modifier: GREATER_THAN}}) {
    scenes { id }
  }
}
"""


@pytest.fixture
def world(tmp_path):
    w = SyncWorld(tmp_path)
    yield w
    w.close()


def cursor(world: SyncWorld) -> str | None:
    state = SyncState(world.data)
    try:
        return state.kv.get("cursor")
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


def wait_title(world: SyncWorld, scene_id: str, title: str) -> None:
    wait_until(lambda: plex_title_is(world, scene_id, title), timeout=30, message=repr(title))


def start(world: SyncWorld, **services: object) -> None:
    world.start(services=dict(services))
    wait_until(lambda: cursor(world), message="start-up catch-up set the cursor")


def test_a_hookless_edit_behind_the_walk_reaches_plex_though_a_later_one_is_ahead_of_it(world):
    # Given eight scenes in Plex, a running pipeline whose catch-up lists two scenes a page,
    world.world = seed_world(world.stash, world.plex, 8, seed=3)
    first, *middle, last = world.world.scene_ids
    start(world, stash_listing_page_size=2)
    world.stash.clock.advance(5)
    # and hookless edits to the middle scenes, so that a pass walks several pages
    for scene_id in middle:
        world.stash.update_scene(scene_id, title=f"Middle {scene_id}")
    world.stash.clock.advance(5)

    # When, while the pass walks its second page, the first scene (already behind the walk) is
    # edited, and a second later the last scene (still ahead of it)
    listed = world.stash.requests.record_graphql
    pages: list[str] = []

    def record(operation: str | None, root_fields: tuple[str, ...]) -> None:
        pages.append(operation or "")
        if pages.count(LISTING) == 2:
            world.stash.update_scene(first, title="Behind the walk")
            world.stash.clock.advance(1)
            world.stash.update_scene(last, title="Ahead of the walk")
        listed(operation, root_fields)

    world.stash.requests.record_graphql = record  # type: ignore[method-assign]
    catch_up(world)
    world.stash.requests.record_graphql = listed  # type: ignore[method-assign]
    assert pages.count(LISTING) >= 3, pages
    # Then the pass took the scene ahead of it to Plex, and the cursor did not move past the
    # edit it could not see (its text would even sort the same way: same offset here)
    wait_title(world, last, "Ahead of the walk")
    behind = world.stash.scene(first)["updated_at"]
    assert instant(cursor(world)) <= instant(behind)
    # And the next pass takes the edit behind the walk to Plex as well
    catch_up(world)
    wait_title(world, first, "Behind the walk")
    for scene_id in middle:
        assert plex_title_is(world, scene_id, f"Middle {scene_id}")


def test_an_edit_in_the_repeated_hour_of_a_dst_fall_back_is_caught_up(world):
    # Given a Stash server in Berlin on the night summer time ends (03:00 CEST -> 02:00 CET)
    world.stash.clock.freeze(at=datetime(2025, 10, 26, 1, 30))  # naive: server wall time
    world.world = seed_world(world.stash, world.plex, 6, seed=4)
    summer, winter = world.world.scene_ids[2], world.world.scene_ids[1]
    start(world)
    # And an edit at 02:50 summer time, caught up, so the cursor sits near it
    world.stash.clock.advance(80 * 60)
    world.stash.update_scene(summer, title="Summer time edit")
    assert world.stash.scene(summer)["updated_at"] == "2025-10-26T02:50:00+02:00"
    catch_up(world)
    wait_title(world, summer, "Summer time edit")
    at = cursor(world)
    assert at is not None and at.endswith("+02:00")

    # When another scene is edited twenty minutes later: 02:10 again, now in winter time
    world.stash.clock.advance(20 * 60)
    world.stash.update_scene(winter, title="Winter time edit")
    stamp = world.stash.scene(winter)["updated_at"]
    assert stamp == "2025-10-26T02:10:00+01:00"
    # (a later instant whose text sorts below the cursor: Stash's text filter would hide it)
    assert instant(stamp) > instant(at) and stamp < at
    hidden = post_graphql(world.stash.graphql_url, TEXT_FILTER, {"value": at}).json()
    assert winter not in {s["id"] for s in hidden["data"]["findScenes"]["scenes"]}
    catch_up(world)

    # Then catch-up finds it, and it reaches Plex
    wait_title(world, winter, "Winter time edit")
