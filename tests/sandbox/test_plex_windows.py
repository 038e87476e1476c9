"""A Windows server: drive letters, backslashes, `\\\\?\\` long paths, case-insensitive paths."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from stashplex.sandbox.plex import PlexEmulator, Realism
from tests.support.plex import TOKEN, connect
from tests.support.waiting import wait_until

ROOT = "D:\\Media\\Movies"


@pytest.fixture
def emulator() -> Iterator[PlexEmulator]:
    with PlexEmulator(token=TOKEN, scan_delay=0.05, realism=Realism(windows=True)) as emu:
        yield emu


@pytest.fixture
def movies(emulator: PlexEmulator) -> int:
    return emulator.add_section("Movies", "movie", [ROOT])


def test_paths_are_reported_with_drive_letters_and_backslashes(
    emulator: PlexEmulator, movies: int
) -> None:
    # Given: a path given with forward slashes, as a test might write it
    key = emulator.add_movie(movies, "D:/Media/Movies/Heat (1995)/Heat (1995).mkv")

    # When
    plex = connect(emulator)
    movie = plex.fetchItem(key)
    section = plex.library.sectionByID(movies)

    # Then: the server's own spelling
    assert plex.platform == "Windows"
    assert section.locations == [ROOT]
    assert movie.locations == ["D:\\Media\\Movies\\Heat (1995)\\Heat (1995).mkv"]


def test_a_long_path_carries_the_extended_length_prefix(
    emulator: PlexEmulator, movies: int
) -> None:
    # Given: a path of more than MAX_PATH (260) characters
    folder = ROOT + "\\" + " ".join(["A Very Long Folder Name"] * 11)
    file = folder + "\\Film (2001).mkv"
    assert len(file) > 260
    key = emulator.add_movie(movies, file)

    # When
    movie = connect(emulator).fetchItem(key)

    # Then: PMS reports \\?\D:\..., and both spellings find the same item
    assert movie.locations == ["\\\\?\\" + file]
    assert emulator.find_by_file(file) == key
    assert emulator.find_by_file(movie.locations[0]) == key


def test_a_scan_path_matches_whatever_its_case(emulator: PlexEmulator, movies: int) -> None:
    # Given
    emulator.put_on_disk("D:\\Media\\Movies\\New Film (2020)\\New Film (2020).mkv")
    section = connect(emulator).library.sectionByID(movies)

    # When: the client asks for the folder in another case
    section.update(path="d:\\MEDIA\\movies\\new film (2020)")
    wait_until(
        lambda: emulator.find_by_file("D:\\MEDIA\\MOVIES\\NEW FILM (2020)\\NEW FILM (2020).MKV"),
        message="scan",
    )

    # Then: one request, the path as the client sent it, the file found
    [scan] = [e for e in emulator.requests.entries if e.path.endswith("/refresh")]
    assert scan.query == {"path": "d:\\MEDIA\\movies\\new film (2020)"}
    [movie] = section.all()
    assert movie.locations == ["D:\\Media\\Movies\\New Film (2020)\\New Film (2020).mkv"]


def test_a_section_location_may_be_a_long_path_or_a_share(emulator: PlexEmulator) -> None:
    # Given
    share = emulator.add_section("Share", "movie", ["\\\\nas\\video\\movies"])
    prefixed = emulator.add_section("Long", "movie", ["\\\\?\\E:\\Movies"])

    # When
    sections = {s.key: s.locations for s in connect(emulator).library.sections()}

    # Then
    assert sections == {share: ["\\\\nas\\video\\movies"], prefixed: ["\\\\?\\E:\\Movies"]}
    assert emulator.add_movie(prefixed, "e:\\movies\\X (2000).mkv") > 0


def test_a_posix_path_is_refused_by_a_windows_server(emulator: PlexEmulator) -> None:
    with pytest.raises(ValueError, match="absolute"):
        emulator.add_section("Movies", "movie", ["/media/movies"])
