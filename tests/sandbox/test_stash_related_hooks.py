"""Edits of performers, studios, tags and groups fire their own hooks, as Stash does, and leave
the linked scenes' ``updated_at`` alone: the only sign a sync plugin gets that names changed."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from stashplex.sandbox.stash import StashEmulator
from tests.support.stash_schema import post_graphql

ECHO_SCRIPT = Path(__file__).resolve().parents[1] / "support" / "plugins" / "echo" / "echo.py"
RELATED = ["Performer", "Studio", "Tag", "Group", "Movie"]
MUTATIONS = {
    "performer": ("performerUpdate", "PerformerUpdateInput"),
    "studio": ("studioUpdate", "StudioUpdateInput"),
    "tag": ("tagUpdate", "TagUpdateInput"),
    "group": ("groupUpdate", "GroupUpdateInput"),
}


def echo_manifest(folder: Path) -> Path:
    """A plugin whose one hook echoes every related-object update."""
    triggers = ", ".join(f"{kind}.Update.Post" for kind in RELATED)
    path = folder / "related" / "related.yml"
    path.parent.mkdir(parents=True)
    path.write_text(
        textwrap.dedent(f"""\
        name: related
        exec: [python, "{ECHO_SCRIPT}"]
        hooks:
          - name: on related update
            triggeredBy: [{triggers}]
            defaultArgs:
              mode: hook
        """),
        encoding="utf-8",
    )
    return path


@pytest.fixture
def stash():
    with StashEmulator() as emulator:
        yield emulator


def update(stash: StashEmulator, kind: str, fields: dict) -> dict:
    mutation, input_type = MUTATIONS[kind]
    response = post_graphql(
        stash.graphql_url,
        f"mutation ($input: {input_type}!) {{ {mutation}(input: $input) {{ id name }} }}",
        {"input": fields},
    )
    body = response.json()
    assert "errors" not in body, body
    return body["data"][mutation]


def scene_updated_at(stash: StashEmulator, scene_id: str) -> str:
    return stash.store.scenes[int(scene_id)].updated_at


@pytest.mark.parametrize("kind", ["performer", "studio", "tag", "group"])
def test_renaming_a_related_object_fires_its_update_hook_with_the_fields_sent(
    stash, tmp_path, kind
):
    # Given a plugin hooked on related-object updates, and a scene linked to each kind of object
    runner = stash.attach_plugin(echo_manifest(tmp_path))
    ids = {
        "performer": stash.add_performer("Old"),
        "studio": stash.add_studio("Old"),
        "tag": stash.add_tag("Old"),
        "group": stash.add_group("Old"),
    }
    scene_id = stash.add_scene(
        title="x",
        performer_ids=[ids["performer"]],
        studio_id=ids["studio"],
        tag_ids=[ids["tag"]],
        groups=[{"group_id": ids["group"], "scene_index": 1}],
    )
    before = scene_updated_at(stash, scene_id)
    stash.clock.advance(1)  # a bumped stamp would now differ

    # When one object is renamed over GraphQL
    answer = update(stash, kind, {"id": ids[kind], "name": "New"})

    # Then the object's own hook ran with Stash's hook context: its int id, input and fields
    assert answer == {"id": ids[kind], "name": "New"}
    first = runner.runs[0]
    context = first.stdin["args"]["hookContext"]
    assert first.trigger == f"{kind.capitalize()}.Update.Post"
    assert context["id"] == int(ids[kind])
    # performer and studio inputs are pkg/models structs (every key, nulls included); tag and
    # group inputs are gqlgen-generated (null fields omitted)
    sent = {key: value for key, value in context["input"].items() if value is not None}
    sent.pop("custom_fields", None)
    assert sent == {"id": ids[kind], "name": "New"}
    assert ("favorite" in context["input"]) == (kind in {"performer", "studio"})
    assert sorted(context["inputFields"]) == ["id", "name"]
    # And no scene hook ran, the scene shows the new name, and its updated_at did not move
    assert not any(run.trigger.startswith("Scene.") for run in runner.runs)
    scene = stash.scene(scene_id)
    shown = {
        "performer": scene["performers"][0]["name"],
        "studio": scene["studio"]["name"],
        "tag": scene["tags"][0]["name"],
        "group": scene["groups"][0]["name"],
    }
    assert shown[kind] == "New"
    assert scene_updated_at(stash, scene_id) == before


def test_a_group_edit_also_fires_the_deprecated_movie_hook_right_after(stash, tmp_path):
    # Given a plugin hooked on both Group.Update.Post and its old alias Movie.Update.Post
    runner = stash.attach_plugin(echo_manifest(tmp_path))
    group = stash.add_group("Old")
    scene_id = stash.add_scene(title="x", groups=[{"group_id": group, "scene_index": None}])

    # When the group is renamed
    update(stash, "group", {"id": group, "name": "Renamed", "synopsis": "s"})

    # Then Stash's compatibility order holds: the group hook, then the movie hook, same context
    assert [run.trigger for run in runner.runs] == ["Group.Update.Post", "Movie.Update.Post"]
    contexts = [run.stdin["args"]["hookContext"] for run in runner.runs]
    assert contexts[0]["inputFields"] == contexts[1]["inputFields"]
    assert sorted(contexts[0]["inputFields"]) == ["id", "name", "synopsis"]
    # And the one save waited for both, and the scene shows the new group name
    (save,) = [save for save in runner.saves if save.mutation == "groupUpdate"]
    assert len(save.hook_runs) == 2
    assert stash.scene(scene_id)["groups"][0]["name"] == "Renamed"


def test_a_group_edit_naming_a_missing_studio_is_an_error_and_changes_nothing(stash):
    group = stash.add_group("Kept")

    response = post_graphql(
        stash.graphql_url,
        "mutation ($input: GroupUpdateInput!) { groupUpdate(input: $input) { name } }",
        {"input": {"id": group, "name": "Lost", "studio_id": "404"}},
    )

    assert response.json()["errors"][0]["message"] == "studio with id 404 not found"
    assert stash.store.groups[int(group)].name == "Kept"
