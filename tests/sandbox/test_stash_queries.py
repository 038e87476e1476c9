"""findScene / findScenes / version / configuration over real HTTP, with Stash's semantics."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from stashplex.sandbox.stash import StashEmulator
from tests.support.stash_schema import post_graphql

FIND_SCENES = """
query FindScenes($filter: FindFilterType, $scene_filter: SceneFilterType, $ids: [ID!]) {
  findScenes(filter: $filter, scene_filter: $scene_filter, ids: $ids) {
    count
    scenes { id title date updated_at created_at }
  }
}"""

SCENE_FIELDS = """
query FindScene($id: ID) {
  findScene(id: $id) {
    id title code details director urls date rating100 organized created_at updated_at
    studio { id name image_path parent_studio { id name } }
    performers { id name disambiguation gender image_path }
    tags { id name }
    groups { group { id name } scene_index }
    files { id path basename size duration width height format mod_time
            fingerprints { type value } }
    paths { screenshot stream preview }
  }
}"""


@pytest.fixture(scope="module")
def stash() -> Iterator[StashEmulator]:
    with StashEmulator() as emulator:
        emulator.seed(120, seed=7)
        yield emulator


def find_scenes(stash: StashEmulator, **variables: object) -> dict:
    response = post_graphql(stash.graphql_url, FIND_SCENES, variables)
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body
    return body["data"]["findScenes"]


def ids_of(result: dict) -> list[int]:
    return [int(scene["id"]) for scene in result["scenes"]]


def test_find_scene_returns_null_for_a_missing_scene_without_error(stash):
    response = post_graphql(stash.graphql_url, SCENE_FIELDS, {"id": "999999"})

    assert response.json() == {"data": {"findScene": None}}


def test_find_scene_with_a_non_numeric_id_is_a_graphql_error_with_http_200(stash):
    response = post_graphql(stash.graphql_url, SCENE_FIELDS, {"id": "abc"})

    assert response.status_code == 200
    body = response.json()
    assert body["data"] == {"findScene": None}
    assert "invalid syntax" in body["errors"][0]["message"]
    assert body["errors"][0]["path"] == ["findScene"]


def test_find_scene_serves_every_field_a_sync_needs(stash):
    response = post_graphql(stash.graphql_url, SCENE_FIELDS, {"id": "1"})

    scene = response.json()["data"]["findScene"]
    assert scene["id"] == "1"
    assert scene["files"][0]["path"].startswith("/data/")
    assert {p["type"] for p in scene["files"][0]["fingerprints"]} >= {"oshash", "md5"}
    assert isinstance(scene["files"][0]["size"], int)
    assert scene["paths"]["screenshot"].startswith(f"{stash.url}/scene/1/screenshot?t=")
    assert scene["updated_at"] >= scene["created_at"]


def test_page_zero_and_page_one_return_the_same_rows_because_pages_are_one_based(stash):
    first = find_scenes(stash, filter={"page": 1, "per_page": 10, "sort": "id"})
    zero = find_scenes(stash, filter={"page": 0, "per_page": 10, "sort": "id"})
    missing = find_scenes(stash, filter={"per_page": 10, "sort": "id"})

    assert ids_of(first) == ids_of(zero) == ids_of(missing) == list(range(1, 11))


def test_per_page_defaults_to_25_and_minus_one_returns_everything(stash):
    default = find_scenes(stash, filter={"sort": "id"})
    everything = find_scenes(stash, filter={"per_page": -1, "sort": "id"})

    assert len(default["scenes"]) == 25
    assert default["count"] == everything["count"] == 120
    assert len(everything["scenes"]) == 120


def test_paging_by_id_visits_every_scene_exactly_once(stash):
    seen: list[int] = []
    page = 1
    while True:
        result = find_scenes(stash, filter={"page": page, "per_page": 50, "sort": "id"})
        seen += ids_of(result)
        if page * 50 >= result["count"]:
            break
        page += 1

    assert seen == list(range(1, 121))


def test_sorting_by_id_descending_reverses_the_order(stash):
    result = find_scenes(stash, filter={"per_page": 5, "sort": "id", "direction": "DESC"})

    assert ids_of(result) == [120, 119, 118, 117, 116]


@pytest.mark.parametrize("key", ["title", "date", "created_at", "updated_at", "path"])
def test_sorting_by_a_field_orders_the_whole_result(stash, key):
    result = find_scenes(stash, filter={"per_page": -1, "sort": key})

    if key == "path":
        values = [stash.scene(s["id"])["files"][0]["path"] for s in result["scenes"]]
    else:
        values = [(s[key] or "") for s in result["scenes"]]
    if key == "title":
        values = [v.lower() for v in values]
    if key == "date":
        values = [v + "-01" * (2 - v.count("-")) if v else "" for v in values]
    assert values == sorted(values)


def test_random_sort_returns_a_permutation(stash):
    result = find_scenes(stash, filter={"per_page": -1, "sort": "random"})

    assert sorted(ids_of(result)) == list(range(1, 121))


def test_updated_at_greater_than_compares_the_stored_text(stash):
    # Given a cursor taken from a scene's stored updated_at
    everything = find_scenes(stash, filter={"per_page": -1, "sort": "updated_at"})
    cursor = everything["scenes"][59]["updated_at"]

    # When scenes updated after it are requested
    newer = find_scenes(
        stash,
        filter={"per_page": -1, "sort": "updated_at"},
        scene_filter={"updated_at": {"value": cursor, "modifier": "GREATER_THAN"}},
    )

    # Then exactly the scenes whose stored text sorts after the cursor come back
    expected = [s["id"] for s in everything["scenes"] if s["updated_at"] > cursor]
    assert [s["id"] for s in newer["scenes"]] == expected
    assert newer["count"] == len(expected) > 0


@pytest.mark.parametrize(
    ("modifier", "check"),
    [
        ("EQUALS", lambda actual, low, high: actual == low),
        ("NOT_EQUALS", lambda actual, low, high: actual != low),
        ("LESS_THAN", lambda actual, low, high: actual < low),
        ("BETWEEN", lambda actual, low, high: low <= actual <= high),
        ("NOT_BETWEEN", lambda actual, low, high: not low <= actual <= high),
    ],
)
def test_created_at_modifiers_follow_sql_text_comparison(stash, modifier, check):
    everything = find_scenes(stash, filter={"per_page": -1, "sort": "created_at"})
    low = everything["scenes"][30]["created_at"]
    high = everything["scenes"][80]["created_at"]

    result = find_scenes(
        stash,
        filter={"per_page": -1},
        scene_filter={"created_at": {"value": low, "value2": high, "modifier": modifier}},
    )

    expected = {s["id"] for s in everything["scenes"] if check(s["created_at"], low, high)}
    assert {s["id"] for s in result["scenes"]} == expected


def test_timestamp_is_null_matches_nothing_and_not_null_matches_everything(stash):
    null = find_scenes(stash, scene_filter={"updated_at": {"value": "", "modifier": "IS_NULL"}})
    not_null = find_scenes(
        stash, scene_filter={"updated_at": {"value": "", "modifier": "NOT_NULL"}}
    )

    assert null["count"] == 0
    assert not_null["count"] == 120


def test_id_criterion_between_is_inclusive(stash):
    result = find_scenes(
        stash,
        filter={"per_page": -1, "sort": "id"},
        scene_filter={"id": {"value": 5, "value2": 8, "modifier": "BETWEEN"}},
    )

    assert ids_of(result) == [5, 6, 7, 8]


def test_is_missing_cover_returns_exactly_the_scenes_without_a_cover(stash):
    result = find_scenes(stash, filter={"per_page": -1}, scene_filter={"is_missing": "cover"})

    assert result["count"] > 0
    assert all(not stash.scene(s["id"])["has_cover"] for s in result["scenes"])
    covered = 120 - result["count"]
    assert sum(stash.scene(i)["has_cover"] for i in range(1, 121)) == covered


def test_title_includes_is_case_insensitive(stash):
    title = next(
        s["title"]
        for s in find_scenes(stash, filter={"per_page": -1})["scenes"]
        if s["title"] and s["title"].isascii()
    )
    word = title.split()[0]

    result = find_scenes(
        stash,
        filter={"per_page": -1},
        scene_filter={"title": {"value": word.upper(), "modifier": "INCLUDES"}},
    )

    assert result["count"] >= 1
    assert all(word.lower() in s["title"].lower() for s in result["scenes"])


def test_ids_argument_restricts_the_result_in_the_order_of_the_ids(stash):
    # When scenes are asked for by ids, with a sort that Stash's FindMany branch ignores
    result = find_scenes(stash, ids=["3", "9", "4"], filter={"sort": "id"})

    # Then exactly those come back, in the order the ids were given
    assert ids_of(result) == [3, 9, 4]
    assert result["count"] == 3


def test_version_and_api_key_are_readable():
    with StashEmulator() as stash:
        response = post_graphql(
            stash.graphql_url,
            "query { version { version hash build_time } configuration { general { apiKey } } }",
        )

        data = response.json()["data"]
        assert data["version"]["hash"]
        assert data["configuration"]["general"]["apiKey"] == ""


CONFIGURE = "mutation ($id: ID!, $input: Map!) { configurePlugin(plugin_id: $id, input: $input) }"
READ_PLUGINS = "query ($include: [ID!]) { configuration { plugins(include: $include) } }"


def test_a_plugin_with_nothing_saved_is_absent_from_the_plugins_map():
    with StashEmulator() as stash:
        response = post_graphql(stash.graphql_url, READ_PLUGINS, {"include": ["stashplex"]})

        assert response.json()["data"]["configuration"]["plugins"] == {}


def test_configure_plugin_replaces_the_whole_map_and_returns_it():
    with StashEmulator() as stash:
        # Given saved settings
        post_graphql(
            stash.graphql_url,
            CONFIGURE,
            {
                "id": "stashplex",
                "input": {"plexUrl": "http://plex:32400", "dryRun": True, "batch": 50},
            },
        )

        # When the map is saved again with one key only
        saved = post_graphql(
            stash.graphql_url, CONFIGURE, {"id": "stashplex", "input": {"batch": 10}}
        ).json()["data"]["configurePlugin"]

        # Then the other keys are gone
        read = post_graphql(stash.graphql_url, READ_PLUGINS, {"include": ["stashplex"]})
        assert saved == {"batch": 10}
        assert read.json()["data"]["configuration"]["plugins"] == {"stashplex": {"batch": 10}}


def test_plugins_without_include_returns_every_plugins_settings():
    with StashEmulator() as stash:
        for plugin_id in ("one", "two"):
            post_graphql(stash.graphql_url, CONFIGURE, {"id": plugin_id, "input": {"k": plugin_id}})

        response = post_graphql(stash.graphql_url, "{ configuration { plugins } }")

        assert response.json()["data"]["configuration"]["plugins"] == {
            "one": {"k": "one"},
            "two": {"k": "two"},
        }


# -- scenes by their links: performers, studios, tags, groups ---------------------------------

LINKED_IDS = """
query Linked($filter: FindFilterType, $scene_filter: SceneFilterType) {
  findScenes(filter: $filter, scene_filter: $scene_filter) { count scenes { id } }
}"""


@pytest.fixture(scope="module")
def linked() -> Iterator[tuple[StashEmulator, dict[str, str]]]:
    """Five scenes with known links; ``names`` maps a letter to the row's id."""
    with StashEmulator() as emulator:
        names = {
            "a": emulator.add_tag("a"),
            "b": emulator.add_tag("b"),
            "c": emulator.add_tag("c"),
            "p": emulator.add_performer("p"),
            "q": emulator.add_performer("q"),
            "s1": emulator.add_studio("s1"),
            "g1": emulator.add_group("g1"),
            "g2": emulator.add_group("g2"),
        }
        names["s2"] = emulator.add_studio("s2", parent_id=names["s1"])

        def scene(tags=(), performers=(), studio=None, groups=()) -> None:
            emulator.add_scene(
                title="x",
                tag_ids=[names[t] for t in tags],
                performer_ids=[names[p] for p in performers],
                studio_id=names[studio] if studio else None,
                groups=[{"group_id": names[g], "scene_index": None} for g in groups],
            )

        scene(tags="ab", performers="p", studio="s1", groups=["g1"])  # 1
        scene(tags="a", performers="pq", studio="s2", groups=["g1", "g2"])  # 2
        scene(tags="b")  # 3
        scene(performers="q", studio="s1", groups=["g2"])  # 4
        scene(tags="c", studio="s2")  # 5
        yield emulator, names


