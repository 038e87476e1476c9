"""Asynchronous scans: new files appear only after a (short) delay, as on a real server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from stashplex.sandbox.plex import PlexEmulator
from tests.support.plex import TOKEN, SmallLibrary, connect
from tests.support.waiting import wait_until

NEW_FILE = "/media/movies/New Movie (2020)/New Movie (2020).mkv"


@pytest.fixture
def emulator() -> Iterator[PlexEmulator]:
    with PlexEmulator(token=TOKEN, scan_delay=0.3) as emu:
        yield emu


def test_a_partial_scan_adds_the_new_file_once_done(
    emulator: PlexEmulator, small: SmallLibrary
) -> None:
    # Given
    emulator.put_on_disk(file=NEW_FILE, size=4321, duration_ms=6_000_000)
    emulator.put_on_disk(file="/media/movies/Elsewhere/Other.mkv")
    plex = connect(emulator)
    section = plex.library.sectionByID(small.movies)
    emulator.scanner.delay = 1.0

    # When
    section.update(path="/media/movies/New Movie (2020)")
    refreshing_meanwhile = section.reload().refreshing
    activities = [(a.type, a.subtitle) for a in plex.activities]
    wait_until(lambda: not section.reload().refreshing, message="scan to finish")

    # Then
    assert refreshing_meanwhile is True
    assert activities == [("library.update.section", "/media/movies/New Movie (2020)")]
    assert plex.activities == []
    found = [m for m in section.all() if m.locations == [NEW_FILE]]
    assert [(m.title, m.year) for m in found] == [("New Movie", 2020)]
    assert found[0].media[0].parts[0].size == 4321
    assert emulator.find_by_file("/media/movies/Elsewhere/Other.mkv") is None
    assert emulator.requests.count("GET", path=f"/library/sections/{small.movies}/refresh") == 1


def test_a_scanned_file_is_not_there_before_the_scan(
    emulator: PlexEmulator, small: SmallLibrary
) -> None:
    emulator.put_on_disk(file=NEW_FILE)

    section = connect(emulator).library.sectionByID(small.movies)

    assert all(movie.locations != [NEW_FILE] for movie in section.all())
    assert emulator.find_by_file(NEW_FILE) is None


def test_a_newly_scanned_item_is_the_newest_in_added_at_order(
    emulator: PlexEmulator, small: SmallLibrary
) -> None:
    emulator.put_on_disk(file=NEW_FILE)
    section = connect(emulator).library.sectionByID(small.movies)

    section.update()
    wait_until(lambda: emulator.find_by_file(NEW_FILE), message="new file")

    newest = section.fetchItems(
        f"/library/sections/{small.movies}/all?type=1&sort=addedAt%3Adesc", maxresults=1
    )
    assert [movie.locations for movie in newest] == [[NEW_FILE]]


def test_cancelling_a_scan_stops_it(emulator: PlexEmulator, small: SmallLibrary) -> None:
    # Given a scan that would add NEW_FILE after 0.5 s
    emulator.put_on_disk(file=NEW_FILE)
    emulator.put_on_disk(file="/media/movies/Later/Later.mkv")
    section = connect(emulator).library.sectionByID(small.movies)
    emulator.scanner.delay = 0.5
    section.update()

    # When it is cancelled, and a later scan of another folder finishes after it would have
    section.cancelUpdate()
    cancelled_refreshing = section.reload().refreshing
    emulator.scanner.delay = 0.6
    section.update(path="/media/movies/Later")
    wait_until(lambda: emulator.find_by_file("/media/movies/Later/Later.mkv"), message="scan")

    # Then
    assert cancelled_refreshing is False
    assert emulator.find_by_file(NEW_FILE) is None


def test_an_episode_scan_reads_show_season_and_episode_from_the_path(
    emulator: PlexEmulator, small: SmallLibrary
) -> None:
    new_episode = "/media/shows/New Show/Season 02/New Show - S02E05 - Title.mkv"
    emulator.put_on_disk(file=new_episode)
    plex = connect(emulator)

    plex.library.update()
    key = wait_until(lambda: emulator.find_by_file(new_episode), message="episode scan")

    episode = plex.fetchItem(key)
    assert (episode.grandparentTitle, episode.parentIndex, episode.index) == ("New Show", 2, 5)
    assert emulator.requests.count("GET", path="/library/sections/all/refresh") == 1


def test_a_file_outside_every_location_is_refused(
    emulator: PlexEmulator, small: SmallLibrary
) -> None:
    with pytest.raises(ValueError, match="no section location"):
        emulator.put_on_disk(file="/elsewhere/file.mkv")


def test_the_timeline_reports_the_pending_scan(emulator: PlexEmulator, small: SmallLibrary) -> None:
    section = connect(emulator).library.sectionByID(small.movies)

    section.update()
    pending = section.timeline().updateQueueSize
    wait_until(lambda: section.timeline().updateQueueSize == 0, message="queue to drain")

    assert pending == 1


def test_a_scanned_episode_updates_the_counts_of_its_already_listed_show_and_season(
    emulator: PlexEmulator, small: SmallLibrary
) -> None:
    # Given the show and its season listed once, so their rows are cached with two episodes
    section = connect(emulator).library.sectionByID(small.shows)
    show = section.all()[0]
    counts_before = (show.childCount, show.leafCount, show.seasons()[0].leafCount)
    third = "/media/shows/The Show/Season 01/The Show - S01E03.mkv"
    next_season = "/media/shows/The Show/Season 02/The Show - S02E01.mkv"
    emulator.put_on_disk(file=third)
    emulator.put_on_disk(file=next_season)

    # When a scan adds an episode to the season and one in a new season
    section.update()
    wait_until(lambda: emulator.find_by_file(next_season), message="episode scan")
    wait_until(lambda: emulator.find_by_file(third), message="episode scan")

    # Then the listings count the new episodes
    show = section.all()[0]
    seasons = show.seasons()
    assert counts_before == (1, 2, 2)
    assert (show.childCount, show.leafCount) == (2, 4)
    assert [(season.index, season.leafCount) for season in seasons] == [(1, 3), (2, 1)]
