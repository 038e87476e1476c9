"""Stash's ``updated_at`` stamps: compared as instants, filtered with text Stash compares right."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from stashplex.ops.tasks import recent_since
from stashplex.sync.stamps import (
    at_or_after,
    baseline_spent,
    filter_value,
    instant,
    newest,
    next_cursor,
    offset_of,
    server_time_floor,
    spell,
    start_baseline,
)

H = timedelta(hours=1)
CET = 1 * H
BERLIN = ZoneInfo("Europe/Berlin")
MARGIN = timedelta(seconds=60)


def go_rfc3339(moment: datetime) -> str:
    """How Stash (Go) writes a stamp in Berlin: whole seconds, the offset of that moment."""
    return spell(moment, moment.astimezone(BERLIN).utcoffset() or timedelta(0))


@pytest.mark.parametrize(
    ("stamp", "expected"),
    [
        ("2025-10-26T02:10:00+01:00", datetime(2025, 10, 26, 1, 10, tzinfo=UTC)),
        ("2025-10-26T02:50:00+02:00", datetime(2025, 10, 26, 0, 50, tzinfo=UTC)),
        ("2026-01-10T08:00:05Z", datetime(2026, 1, 10, 8, 0, 5, tzinfo=UTC)),
        ("2026-01-10T08:00:05", None),
        ("not a time", None),
        (None, None),
    ],
    ids=["winter offset", "summer offset", "utc z", "no zone", "garbage", "missing"],
)
def test_a_stamp_is_read_as_the_instant_it_names_or_as_nothing(stamp, expected):
    assert instant(stamp) == expected


@pytest.mark.parametrize(
    ("moment", "offset", "expected"),
    [
        (datetime(2025, 10, 26, 1, 10, 0, 9, tzinfo=UTC), CET, "2025-10-26T02:10:00+01:00"),
        (datetime(2025, 10, 26, 1, 10, tzinfo=UTC), timedelta(0), "2025-10-26T01:10:00Z"),
        (datetime(2026, 1, 10, 8, 0, tzinfo=UTC), -5 * H, "2026-01-10T03:00:00-05:00"),
    ],
    ids=["fraction truncated", "zero offset is z", "west of utc"],
)
def test_an_instant_is_spelled_as_stash_writes_its_stamps(moment, offset, expected):
    assert spell(moment, offset) == expected


def test_the_newest_stamp_is_the_latest_instant_not_the_greatest_text():
    # Given stamps across the autumn fall-back: the winter one is later but sorts lower as text
    stamps = ["2025-10-26T02:50:00+02:00", "2025-10-26T02:10:00+01:00", None, "junk"]
    # Then the newest is the winter one, spelled as Stash spelled it
    assert newest(stamps) == "2025-10-26T02:10:00+01:00"
    assert newest([]) is None


# Every stamp a Berlin server writes in the six hours around each DST change, a minute apart.
def _berlin_stamps(start_utc: datetime) -> list[str]:
    return [go_rfc3339(start_utc + timedelta(minutes=m)) for m in range(0, 6 * 60)]


@pytest.mark.parametrize(
    "start_utc",
    [
        datetime(2025, 10, 25, 22, 0, tzinfo=UTC),  # fall-back night
        datetime(2025, 3, 29, 23, 0, tzinfo=UTC),  # spring-forward night
    ],
    ids=["fall back", "spring forward"],
)
def test_the_filter_value_lets_through_stashs_text_comparison_every_stamp_at_or_after_the_floor(
    start_utc,
):
    # Given every stamp of a night with a DST change, and each of them in turn as the floor
    stamps = _berlin_stamps(start_utc)
    offsets = {offset_of(stamp) for stamp in stamps[:1]}  # only the floor's offset known so far
    for floor_stamp in stamps:
        floor = instant(floor_stamp)
        # When the value is spelled in the server's offset at the floor
        value = filter_value(floor, offsets, offset_of(floor_stamp))
        # Then every stamp at or after the floor sorts above it as text (what Stash compares)
        missed = [s for s in stamps if instant(s) >= floor and not s > value]
        assert missed == [], (floor_stamp, value, missed[:3])


def test_the_filter_value_covers_an_offset_seen_far_below_the_server_s_own():
    # Given a server whose stamps were written in UTC and now in New York (its zone was changed)
    floor = datetime(2026, 1, 10, 12, 0, tzinfo=UTC)
    value = filter_value(floor, {timedelta(0), -5 * H}, timedelta(0))
    # Then a New York stamp just after the floor still sorts above the value
    assert value < "2026-01-10T07:00:01-05:00"
    assert value.endswith("Z")


@pytest.mark.parametrize(
    ("rows", "baseline", "kept"),
    [
        (
            [
                {"id": "1", "updated_at": "2025-10-26T02:10:00+01:00"},  # later instant, lower text
                {"id": "2", "updated_at": "2025-10-26T02:00:00+02:00"},  # before the floor
                {"id": "3", "updated_at": "2025-10-26T02:30:00+02:00"},  # the floor itself
            ],
            None,
            ["1", "3"],
        ),
        (
            [
                {"id": "1", "updated_at": "2025-10-26T00:30:00Z"},  # baseline, unchanged instant
                {"id": "2", "updated_at": "2025-10-26T02:31:00+02:00"},  # baseline, edited since
                {"id": "3", "updated_at": "2025-10-26T02:30:00+02:00"},  # not in the baseline
            ],
            {"1": "2025-10-26T02:30:00+02:00", "2": "2025-10-26T02:30:00+02:00"},
            ["2", "3"],
        ),
    ],
    ids=["instants decide", "the start baseline is left to the first full sync"],
)
def test_only_scenes_stamped_at_or_after_the_floor_as_instants_are_read(rows, baseline, kept):
    floor = instant("2025-10-26T02:30:00+02:00")
    assert at_or_after(rows, floor, baseline) == kept


@pytest.mark.parametrize(
    ("newest_stamp", "anchor", "now", "expected"),
    [
        ("2026-01-10T08:00:00Z", None, 50.0, "2026-01-10T08:00:00Z"),
        ("2026-01-10T08:00:00Z", ("2026-01-10T07:59:00Z", 10.0), 100.0, "2026-01-10T08:00:30Z"),
        ("2026-01-10T08:00:00Z", ("2026-01-10T07:59:00Z", 10.0), 20.0, "2026-01-10T08:00:00Z"),
        ("2026-01-10T08:00:00Z", ("2026-01-10T08:00:00Z", 90.0), 10.0, "2026-01-10T08:00:00Z"),
        (None, None, 0.0, None),
    ],
    ids=[
        "the newest stamp",
        "a quiet server's clock ran on since the anchor",
        "a newer stamp beats the anchor",
        "a monotonic clock that went back adds nothing",
        "an empty library",
    ],
)
def test_the_server_s_time_is_bounded_from_below_by_its_own_stamps(
    newest_stamp, anchor, now, expected
):
    assert server_time_floor(newest_stamp, anchor, now) == instant(expected)


@pytest.mark.parametrize(
    ("cursor", "started", "expected"),
    [
        ("2026-01-10T08:00:00Z", "2026-01-10T08:05:00Z", "2026-01-10T08:04:00Z"),
        ("2026-01-10T08:00:00Z", "2026-01-10T08:00:30Z", "2026-01-10T08:00:00Z"),
        ("2025-10-26T02:49:00+02:00", "2025-10-26T02:10:00+01:00", "2025-10-26T02:09:00+01:00"),
        ("2026-01-10T08:00:00Z", None, "2026-01-10T08:00:00Z"),
    ],
    ids=[
        "to the pass's start less the margin",
        "never back",
        "across the fall-back, in the server's new offset",
        "no start known",
    ],
)
def test_the_cursor_goes_to_the_pass_s_start_less_a_margin(cursor, started, expected):
    spelling = offset_of(started) if started else timedelta(0)
    assert next_cursor(cursor, instant(started), MARGIN, spelling) == expected


def test_the_start_baseline_holds_the_scenes_at_or_after_the_first_cursor_until_it_passes_them():
    # Given Stash's newest stamps when the cursor is first set, a margin before the newest
    sample = [
        {"id": "1", "updated_at": "2026-01-10T08:00:05Z"},
        {"id": "2", "updated_at": "2026-01-10T08:00:04Z"},
        {"id": "3", "updated_at": "2026-01-10T07:00:00Z"},
    ]
    baseline = start_baseline(sample, instant("2026-01-10T07:59:05Z"))
    # Then the baseline names the scenes at or after it, and is spent once the cursor passed them
    assert baseline == {"1": "2026-01-10T08:00:05Z", "2": "2026-01-10T08:00:04Z"}
    assert not baseline_spent(baseline, "2026-01-10T08:00:05Z")
    assert baseline_spent(baseline, "2026-01-10T08:00:06Z")


def test_sync_recent_changes_asks_for_a_day_before_the_cursor_as_a_zoned_instant():
    # Intake compares a zoned "since" as an instant, so the offset it is spelled in is immaterial
    since = recent_since("2025-10-26T02:10:00+01:00")
    assert instant(since) == instant("2025-10-26T02:10:00+01:00") - timedelta(days=1)
    now = datetime(2026, 1, 10, 8, 0, tzinfo=UTC)
    assert recent_since(None, now) == "2026-01-09T08:00:00Z"
