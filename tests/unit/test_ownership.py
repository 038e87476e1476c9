"""The ownership rules, as tables: which fields a sync writes, clears or leaves alone."""

import pytest

from stashplex.sync.fieldmap import FieldChange, FieldToggles, desired_fields
from stashplex.sync.ownership import (
    OwnershipPolicy,
    Verdict,
    empty_fields,
    field_verdict,
    plan_collections,
    plan_ownership,
    plex_field_names,
)
from stashplex.sync.scene import SceneFile, StashScene

DEFAULT = OwnershipPolicy()
AUTHORITATIVE = OwnershipPolicy(stash_authoritative=True)
PRESERVING = OwnershipPolicy(preserve_plex_edits=True)

#: What an agent filled in, unlocked: the Plex side of a new user's library.
AGENT = {
    "title": "Agent Title",
    "summary": "Agent summary",
    "studio": "Agent Studio",
    "originallyAvailableAt": "1999-01-02",
    "userRating": "",
    "genre": ("Drama",),
    "actor": ("Agent Actor",),
    "collection": ("Kometa: Top Rated",),
    "director": ("Agent Director",),
}
FILE = (SceneFile(id="1", path="/data/a/clip.mp4", basename="clip.mp4"),)


def plan(scene, current=AGENT, locked=(), owned=None, policy=DEFAULT):
    desired = desired_fields(scene, FieldToggles())
    return plan_ownership(
        current,
        frozenset(locked),
        desired,
        empty=empty_fields(desired, titled=bool(scene.title)),
        owned=owned or {},
        policy=policy,
    )


def verdicts(result):
    return {d.field: d.verdict for d in result.decisions}


# -- one field --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("owned", "empty", "edited", "policy", "expected"),
    [
        pytest.param(False, False, False, DEFAULT, Verdict.FILLED, id="not ours, Stash has it"),
        pytest.param(False, True, False, DEFAULT, Verdict.LEFT_ALONE, id="not ours, Stash empty"),
        pytest.param(
            False, True, False, AUTHORITATIVE, Verdict.OWNED, id="authoritative clears too"
        ),
        pytest.param(
            False, False, False, AUTHORITATIVE, Verdict.FILLED, id="authoritative fills"
        ),
        pytest.param(True, False, False, DEFAULT, Verdict.OWNED, id="ours, Stash has it"),
        pytest.param(True, True, False, DEFAULT, Verdict.OWNED, id="ours, Stash removed it"),
        pytest.param(True, False, True, DEFAULT, Verdict.OWNED, id="ours, edited, not kept"),
        pytest.param(True, False, True, PRESERVING, Verdict.PRESERVED, id="ours, edited, kept"),
        pytest.param(True, True, True, PRESERVING, Verdict.PRESERVED, id="kept even if empty"),
        pytest.param(False, True, True, PRESERVING, Verdict.LEFT_ALONE, id="never ours, empty"),
    ],
)
def test_a_field_s_verdict_follows_the_ownership_rule(owned, empty, edited, policy, expected):
    verdict = field_verdict(owned=owned, stash_empty=empty, edited_in_plex=edited, policy=policy)
    assert verdict is expected


@pytest.mark.parametrize(
    ("desired", "titled", "expected"),
    [
        pytest.param({"summary": "", "genre": ()}, True, {"summary", "genre"}, id="empties"),
        pytest.param({"title": "clip"}, False, {"title"}, id="the file-name title is empty"),
        pytest.param({"title": "Real"}, True, set(), id="a real title is not"),
        pytest.param({"userRating": "8.5", "actor": ("A",)}, True, set(), id="values are not"),
    ],
)
def test_empty_fields_are_those_stash_has_nothing_for(desired, titled, expected):
    assert empty_fields(desired, titled=titled) == frozenset(expected)