def linked_ids(linked, key: str, modifier: str, values=(), **extra) -> list[int]:
    emulator, names = linked
    criterion = {"modifier": modifier, "value": [names[v] for v in values], **extra}
    response = post_graphql(
        emulator.graphql_url,
        LINKED_IDS,
        {"filter": {"per_page": -1, "sort": "id"}, "scene_filter": {key: criterion}},
    )
    body = response.json()
    assert "errors" not in body, body
    return ids_of(body["data"]["findScenes"])


@pytest.mark.parametrize(
    ("key", "modifier", "values", "expected"),
    [
        ("tags", "INCLUDES", ["a"], [1, 2]),
        ("tags", "INCLUDES", ["a", "c"], [1, 2, 5]),
        ("tags", "INCLUDES_ALL", ["a", "b"], [1]),
        ("tags", "EXCLUDES", ["a"], [3, 4, 5]),
        ("tags", "IS_NULL", [], [4]),
        ("tags", "NOT_NULL", [], [1, 2, 3, 5]),
        ("performers", "INCLUDES", ["q"], [2, 4]),
        ("performers", "INCLUDES_ALL", ["p", "q"], [2]),
        ("performers", "EXCLUDES", ["p"], [3, 4, 5]),
        ("performers", "IS_NULL", [], [3, 5]),
        ("studios", "INCLUDES", ["s1"], [1, 4]),
        ("studios", "INCLUDES", ["s1", "s2"], [1, 2, 4, 5]),
        ("studios", "INCLUDES_ALL", ["s1", "s2"], []),
        ("studios", "EXCLUDES", ["s1"], [2, 3, 5]),
        ("studios", "NOT_NULL", [], [1, 2, 4, 5]),
        ("groups", "INCLUDES", ["g2"], [2, 4]),
        ("groups", "INCLUDES_ALL", ["g1", "g2"], [2]),
        ("groups", "EXCLUDES", ["g1"], [3, 4, 5]),
        ("groups", "IS_NULL", [], [3, 5]),
    ],
)
def test_scenes_are_found_by_their_links_with_stashs_modifiers(
    linked, key, modifier, values, expected
):
    # Given five scenes with known tags, performers, studios and groups
    # When findScenes filters on one kind of link, over HTTP
    # Then exactly the scenes Stash's SQL would match come back (a studio's child is not its own)
    assert linked_ids(linked, key, modifier, values) == expected


