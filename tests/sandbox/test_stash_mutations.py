"""User edits: scene mutations move updated_at; edits of related objects do not."""

from __future__ import annotations

import base64

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


@pytest.fixture
def stash():
    with StashEmulator() as emulator:
        yield emulator


def _updated_at(stash: StashEmulator, scene_id: str) -> str:
    return post_graphql(stash.graphql_url, UPDATED_AT, {"id": scene_id}).json()["data"][
        "findScene"
    ]["updated_at"]


def test_scene_update_changes_the_fields_and_moves_updated_at(stash):
    scene_id = stash.add_scene(title="Before", files=[{"path": "/data/a.mp4"}])
    before = _updated_at(stash, scene_id)

    response = post_graphql(
        stash.graphql_url,
        SCENE_UPDATE,
        {"input": {"id": scene_id, "title": "After", "date": "2021-06"}},
    )

    scene = response.json()["data"]["sceneUpdate"]
    assert scene["title"] == "After"
    assert scene["date"] == "2021-06"
    assert scene["updated_at"] > before


def test_consecutive_saves_get_strictly_increasing_updated_at(stash):
    scene_ids = [stash.add_scene(title=f"s{i}") for i in range(3)]

    stamps = []
    for _ in range(5):
        for scene_id in scene_ids:
            stash.update_scene(scene_id, rating100=40)
            stamps.append(stash.scene(scene_id)["updated_at"])

    assert stamps == sorted(stamps)
    assert len(set(stamps)) == len(stamps)


def test_updated_at_is_rfc3339_with_an_offset(stash):
    scene_id = stash.add_scene(title="x")

    stamp = _updated_at(stash, scene_id)

    assert stamp[10] == "T"
    assert stamp.endswith("Z") or stamp[-6] in "+-"


def test_the_server_offset_is_kept_in_timestamps():
    with StashEmulator(utc_offset_minutes=660) as stash:
        scene_id = stash.add_scene(title="x")

        assert _updated_at(stash, scene_id).endswith("+11:00")


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


def test_bulk_update_moves_updated_at_of_every_scene(stash):
    performer = stash.add_performer("P")
    scene_ids = [stash.add_scene(title=f"s{i}") for i in range(3)]
    before = {scene_id: _updated_at(stash, scene_id) for scene_id in scene_ids}

    post_graphql(
        stash.graphql_url,
        BULK_UPDATE,
        {"input": {"ids": scene_ids, "performer_ids": {"ids": [performer], "mode": "ADD"}}},
    )

    assert all(_updated_at(stash, s) > before[s] for s in scene_ids)
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
    scene_id = stash.add_scene(title="Unchanged")
    before = _updated_at(stash, scene_id)

    response = post_graphql(
        stash.graphql_url,
        SCENE_UPDATE,
        {"input": {"id": scene_id, "title": "Changed", "tag_ids": ["404"]}},
    )

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
