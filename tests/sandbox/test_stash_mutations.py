"""User edits: scene mutations move updated_at; edits of related objects do not.

Stash stamps whole seconds, so "moves" can only be seen across a second boundary: tests that check
a stamp moved (or did not) advance the emulator's clock first instead of sleeping.
"""

from __future__ import annotations

import base64
import re

import pytest

from stashplex.sandbox.stash import StashDataError, StashEmulator
from stashplex.sandbox.stash.images import solid_png
from tests.support.stash_schema import post_graphql

SCENE_UPDATE = """
mutation SceneUpdate($input: SceneUpdateInput!) {
  sceneUpdate(input: $input) { id title date updated_at tags { id } performers { id } }
}"""
BULK_UPDATE = """
mutation Bulk($input: BulkSceneUpdateInput!) {
  bulkSceneUpdate(input: $input) { id updated_at tags { id } performers { id } }
}"""
DESTROY = "mutation ($input: SceneDestroyInput!) { sceneDestroy(input: $input) }"
UPDATED_AT = "query ($id: ID) { findScene(id: $id) { updated_at } }"
#: Go's time.RFC3339: whole seconds, `Z` for UTC or a numeric offset.
RFC3339_SECONDS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(Z|[+-]\d{2}:\d{2})$")


@pytest.fixture
def stash():
    with StashEmulator() as emulator:
        yield emulator


def _updated_at(stash: StashEmulator, scene_id: str) -> str:
    return post_graphql(stash.graphql_url, UPDATED_AT, {"id": scene_id}).json()["data"][
        "findScene"
    ]["updated_at"]


def test_scene_update_changes_the_fields_and_moves_updated_at(stash):
    # Given a scene, and a clock that has moved on to a later second
    scene_id = stash.add_scene(title="Before", files=[{"path": "/data/a.mp4"}])
    before = _updated_at(stash, scene_id)
    stash.clock.advance(1)

    # When it is edited
    response = post_graphql(
        stash.graphql_url,
        SCENE_UPDATE,
        {"input": {"id": scene_id, "title": "After", "date": "2021-06"}},
    )

    # Then the fields changed and updated_at moved
    scene = response.json()["data"]["sceneUpdate"]
    assert scene["title"] == "After"
    assert scene["date"] == "2021-06"
    assert scene["updated_at"] > before


def test_saves_within_one_second_share_one_updated_at_as_in_stash(stash):
    # Given three scenes and a clock held on one second
    scene_ids = [stash.add_scene(title=f"s{i}") for i in range(3)]
    second = stash.clock.freeze()

    # When each is saved twice within that second
    for _ in range(2):
        for scene_id in scene_ids:
            stash.update_scene(scene_id, rating100=40)

    # Then they all carry that one stamp: Stash does not make stamps unique
    assert {_updated_at(stash, scene_id) for scene_id in scene_ids} == {second}


def test_consecutive_saves_never_get_an_earlier_updated_at(stash):
    # Given three scenes
    scene_ids = [stash.add_scene(title=f"s{i}") for i in range(3)]

    # When they are saved over and over, sometimes across a second boundary
    stamps = []
    for round_number in range(5):
        for scene_id in scene_ids:
            stash.update_scene(scene_id, rating100=40)
            stamps.append(stash.scene(scene_id)["updated_at"])
        if round_number % 2:
            stash.clock.advance(1)

    # Then the stamps never go backwards, and each advanced second shows as a later stamp
    assert stamps == sorted(stamps)
    assert len(set(stamps)) >= 3


def test_updated_at_is_whole_second_rfc3339_with_z_for_utc():
    # Given a Stash whose server runs in UTC (Docker's default)
    with StashEmulator(time_zone="UTC") as stash:
        scene_id = stash.add_scene(title="x")
        stash.update_scene(scene_id, title="y")

        # When a scene's stamp is read
        stamp = _updated_at(stash, scene_id)

    # Then it is whole-second RFC 3339 with Go's `Z`
    assert RFC3339_SECONDS.match(stamp), stamp
    assert stamp.endswith("Z")


def test_the_server_offset_is_kept_in_timestamps():
    with StashEmulator(utc_offset_minutes=660) as stash:
        scene_id = stash.add_scene(title="x")

        assert _updated_at(stash, scene_id).endswith("+11:00")


