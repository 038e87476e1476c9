import pytest

from stashplex.changes import cursor_with_margin, relevant_fields
from stashplex.settings import Settings


@pytest.mark.parametrize(
    ("cursor", "forward", "expected"),
    [
        ("2026-01-10T19:00:05+11:00", False, "2026-01-10T19:00:03+11:00"),
        ("2026-01-10T08:00:05Z", False, "2026-01-10T08:00:03Z"),
        ("2026-01-10T08:00:05.250000Z", True, "2026-01-10T08:00:07.250000Z"),
        ("not a time", False, "not a time"),
    ],
    ids=[
        "an offset stays an offset",
        "utc keeps its z",
        "fractions stay fractions",
        "garbage is passed through unchanged",
    ],
)
def test_the_cursor_margin_keeps_stash_s_spelling_so_text_comparison_stays_correct(
    cursor, forward, expected
):
    assert cursor_with_margin(cursor, forward=forward) == expected


def test_an_update_of_a_field_we_do_not_sync_is_not_relevant():
    fields = relevant_fields(Settings())
    assert "title" in fields and "tag_ids" in fields and "cover_image" in fields
    assert not {"organized", "o_counter", "urls", "code", "play_count"} & fields


def test_switching_a_field_off_makes_its_updates_irrelevant():
    assert "tag_ids" not in relevant_fields(Settings(sync_tags=False))
