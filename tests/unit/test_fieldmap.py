import unicodedata
from datetime import date, datetime
from pathlib import Path

import pytest

from stashplex.sync.fieldmap import (
    MAPPING_TABLE,
    PLEX_FIELDS,
    FieldChange,
    FieldToggles,
    desired_fields,
    diff_fields,
    mapping_table_markdown,
    plex_user_rating,
    same_value,
)
from stashplex.sync.sanitize import PartialDate
from stashplex.sync.scene import SceneFile, StashScene

SCENE = StashScene(
    id="12",
    title="A Title",
    details="Line one\nLine two",
    director="Jane Doe; John Roe\njane doe",
    date=PartialDate(year=2021, month=3, day=4),
    rating100=85,
    studio="Studio",
    parent_studio="Network",
    performers=("Alice", "Bob"),
    tags=("Outdoor", "Beach"),
    groups=("Series A",),
    files=(SceneFile(id="9", path="/data/x/clip.mp4", basename="clip.mp4"),),
)

ALL_ON = FieldToggles()
ALL_FIELDS = frozenset(PLEX_FIELDS)


def test_a_full_scene_maps_to_every_plex_field():
    assert desired_fields(SCENE, ALL_ON) == {
        "title": "A Title",
        "summary": "Line one\nLine two",
        "studio": "Studio",
        "originallyAvailableAt": "2021-03-04",
        "year": "2021",
        "userRating": "8.5",
        "genre": ("Outdoor", "Beach"),
        "actor": ("Alice", "Bob"),
        "collection": ("Series A",),
        "director": ("Jane Doe", "John Roe"),
    }


@pytest.mark.parametrize(
    ("toggle", "plex_field"),
    [
        pytest.param("title", "title", id="title off leaves the Plex title alone"),
        pytest.param("summary", "summary", id="summary off leaves the Plex summary alone"),
        pytest.param("studio", "studio", id="studio off leaves the Plex studio alone"),
        pytest.param(
            "date", ("originallyAvailableAt", "year"), id="date off leaves the Plex date alone"
        ),
        pytest.param("rating", "userRating", id="rating off leaves the Plex rating alone"),
        pytest.param("performers", "actor", id="performers off leaves the Plex cast alone"),
        pytest.param("tags", "genre", id="tags off leaves the Plex genres alone"),
        pytest.param("groups", "collection", id="groups off leaves Plex collections alone"),
        pytest.param("director", "director", id="director off leaves Plex directors alone"),
    ],
)
def test_a_field_switched_off_is_not_in_the_desired_state(toggle, plex_field):
    fields = desired_fields(SCENE, FieldToggles(**{toggle: False}))
    switched_off = set(plex_field) if isinstance(plex_field, tuple) else {plex_field}
    assert set(fields) == ALL_FIELDS - switched_off


def test_toggles_refuse_unknown_names():
    with pytest.raises(ValueError, match="colour"):
        FieldToggles(colour=True)


@pytest.mark.parametrize(
    ("rating100", "expected"),
    [
        pytest.param(85, "8.5", id="85 is 8.5"),
        pytest.param(80, "8.0", id="80 is 8.0"),
        pytest.param(100, "10.0", id="100 is 10.0"),
        pytest.param(1, "0.1", id="1 is 0.1"),
        pytest.param(None, "", id="no rating is the empty rating"),
    ],
)
def test_a_stash_rating_becomes_a_plex_rating_out_of_ten(rating100, expected):
    assert plex_user_rating(rating100) == expected


@pytest.mark.parametrize(
    ("stash_date", "expected"),
    [
        pytest.param(PartialDate(year=2021, month=3, day=4), "2021-03-04", id="a full date"),
        pytest.param(PartialDate(year=2021, month=3), "2021-03-01", id="a month gets day 01"),
        pytest.param(PartialDate(year=2021), "2021-01-01", id="a year gets January 1st"),
        pytest.param(None, "", id="no date is the empty date"),
    ],
)
def test_dates_are_whole_days_in_plex(stash_date, expected):
    scene = SCENE.model_copy(update={"date": stash_date})
    assert desired_fields(scene, ALL_ON)["originallyAvailableAt"] == expected


