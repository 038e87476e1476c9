"""What a folder scan does not add: "scan finished, file not added" (rules in ignore.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from stashplex.sandbox.plex import PlexEmulator, Realism
from tests.support.plex import (
    MOVIES_ROOT,
    SHOWS_ROOT,
    TOKEN,
    SmallLibrary,
    build_small_library,
    connect,
)
from tests.support.waiting import wait_until

FOLDER = f"{MOVIES_ROOT}/Heat (1995)"
MB = 1024 * 1024


@pytest.fixture
def emulator() -> Iterator[PlexEmulator]:
    with PlexEmulator(token=TOKEN, scan_delay=0.05) as emu:
        yield emu


def test_a_folder_scan_finishes_without_adding_samples_and_extras(
    emulator: PlexEmulator, small: SmallLibrary
) -> None:
    # Given: a movie with the usual companions on disk
    emulator.put_on_disk(f"{FOLDER}/Heat (1995).mkv", size=4000 * MB)
    emulator.put_on_disk(f"{FOLDER}/heat-sample.mkv", size=50 * MB)
    emulator.put_on_disk(f"{FOLDER}/Trailers/Heat Trailer.mp4", size=80 * MB)
    emulator.put_on_disk(f"{FOLDER}/Featurettes/Making Of.mkv")
    emulator.put_on_disk(f"{FOLDER}/Behind The Scenes/Set.mkv")
    emulator.put_on_disk(f"{FOLDER}/Heat-trailer.mkv")
    emulator.put_on_disk(f"{FOLDER}/Bonus Disc/Extra Cut.mkv")
    section = connect(emulator).library.sectionByID(small.movies)

    # When: the client scans the folder and waits for the scan to finish
    section.update(path=FOLDER)
    wait_until(lambda: not section.reload().refreshing, message="scan to finish")

    # Then: only the movie is there; every skipped file has its reason
    found = [m.locations for m in section.all() if m.locations[0].startswith(FOLDER)]
    assert found == [[f"{FOLDER}/Heat (1995).mkv"]]
    skipped = emulator.skipped()
    assert set(skipped) == {
        f"{FOLDER}/heat-sample.mkv",
        f"{FOLDER}/Trailers/Heat Trailer.mp4",
        f"{FOLDER}/Featurettes/Making Of.mkv",
        f"{FOLDER}/Behind The Scenes/Set.mkv",
        f"{FOLDER}/Heat-trailer.mkv",
        f"{FOLDER}/Bonus Disc/Extra Cut.mkv",
    }
    assert "sample" in skipped[f"{FOLDER}/heat-sample.mkv"]


def test_a_big_file_named_sample_is_a_movie(emulator: PlexEmulator, small: SmallLibrary) -> None:
    # Given: "sample" only excludes files under 300 MB
    emulator.put_on_disk(f"{MOVIES_ROOT}/Free Sample (2011)/Free Sample (2011).mkv", size=900 * MB)

    # When
    [report] = emulator.scan_now(small.movies)

    # Then
    assert len(report.added) == 1
    assert report.skipped == {}


def test_plexignore_patterns_keep_files_out(emulator: PlexEmulator, small: SmallLibrary) -> None:
    # Given: a .plexignore at the section root
    emulator.add_plexignore(MOVIES_ROOT, "# drafts and temp files\n*.part.mkv\nDrafts/*\n\n")
    emulator.put_on_disk(f"{MOVIES_ROOT}/Kept (2020)/Kept (2020).mkv")
    emulator.put_on_disk(f"{MOVIES_ROOT}/Kept (2020)/Kept (2020).part.mkv")
    emulator.put_on_disk(f"{MOVIES_ROOT}/Drafts/Rough Cut.mkv")

    # When
    [report] = emulator.scan_now(small.movies)

    # Then
    assert [emulator.item(key)["fields"]["title"] for key in report.added] == ["Kept"]
    assert report.skipped == {
        f"{MOVIES_ROOT}/Kept (2020)/Kept (2020).part.mkv": ".plexignore pattern '*.part.mkv'",
        f"{MOVIES_ROOT}/Drafts/Rough Cut.mkv": ".plexignore pattern 'Drafts/*'",
    }


def test_the_movie_scanner_skips_date_only_and_episode_like_names(
    emulator: PlexEmulator, small: SmallLibrary
) -> None:
    # Given
    emulator.put_on_disk(f"{MOVIES_ROOT}/Home/2021-03-04.mp4")
    emulator.put_on_disk(f"{MOVIES_ROOT}/Home/Futurama - s03e07.mp4")
    emulator.put_on_disk(f"{MOVIES_ROOT}/Home/notes.txt")
    emulator.put_on_disk(f"{MOVIES_ROOT}/Home/Birthday 2021-03-04.mp4")

    # When
    [report] = emulator.scan_now(small.movies)

    # Then: only the name with more than a date is a movie
    assert [emulator.item(key)["fields"]["title"] for key in report.added] == [
        "Birthday 2021-03-04"
    ]
    assert sorted(report.skipped.values()) == [
        "named like a TV episode (movie scanner)",
        "named only by a date (movie scanner takes it for a dated episode)",
        "not a video file (.txt)",
    ]


def test_the_series_scanner_skips_a_file_without_an_episode_mark(
    emulator: PlexEmulator, small: SmallLibrary
) -> None:
    # Given
    emulator.put_on_disk(f"{SHOWS_ROOT}/The Show/Season 01/Bloopers.mkv")

    # When
    [report] = emulator.scan_now(small.shows)

    # Then
    assert report.added == []
    assert report.skipped == {
        f"{SHOWS_ROOT}/The Show/Season 01/Bloopers.mkv": "no episode mark (series scanner)"
    }


def test_a_lenient_scanner_adds_what_plex_would_skip() -> None:
    # Given: the habit off (only to isolate something else)
    with PlexEmulator(token=TOKEN, realism=Realism(scanner_ignores=False)) as emulator:
        small = build_small_library(emulator)
        emulator.put_on_disk(f"{FOLDER}/heat-sample.mkv", size=MB)

        # When
        [report] = emulator.scan_now(small.movies)

        # Then
        assert len(report.added) == 1