def test_seeded_timestamps_are_whole_seconds_in_the_server_zone():
    # Given an emulator in a +11:00 zone, seeded
    with StashEmulator(utc_offset_minutes=660) as stash:
        stash.seed(20, seed=3)

        # When its scenes are read
        response = post_graphql(
            stash.graphql_url,
            "query { findScenes(filter: {per_page: -1}) { scenes { created_at updated_at"
            " files { mod_time created_at updated_at } } } }",
        )

    # Then every stamp is whole-second RFC3339 with the server's offset, as a fresh save's is
    scenes = response.json()["data"]["findScenes"]["scenes"]
    stamps = [s[k] for s in scenes for k in ("created_at", "updated_at")]
    stamps += [f[k] for s in scenes for f in s["files"] for k in ("mod_time", "created_at")]
    assert len(stamps) >= 60
    assert all(RFC3339_SECONDS.match(s) and s.endswith("+11:00") for s in stamps), stamps[:3]


def test_an_advanced_clock_that_is_frozen_and_thawed_never_runs_backwards(stash):
    # Given a clock advanced a minute and then held
    start = stash.clock.now()
    stash.clock.advance(60)
    held = stash.clock.freeze()

    # When it is advanced while held, and then let run again
    stash.clock.advance(1)
    after_advance = stash.clock.now()
    stash.clock.thaw()
    running = stash.clock.now()

    # Then each reading is at or after the one before, and the held advance counted
    assert start < held < after_advance <= running


def test_an_invalid_date_is_rejected_and_the_scene_is_unchanged(stash):
    scene_id = stash.add_scene(title="Keep", date="2020")

    response = post_graphql(
        stash.graphql_url, SCENE_UPDATE, {"input": {"id": scene_id, "date": "June 2020"}}
    )

    assert "invalid date" in response.json()["errors"][0]["message"]
    assert stash.scene(scene_id)["date"] == "2020"


def test_explicit_null_clears_a_field_and_absent_keys_leave_it(stash):
    scene_id = stash.add_scene(title="T", details="D", code="C")

    stash.update_scene(scene_id, details=None)

    scene = stash.scene(scene_id)
    assert scene["details"] is None
    assert scene["title"] == "T"
    assert scene["code"] == "C"


def test_cover_image_data_url_sets_a_cover(stash):
    scene_id = stash.add_scene(title="x")
    data_url = "data:image/png;base64," + base64.b64encode(solid_png((1, 2, 3))).decode()

    stash.update_scene(scene_id, cover_image=data_url)

    assert stash.scene(scene_id)["has_cover"] is True


def test_bulk_update_add_remove_and_set_follow_bulk_update_ids_modes(stash):
    # Given two scenes with tags
    tags = [stash.add_tag(f"t{i}") for i in range(4)]
    first = stash.add_scene(title="a", tag_ids=[tags[0], tags[1]])
    second = stash.add_scene(title="b", tag_ids=[tags[1]])

    def bulk(mode: str, ids: list[str]) -> dict[str, list[str]]:
        response = post_graphql(
            stash.graphql_url,
            BULK_UPDATE,
            {"input": {"ids": [first, second], "tag_ids": {"ids": ids, "mode": mode}}},
        )
        return {
            s["id"]: [t["id"] for t in s["tags"]]
            for s in response.json()["data"]["bulkSceneUpdate"]
        }

    # When / Then
    assert bulk("ADD", [tags[2]]) == {
        first: [tags[0], tags[1], tags[2]],
        second: [tags[1], tags[2]],
    }
    assert bulk("REMOVE", [tags[1]]) == {first: [tags[0], tags[2]], second: [tags[2]]}
    assert bulk("SET", [tags[3]]) == {first: [tags[3]], second: [tags[3]]}


def test_bulk_update_moves_updated_at_of_every_scene_to_one_shared_stamp(stash, monkeypatch):
    # Given three scenes, and a clock that has moved on and then ticks a second per reading
    performer = stash.add_performer("P")
    scene_ids = [stash.add_scene(title=f"s{i}") for i in range(3)]
    before = {scene_id: _updated_at(stash, scene_id) for scene_id in scene_ids}
    stash.clock.advance(1)
    read_clock = stash.clock.now

    def ticking() -> str:
        stamp = read_clock()
        stash.clock.advance(1)
        return stamp

    monkeypatch.setattr(stash.clock, "now", ticking)

    # When one bulkSceneUpdate edits them all
    post_graphql(
        stash.graphql_url,
        BULK_UPDATE,
        {"input": {"ids": scene_ids, "performer_ids": {"ids": [performer], "mode": "ADD"}}},
    )

    # Then every updated_at moved, to the one time Stash takes per bulk edit
    after = {scene_id: _updated_at(stash, scene_id) for scene_id in scene_ids}
    assert all(after[s] > before[s] for s in scene_ids)
    assert len(set(after.values())) == 1
    assert all(stash.scene(s)["performers"] == [{"id": performer, "name": "P"}] for s in scene_ids)


