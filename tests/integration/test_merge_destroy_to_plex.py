"""A merged tag and a deleted performer leave Plex: Stash's plugin runner fires ``Tag.Merge.Post``
or ``Performer.Destroy.Post`` -> the real hook -> socket -> supervisor -> Intake finds the scenes
(Stash's links for the merge destination, its own table of links at the last read for the rest)
-> PlexGateway rewrites their genres and actors.

Stash touches no scene's ``updated_at`` and fires no scene hook for either; after a delete it no
longer even knows which scenes carried the performer.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from stashplex.plugin import install_plugin
from tests.support.processes import (
    answering,
    configure_for,
    intake_counters,
    start_supervisor,
    stop_supervisor,
)
from tests.support.waiting import wait_until
from tests.support.world import SyncWorld


@pytest.fixture
def world(tmp_path):
    w = SyncWorld(tmp_path, scenes=6)
    yield w
    w.close()


def names(world: SyncWorld, scene_id: str, kind: str) -> list[list[str]]:
    """The ``genre`` or ``actor`` names of every Plex item of the scene."""
    return [item["tags"].get(kind, []) for item in world.plex_items_of(scene_id)]


def shows(world: SyncWorld, scene_id: str, kind: str, name: str) -> bool:
    found = names(world, scene_id, kind)
    return bool(found) and all(name in listed for listed in found)


def lacks(world: SyncWorld, scene_id: str, kind: str, name: str) -> bool:
    found = names(world, scene_id, kind)
    return bool(found) and all(name not in listed for listed in found)


def link(world: SyncWorld, scene_id: str, **ids: str) -> None:
    """Add a tag and/or a performer to a scene without a hook (no plugin attached yet)."""
    scene = world.stash.scene(scene_id)
    fields = {}
    if "tag" in ids:
        fields["tag_ids"] = [t["id"] for t in scene["tags"]] + [ids["tag"]]
    if "performer" in ids:
        fields["performer_ids"] = [p["id"] for p in scene["performers"]] + [ids["performer"]]
    world.stash.update_scene(scene_id, **fields)


def start_synced(world: SyncWorld, tmp_path: Path):
    """Scenes with a soon-merged tag, its destination and a soon-deleted performer, all shown in
    Plex after a sync through the hook; the supervisor running with the plugin attached."""
    assert world.world is not None
    a, b, c = world.world.scene_ids[:3]
    source, destination = world.stash.add_tag("Old genre"), world.stash.add_tag("Kept genre")
    performer = world.stash.add_performer("Leaving Performer")
    link(world, a, tag=source, performer=performer)
    link(world, b, tag=source)
    link(world, c, tag=destination, performer=performer)
    data = tmp_path / "data"
    configure_for(world, data)
    supervisor = start_supervisor(data)
    wait_until(lambda: answering(data), timeout=30, message="supervisor answering")
    manifest = install_plugin(
        tmp_path / "plugins" / "stashplex", data_dir=data, python=Path(sys.executable)
    )
    world.stash.attach_plugin(manifest)
    for scene_id in (a, b, c):
        world.stash.update_scene(scene_id, title=f"Linked {scene_id}")
    wait_until(
        lambda: shows(world, a, "genre", "Old genre")
        and shows(world, b, "genre", "Old genre")
        and shows(world, c, "genre", "Kept genre")
        and shows(world, a, "actor", "Leaving Performer")
        and shows(world, c, "actor", "Leaving Performer"),
        timeout=30,
        message="the tags and the performer in Plex",
    )
    return data, supervisor, (a, b, c), (source, destination, performer)


def test_a_tag_merge_and_a_performer_delete_take_the_old_names_off_plex(world, tmp_path):
    # Given scenes whose Plex items show a tag, its merge destination and a performer
    data, supervisor, (a, b, c), (source, destination, performer) = start_synced(world, tmp_path)
    untouched = {sid: world.plex_items_of(sid) for sid in world.world.scene_ids[3:]}
    try:
        # When the tag is merged into the other in Stash (Tag.Merge.Post runs; no scene's
        # updated_at moves)
        stamps = {sid: world.stash.scene(sid)["updated_at"] for sid in (a, b, c)}
        save = world.stash.merge_tags([source], destination)
        (run,) = save.hook_runs
        assert (run.trigger, run.exit_code, run.error) == ("Tag.Merge.Post", 0, None)
        assert {sid: world.stash.scene(sid)["updated_at"] for sid in (a, b, c)} == stamps

        # Then the scenes that had it show the destination instead, locked, and no old name
        wait_until(
            lambda: all(
                shows(world, sid, "genre", "Kept genre") and lacks(world, sid, "genre", "Old genre")
                for sid in (a, b)
            ),
            timeout=30,
            message="the merged genre in Plex",
        )

        # When the performer is deleted in Stash (Performer.Destroy.Post runs; Stash forgets
        # which scenes had them)
        save = world.stash.destroy("performer", performer)
        (run,) = save.hook_runs
        assert (run.trigger, run.exit_code, run.error) == ("Performer.Destroy.Post", 0, None)

        # Then the performer leaves both Plex items that showed them
        wait_until(
            lambda: lacks(world, a, "actor", "Leaving Performer")
            and lacks(world, c, "actor", "Leaving Performer"),
            timeout=30,
            message="the deleted performer gone from Plex",
        )
        counts = intake_counters(data)
        assert counts["related_events"] == 2
        assert counts["related_scenes"] == 3 + 2  # every scene now tagged, the performer's two
        # And the scenes linked to neither were left as they were
        assert {sid: world.plex_items_of(sid) for sid in untouched} == untouched
    finally:
        assert stop_supervisor(supervisor) == 0
