import copy
import re
import unicodedata

import pytest
from pydantic import ValidationError

from stashplex.sync.sanitize import MAX_NAME_LEN, MAX_SUMMARY_LEN, PartialDate
from stashplex.sync.scene import SceneDataError, SceneFile, StashScene

FULL_SCENE = {
    "id": "12",
    "title": "  A  Title ",
    "code": "ABC-123",
    "details": "Line one\r\nLine two",
    "director": "Jane Doe, John Roe",
    "urls": ["https://example.invalid/a"],
    "date": "2021-03-04",
    "rating100": 85,
    "organized": True,
    "created_at": "2026-01-10T19:00:00+11:00",
    "updated_at": "2026-01-11T19:00:00+11:00",
    "studio": {"id": "3", "name": "Studio", "parent_studio": {"id": "1", "name": "Network"}},
    "performers": [
        {"id": "5", "name": "Alice", "disambiguation": None},
        {"id": "6", "name": "Alice", "disambiguation": "2010s"},
    ],
    "tags": [{"id": "7", "name": "Outdoor"}, {"id": "8", "name": "Beach"}],
    "groups": [
        {"group": {"id": "2", "name": "Series B"}, "scene_index": 2},
        {"group": {"id": "3", "name": "Series A"}, "scene_index": 1},
    ],
    "files": [
        {"id": "9", "path": "/data/x/y.mp4", "basename": "y.mp4", "size": 123, "duration": 61.5}
    ],
    "paths": {"screenshot": "http://127.0.0.1:9999/scene/12/screenshot?t=1700000000"},
}


def scene_with(**changes):
    data = copy.deepcopy(FULL_SCENE)
    data.update(changes)
    return StashScene.from_graphql(data)


def test_a_complete_scene_is_read_field_by_field():
    scene = StashScene.from_graphql(FULL_SCENE)

    assert scene.id == "12"
    assert scene.title == "A Title"
    assert scene.code == "ABC-123"
    assert scene.details == "Line one\nLine two"
    assert scene.director == "Jane Doe, John Roe"
    assert scene.date == PartialDate(year=2021, month=3, day=4)
    assert scene.rating100 == 85
    assert scene.organized is True
    assert (scene.studio, scene.parent_studio) == ("Studio", "Network")
    assert scene.performers == ("Alice", "Alice (2010s)")
    assert scene.tags == ("Outdoor", "Beach")
    assert scene.groups == ("Series A", "Series B")
    assert scene.files == (
        SceneFile(id="9", path="/data/x/y.mp4", basename="y.mp4", size=123, duration_s=61.5),
    )
    assert scene.screenshot_url == "http://127.0.0.1:9999/scene/12/screenshot?t=1700000000"
    assert scene.updated_at == "2026-01-11T19:00:00+11:00"
    assert scene.problems == ()


def test_a_scene_with_only_an_id_gets_empty_values():
    scene = StashScene.from_graphql({"id": "1"})

    assert scene == StashScene(id="1")
    assert scene.display_title == ""


def test_a_scene_with_every_field_null_gets_empty_values():
    nulls = {key: None for key in FULL_SCENE if key != "id"}

    scene = StashScene.from_graphql({"id": "4", **nulls})

    assert scene == StashScene(id="4")


def test_a_scene_is_immutable():
    scene = StashScene.from_graphql(FULL_SCENE)
    with pytest.raises(ValidationError):
        scene.title = "changed"


@pytest.mark.parametrize(
    ("title", "basename", "expected"),
    [
        pytest.param("Given", "file.mp4", "Given", id="a title wins over the file name"),
        pytest.param("", "My Clip.mp4", "My Clip", id="no title shows the file name without ext"),
        pytest.param(None, "a.b.mkv", "a.b", id="only the last extension is dropped"),
        pytest.param(None, ".hidden", ".hidden", id="a dot file keeps its whole name"),
        pytest.param(None, "noext", "noext", id="a name without extension is kept"),
        pytest.param("   ", "x.mp4", "x", id="a blank title counts as no title"),
    ],
)
def test_the_display_title_is_what_stash_shows(title, basename, expected):
    scene = scene_with(
        title=title, files=[{"id": "1", "path": f"/d/{basename}", "basename": basename}]
    )
    assert scene.display_title == expected


def test_a_missing_basename_is_taken_from_the_path():
    scene = scene_with(title=None, files=[{"id": "1", "path": "C:\\Videos\\clip.mkv"}])
    assert scene.files[0].basename == "clip.mkv"
    assert scene.display_title == "clip"


