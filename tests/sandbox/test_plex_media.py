"""Several files per item (stacked parts, merged versions) and one file for several episodes."""

from __future__ import annotations

from stashplex.sandbox.plex import PlexEmulator
from tests.support.plex import (
    MOVIES_ROOT,
    SHOWS_ROOT,
    SmallLibrary,
    connect,
)

SPLIT = f"{MOVIES_ROOT}/Long Movie (2001)"


def test_a_stacked_movie_is_one_media_with_its_parts_in_order(
    emulator: PlexEmulator, small: SmallLibrary
) -> None:
    # Given: a movie split in two files
    key = emulator.add_movie(small.movies, f"{SPLIT}/Long Movie - pt1.mkv", duration_ms=3_000)
    emulator.add_file(key, f"{SPLIT}/Long Movie - pt2.mkv", duration_ms=2_000)

    # When
    movie = connect(emulator).fetchItem(key)

    # Then: one Media, two Parts, both files in locations, the Media lasting both
    assert len(movie.media) == 1
    assert [p.file for p in movie.media[0].parts] == [
        f"{SPLIT}/Long Movie - pt1.mkv",
        f"{SPLIT}/Long Movie - pt2.mkv",
    ]
    assert movie.media[0].duration == 5_000
    assert movie.locations == [p.file for p in movie.media[0].parts]


def test_merged_versions_are_separate_media(emulator: PlexEmulator, small: SmallLibrary) -> None:
    # Given: a second version of Alien merged into the same item
    version = f"{MOVIES_ROOT}/Alien (1979)/Alien (1979) - Director's Cut.mp4"
    emulator.add_file(small.alien, version, version=True)

    # When
    movie = connect(emulator).fetchItem(small.alien)
    listed = connect(emulator).library.sectionByID(small.movies).get("Alien")

    # Then: two Media, one Part each; the listing row carries both too
    assert [[p.file for p in media.parts] for media in movie.media] == [
        [f"{MOVIES_ROOT}/Alien (1979)/Alien (1979).mkv"],
        [version],
    ]
    assert [media.container for media in movie.media] == ["mkv", "mp4"]
    assert len(listed.media) == 2
    assert emulator.items_of_file(version) == [small.alien]


def test_one_file_holding_two_episodes_is_two_episodes_with_the_same_file(
    emulator: PlexEmulator, small: SmallLibrary
) -> None:
    # Given
    file = f"{SHOWS_ROOT}/The Show/Season 02/The Show - S02E01-E02.mkv"
    first, second = emulator.add_multi_episode(
        small.shows, file, show_title="The Show", season=2, episodes=[1, 2], titles=["A", "B"]
    )

    # When
    show = connect(emulator).library.sectionByID(small.shows).get("The Show")
    episodes = show.season(2).episodes()

    # Then: two items, each with its own Part of the same file
    assert [(e.ratingKey, e.index, e.title) for e in episodes] == [
        (first, 1, "A"),
        (second, 2, "B"),
    ]
    assert [e.locations for e in episodes] == [[file], [file]]
    assert episodes[0].media[0].parts[0].id != episodes[1].media[0].parts[0].id
    assert emulator.items_of_file(file) == [first, second]


def test_the_scanner_stacks_split_files_into_one_movie(
    emulator: PlexEmulator, small: SmallLibrary
) -> None:
    # Given: two parts on disk, named the way Plex stacks them
    emulator.put_on_disk(f"{SPLIT}/Long Movie (2001) - cd2.mkv", size=20)
    emulator.put_on_disk(f"{SPLIT}/Long Movie (2001) - cd1.mkv", size=10)

    # When
    [report] = emulator.scan_now(small.movies)

    # Then: one item, parts in part order, titled without the part mark
    [key] = report.added
    movie = connect(emulator).fetchItem(key)
    assert (movie.title, movie.year) == ("Long Movie", 2001)
    assert [p.size for p in movie.media[0].parts] == [10, 20]


def test_the_scanner_adds_every_episode_of_a_multi_episode_file(
    emulator: PlexEmulator, small: SmallLibrary
) -> None:
    # Given
    file = f"{SHOWS_ROOT}/Other Show/Season 01/Other Show - S01E03-E04.mkv"
    emulator.put_on_disk(file)

    # When
    [report] = emulator.scan_now(small.shows)

    # Then
    episodes = [connect(emulator).fetchItem(key) for key in report.added]
    assert [(e.grandparentTitle, e.seasonNumber, e.index) for e in episodes] == [
        ("Other Show", 1, 3),
        ("Other Show", 1, 4),
    ]
    assert {tuple(e.locations) for e in episodes} == {(file,)}


def test_a_part_scanned_later_joins_the_movie_that_holds_the_first_part(
    emulator: PlexEmulator, small: SmallLibrary
) -> None:
    # Given: part 1 was scanned on its own
    emulator.put_on_disk(f"{SPLIT}/Long Movie (2001) - part1.mkv")
    [first] = emulator.scan_now(small.movies)

    # When: part 2 arrives and the folder is scanned again
    emulator.put_on_disk(f"{SPLIT}/Long Movie (2001) - part2.mkv")
    [second] = emulator.scan_now(small.movies, path=SPLIT)

    # Then: no new item; the movie now has both parts in one Media
    [key] = first.added
    assert second.added == []
    movie = connect(emulator).fetchItem(key)
    assert [p.file.rsplit("/", 1)[1] for p in movie.media[0].parts] == [
        "Long Movie (2001) - part1.mkv",
        "Long Movie (2001) - part2.mkv",
    ]
