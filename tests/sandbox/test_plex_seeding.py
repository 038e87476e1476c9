"""Deterministic seeding with awkward names, and the one-command server."""

from __future__ import annotations

import os
import subprocess
import sys
import unicodedata
from collections import Counter
from pathlib import PurePosixPath

import pytest
import requests
from plexapi.server import PlexServer

from stashplex.sandbox.plex import PlexEmulator
from stashplex.sandbox.seed import seed_world
from stashplex.sandbox.stash import StashEmulator
from tests.support.plex import REPO, TOKEN, connect, emulator_process


def _seeded(seed: int) -> list[tuple[int, str, str]]:
    emulator = PlexEmulator(token=TOKEN)
    return [(s.rating_key, s.file, s.title) for s in emulator.seed(600, seed=seed)]


def test_the_same_seed_builds_the_same_library() -> None:
    assert _seeded(3) == _seeded(3)
    assert _seeded(3) != _seeded(4)


def test_seeded_names_include_the_awkward_cases() -> None:
    titles = [title for _, _, title in _seeded(0)]
    files = [file for _, file, _ in _seeded(0)]

    assert any(unicodedata.combining(ch) for title in titles for ch in title)
    assert any(ord(ch) > 0xFFFF for title in titles for ch in title)
    assert max(len(title) for title in titles) >= 290
    basenames = Counter(PurePosixPath(file).name for file in files)
    assert basenames.most_common(1)[0][1] >= 2


def test_seeding_fills_movie_and_show_sections_by_default() -> None:
    emulator = PlexEmulator(token=TOKEN)

    seeded = emulator.seed(100, seed=1)

    kinds = Counter(emulator.item(item.rating_key)["type"] for item in seeded)
    assert kinds == {"movie": 50, "episode": 50}
    assert all(emulator.find_by_file(item.file) == item.rating_key for item in seeded)


def test_awkward_seeded_titles_survive_the_wire() -> None:
    with PlexEmulator(token=TOKEN) as emulator:
        movies = emulator.add_section(title="Movies", type="movie", locations=["/m"])
        seeded = emulator.seed(400, seed=5, sections=[movies])
        listed = connect(emulator).library.sectionByID(movies).all(container_size=400)

    by_key = {movie.ratingKey: movie for movie in listed}
    for item in seeded:
        assert by_key[item.rating_key].title == item.title
        assert by_key[item.rating_key].locations == [item.file]


def test_a_section_needs_absolute_locations() -> None:
    emulator = PlexEmulator(token=TOKEN)

    with pytest.raises(ValueError, match="absolute"):
        emulator.add_section(title="Bad", type="movie", locations=["relative/path"])
    with pytest.raises(ValueError, match="loopback"):
        PlexEmulator(token=TOKEN, host="10.1.2.3")


def test_the_module_command_serves_a_seeded_library_until_terminated() -> None:
    # Given
    with emulator_process("--items", "50", "--seed", "2") as (process, banner):
        url = banner.split(" at ", 1)[1].split(" ", 1)[0]

        # When
        auth = {"X-Plex-Token": TOKEN}
        sections = requests.get(url + "/library/sections", headers=auth, timeout=5)
        total = requests.get(
            url + "/library/sections/1/all",
            params={"X-Plex-Container-Size": "0"},
            headers=auth,
            timeout=5,
        )

    # Then
    assert sections.status_code == 200
    assert 'totalSize="25"' in total.text
    assert TOKEN not in banner
    assert process.returncode == 0


def test_the_module_command_seeded_as_a_stash_world_serves_the_files_of_that_world() -> None:
    # Given a Plex emulator process seeded as the Plex side of a 20-scene world (seed 4)
    with emulator_process("--stash-world", "20", "--seed", "4") as (_, banner):
        url = banner.split(" at ", 1)[1].split(" ", 1)[0]
        # When its library is listed, and the same world is seeded here
        plex = PlexServer(url, TOKEN, session=requests.Session(), timeout=10)
        served = sorted(part.file for movie in plex.library.section("Movies").all()
                        for part in movie.iterParts())  # fmt: skip
        here = seed_world(StashEmulator(), PlexEmulator(token=TOKEN), 20, seed=4)

    # Then it serves exactly that world's files, and says how many
    assert served == sorted(file.plex_path for file in here.files)
    assert f"with {len(here.files)} items" in banner


def test_the_module_command_refuses_two_ways_of_seeding_at_once() -> None:
    # Given / When both --items and --stash-world are given
    done = subprocess.run(
        [sys.executable, "-m", "stashplex.sandbox.plex", "--token", TOKEN, "--items", "5",
         "--stash-world", "5"],
        capture_output=True, text=True, cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)},
        timeout=60, check=False,
    )  # fmt: skip
    # Then it stops with a clear message
    assert done.returncode == 2
    assert "give one" in done.stderr
