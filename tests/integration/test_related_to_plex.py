"""A renamed tag reaches Plex: Stash's plugin runner fires ``Tag.Update.Post`` -> the real hook ->
socket -> supervisor -> Intake lists the tag's scenes -> PlexGateway rewrites their genres.

Stash does not bump a scene's ``updated_at`` when a linked tag is renamed and fires no scene
hook, so without the tag's own hook the old genre would stay in Plex for good.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

from actors.intake_state import SyncState
from stashplex.plugin import install_plugin
from stashplex.runtime.datadir import DataDir
from stashplex.sandbox.plugin_runner import SaveResult
from stashplex.sandbox.stash.context import RequestContext
from tests.support.processes import (
    answering,
    configure_for,
    intake_counters,
    start_supervisor,
    stop_supervisor,
)
from tests.support.waiting import wait_until
from tests.support.world import SyncWorld

TAG_UPDATE = "mutation ($input: TagUpdateInput!) { tagUpdate(input: $input) { id name } }"


@pytest.fixture
def world(tmp_path):
    w = SyncWorld(tmp_path, scenes=12)
    yield w
    w.close()


def pending_in_intake(data: Path) -> int:
    state = SyncState(DataDir(data))
    try:
        return state.pending_count()
    finally:
        state.store.close()


def genres(world: SyncWorld, scene_id: str) -> list[tuple[list[str], bool]]:
    """(genres, genre locked) of every Plex item of the scene."""
    return [
        (item["tags"].get("genre", []), "genre" in item["locks"])
        for item in world.plex_items_of(scene_id)
    ]


def shows(world: SyncWorld, scene_ids: list[str], genre: str, *, without: str = "") -> bool:
    return all(
        found and all(genre in names and without not in names and locked for names, locked in found)
        for found in (genres(world, sid) for sid in scene_ids)
    )


def plex_writes(world: SyncWorld) -> int:
    return sum(1 for entry in world.plex.requests.entries if entry.method != "GET")


def update_tag(world: SyncWorld, fields: dict) -> SaveResult:
    """A user's tag edit in Stash: the hooks run and the save waits for them."""
    context = RequestContext(base_url=world.stash.url)
    payload = world.stash.graphql(TAG_UPDATE, {"input": fields}, context)
    assert "errors" not in payload, payload
    (save,) = context.saves
    (run,) = save.hook_runs
    assert (run.trigger, run.exit_code, run.error) == ("Tag.Update.Post", 0, None)
    assert run.output == f"queued Tag.Update.Post for tag {fields['id']}"
    return save


def start_synced(world: SyncWorld, tmp_path: Path):
    """Two scenes carrying a new tag, synced to Plex through the hook; the supervisor running."""
    tag = world.stash.add_tag("Old genre")
    assert world.world is not None
    scene_ids = world.world.scene_ids[:2]
    for scene_id in scene_ids:  # no plugin yet, so no hook: Plex does not know the tag
        tags = [t["id"] for t in world.stash.scene(scene_id)["tags"]]
        world.stash.update_scene(scene_id, tag_ids=[*tags, tag])
    data = tmp_path / "data"
    configure_for(world, data)
    supervisor = start_supervisor(data)
    wait_until(lambda: answering(data), timeout=30, message="supervisor answering")
    manifest = install_plugin(
        tmp_path / "plugins" / "stashplex", data_dir=data, python=Path(sys.executable)
    )
    world.stash.attach_plugin(manifest)
    for scene_id in scene_ids:
        world.stash.update_scene(scene_id, title=f"Tagged {scene_id}")
    wait_until(
        lambda: shows(world, scene_ids, "Old genre"), timeout=30, message="old genre in Plex"
    )
    return data, supervisor, tag, scene_ids


def settle(world: SyncWorld, quiet_s: float = 1.5, timeout: float = 30) -> None:
    """Until Plex has seen no write for ``quiet_s`` (the last sync's poster, locks, ...)."""

    def quiet() -> bool:
        before = plex_writes(world)
        time.sleep(quiet_s)
        return plex_writes(world) == before

    wait_until(quiet, timeout=timeout, message="no more Plex writes")


def test_renaming_a_tag_in_stash_renames_the_genre_on_every_plex_item_that_carries_it(
    world, tmp_path
):
    # Given two scenes carrying a tag, whose Plex items show it as a locked genre
    data, supervisor, tag, scene_ids = start_synced(world, tmp_path)
    others = world.world.scene_ids[2:]
    untouched = {sid: genres(world, sid) for sid in others}
    try:
        # When the tag is renamed in Stash (its hook runs; the scenes' updated_at stays put)
        stamps = {sid: world.stash.store.scenes[int(sid)].updated_at for sid in scene_ids}
        update_tag(world, {"id": tag, "name": "New genre"})
        assert {sid: world.stash.store.scenes[int(sid)].updated_at for sid in scene_ids} == stamps

        # Then both scenes' Plex items show the new genre, not the old one, and keep it locked
        wait_until(
            lambda: shows(world, scene_ids, "New genre", without="Old genre"),
            timeout=30,
            message="the new genre on both Plex items",
        )
        assert intake_counters(data)["related_scenes"] == 2
        # And the scenes without the tag were left as they were
        assert {sid: genres(world, sid) for sid in others} == untouched
    finally:
        assert stop_supervisor(supervisor) == 0


def test_an_edit_that_changes_no_genre_writes_nothing_to_plex(world, tmp_path):
    # Given two scenes carrying a tag, synced to Plex, and Plex quiet since
    data, supervisor, tag, scene_ids = start_synced(world, tmp_path)
    try:
        settle(world)
        writes = plex_writes(world)
        before = intake_counters(data)

        # When only the tag's description is edited (a field Plex never shows)
        update_tag(world, {"id": tag, "description": "Words only Stash shows"})
        # Then Intake drops the event without reading the tag's scenes
        wait_until(
            lambda: intake_counters(data).get("dropped_irrelevant", 0)
            == before.get("dropped_irrelevant", 0) + 1,
            message="the description edit dropped",
        )

        # When the tag's edit form is saved with its name as it was
        update_tag(world, {"id": tag, "name": "Old genre", "description": "Other words"})
        # Then its scenes are read again, but their fingerprints are unchanged: no job
        wait_until(
            lambda: intake_counters(data).get("related_scenes", 0)
            == before.get("related_scenes", 0) + 2,
            message="the tag's scenes re-read",
        )
        wait_until(lambda: pending_in_intake(data) == 0, message="Intake flushed")
        settle(world)
        assert intake_counters(data).get("jobs_emitted") == before.get("jobs_emitted")
        # And Plex saw no write at all, and still shows the genre
        assert plex_writes(world) == writes
        assert shows(world, scene_ids, "Old genre")
    finally:
        assert stop_supervisor(supervisor) == 0