def test_a_scene_without_studio_has_the_empty_studio():
    scene = SCENE.model_copy(update={"studio": None})
    assert desired_fields(scene, ALL_ON)["studio"] == ""


def test_an_untitled_scene_is_titled_by_its_file_name_its_empty_title():
    scene = SCENE.model_copy(update={"title": ""})
    assert desired_fields(scene, ALL_ON)["title"] == "clip"


def test_a_scene_with_no_title_and_no_file_leaves_the_plex_title_alone():
    scene = SCENE.model_copy(update={"title": "", "files": ()})
    assert "title" not in desired_fields(scene, ALL_ON)


@pytest.mark.parametrize(
    ("director", "expected"),
    [
        pytest.param("Jane Doe", ("Jane Doe",), id="one director"),
        pytest.param("Kubrick, Stanley", ("Kubrick, Stanley",), id="a comma stays in the name"),
        pytest.param("A;B ; C", ("A", "B", "C"), id="semicolons separate"),
        pytest.param("A\nB\n\nC", ("A", "B", "C"), id="lines separate"),
        pytest.param("A;;\n;", ("A",), id="empty pieces are dropped"),
        pytest.param("", (), id="no director is the empty list"),
    ],
)
def test_the_free_text_director_is_split_into_people(director, expected):
    scene = SCENE.model_copy(update={"director": director})
    assert desired_fields(scene, ALL_ON)["director"] == expected


@pytest.mark.parametrize(
    ("toggles", "groups", "expected"),
    [
        pytest.param(
            FieldToggles(studio_as_collection=True),
            ("Series A",),
            ("Series A", "Studio"),
            id="the studio is added after the groups",
        ),
        pytest.param(
            FieldToggles(studio_as_collection=True),
            ("studio",),
            ("studio",),
            id="a group named like the studio is not repeated",
        ),
        pytest.param(
            FieldToggles(groups=False, studio_as_collection=True),
            ("Series A",),
            ("Studio",),
            id="with groups off the studio is the only collection",
        ),
        pytest.param(
            FieldToggles(), ("Series A",), ("Series A",), id="by default only groups are used"
        ),
    ],
)
def test_the_studio_can_also_be_a_collection(toggles, groups, expected):
    scene = SCENE.model_copy(update={"groups": groups})
    assert desired_fields(scene, toggles)["collection"] == expected


def test_the_mapping_table_covers_every_plex_field_and_toggle():
    markdown = mapping_table_markdown()

    assert markdown.startswith("| Stash field | Plex field | Rule | Setting |")
    assert len(markdown.splitlines()) == len(MAPPING_TABLE) + 2
    for field in PLEX_FIELDS:
        assert f"| `{field}` |" in markdown
    assert {row.toggle for row in MAPPING_TABLE} == set(FieldToggles.model_fields)


# -- diffing -------------------------------------------------------------------------------------


def change(field, old, new, lock_only=False):
    return FieldChange(field=field, old=old, new=new, lock_only=lock_only)