def test_scene_destroy_removes_the_scene(stash):
    scene_id = stash.add_scene(title="gone")

    response = post_graphql(stash.graphql_url, DESTROY, {"input": {"id": scene_id}})

    assert response.json() == {"data": {"sceneDestroy": True}}
    assert stash.scene(scene_id) is None


def test_editing_a_related_performer_studio_or_tag_leaves_scene_updated_at_alone(stash):
    # Given a scene linked to a performer, a studio and a tag
    performer = stash.add_performer("Old name")
    studio = stash.add_studio("Old studio")
    tag = stash.add_tag("old-tag")
    scene_id = stash.add_scene(
        title="x", performer_ids=[performer], studio_id=studio, tag_ids=[tag]
    )
    before = _updated_at(stash, scene_id)
    stash.clock.advance(1)  # a bumped stamp would now differ

    # When the related objects are renamed
    for mutation, input_type, row_id in (
        ("performerUpdate", "PerformerUpdateInput", performer),
        ("studioUpdate", "StudioUpdateInput", studio),
        ("tagUpdate", "TagUpdateInput", tag),
    ):
        response = post_graphql(
            stash.graphql_url,
            f"mutation ($input: {input_type}!) {{ {mutation}(input: $input) {{ id name }} }}",
            {"input": {"id": row_id, "name": "New name"}},
        )
        assert response.json()["data"][mutation]["name"] == "New name"

    # Then the scene shows the new names but its updated_at did not move
    scene = stash.scene(scene_id)
    assert scene["performers"][0]["name"] == "New name"
    assert scene["studio"]["name"] == "New name"
    assert scene["tags"][0]["name"] == "New name"
    assert _updated_at(stash, scene_id) == before


def test_a_mutation_naming_a_missing_tag_is_an_error_and_changes_nothing(stash):
    # Given a scene, and a clock that has moved on (so a bumped stamp would show)
    scene_id = stash.add_scene(title="Unchanged")
    before = _updated_at(stash, scene_id)
    stash.clock.advance(1)

    # When an edit names a tag that does not exist

    response = post_graphql(
        stash.graphql_url,
        SCENE_UPDATE,
        {"input": {"id": scene_id, "title": "Changed", "tag_ids": ["404"]}},
    )

    # Then it is an error and neither the fields nor updated_at changed
    assert "tag with id 404 not found" in response.json()["errors"][0]["message"]
    assert stash.scene(scene_id)["title"] == "Unchanged"
    assert _updated_at(stash, scene_id) == before


def test_update_scene_helper_raises_a_clear_error_for_a_missing_scene(stash):
    with pytest.raises(StashDataError, match="scene with id 77 not found"):
        stash.update_scene("77", title="nope")


def test_performer_image_path_is_marked_default_until_an_image_is_set(stash):
    performer = stash.add_performer("P")
    scene_id = stash.add_scene(title="x", performer_ids=[performer])
    query = "query ($id: ID) { findScene(id: $id) { performers { image_path } } }"

    before = post_graphql(stash.graphql_url, query, {"id": scene_id}).json()
    data_url = "data:image/png;base64," + base64.b64encode(solid_png((9, 9, 9))).decode()
    post_graphql(
        stash.graphql_url,
        "mutation ($input: PerformerUpdateInput!) { performerUpdate(input: $input) { id } }",
        {"input": {"id": performer, "image": data_url}},
    )
    after = post_graphql(stash.graphql_url, query, {"id": scene_id}).json()

    assert before["data"]["findScene"]["performers"][0]["image_path"].endswith("&default=true")
    assert "default=true" not in after["data"]["findScene"]["performers"][0]["image_path"]


def test_a_rejected_studio_edit_leaves_the_studio_as_it_was(stash):
    studio = stash.add_studio("Original")
    mutation = "mutation ($input: StudioUpdateInput!) { studioUpdate(input: $input) { name } }"

    response = post_graphql(
        stash.graphql_url, mutation, {"input": {"id": studio, "name": "New", "image": "%%%"}}
    )

    assert "invalid image data" in response.json()["errors"][0]["message"]
    assert stash.store.studios[int(studio)].name == "Original"


def test_editing_a_missing_performer_is_an_error(stash):
    mutation = "mutation ($input: PerformerUpdateInput!) { performerUpdate(input: $input) { id } }"

    response = post_graphql(stash.graphql_url, mutation, {"input": {"id": "42", "name": "x"}})

    assert response.json()["errors"][0]["message"] == "performer with id 42 not found"
