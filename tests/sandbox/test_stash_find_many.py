"""findScenes(ids:) is Stash's FindMany branch, and "no cover" is only visible through a filter.

Source: internal/api/resolver_query_find_scene.go, pkg/sqlite/scene.go (FindMany),
internal/api/urlbuilders/scene.go, internal/manager/running_streams.go (ServeScreenshot).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from stashplex.sandbox.stash import StashEmulator
from stashplex.sandbox.stash.images import DEFAULT_IMAGES, solid_png
from tests.support.stash_realism import data, gql

BY_IDS = """
query ByIds($ids: [ID!], $filter: FindFilterType, $scene_filter: SceneFilterType) {
  findScenes(ids: $ids, filter: $filter, scene_filter: $scene_filter) {
    count filesize scenes { id }
  }
}"""
COVERLESS = """
query Coverless($scene_filter: SceneFilterType) {
  findScenes(scene_filter: $scene_filter, filter: {per_page: -1, sort: "id"}) { scenes { id } }
}"""
PATHS = "query ($id: ID) { findScene(id: $id) { paths { screenshot } title code details } }"


@pytest.fixture(scope="module")
def stash() -> Iterator[StashEmulator]:
    """Scenes 1..4: 1 and 3 have a cover, 2 and 4 do not."""
    with StashEmulator() as emulator:
        for number in range(1, 5):
            cover = solid_png((number, 0, 0)) if number % 2 else None
            emulator.add_scene(
                title=f"s{number}", files=[{"path": f"/data/{number}.mp4"}], cover=cover
            )
        yield emulator


def ids(result: dict) -> list[str]:
    return [scene["id"] for scene in result["findScenes"]["scenes"]]


def test_find_scenes_by_ids_ignores_the_scene_filter(stash):
    # Given two covered and two coverless scenes
    # When they are asked for by ids together with is_missing: "cover"
    result = data(
        stash, BY_IDS, {"ids": ["1", "2", "3", "4"], "scene_filter": {"is_missing": "cover"}}
    )

    # Then every asked-for scene comes back: Stash's FindMany branch never looks at the filter
    assert ids(result) == ["1", "2", "3", "4"]
    assert result["findScenes"]["count"] == 4


def test_find_scenes_by_ids_ignores_paging_and_sort_and_keeps_the_order_of_the_ids(stash):
    # When ids are asked for with a page size of 1 and a sort by id
    result = data(stash, BY_IDS, {"ids": ["4", "1", "3"], "filter": {"per_page": 1, "sort": "id"}})

    # Then all three come back in the order given, and count counts them all
    assert ids(result) == ["4", "1", "3"]
    assert result["findScenes"]["count"] == 3
    assert result["findScenes"]["filesize"] == 3_000_000.0


def test_a_missing_id_fails_the_whole_find_scenes_request_with_stashs_message(stash):
    # When one of the ids names no scene
    body = gql(stash, BY_IDS, {"ids": ["1", "77", "2"]})

    # Then the whole field fails (HTTP 200, data null) with FindMany's message, gqlgen-shaped
    assert body == {
        "errors": [{"message": "scene with id 77 not found", "path": ["findScenes"]}],
        "data": None,
    }


def test_a_repeated_id_is_refused_before_any_scene_is_read(stash):
    # When an id is given twice
    body = gql(stash, BY_IDS, {"ids": ["1", "1"]})

    # Then handleIDList refuses the list
    assert body["errors"][0]["message"] == "validating ids: duplicate id found: 1"
    assert body["data"] is None


def test_an_empty_ids_list_falls_back_to_the_filtered_query(stash):
    # When ids is an empty list (len(ids) == 0) and a filter is given
    result = data(stash, BY_IDS, {"ids": [], "scene_filter": {"is_missing": "cover"}})

    # Then the filter applies
    assert ids(result) == ["2", "4"]


def test_coverless_scenes_are_found_with_is_missing_cover_and_an_id_range_not_with_ids(stash):
    # When the scenes of a batch are checked for a cover the way real Stash supports:
    # the filtered query, is_missing "cover" plus an id range covering the batch
    batch = ["2", "3", "4"]
    scene_filter = {
        "is_missing": "cover",
        "id": {"value": int(min(batch, key=int)), "value2": int(max(batch, key=int)),
               "modifier": "BETWEEN"},
    }  # fmt: skip
    result = data(stash, COVERLESS, {"scene_filter": scene_filter})

    # Then exactly the coverless scenes of the batch come back
    assert [scene_id for scene_id in ids(result) if scene_id in batch] == ["2", "4"]


def test_find_scene_shows_no_sign_of_a_missing_cover_in_paths_screenshot(stash):
    # When a covered and a coverless scene are read by id
    covered = data(stash, PATHS, {"id": "1"})["findScene"]["paths"]["screenshot"]
    coverless = data(stash, PATHS, {"id": "2"})["findScene"]["paths"]["screenshot"]

    # Then both URLs have the same shape: `?t=<updated_at unix>`, no `default=true` marker
    assert covered.startswith(f"{stash.url}/scene/1/screenshot?t=")
    assert coverless.startswith(f"{stash.url}/scene/2/screenshot?t=")
    assert "default" not in covered + coverless


def test_the_screenshot_of_a_coverless_scene_is_stashs_default_svg_with_status_200(stash):
    # When both screenshots are downloaded through the URL Stash handed out
    covered = requests.get(f"{stash.url}/scene/1/screenshot?t=1", timeout=10)
    coverless = requests.get(f"{stash.url}/scene/2/screenshot?t=1", timeout=10)

    # Then both are 200 images with the same caching; only the bytes tell the default apart
    assert (covered.status_code, coverless.status_code) == (200, 200)
    assert covered.headers["Content-Type"] == "image/png"
    assert coverless.headers["Content-Type"] == "image/svg+xml"
    assert coverless.content == DEFAULT_IMAGES["scene"]
    assert covered.headers["Cache-Control"] == coverless.headers["Cache-Control"]


def test_unset_text_fields_are_empty_strings_not_null(stash):
    # Given a scene saved without code or details (Go `string` fields in Stash's model)
    # When it is read
    scene = data(stash, PATHS, {"id": "2"})["findScene"]

    # Then gqlgen renders the empty Go strings, never null
    assert (scene["code"], scene["details"]) == ("", "")


def test_a_repeated_id_in_the_deprecated_scene_ids_fails_as_not_found(stash):
    # Given the deprecated `scene_ids: [Int!]`, which skips handleIDList's duplicate check
    query = "query ($ids: [Int!]) { findScenes(scene_ids: $ids) { count } }"

    # When an existing scene's id is given twice
    body = gql(stash, query, {"ids": [1, 1]})

    # Then FindMany files the one row under the first slot and reports the second as missing
    assert body["errors"][0]["message"] == "scene with id 1 not found"