# -- collections ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("current", "ours", "wanted", "added", "removed", "result", "after"),
    [
        pytest.param(
            ["Kometa: Top Rated"], [], ["Series A"],
            ["Series A"], [], ["Kometa: Top Rated", "Series A"], ["Series A"],
            id="ours are added next to another tool's",
        ),
        pytest.param(
            ["Kometa: Top Rated", "Series A"], ["Series A"], ["Series B"],
            ["Series B"], ["Series A"], ["Kometa: Top Rated", "Series B"], ["Series B"],
            id="a group renamed in Stash replaces only our name",
        ),
        pytest.param(
            ["Kometa: Top Rated", "Series A"], ["Series A"], [],
            [], ["Series A"], ["Kometa: Top Rated"], [],
            id="a group removed in Stash removes only our name",
        ),
        pytest.param(
            ["Favourites"], [], ["Favourites"],
            [], [], ["Favourites"], [],
            id="a name that was there before us is not ours",
        ),
        pytest.param(
            ["Favourites"], [], [],
            [], [], ["Favourites"], [],
            id="and Stash dropping it leaves it",
        ),
        pytest.param(
            ["series a"], ["Series A"], ["Series A"],
            [], [], ["series a"], ["Series A"],
            id="names compare case-insensitively",
        ),
        pytest.param(
            ["Other"], ["Series A"], ["Series A"],
            ["Series A"], [], ["Other", "Series A"], ["Series A"],
            id="our name taken off in Plex is put back",
        ),
    ],
)  # fmt: skip
def test_collections_are_owned_name_by_name(current, ours, wanted, added, removed, result, after):
    planned = plan_collections(current, ours, wanted)
    assert planned.added == tuple(added)
    assert planned.removed == tuple(removed)
    assert planned.result == tuple(result)
    assert planned.ours == tuple(after)


# -- a whole item --------------------------------------------------------------------------


def test_an_empty_scene_changes_nothing_on_an_agent_filled_item():
    # Given an item an agent filled, unlocked, and a freshly scanned scene with no metadata
    scene = StashScene(id="1", files=FILE)
    # When its write is planned for the first time
    result = plan(scene)
    # Then nothing is sent, nothing becomes ours, and every field is left alone
    assert result.changes == ()
    assert result.owned == {}
    assert set(verdicts(result).values()) == {Verdict.LEFT_ALONE}


def test_stash_values_fill_an_agent_item_and_are_locked_the_rest_is_left_alone():
    scene = StashScene(id="1", title="Stash Title", tags=("Outdoor",), groups=("Series A",),
                       files=FILE)  # fmt: skip
    result = plan(scene)
    assert verdicts(result) == {
        "title": Verdict.FILLED,
        "summary": Verdict.LEFT_ALONE,
        "studio": Verdict.LEFT_ALONE,
        "originallyAvailableAt": Verdict.LEFT_ALONE,
        "year": Verdict.LEFT_ALONE,
        "userRating": Verdict.LEFT_ALONE,
        "genre": Verdict.FILLED,
        "actor": Verdict.LEFT_ALONE,
        "collection": Verdict.FILLED,
        "director": Verdict.LEFT_ALONE,
    }
    assert list(result.changes) == [
        FieldChange(field="title", old="Agent Title", new="Stash Title"),
        FieldChange(field="genre", old=("Drama",), new=("Outdoor",)),
        FieldChange(
            field="collection",
            old=("Kometa: Top Rated",),
            new=("Kometa: Top Rated", "Series A"),
            lock=None,
        ),
    ]
    assert result.owned == {"title": "Stash Title", "genre": ("Outdoor",),
                            "collection": ("Series A",)}  # fmt: skip


@pytest.mark.parametrize(
    ("field", "stash", "owned_value", "cleared"),
    [
        pytest.param("summary", {"details": ""}, "Ours", "", id="summary"),
        pytest.param("studio", {"studio": None}, "Ours", "", id="studio"),
        pytest.param("genre", {"tags": ()}, ("Ours",), (), id="genres"),
        pytest.param("title", {"title": ""}, "Ours", "clip", id="title goes to the file name"),
    ],
)
def test_a_value_removed_in_stash_clears_a_field_we_own_and_keeps_it_locked(
    field, stash, owned_value, cleared
):
    scene = StashScene(id="1", title="T", details="D", studio="S", tags=("G",), files=FILE)
    scene = scene.model_copy(update=stash)
    current = {**AGENT, field: owned_value}
    result = plan(scene, current=current, locked={field}, owned={field: owned_value})
    (change,) = [c for c in result.changes if c.field == field]
    assert (change.new, change.lock, change.lock_only) == (cleared, True, False)
    assert verdicts(result)[field] is Verdict.OWNED
    assert result.owned[field] == cleared


def test_the_file_name_title_never_replaces_a_title_we_do_not_own():
    scene = StashScene(id="1", files=FILE)
    result = plan(scene)
    assert verdicts(result)["title"] is Verdict.LEFT_ALONE
    assert not [c for c in result.changes if c.field == "title"]


