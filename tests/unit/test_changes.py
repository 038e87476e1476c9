import pytest

from stashplex.changes import cursor_with_margin, relevant_fields, without_baseline
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


def test_a_bulk_edit_of_groups_is_relevant_as_a_single_edit_of_them_is():
    # Given the names sceneUpdate and bulkSceneUpdate use for a scene's groups
    fields = relevant_fields(Settings())
    # Then both spellings (and their deprecated movie forms) count as a change we sync
    assert {"groups", "group_ids", "movies", "movie_ids"} <= fields
    assert not {"group_ids", "movie_ids"} & relevant_fields(Settings(sync_groups=False))


def test_catch_up_leaves_alone_the_scenes_already_stamped_with_the_first_cursor():
    # Given the first cursor's second and the scenes Stash had stamped with it at that moment
    baseline = {"stamp": "2026-01-10T08:00:05Z", "ids": ["1", "2"]}
    page = [
        {"id": "1", "updated_at": "2026-01-10T08:00:05Z"},  # baseline, unchanged
        {"id": "2", "updated_at": "2026-01-10T08:00:07Z"},  # baseline, edited since
        {"id": "3", "updated_at": "2026-01-10T08:00:05Z"},  # edited later in the same second
        {"id": "4", "updated_at": "2026-01-10T08:00:04Z"},  # inside the re-read margin
    ]
    # When a catch-up page is filtered
    ((total, kept),) = list(without_baseline([(4, page)], baseline))
    # Then only the unchanged baseline scene is left for the first full sync
    assert total == 4
    assert [s["id"] for s in kept] == ["2", "3", "4"]