@pytest.mark.parametrize(
    ("field", "raw", "expected"),
    [
        pytest.param("title", "Cafe\u0301\x00", "Café", id="title is NFC without controls"),
        pytest.param("title", "x" * 2000, "x" * 2000, id="a long title is kept whole"),
        pytest.param("details", "a\n\n\n\nb", "a\n\n\n\nb", id="details keep blank lines"),
        pytest.param(
            "details", "a  \nb\t\n c", "a  \nb\t\n c", id="details keep Markdown line breaks"
        ),
        pytest.param("details", "y" * 20_000, None, id="details are cut to the summary limit"),
        pytest.param("code", "  C-1\t", "C-1", id="code is stripped"),
    ],
)
def test_text_fields_are_cleaned(field, raw, expected):
    scene = scene_with(**{field: raw})
    value = getattr(scene, field)
    if expected is not None:
        assert value == expected
    else:
        assert value.endswith("…")
        assert len(value) == MAX_SUMMARY_LEN
        assert scene.problems == (f"{field}: cut to {MAX_SUMMARY_LEN} characters",)


@pytest.mark.parametrize(
    ("raw", "expected", "problem"),
    [
        pytest.param(1, 1, None, id="the lowest rating is kept"),
        pytest.param(100, 100, None, id="the highest rating is kept"),
        pytest.param(84.6, 85, None, id="a fractional rating is rounded"),
        pytest.param(0, None, "outside 1..100", id="zero is no rating"),
        pytest.param(101, None, "outside 1..100", id="above a hundred is refused"),
        pytest.param(-5, None, "outside 1..100", id="a negative rating is refused"),
        pytest.param("85", None, "not a number", id="a rating as text is refused"),
        pytest.param(True, None, "not a number", id="a boolean is not a rating"),
        pytest.param(float("nan"), None, "not a number", id="NaN is not a rating"),
        pytest.param(None, None, None, id="no rating is simply none"),
    ],
)
def test_ratings_are_validated_to_one_through_a_hundred(raw, expected, problem):
    scene = scene_with(rating100=raw)
    assert scene.rating100 == expected
    if problem:
        assert len(scene.problems) == 1
        assert problem in scene.problems[0]
    else:
        assert scene.problems == ()


def test_an_invalid_date_is_dropped_and_reported():
    scene = scene_with(date="2021-02-30")
    assert scene.date is None
    assert scene.problems == (
        "date: ignored, '2021-02-30': day 30 does not exist in 2021-02 (last day 28)",
    )


def test_a_partial_date_keeps_its_precision():
    scene = scene_with(date="2021-03")
    assert scene.date is not None
    assert scene.date.isoformat() == "2021-03"


def test_duplicate_tags_keep_the_first_spelling_and_stash_order():
    tags = [{"id": str(i), "name": name} for i, name in enumerate(["b", "A", "B", " a ", "c"])]
    assert scene_with(tags=tags).tags == ("b", "A", "c")


def test_nfd_and_nfc_performer_names_are_one_performer():
    performers = [
        {"id": "1", "name": unicodedata.normalize("NFD", "Zoë")},
        {"id": "2", "name": "ZOË"},
    ]
    assert scene_with(performers=performers).performers == ("Zoë",)


def test_performers_with_the_same_name_are_told_apart_by_disambiguation():
    performers = [
        {"id": "1", "name": "Sam", "disambiguation": "UK"},
        {"id": "2", "name": "Sam", "disambiguation": "US"},
        {"id": "3", "name": "Sam", "disambiguation": "  "},
    ]
    assert scene_with(performers=performers).performers == ("Sam (UK)", "Sam (US)", "Sam")


def test_entries_without_a_name_are_skipped():
    tags = [{"id": "1", "name": None}, {"id": "2"}, {"id": "3", "name": "\u200b"}, {"name": "ok"}]
    assert scene_with(tags=tags).tags == ("ok",)


def test_groups_are_ordered_by_scene_index_then_name():
    groups = [
        {"group": {"id": "1", "name": "zeta"}, "scene_index": None},
        {"group": {"id": "2", "name": "Beta"}, "scene_index": 3},
        {"group": {"id": "3", "name": "alpha"}, "scene_index": None},
        {"group": {"id": "4", "name": "Gamma"}, "scene_index": 1},
        {"group": {"id": "5", "name": "Delta"}, "scene_index": 3},
    ]
    assert scene_with(groups=groups).groups == ("Gamma", "Beta", "Delta", "alpha", "zeta")


