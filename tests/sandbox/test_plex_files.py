"""Moved, renamed and removed files: which items keep their ratingKey and what listings show."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from plexapi.exceptions import NotFound

from stashplex.sandbox.plex import PlexEmulator
from tests.support.plex import MOVIES_ROOT, TOKEN, SmallLibrary, connect
from tests.support.waiting import wait_until

ALIEN = f"{MOVIES_ROOT}/Alien (1979)/Alien (1979).mkv"
RENAMED = f"{MOVIES_ROOT}/Sci-Fi/Alien (1979) [Remux].mkv"


class Clock:
    """A settable server clock, so updatedAt comparisons do not depend on the wall clock."""

    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def emulator(clock: Clock) -> Iterator[PlexEmulator]:
    with PlexEmulator(token=TOKEN, scan_delay=0.05, clock=clock) as emu:
        yield emu


def test_a_moved_file_keeps_its_item_and_only_the_part_path_changes(
    emulator: PlexEmulator, small: SmallLibrary, clock: Clock
) -> None:
    # Given
    plex = connect(emulator)
    before = plex.fetchItem(small.alien)
    clock.now += 3600

    # When: the file is moved and the client scans its new folder
    emulator.move_on_disk(ALIEN, RENAMED)
    plex.library.sectionByID(small.movies).update(path=f"{MOVIES_ROOT}/Sci-Fi")
    wait_until(lambda: emulator.find_by_file(RENAMED), message="the move to be scanned")

    # Then: same ratingKey and addedAt, new Part@file, updatedAt unchanged (strict default)
    after = plex.fetchItem(small.alien)
    assert after.locations == [RENAMED]
    assert (after.ratingKey, after.addedAt) == (before.ratingKey, before.addedAt)
    assert after.updatedAt == before.updatedAt
    assert emulator.find_by_file(ALIEN) is None
    listed = plex.library.sectionByID(small.movies).get("Alien")
    assert listed.locations == [RENAMED]


def test_a_moved_file_is_not_among_the_items_updated_since_before_the_move(
    emulator: PlexEmulator, small: SmallLibrary, clock: Clock
) -> None:
    # Given
    plex = connect(emulator)
    since = int(clock.now) + 1
    clock.now += 3600

    # When
    emulator.move_on_disk(ALIEN, RENAMED)
    emulator.scan_now(small.movies)
    changed = plex.library.sectionByID(small.movies).fetchItems(
        f"/library/sections/{small.movies}/all?type=1&updatedAt>>={since}"
    )

    # Then: an incremental "updatedAt" poll never sees a moved file
    assert changed == []


def test_with_the_bump_knob_a_move_shows_up_as_an_update(
    emulator: PlexEmulator, small: SmallLibrary, clock: Clock
) -> None:
    # Given
    emulator.configure_realism(move_bumps_updated_at=True)
    since = int(clock.now) + 1
    clock.now += 3600

    # When
    emulator.move_on_disk(ALIEN, RENAMED)
    emulator.scan_now(small.movies)
    changed = (
        connect(emulator)
        .library.sectionByID(small.movies)
        .fetchItems(f"/library/sections/{small.movies}/all?type=1&updatedAt>>={since}")
    )

    # Then
    assert [(m.ratingKey, m.locations) for m in changed] == [(small.alien, [RENAMED])]


def test_a_scan_of_only_the_old_folder_loses_the_item_and_a_later_scan_adds_a_new_one(
    emulator: PlexEmulator, small: SmallLibrary
) -> None:
    # Given
    emulator.move_on_disk(ALIEN, RENAMED)

    # When: only the old folder is scanned, then the new one
    [first] = emulator.scan_now(small.movies, path=f"{MOVIES_ROOT}/Alien (1979)")
    [second] = emulator.scan_now(small.movies, path=f"{MOVIES_ROOT}/Sci-Fi")

    # Then: the old item is gone (404), the file is a new item with a new ratingKey
    assert first.removed == [small.alien]
    with pytest.raises(NotFound):
        connect(emulator).fetchItem(small.alien)
    [new_key] = second.added
    assert new_key > small.alien
    assert emulator.find_by_file(RENAMED) == new_key


def test_a_file_moved_to_another_section_is_a_new_item_there(emulator: PlexEmulator) -> None:
    # Given: two movie sections
    first = emulator.add_section("Movies", "movie", ["/media/a"])
    second = emulator.add_section("More Movies", "movie", ["/media/b"])
    old = emulator.add_movie(first, "/media/a/Film (2000)/Film (2000).mkv")

    # When
    emulator.move_on_disk("/media/a/Film (2000)/Film (2000).mkv", "/media/b/Film (2000).mkv")
    [added] = emulator.scan_now(second)
    [removed] = emulator.scan_now(first)

    # Then
    [new] = added.added
    assert new != old
    assert removed.removed == [old]
    assert emulator.item(new)["sectionKey"] == second


def test_a_removed_item_answers_404_and_its_file_comes_back_under_a_new_key(
    emulator: PlexEmulator, small: SmallLibrary
) -> None:
    # Given
    plex = connect(emulator)
    added_at = plex.fetchItem(small.alien).addedAt

    # When: the item is removed with its file still on disk, then the section is rescanned
    emulator.remove_item(small.alien, file_stays=True)
    gone = emulator.find_by_file(ALIEN)
    [report] = emulator.scan_now(small.movies)

    # Then
    with pytest.raises(NotFound):
        plex.fetchItem(small.alien)
    [new_key] = report.added
    again = plex.fetchItem(new_key)
    assert gone is None
    assert new_key != small.alien
    assert again.locations == [ALIEN]
    assert again.addedAt >= added_at


def test_a_file_deleted_from_disk_takes_its_item_at_the_next_scan(
    emulator: PlexEmulator, small: SmallLibrary
) -> None:
    # Given
    emulator.delete_from_disk(ALIEN)
    still_there = connect(emulator).fetchItem(small.alien).title

    # When
    emulator.scan_now(small.movies)

    # Then
    assert still_there == "Alien"
    with pytest.raises(NotFound):
        connect(emulator).fetchItem(small.alien)


def test_removing_the_last_episode_removes_its_season_and_show(
    emulator: PlexEmulator, small: SmallLibrary
) -> None:
    # Given: "The Show" has two episodes in one season
    show = connect(emulator).library.sectionByID(small.shows).get("The Show")
    keys = [episode.ratingKey for episode in show.episodes()]

    # When
    for key in keys:
        emulator.remove_item(key)

    # Then
    assert connect(emulator).library.sectionByID(small.shows).all() == []
    with pytest.raises(NotFound):
        connect(emulator).fetchItem(show.ratingKey)


def test_a_move_onto_an_existing_file_is_refused(
    emulator: PlexEmulator, small: SmallLibrary
) -> None:
    # Given: two movies
    alien = emulator.item(small.alien)["parts"][0]["file"]
    other = emulator.item(small.drama)["parts"][0]["file"]

    # When / Then
    with pytest.raises(ValueError, match="exists already"):
        emulator.move_on_disk(alien, other)
