from urllib.parse import parse_qsl, unquote, urlsplit

import pytest
from plexapi.utils import joinArgs

from stashplex.sync.fieldmap import FieldChange, FieldToggles, desired_fields, diff_fields
from stashplex.sync.plexedit import describe_params, edit_params
from stashplex.sync.scene import StashScene


def change(field, new, old=None, lock_only=False):
    if old is None:
        old = () if isinstance(new, tuple) else ""
    return FieldChange(field=field, old=old, new=new, lock_only=lock_only)


@pytest.mark.parametrize(
    ("changes", "current", "expected"),
    [
        pytest.param(
            [change("title", "New Title")],
            {},
            {"title.value": "New Title", "title.locked": "1"},
            id="a scalar is written and locked",
        ),
        pytest.param(
            [change("title", "Same", old="Same", lock_only=True)],
            {"title": "Same"},
            {"title.locked": "1"},
            id="a lock-only change sends just the lock",
        ),
        pytest.param(
            [change("userRating", "")],
            {"userRating": "8.0"},
            {"userRating.value": "", "userRating.locked": "1"},
            id="an empty scalar clears the field",
        ),
        pytest.param(
            [change("genre", ("Drama", "B,C"))],
            {"genre": ("Old",)},
            {"genre[0].tag.tag": "Drama", "genre[1].tag.tag": "B,C", "genre.locked": "1"},
            id="a tag list is replaced by index",
        ),
        pytest.param(
            [change("actor", ("Alice", "Bob"))],
            {},
            {"actor[0].tag.tag": "Alice", "actor[1].tag.tag": "Bob", "actor.locked": "1"},
            id="actors use the actor key",
        ),
        pytest.param(
            [change("collection", (), old=("A",))],
            {"collection": ("A", "B & C")},
            {"collection[].tag.tag-": "A,B%20%26%20C", "collection.locked": "1"},
            id="emptying a list removes the current names",
        ),
        pytest.param(
            [change("director", ())],
            {"director": ()},
            {"director.locked": "1"},
            id="emptying an already empty list only locks it",
        ),
        pytest.param(
            [change("genre", (), old=("x",))],
            {},
            {"genre[].tag.tag-": "x", "genre.locked": "1"},
            id="without a current value the change's old value is removed",
        ),
        pytest.param(
            [
                change("title", "T"),
                change("summary", "S", old="S", lock_only=True),
                change("genre", ("G",)),
            ],
            {},
            {
                "title.value": "T",
                "title.locked": "1",
                "summary.locked": "1",
                "genre[0].tag.tag": "G",
                "genre.locked": "1",
            },
            id="several changes share one edit",
        ),
        pytest.param([], {}, {}, id="no changes give no parameters"),
    ],
)
def test_changes_become_plex_edit_parameters(changes, current, expected):
    assert edit_params(changes, current) == expected


@pytest.mark.parametrize(
    ("name", "encoded"),
    [
        pytest.param("a,b", "a%2Cb", id="a comma"),
        pytest.param("100%", "100%25", id="a percent sign"),
        pytest.param("R&B", "R%26B", id="an ampersand"),
        pytest.param("two words", "two%20words", id="a space"),
        pytest.param("AC/DC", "AC%2FDC", id="a slash"),
        pytest.param("Zoë", "Zo%C3%AB", id="non-ASCII letters"),
    ],
)
def test_removed_names_are_percent_encoded_once(name, encoded):
    params = edit_params([change("genre", (), old=(name,))], {"genre": (name, "plain")})
    assert params["genre[].tag.tag-"] == f"{encoded},plain"


def test_removed_names_survive_plexapi_encoding_and_plex_decoding():
    # Given names that contain the separators of every encoding layer
    names = ("x,y & z", "100% sure", "a+b", "Test Tag !@#$%^&*()-_=+[];:'\"/?,.")
    params = edit_params([change("genre", ())], {"genre": names})
    # When plexapi builds the query string and Plex decodes it (reference Appendix B)
    query = urlsplit(joinArgs(params)).query
    decoded = dict(parse_qsl(query, keep_blank_values=True))
    removed = [unquote(name) for name in decoded["genre[].tag.tag-"].split(",")]
    # Then Plex sees exactly the names we meant
    assert tuple(removed) == names
    assert decoded["genre.locked"] == "1"


def test_every_written_field_is_locked():
    scene = StashScene.from_graphql(
        {
            "id": "1",
            "title": "T",
            "details": "D",
            "rating100": 50,
            "tags": [{"name": "g"}],
            "performers": [{"name": "p"}],
            "director": "d",
        }
    )
    desired = desired_fields(scene, FieldToggles())
    diff = diff_fields({"genre": ("old",)}, frozenset(), desired)

    params = edit_params(diff.changes, {"genre": ("old",)})

    written = {key.split("[")[0].split(".")[0] for key in params}
    locked = {key.removesuffix(".locked") for key in params if key.endswith(".locked")}
    assert written == locked == set(desired)


def test_two_changes_for_one_field_are_refused():
    with pytest.raises(ValueError, match="two changes for Plex field 'title'"):
        edit_params([change("title", "a"), change("title", "b")], {})


def test_a_tag_list_with_an_empty_name_is_refused():
    with pytest.raises(TypeError, match="non-empty names"):
        edit_params([change("genre", ("ok", ""))], {})


def test_an_unknown_field_is_refused():
    with pytest.raises(ValueError, match="unknown Plex field 'colour'"):
        edit_params([change("colour", "red")], {})


def test_a_scalar_given_a_list_is_refused():
    with pytest.raises(TypeError, match="takes text"):
        edit_params([change("title", ("a",))], {})


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        pytest.param({}, "no changes", id="nothing to do"),
        pytest.param(
            {"title.value": "New", "title.locked": "1"},
            "title = 'New' (locked)",
            id="a scalar with its lock",
        ),
        pytest.param({"title.locked": "1"}, "title locked", id="a lock alone"),
        pytest.param(
            {"userRating.value": "", "userRating.locked": "1"},
            "userRating cleared (locked)",
            id="a cleared scalar",
        ),
        pytest.param(
            {"genre[0].tag.tag": "A", "genre[1].tag.tag": "B", "genre.locked": "1"},
            "genre = ['A', 'B'] (locked)",
            id="a tag list",
        ),
        pytest.param(
            {"genre[].tag.tag-": "a%2Cb,c", "genre.locked": "1"},
            "genre cleared (removing 2) (locked)",
            id="a removal",
        ),
    ],
)
def test_parameters_are_described_for_logs(params, expected):
    assert describe_params(params) == expected


def test_long_values_are_shortened_in_descriptions():
    summary = "word " * 400

    text = describe_params({"summary.value": summary, "summary.locked": "1"})

    assert len(text) < 120
    assert f"({len(summary)} chars)" in text


def test_long_tag_lists_are_shortened_in_descriptions():
    params = {f"actor[{i}].tag.tag": f"Person {i}" for i in range(30)}

    text = describe_params(params)

    assert "+25 more" in text
    assert "Person 29" not in text