def test_excludes_narrows_an_includes_and_an_empty_criterion_matches_everything(linked):
    _emulator, names = linked

    # When INCLUDES carries excludes, a scene linked to any excluded id drops out
    assert linked_ids(linked, "tags", "INCLUDES", ["a"], excludes=[names["b"]]) == [2]
    # And a criterion with neither values nor excludes filters nothing, as in Stash
    assert linked_ids(linked, "tags", "INCLUDES", []) == [1, 2, 3, 4, 5]


def test_depth_zero_or_null_means_direct_links_only(linked):
    assert linked_ids(linked, "studios", "INCLUDES", ["s1"], depth=0) == [1, 4]
    assert linked_ids(linked, "tags", "INCLUDES", ["a"], depth=None) == [1, 2]


@pytest.mark.parametrize(
    ("key", "criterion", "message"),
    [
        ("studios", {"value": ["1"], "modifier": "INCLUDES", "depth": -1}, "depth -1"),
        ("tags", {"value": ["1"], "modifier": "INCLUDES", "depth": 2}, "depth 2"),
        ("tags", {"value": ["1"], "modifier": "EQUALS"}, "modifier EQUALS"),
        ("performers", {"value": ["1"], "modifier": "GREATER_THAN"}, "modifier GREATER_THAN"),
    ],
    ids=["all-levels", "two-levels", "equals", "comparison"],
)
def test_a_link_criterion_the_emulator_cannot_answer_faithfully_is_a_clear_graphql_error(
    linked, key, criterion, message
):
    # When a link criterion asks for what the emulator does not model (a hierarchy, EQUALS)
    emulator, _names = linked
    response = post_graphql(emulator.graphql_url, LINKED_IDS, {"scene_filter": {key: criterion}})

    # Then the answer is a GraphQL error naming it, never a silently wrong list
    body = response.json()
    assert (response.status_code, body["data"]) == (200, None)
    (error,) = body["errors"]
    assert message in error["message"]


def test_a_depth_on_the_performers_criterion_is_refused_as_stash_refuses_it(linked):
    # Given MultiCriterionInput, which (unlike the hierarchical one) has no depth
    emulator, _names = linked
    criterion = {"value": ["1"], "modifier": "INCLUDES", "depth": 0}

    response = post_graphql(
        emulator.graphql_url, LINKED_IDS, {"scene_filter": {"performers": criterion}}
    )

    # Then the variables are invalid before anything runs
    assert response.status_code == 422
    assert "unknown field 'depth'" in response.json()["errors"][0]["message"]
