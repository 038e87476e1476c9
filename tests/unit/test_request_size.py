"""Plex edits fit the request line: split per field, values cut before the diff."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stashplex.sync.request_size import (
    RESERVED_BYTES,
    field_of,
    fit_fields,
    fit_names,
    fit_text,
    param_bytes,
    split_edit,
)

LIMIT = 8 * 1024 - 1024  # a proxy's 8 KiB line, minus the path and method


def query_bytes(params: dict[str, str]) -> int:
    """As plexapi's joinArgs builds the query: the key as is, the value quoted with safe=''."""
    return len("&".join(f"{key}={quote(value, safe='')}" for key, value in params.items()))


@pytest.mark.parametrize(
    ("param", "field"),
    [("title.value", "title"), ("genre[12].tag.tag", "genre"), ("genre[].tag.tag-", "genre")],
)
def test_a_parameter_belongs_to_the_field_its_name_starts_with(param, field):
    assert field_of(param) == field


def test_a_small_edit_stays_one_request():
    params = {"title.value": "A", "title.locked": "1", "genre[0].tag.tag": "x", "genre.locked": "1"}

    assert split_edit(params, LIMIT) == [params]


def test_a_large_edit_is_split_into_requests_that_each_fit_and_keep_every_field_whole():
    # Given a summary of 5 KB and 100 genres of 40 bytes each (~6 KB encoded)
    params = {"summary.value": "s" * 5000, "summary.locked": "1", "title.value": "T"}
    params |= {f"genre[{i}].tag.tag": f"genre-{i:03d}-" + "g" * 30 for i in range(100)}
    params["genre.locked"] = "1"
    # When it is split for a 7 KiB budget
    parts = split_edit(params, LIMIT)
    # Then every request fits, nothing is lost, and a field's parameters never straddle two
    assert len(parts) >= 2
    assert all(query_bytes(part) + RESERVED_BYTES <= LIMIT for part in parts)
    assert {k: v for part in parts for k, v in part.items()} == params
    owners = [{field_of(k) for k in part} for part in parts]
    assert sum("genre" in fields for fields in owners) == 1


def test_a_cjk_summary_far_too_long_for_one_request_is_cut_at_the_budget():
    # Given 10,000 Japanese characters (~90 KB percent-encoded)
    text = "日本語の説明文" * 1429
    # When it is fitted
    cut = fit_text("summary", text, LIMIT)
    # Then it fits one request with its lock, ends with an ellipsis and keeps its start
    params = {"summary.value": cut, "summary.locked": "1"}
    assert query_bytes(params) + RESERVED_BYTES <= LIMIT
    assert cut.endswith("…") and text.startswith(cut[:-1])
    assert len(cut) > 700


def test_spaces_count_as_plexapi_sends_them():
    # Given a summary of words: plexapi sends each space as %20, three bytes
    text = "word " * 2000
    # When it is fitted
    cut = fit_text("summary", text, LIMIT)
    # Then the request plexapi builds fits
    assert query_bytes({"summary.value": cut, "summary.locked": "1"}) + RESERVED_BYTES <= LIMIT


def test_a_summary_that_fits_is_left_exactly_as_it_is():
    assert fit_text("summary", "Line one\nLine two", LIMIT) == "Line one\nLine two"


def test_a_tag_list_too_long_for_one_request_keeps_its_leading_names():
    names = tuple(f"tag number {i}" for i in range(1000))

    kept = fit_names("genre", names, LIMIT)

    assert 0 < len(kept) < 1000 and kept == names[: len(kept)]


def test_fitting_reports_each_cut_and_leaves_other_fields_alone():
    desired = {"summary": "x " * 20_000, "title": "Short", "genre": ("a", "b")}

    fitted, cuts = fit_fields(desired, LIMIT)

    assert fitted["title"] == "Short" and fitted["genre"] == ("a", "b")
    assert [name for name, _, _ in cuts] == ["summary"]
    assert cuts[0][1] == 40_000 and cuts[0][2] < 40_000


@given(st.text(max_size=200))
def test_a_value_is_sized_exactly_as_plexapi_quotes_it(value):
    # Given any text, emoji and control characters included
    # When its parameter is sized without being quoted
    counted = param_bytes("summary.value", value)
    # Then the count is what plexapi's quote(value, safe='') puts in the query string
    assert counted == len(f"summary.value={quote(value, safe='')}&")
