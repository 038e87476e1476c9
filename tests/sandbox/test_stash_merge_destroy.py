"""Merging and destroying related objects, and merging scenes: data, stamps and hooks as in Stash.

Source: internal/api/resolver_mutation_{tag,performer,studio,group,scene}.go, pkg/sqlite/tag.go,
pkg/sqlite/performer.go, pkg/scene/merge.go, pkg/scene/update.go, the migrations' foreign keys.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from stashplex.sandbox.plugin_runner import PluginRunner
from stashplex.sandbox.stash import StashEmulator
from tests.support.stash_realism import data, echo_manifest, gql

KINDS = ["Tag", "Performer", "Studio", "Group", "Movie", "Scene"]
TRIGGERS = [f"{kind}.{op}.Post" for kind in KINDS for op in ("Merge", "Destroy", "Update")]
TAGS_MERGE = """
mutation Merge($input: TagsMergeInput!) { tagsMerge(input: $input) { id name aliases } }"""
PERFORMER_MERGE = """
mutation Merge($input: PerformerMergeInput!) { performerMerge(input: $input) { id name } }"""
SCENE_MERGE = """
mutation Merge($input: SceneMergeInput!) {
  sceneMerge(input: $input) { id title updated_at files { path } }
}"""
ASSIGN = "mutation ($input: AssignSceneFileInput!) { sceneAssignFile(input: $input) }"
SCENE = """
query ($id: ID) { findScene(id: $id) {
  updated_at tags { name } performers { name } studio { name } groups { group { name } } } }"""


@pytest.fixture
def stash() -> Iterator[StashEmulator]:
    with StashEmulator() as emulator:
        yield emulator


def watch(stash: StashEmulator, tmp_path: Path) -> PluginRunner:
    return stash.attach_plugin(echo_manifest(tmp_path, "watch", TRIGGERS))


def scene_view(stash: StashEmulator, scene_id: str) -> dict:
    return data(stash, SCENE, {"id": scene_id})["findScene"]


def test_tags_merge_fires_one_tag_merge_hook_for_the_destination(stash, tmp_path):
    # Given two source tags and a destination, and a plugin watching tag events
    runner = watch(stash, tmp_path)
    source_a, source_b, destination = (stash.add_tag(n) for n in ("a", "b", "Dest"))

    # When the sources are merged into the destination
    merged = data(
        stash,
        TAGS_MERGE,
        {"input": {"source": [source_a, source_b], "destination": destination}},
    )["tagsMerge"]

    # Then one Tag.Merge.Post ran, for the destination id, with the TagsMergeInput and no
    # inputFields; the deleted sources fired no Tag.Destroy.Post
    assert [run.trigger for run in runner.runs] == ["Tag.Merge.Post"]
    assert runner.runs[0].stdin["args"]["hookContext"] == {
        "id": int(destination),
        "type": "Tag.Merge.Post",
        "input": {"source": [source_a, source_b], "destination": destination},
    }
    # And the sources' names became the destination's aliases
    assert merged == {"id": destination, "name": "Dest", "aliases": ["a", "b"]}


def test_tags_merge_moves_scene_links_without_moving_any_updated_at(stash):
    # Given scenes tagged with the source tag, one of them with the destination too
    source, destination = stash.add_tag("old"), stash.add_tag("new")
    only_source = stash.add_scene(title="1", tag_ids=[source])
    both = stash.add_scene(title="2", tag_ids=[source, destination])
    before = {sid: scene_view(stash, sid)["updated_at"] for sid in (only_source, both)}
    tag_stamp = stash.store.tags[int(destination)].updated_at
    stash.clock.advance(5)

    # When the tags are merged
    stash.merge_tags([source], destination)

    # Then both scenes show the destination once, and no stamp moved (scenes' or the tag's)
    for scene_id in (only_source, both):
        scene = scene_view(stash, scene_id)
        assert scene["tags"] == [{"name": "new"}]
        assert scene["updated_at"] == before[scene_id]
    assert stash.store.tags[int(destination)].updated_at == tag_stamp


def test_merging_a_tag_into_itself_or_a_missing_tag_is_stashs_error(stash):
    # Given one tag
    tag = stash.add_tag("t")

    # When it is merged into itself, a missing tag into it, and nothing into it
    into_itself = gql(stash, TAGS_MERGE, {"input": {"source": [tag], "destination": tag}})
    missing = gql(stash, TAGS_MERGE, {"input": {"source": ["99"], "destination": tag}})
    nothing = gql(stash, TAGS_MERGE, {"input": {"source": [], "destination": tag}})

    # Then Stash's own errors come back, and an empty source list is a silent null
    assert into_itself["errors"][0]["message"] == "cannot merge where source == destination"
    assert missing["errors"][0]["message"] == "id 99 does not exist in tags"
    assert nothing == {"data": {"tagsMerge": None}}


@pytest.mark.parametrize(
    ("kind", "triggers"),
    [
        ("tag", ["Tag.Destroy.Post"]),
        ("performer", ["Performer.Destroy.Post"]),
        ("studio", ["Studio.Destroy.Post"]),
        ("group", ["Group.Destroy.Post", "Movie.Destroy.Post"]),
    ],
)
def test_destroying_a_linked_object_fires_its_hook_and_leaves_scene_updated_at_alone(
    stash, tmp_path, kind, triggers
):
    # Given a scene linked to one object of each kind, and a plugin watching
    runner = watch(stash, tmp_path)
    links = {
        "tag": stash.add_tag("T"),
        "performer": stash.add_performer("P"),
        "studio": stash.add_studio("S"),
        "group": stash.add_group("G"),
    }
    scene_id = stash.add_scene(
        title="x",
        tag_ids=[links["tag"]],
        performer_ids=[links["performer"]],
        studio_id=links["studio"],
        groups=[{"group_id": links["group"], "scene_index": 1}],
    )
    before = scene_view(stash, scene_id)
    stash.clock.advance(5)

    # When one of the objects is deleted
    stash.destroy(kind, links[kind])

    # Then its destroy hook(s) ran with the destroy input, no scene hook ran
    assert [run.trigger for run in runner.runs] == triggers
    for run in runner.runs:
        assert run.stdin["args"]["hookContext"] == {
            "id": int(links[kind]),
            "type": run.trigger,
            "input": {"id": links[kind]},
        }
    # And the scene lost the link but kept its updated_at
    after = scene_view(stash, scene_id)
    field = {"tag": "tags", "performer": "performers", "studio": "studio", "group": "groups"}
    assert after[field[kind]] in ([], None)
    assert after["updated_at"] == before["updated_at"]


def test_destroying_a_missing_row_is_stashs_error_and_plural_destroys_pass_the_id_list(
    stash, tmp_path
):
    # Given two tags and a plugin watching tag events
    runner = watch(stash, tmp_path)
    first, second = stash.add_tag("a"), stash.add_tag("b")

    # When a missing tag is destroyed, then both tags with tagsDestroy
    missing = gql(stash, 'mutation { tagDestroy(input: {id: "42"}) }')
    plural = data(
        stash, "mutation ($ids: [ID!]!) { tagsDestroy(ids: $ids) }", {"ids": [first, second]}
    )

    # Then the missing one is repository.destroyExisting's error, and each hook of the plural
    # mutation gets the whole id list as its input
    assert missing["errors"][0]["message"] == "id 42 does not exist in tags"
    assert plural == {"tagsDestroy": True}
    assert [run.stdin["args"]["hookContext"] for run in runner.runs] == [
        {"id": int(first), "type": "Tag.Destroy.Post", "input": [first, second]},
        {"id": int(second), "type": "Tag.Destroy.Post", "input": [first, second]},
    ]


def test_performer_merge_fires_no_hook_moves_links_and_stamps_only_the_destination(stash, tmp_path):
    # Given a scene with the source performer, and a plugin watching everything
    runner = watch(stash, tmp_path)
    source, destination = stash.add_performer("Src"), stash.add_performer("Dest")
    scene_id = stash.add_scene(title="x", performer_ids=[source])
    scene_before = scene_view(stash, scene_id)["updated_at"]
    dest_before = stash.store.performers[int(destination)].updated_at
    stash.clock.advance(5)

    # When the performers are merged with a new name for the destination
    answer = data(
        stash,
        PERFORMER_MERGE,
        {
            "input": {
                "source": [source],
                "destination": destination,
                "values": {"id": destination, "name": "Merged"},
            }
        },
    )["performerMerge"]

    # Then no hook ran, the scene shows the destination but kept its stamp, the destination's
    # stamp moved, and the answer is the destination as read before the merge
    assert runner.runs == []
    assert scene_view(stash, scene_id)["performers"] == [{"name": "Merged"}]
    assert scene_view(stash, scene_id)["updated_at"] == scene_before
    assert stash.store.performers[int(destination)].updated_at > dest_before
    assert answer == {"id": destination, "name": "Dest"}
    assert int(source) not in stash.store.performers


def test_scene_merge_moves_files_stamps_the_destination_and_fires_no_hook(stash, tmp_path):
    # Given two scenes with files, and a plugin watching scene events
    runner = watch(stash, tmp_path)
    destination = stash.add_scene(title="keep", files=[{"path": "/data/keep.mp4"}])
    source = stash.add_scene(title="drop", files=[{"path": "/data/drop.mp4"}])
    before = scene_view(stash, destination)["updated_at"]
    stash.clock.advance(5)

    # When the source is merged into the destination
    merged = data(stash, SCENE_MERGE, {"input": {"source": [source], "destination": destination}})[
        "sceneMerge"
    ]

    # Then the destination holds both files (its own primary first), its stamp moved, the
    # source is gone, and neither an update nor a destroy hook ran
    assert [f["path"] for f in merged["files"]] == ["/data/keep.mp4", "/data/drop.mp4"]
    assert merged["updated_at"] > before
    assert stash.scene(source) is None
    assert runner.runs == []


def test_scene_assign_file_moves_a_file_without_stamps_or_hooks(stash, tmp_path):
    # Given a scene with two files and another scene, and a plugin watching scene events
    runner = watch(stash, tmp_path)
    owner = stash.add_scene(title="a", files=[{"path": "/data/1.mp4"}, {"path": "/data/2.mp4"}])
    target = stash.add_scene(title="b", files=[{"path": "/data/3.mp4"}])
    stamps = {sid: scene_view(stash, sid)["updated_at"] for sid in (owner, target)}
    second_file = stash.scene(owner)["files"][1]["id"]
    primary_file = stash.scene(owner)["files"][0]["id"]
    stash.clock.advance(5)

    # When the non-primary file is reassigned, and then the primary one
    moved = data(stash, ASSIGN, {"input": {"scene_id": target, "file_id": second_file}})
    refused = gql(stash, ASSIGN, {"input": {"scene_id": target, "file_id": primary_file}})

    # Then the first moves (no stamp, no hook) and the primary is refused as Stash refuses it
    assert moved == {"sceneAssignFile": True}
    assert [f["path"] for f in stash.scene(target)["files"]] == ["/data/3.mp4", "/data/2.mp4"]
    assert {sid: scene_view(stash, sid)["updated_at"] for sid in (owner, target)} == stamps
    assert refused["errors"][0]["message"] == (
        "assigning file to scene: cannot reassign primary file"
    )
    assert runner.runs == []