def test_a_huge_tag_list_is_kept_whole_as_plex_has_no_limit():
    tags = [{"id": str(i), "name": f"tag {i}"} for i in range(1_000)]

    scene = scene_with(tags=tags)

    assert len(scene.tags) == 1_000
    assert scene.problems == ()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        pytest.param("tags", [{"id": "1", "name": "t" * 300}], id="a tag"),
        pytest.param("performers", [{"id": "1", "name": "p" * 300}], id="a performer"),
        pytest.param("groups", [{"group": {"id": "1", "name": "g" * 300}}], id="a group"),
        pytest.param("director", "Jane; " + "d" * 300, id="a director"),
    ],
)
def test_a_name_past_the_name_limit_is_cut_and_reported(field, value):
    scene = scene_with(**{field: value})

    (problem,) = scene.problems
    assert problem.startswith(f"{field}: 1 name(s) cut to {MAX_NAME_LEN} characters")


def test_the_director_text_keeps_its_lines_so_each_line_is_one_person():
    scene = scene_with(director="Kubrick, Stanley\r\nJane Doe; Ann")
    assert scene.director == "Kubrick, Stanley\nJane Doe; Ann"
    assert scene.directors == ("Kubrick, Stanley", "Jane Doe", "Ann")


def test_a_numeric_id_is_accepted_as_text():
    assert StashScene.from_graphql({"id": 12}).id == "12"


def test_file_sizes_and_durations_that_make_no_sense_become_unknown():
    files = [{"id": "1", "path": "/a.mp4", "size": -1, "duration": float("inf")}]
    scene = scene_with(files=files)
    assert (scene.files[0].size, scene.files[0].duration_s) == (None, None)


def test_files_keep_stash_order_so_the_first_is_primary():
    files = [{"id": "2", "path": "/b.mp4"}, {"id": "1", "path": "/a.mp4"}]
    assert [file.id for file in scene_with(files=files).files] == ["2", "1"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        pytest.param({"title": "x"}, "needs a non-empty 'id'", id="a scene without an id"),
        pytest.param({"id": ""}, "needs a non-empty 'id'", id="a scene with an empty id"),
        pytest.param({"id": True}, "needs a non-empty 'id'", id="a scene with a boolean id"),
        pytest.param(
            {"id": "3", "files": "x.mp4"},
            "scene 3: field 'files' must be a list",
            id="files that are not a list",
        ),
        pytest.param(
            {"id": "3", "files": [{"id": "1"}]},
            "'files[0].path' must be a non-empty path",
            id="a file without a path",
        ),
        pytest.param(
            {"id": "3", "files": ["/a.mp4"]},
            "'files[0]' must be an object",
            id="a file that is a bare string",
        ),
        pytest.param(
            {"id": "3", "files": [{"path": "/a.mp4"}]},
            "'files[0].id' must be a non-empty id",
            id="a file without an id",
        ),
        pytest.param(
            {"id": "3", "title": ["x"]},
            "field 'title' must be text or null, got list",
            id="a title that is a list",
        ),
        pytest.param(
            {"id": "3", "tags": {"name": "x"}},
            "field 'tags' must be a list",
            id="tags that are an object",
        ),
        pytest.param(
            {"id": "3", "tags": ["x"]},
            "field 'tags[0]' must be an object",
            id="a tag that is a bare string",
        ),
        pytest.param(
            {"id": "3", "tags": [{"name": 5}]},
            "field 'tags.name' must be text",
            id="a tag name that is a number",
        ),
        pytest.param(
            {"id": "3", "studio": "Studio"},
            "field 'studio' must be an object or null",
            id="a studio that is a bare string",
        ),
        pytest.param(
            {"id": "3", "organized": "yes"},
            "field 'organized' must be true or false",
            id="organized that is not a boolean",
        ),
        pytest.param(
            {"id": "3", "groups": [{"scene_index": 1}]},
            "field 'groups[0].group' must be",
            id="a group membership without its group",
        ),
        pytest.param(
            {"id": "3", "groups": [{"group": {"name": "g"}, "scene_index": "1"}]},
            "'groups[0].scene_index' must be an integer",
            id="a scene index that is text",
        ),
    ],
)
def test_data_the_sync_cannot_use_is_refused_naming_scene_and_field(data, message):
    with pytest.raises(SceneDataError, match=re.escape(message)):
        StashScene.from_graphql(data)


def test_a_scene_that_is_not_an_object_is_refused():
    with pytest.raises(SceneDataError, match="must be a JSON object, got list"):
        StashScene.from_graphql([])  # type: ignore[arg-type]


def test_a_scene_data_error_is_a_value_error():
    assert issubclass(SceneDataError, ValueError)