@pytest.mark.parametrize(
    ("current", "locked", "desired", "expected"),
    [
        pytest.param(
            {"title": "Same"}, {"title"}, {"title": "Same"}, [], id="equal and locked: no write"
        ),
        pytest.param(
            {"title": "Same"},
            set(),
            {"title": "Same"},
            [change("title", "Same", "Same", lock_only=True)],
            id="equal but unlocked: only the lock is written",
        ),
        pytest.param(
            {"title": "Old"},
            {"title"},
            {"title": "New"},
            [change("title", "Old", "New")],
            id="a different value is written even when locked",
        ),
        pytest.param(
            {"userRating": "8"}, {"userRating"}, {"userRating": "8.0"}, [], id="rating 8 is 8.0"
        ),
        pytest.param(
            {"userRating": 8.5}, {"userRating"}, {"userRating": "8.5"}, [], id="a float rating"
        ),
        pytest.param(
            {"userRating": None},
            {"userRating"},
            {"userRating": "8.5"},
            [change("userRating", "", "8.5")],
            id="an unrated item gets a rating",
        ),
        pytest.param(
            {"originallyAvailableAt": datetime(2021, 3, 4)},
            {"originallyAvailableAt"},
            {"originallyAvailableAt": "2021-03-04"},
            [],
            id="a plexapi datetime equals its day",
        ),
        pytest.param(
            {"originallyAvailableAt": date(2021, 3, 4)},
            {"originallyAvailableAt"},
            {"originallyAvailableAt": "2021-03-04"},
            [],
            id="a date object equals its day",
        ),
        pytest.param(
            {"originallyAvailableAt": "2021-03-04 00:00:00"},
            {"originallyAvailableAt"},
            {"originallyAvailableAt": "2021-03-04"},
            [],
            id="a timestamp string equals its day",
        ),
        pytest.param(
            {"summary": unicodedata.normalize("NFD", "Café")},
            {"summary"},
            {"summary": "Café"},
            [],
            id="NFD and NFC text are equal",
        ),
        pytest.param(
            {"genre": ["B", "A"]}, {"genre"}, {"genre": ("A", "B")}, [], id="genres are a set"
        ),
        pytest.param(
            {"genre": ["a"]},
            {"genre"},
            {"genre": ("A",)},
            [],
            id="a case-only difference is no change: Plex keeps one spelling per tag",
        ),
        pytest.param(
            {"actor": ["B", "A"]},
            {"actor"},
            {"actor": ("A", "B")},
            [change("actor", ("B", "A"), ("A", "B"))],
            id="the cast is an ordered list",
        ),
        pytest.param(
            {},
            set(),
            {"studio": "", "collection": ()},
            [change("studio", "", "", lock_only=True), change("collection", (), (), True)],
            id="a field Plex does not report counts as empty",
        ),
        pytest.param(
            {"director": ("X",), "title": "T"},
            {"title", "director"},
            {"director": (), "title": "U"},
            [change("title", "T", "U"), change("director", ("X",), ())],
            id="changes come in Plex field order",
        ),
    ],
)
def test_diff_writes_only_what_differs_or_is_unlocked(current, locked, desired, expected):
    diff = diff_fields(current, frozenset(locked), desired)
    assert list(diff.changes) == expected
    assert diff.needs_write == bool(expected)


def test_resyncing_an_unchanged_scene_writes_nothing():
    # Given a Plex item that already shows exactly what the scene wants, all locked
    desired = desired_fields(SCENE, ALL_ON)
    # When the same scene is diffed again
    diff = diff_fields(dict(desired), ALL_FIELDS, desired)
    # Then there is nothing to send
    assert not diff.needs_write


def test_a_fresh_item_gets_every_field_written_and_locked():
    desired = desired_fields(SCENE, ALL_ON)
    diff = diff_fields({}, frozenset(), desired)
    assert [c.field for c in diff.changes] == list(PLEX_FIELDS)
    assert not [c for c in diff.changes if c.lock_only and c.new]


def test_an_unknown_desired_field_is_refused():
    with pytest.raises(ValueError, match=r"unknown Plex field.*'colour'"):
        diff_fields({}, frozenset(), {"colour": "red"})


def test_a_tag_list_given_as_one_string_is_refused():
    with pytest.raises(TypeError, match="list of names"):
        diff_fields({"genre": "Drama"}, frozenset(), {"genre": ("Drama",)})


def test_same_value_treats_an_empty_rating_as_no_rating():
    assert same_value("userRating", None, "")
    assert not same_value("userRating", "0", "")


def test_the_readme_shows_exactly_the_mapping_table_the_code_has():
    # Given the README a user reads / Then its field-mapping table is the generated one
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    assert mapping_table_markdown() in readme
