"""Building a world through GraphQL, as a user's script would: create mutations and their hooks.

Source: internal/api/resolver_mutation_{tag,performer,studio,group}.go, pkg/tag/validate.go +
update.go, pkg/performer/validate.go, pkg/studio/validate.go, pkg/group/validate.go,
pkg/models/{performer,studio}.go (hook input structs), gqlgen modelgen (omitempty).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from stashplex.sandbox.stash import StashEmulator
from stashplex.sandbox.stash.hook_inputs import PERFORMER_CREATE_INPUT_KEYS
from tests.support.stash_realism import data, echo_manifest, gql

TRIGGERS = [f"{kind}.Create.Post" for kind in ("Tag", "Performer", "Studio", "Group", "Movie")]
TAG_CREATE = "mutation ($input: TagCreateInput!) { tagCreate(input: $input) { id name aliases } }"
PERFORMER_CREATE = """
mutation ($input: PerformerCreateInput!) { performerCreate(input: $input) { id name } }"""
STUDIO_CREATE = """
mutation ($input: StudioCreateInput!) {
  studioCreate(input: $input) { id name parent_studio { name } }
}"""
GROUP_CREATE = "mutation ($input: GroupCreateInput!) { groupCreate(input: $input) { id name } }"
SCENE_CREATE = """
mutation ($input: SceneCreateInput!) {
  sceneCreate(input: $input) {
    id studio { name parent_studio { name } } tags { name } performers { name }
    groups { group { name } }
  }
}"""


@pytest.fixture
def stash() -> Iterator[StashEmulator]:
    with StashEmulator() as emulator:
        yield emulator


def test_tag_create_fires_tag_create_post_with_the_generated_input(stash, tmp_path):
    # Given a plugin watching creates
    runner = stash.attach_plugin(echo_manifest(tmp_path, "creates", TRIGGERS))

    # When a tag is created with padding around its name and no description
    tag = data(stash, TAG_CREATE, {"input": {"name": "  Genre ", "aliases": [" g "]}})["tagCreate"]

    # Then the name and aliases were trimmed, and the hook got the gqlgen struct: null fields
    # left out, no inputFields
    assert tag["name"] == "Genre"
    assert tag["aliases"] == ["g"]
    assert runner.runs[0].stdin["args"]["hookContext"] == {
        "id": int(tag["id"]),
        "type": "Tag.Create.Post",
        "input": {"name": "  Genre ", "aliases": [" g "]},
    }


def test_a_duplicate_tag_name_is_refused_case_insensitively(stash):
    # Given a tag "Genre" with the alias "kind"
    data(stash, TAG_CREATE, {"input": {"name": "Genre", "aliases": ["kind"]}})

    # When tags named "genre" and "KIND" are created
    same_name = gql(stash, TAG_CREATE, {"input": {"name": "genre"}})
    alias = gql(stash, TAG_CREATE, {"input": {"name": "KIND"}})
    blank = gql(stash, TAG_CREATE, {"input": {"name": "   "}})

    # Then Stash's validation messages come back and nothing was created
    assert same_name["errors"][0]["message"] == "tag with name 'genre' already exists"
    assert alias["errors"][0]["message"] == "name 'KIND' is used as alias for 'Genre'"
    assert blank["errors"][0]["message"] == "tag name must not be blank"
    assert len(stash.store.tags) == 1


def test_performer_create_hook_input_has_every_key_of_stashs_struct(stash, tmp_path):
    # Given a plugin watching creates
    runner = stash.attach_plugin(echo_manifest(tmp_path, "creates", TRIGGERS))

    # When a performer is created with only a name
    data(stash, PERFORMER_CREATE, {"input": {"name": "Ann"}})

    # Then the hook input is models.PerformerCreateInput: all keys in struct order, nulls kept
    hook_input = runner.runs[0].stdin["args"]["hookContext"]["input"]
    assert tuple(hook_input) == PERFORMER_CREATE_INPUT_KEYS
    assert hook_input["name"] == "Ann"
    assert hook_input["height"] is None
    assert hook_input["custom_fields"] is None


def test_a_duplicate_performer_name_needs_a_disambiguation(stash):
    # Given a performer "Ann"
    data(stash, PERFORMER_CREATE, {"input": {"name": "Ann"}})

    # When another "ann" is created without, then with a disambiguation
    clash = gql(stash, PERFORMER_CREATE, {"input": {"name": "ann"}})
    second = gql(stash, PERFORMER_CREATE, {"input": {"name": "ann", "disambiguation": "II"}})

    # Then only the disambiguated one is accepted
    assert clash["errors"][0]["message"] == "performer with name 'ann' already exists"
    assert "errors" not in second


def test_group_create_fires_group_and_then_movie_create_hooks(stash, tmp_path):
    # Given a plugin watching creates
    runner = stash.attach_plugin(echo_manifest(tmp_path, "creates", TRIGGERS))

    # When a group is created
    group = data(stash, GROUP_CREATE, {"input": {"name": "Saga", "synopsis": None}})["groupCreate"]

    # Then both hooks ran, group first, with the same generated input
    assert [run.trigger for run in runner.runs] == ["Group.Create.Post", "Movie.Create.Post"]
    assert {run.stdin["args"]["hookContext"]["id"] for run in runner.runs} == {int(group["id"])}
    assert runner.runs[0].stdin["args"]["hookContext"]["input"] == {"name": "Saga"}


def test_a_world_built_through_graphql_shows_up_on_a_scene(stash):
    # Given a studio tree, a tag, a performer and a group, all created over GraphQL
    parent = data(stash, STUDIO_CREATE, {"input": {"name": "Parent"}})["studioCreate"]
    child = data(stash, STUDIO_CREATE, {"input": {"name": "Child", "parent_id": parent["id"]}})
    tag = data(stash, TAG_CREATE, {"input": {"name": "Drama"}})["tagCreate"]
    performer = data(stash, PERFORMER_CREATE, {"input": {"name": "Ann"}})["performerCreate"]
    group = data(stash, GROUP_CREATE, {"input": {"name": "Saga"}})["groupCreate"]
    duplicate = gql(stash, STUDIO_CREATE, {"input": {"name": "parent"}})

    # When a scene is created linking them
    scene = data(
        stash,
        SCENE_CREATE,
        {
            "input": {
                "title": "Pilot",
                "studio_id": child["studioCreate"]["id"],
                "tag_ids": [tag["id"]],
                "performer_ids": [performer["id"]],
                "groups": [{"group_id": group["id"], "scene_index": 1}],
            }
        },
    )["sceneCreate"]

    # Then the scene shows the whole world, and a clashing studio name was refused
    assert scene["studio"] == {"name": "Child", "parent_studio": {"name": "Parent"}}
    assert scene["tags"] == [{"name": "Drama"}]
    assert scene["performers"] == [{"name": "Ann"}]
    assert scene["groups"] == [{"group": {"name": "Saga"}}]
    assert duplicate["errors"][0]["message"] == "studio with name 'parent' already exists"
