"""A scene's tags, performers and groups come back in the order Stash's SQL yields them.

Source: pkg/sqlite/scene.go + repository.go (`getIDs` with `tagTableSortSQL`),
pkg/sqlite/tables.go, pkg/sqlite/driver.go (NATURAL_CI), migration 35 (primary keys).
"""

from __future__ import annotations

from stashplex.sandbox.stash import StashEmulator
from stashplex.sandbox.stash.ordering import natural_less
from tests.support.stash_realism import data

LINKS = """
query ($id: ID) { findScene(id: $id) {
  tags { name } performers { name } groups { group { name } scene_index } } }"""
SCENE_UPDATE = "mutation ($input: SceneUpdateInput!) { sceneUpdate(input: $input) { id } }"


def test_scene_tags_come_back_in_natural_case_insensitive_name_order():
    # Given tags whose names need natural, case-folded ordering, one with a sort name
    with StashEmulator() as stash:
        names = ["t10", "b", "T2", "A", "zeta"]
        tags = {name: stash.add_tag(name) for name in names}
        tags["sorted-first"] = stash.add_tag("sorted-first", sort_name="0 first")

        # When a scene gets them in an arbitrary order and is read
        scene_id = stash.add_scene(title="x")
        data(stash, SCENE_UPDATE, {"input": {"id": scene_id, "tag_ids": list(tags.values())}})
        shown = data(stash, LINKS, {"id": scene_id})["findScene"]["tags"]

    # Then they are ordered by COALESCE(sort_name, name) COLLATE NATURAL_CI
    assert [tag["name"] for tag in shown] == ["sorted-first", "A", "b", "T2", "t10", "zeta"]


def test_scene_performers_come_back_in_id_order_whatever_order_they_were_set_in():
    # Given performers created in one order
    with StashEmulator() as stash:
        first, second, third = (stash.add_performer(n) for n in ("Zed", "Amy", "Bob"))
        scene_id = stash.add_scene(title="x")

        # When a scene gets them in another order
        data(
            stash,
            SCENE_UPDATE,
            {"input": {"id": scene_id, "performer_ids": [third, first, second]}},
        )
        shown = data(stash, LINKS, {"id": scene_id})["findScene"]["performers"]

    # Then they come back by performer id (the join table's primary key), not by name
    assert [p["name"] for p in shown] == ["Zed", "Amy", "Bob"]


def test_scene_groups_come_back_in_the_order_they_were_set():
    # Given two groups
    with StashEmulator() as stash:
        one, two = stash.add_group("One"), stash.add_group("Two")
        scene_id = stash.add_scene(title="x")

        # When a scene gets them second-first
        groups = [{"group_id": two, "scene_index": 2}, {"group_id": one, "scene_index": 1}]
        data(stash, SCENE_UPDATE, {"input": {"id": scene_id, "groups": groups}})
        shown = data(stash, LINKS, {"id": scene_id})["findScene"]["groups"]

    # Then they keep that order (no ORDER BY on groups_scenes)
    assert [(g["group"]["name"], g["scene_index"]) for g in shown] == [("Two", 2), ("One", 1)]


def test_natural_ordering_follows_the_casefolded_rules():
    # Given pairs Stash's NATURAL_CI orders in a known way
    # When / Then numbers compare by value, case is folded, fewer leading zeros come first
    assert natural_less("abc2", "ABC12")
    assert natural_less("ABC12", "abc100")
    assert natural_less("2", "02")
    assert not natural_less("b", "A")
    assert natural_less("a", "ab")