def test_stash_authoritative_clears_and_locks_every_empty_field():
    scene = StashScene(id="1", files=FILE)
    result = plan(scene, policy=AUTHORITATIVE)
    changed = {c.field: c.new for c in result.changes if not c.lock_only}
    assert changed == {
        "title": "clip",
        "summary": "",
        "studio": "",
        "originallyAvailableAt": "",
        "genre": (),
        "actor": (),
        "director": (),
    }
    assert all(c.lock for c in result.changes)
    # And an empty field that is already empty gets the lock
    assert [c.field for c in result.changes if c.lock_only] == ["year", "userRating"]
    # Collections stay name by name even then: another tool's name is not Stash's to clear
    assert verdicts(result)["collection"] is Verdict.LEFT_ALONE


def test_a_value_already_there_and_locked_costs_nothing_and_is_not_taken():
    scene = StashScene(id="1", title="Agent Title", files=FILE)
    result = plan(scene, locked={"title"})
    assert result.changes == ()
    assert "title" not in result.owned


def test_a_value_already_there_but_unlocked_is_locked_and_so_becomes_ours():
    scene = StashScene(id="1", title="Agent Title", files=FILE)
    result = plan(scene)
    assert list(result.changes) == [
        FieldChange(field="title", old="Agent Title", new="Agent Title", lock_only=True)
    ]
    assert result.owned == {"title": "Agent Title"}


@pytest.mark.parametrize(
    ("plex_title", "policy", "verdict", "sent"),
    [
        pytest.param("Person's", PRESERVING, Verdict.PRESERVED, None, id="a person's edit is kept"),
        pytest.param("Person's", DEFAULT, Verdict.OWNED, "New", id="or overwritten when not asked"),
        pytest.param("Ours", PRESERVING, Verdict.OWNED, "New", id="our own value follows Stash"),
        pytest.param("New", PRESERVING, Verdict.OWNED, None, id="an edit that matches Stash"),
    ],
)
def test_a_person_s_edit_to_a_field_we_own_is_preserved_when_asked(
    plex_title, policy, verdict, sent
):
    scene = StashScene(id="1", title="New", files=FILE)
    result = plan(
        scene, current={"title": plex_title}, locked={"title"}, owned={"title": "Ours"},
        policy=policy,
    )  # fmt: skip
    assert verdicts(result)["title"] is verdict
    assert [c.new for c in result.changes if c.field == "title"] == ([sent] if sent else [])
    assert result.preserved == (("title",) if verdict is Verdict.PRESERVED else ())
    expected_owned = "Ours" if verdict is Verdict.PRESERVED else "New"
    assert result.owned["title"] == expected_owned


def test_a_collection_of_ours_taken_off_in_plex_is_preserved_when_asked():
    scene = StashScene(id="1", groups=("Series A",), files=FILE)
    result = plan(scene, current={"collection": ("Other",)}, owned={"collection": ("Series A",)},
                  policy=PRESERVING)  # fmt: skip
    assert verdicts(result)["collection"] is Verdict.PRESERVED
    assert not [c for c in result.changes if c.field == "collection"]
    assert result.owned["collection"] == ("Series A",)


def test_a_field_outside_this_sync_keeps_its_ownership():
    scene = StashScene(id="1", files=FILE)
    desired = desired_fields(scene, FieldToggles(summary=False))
    result = plan_ownership(
        AGENT, frozenset(), desired, empty=empty_fields(desired, titled=False),
        owned={"summary": "Ours"}, policy=DEFAULT,
    )  # fmt: skip
    assert result.owned == {"summary": "Ours"}


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        pytest.param(["title", "Summary"], ["title", "summary"], id="Plex names, any case"),
        pytest.param(
            ["tags", "date", "groups"],
            ["genre", "originallyAvailableAt", "collection"],
            id="Stash's words",
        ),
        pytest.param(["genre", "tags"], ["genre"], id="each once"),
    ],
)
def test_fields_can_be_named_in_plex_s_or_stash_s_words(names, expected):
    assert plex_field_names(names) == expected


def test_an_unknown_field_name_is_refused_naming_the_known_ones():
    with pytest.raises(ValueError, match=r"unknown field 'colour'; known: title"):
        plex_field_names(["colour"])
