"""Stamps in the server's local zone, DST included, compared as text by updated_at filters.

Source: pkg/sqlite/timestamp.go (RFC 3339 in local time), pkg/sqlite/sql.go
(`getTimestampWhereClause`: plain comparison, BETWEEN bounded by now + 1 day).
"""

from __future__ import annotations

from datetime import UTC, datetime

from stashplex.sandbox.stash import StashEmulator
from tests.support.stash_realism import data

STAMPS = """
query Stamps($filter: FindFilterType, $scene_filter: SceneFilterType) {
  findScenes(filter: $filter, scene_filter: $scene_filter) { scenes { id updated_at } }
}"""


def stamps(stash: StashEmulator, scene_filter: dict | None = None) -> dict[str, str]:
    result = data(
        stash, STAMPS, {"filter": {"per_page": -1, "sort": "id"}, "scene_filter": scene_filter}
    )
    return {scene["id"]: scene["updated_at"] for scene in result["findScenes"]["scenes"]}


def test_stamps_carry_the_offset_the_server_zone_had_at_that_moment():
    # Given a Stash in its default zone (Berlin), saving once in winter and once in summer
    with StashEmulator() as stash:
        winter, summer = stash.add_scene(title="w"), stash.add_scene(title="s")
        stash.clock.freeze(datetime(2024, 1, 15, 12, 0, 0, tzinfo=UTC))
        stash.update_scene(winter, rating100=20)
        stash.clock.freeze(datetime(2024, 7, 15, 12, 0, 0, tzinfo=UTC))
        stash.update_scene(summer, rating100=20)

        # When they are read back
        seen = stamps(stash)

    # Then each carries its own local offset, as Stash stored the text
    assert seen[winter] == "2024-01-15T13:00:00+01:00"
    assert seen[summer] == "2024-07-15T14:00:00+02:00"


def test_after_the_autumn_dst_change_a_later_save_sorts_before_an_earlier_one_as_text():
    # Given a Berlin Stash: scene A saved at 02:50 summer time, on the night clocks go back
    with StashEmulator(time_zone="Europe/Berlin") as stash:
        first, second = stash.add_scene(title="A"), stash.add_scene(title="B")
        stash.clock.freeze(datetime(2024, 10, 27, 0, 50, 0, tzinfo=UTC))  # 02:50+02:00
        stash.update_scene(first, title="A2")
        cursor = stamps(stash)[first]
        # And scene B saved 20 minutes later, when the wall clock already reads 02:10 again
        stash.clock.advance(20 * 60)
        stash.update_scene(second, title="B2")

        # When a sync asks for scenes updated after A's stamp, as Stash compares: as text
        newer = stamps(stash, {"updated_at": {"value": cursor, "modifier": "GREATER_THAN"}})
        later = stamps(stash)[second]

    # Then B, saved later, is not "newer": its text sorts before the cursor
    assert cursor == "2024-10-27T02:50:00+02:00"
    assert later == "2024-10-27T02:10:00+01:00"
    assert second not in newer


def test_between_without_value2_is_bounded_by_the_server_clock_plus_one_day():
    # Given a scene stamped in 2030 by a server whose clock is now back in 2024
    with StashEmulator(time_zone="UTC") as stash:
        future, present = stash.add_scene(title="f"), stash.add_scene(title="p")
        stash.clock.freeze(datetime(2030, 1, 1, tzinfo=UTC))
        stash.update_scene(future, rating100=20)
        stash.clock.freeze(datetime(2024, 1, 1, tzinfo=UTC))
        stash.update_scene(present, rating100=20)

        # When scenes updated "since 2020" are asked for with BETWEEN and no value2
        since = stamps(
            stash,
            {"updated_at": {"value": "2020-01-01T00:00:00Z", "modifier": "BETWEEN"}},
        )

    # Then the upper bound is the server's now + 1 day (2024-01-02), so 2030 falls outside
    assert present in since
    assert future not in since


def test_a_fixed_offset_can_still_be_chosen():
    # Given a server pinned to a fixed +11:00 offset
    with StashEmulator(utc_offset_minutes=660) as stash:
        # When a scene is added and read
        scene_id = stash.add_scene(title="x")

        # Then its stamp carries that offset
        assert stamps(stash)[scene_id].endswith("+11:00")
