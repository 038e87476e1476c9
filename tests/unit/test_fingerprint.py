import unicodedata

import pytest

from stashplex.sync.fieldmap import FieldToggles
from stashplex.sync.fingerprint import fingerprint, poster_source
from stashplex.sync.sanitize import PartialDate
from stashplex.sync.scene import SceneFile, StashScene

SCENE = StashScene(
    id="12",
    title="A Title",
    code="ABC-1",
    details="Details",
    director="Jane Doe",
    date=PartialDate(year=2021, month=3, day=4),
    rating100=85,
    organized=False,
    studio="Studio",
    parent_studio="Network",
    performers=("Alice", "Bob"),
    tags=("Outdoor", "Beach"),
    groups=("Series A",),
    files=(SceneFile(id="9", path="/data/x/clip.mp4", basename="clip.mp4", size=1),),
    screenshot_url="http://127.0.0.1:9999/scene/12/screenshot?t=1700000000",
    updated_at="2026-01-11T19:00:00+11:00",
)
TOGGLES = FieldToggles()
BASE = fingerprint(SCENE, TOGGLES)


def test_a_fingerprint_is_a_sha256_hex_digest():
    assert len(BASE) == 64
    assert int(BASE, 16) >= 0


def test_the_same_scene_always_has_the_same_fingerprint():
    rebuilt = StashScene.model_validate(SCENE.model_dump())
    assert fingerprint(rebuilt, FieldToggles()) == BASE


@pytest.mark.parametrize(
    "update",
    [
        pytest.param({"title": "Other"}, id="a new title"),
        pytest.param({"details": "Other details"}, id="new details"),
        pytest.param({"director": "John Roe"}, id="a new director"),
        pytest.param({"date": PartialDate(year=2021, month=3)}, id="a less precise date"),
        pytest.param({"date": None}, id="a removed date"),
        pytest.param({"rating100": 86}, id="a new rating"),
        pytest.param({"rating100": None}, id="a removed rating"),
        pytest.param({"studio": "Other"}, id="a new studio"),
        pytest.param({"performers": ("Bob", "Alice")}, id="a new billing order"),
        pytest.param({"tags": ("Outdoor",)}, id="a removed tag"),
        pytest.param({"groups": ("Series B",)}, id="a new group"),
        pytest.param(
            {"files": (SceneFile(id="9", path="/data/x/moved.mp4", basename="moved.mp4"),)},
            id="a moved file",
        ),
        pytest.param(
            {"screenshot_url": "http://127.0.0.1:9999/scene/12/screenshot?t=1800000000"},
            id="a new screenshot",
        ),
    ],
)
def test_changing_a_synced_value_changes_the_fingerprint(update):
    assert fingerprint(SCENE.model_copy(update=update), TOGGLES) != BASE


@pytest.mark.parametrize(
    "update",
    [
        pytest.param({"organized": True}, id="marking the scene organized"),
        pytest.param({"code": "XYZ-9"}, id="a new studio code"),
        pytest.param({"parent_studio": "Other network"}, id="a new parent studio"),
        pytest.param({"updated_at": "2027-01-01T00:00:00Z"}, id="a new update time"),
        pytest.param({"problems": ("date: ignored",)}, id="a cleaning note"),
        pytest.param(
            {"files": (SceneFile(id="10", path="/data/x/clip.mp4", basename="clip.mp4", size=2),)},
            id="a new file id and size at the same path",
        ),
        pytest.param(
            {
                "screenshot_url": "https://stash.example.invalid:443/scene/12/screenshot?t=1700000000"
            },
            id="Stash moving to another host",
        ),
    ],
)
def test_changing_an_unsynced_value_keeps_the_fingerprint(update):
    assert fingerprint(SCENE.model_copy(update=update), TOGGLES) == BASE


def test_unsynced_raw_fields_such_as_urls_do_not_reach_the_fingerprint():
    # Given the same scene read from Stash before and after its URLs changed
    raw = {"id": "1", "title": "T", "urls": ["https://a.invalid"], "organized": False}
    before = StashScene.from_graphql(raw)
    after = StashScene.from_graphql({**raw, "urls": ["https://b.invalid"], "organized": True})
    # Then both have one fingerprint
    assert fingerprint(before, TOGGLES) == fingerprint(after, TOGGLES)


@pytest.mark.parametrize(
    ("toggle", "update"),
    [
        pytest.param("title", {"title": "Other"}, id="title"),
        pytest.param("summary", {"details": "Other"}, id="summary"),
        pytest.param("studio", {"studio": "Other"}, id="studio"),
        pytest.param("date", {"date": None}, id="date"),
        pytest.param("rating", {"rating100": 10}, id="rating"),
        pytest.param("performers", {"performers": ()}, id="performers"),
        pytest.param("tags", {"tags": ("New",)}, id="tags"),
        pytest.param("groups", {"groups": ()}, id="groups"),
        pytest.param("director", {"director": ""}, id="director"),
        pytest.param(
            "poster",
            {"screenshot_url": "http://127.0.0.1:9999/scene/12/screenshot?t=2"},
            id="poster",
        ),
    ],
)
def test_a_field_switched_off_does_not_change_the_fingerprint(toggle, update):
    toggles = FieldToggles(**{toggle: False})
    assert fingerprint(SCENE.model_copy(update=update), toggles) == fingerprint(SCENE, toggles)


def test_switching_a_field_off_changes_the_fingerprint():
    assert fingerprint(SCENE, FieldToggles(tags=False)) != BASE


def test_adding_the_studio_as_a_collection_changes_the_fingerprint():
    assert fingerprint(SCENE, FieldToggles(studio_as_collection=True)) != BASE


def test_nfd_and_nfc_file_paths_give_one_fingerprint():
    def with_path(path):
        return SCENE.model_copy(update={"files": (SceneFile(id="9", path=path, basename="x"),)})

    nfc = fingerprint(with_path(unicodedata.normalize("NFC", "/d/Café.mp4")), TOGGLES)
    nfd = fingerprint(with_path(unicodedata.normalize("NFD", "/d/Café.mp4")), TOGGLES)
    assert nfc == nfd


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        pytest.param(
            "http://127.0.0.1:9999/scene/12/screenshot?t=17",
            "/scene/12/screenshot?t=17",
            id="host and scheme are dropped",
        ),
        pytest.param("http://h/scene/1/screenshot", "/scene/1/screenshot", id="no query"),
        pytest.param(None, None, id="no screenshot"),
        pytest.param("", None, id="an empty url"),
    ],
)
def test_the_poster_source_is_the_screenshot_path_and_query(url, expected):
    assert poster_source(url) == expected
