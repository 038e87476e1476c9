"""Seeded worlds are deterministic, awkward like real libraries, and match on both sides."""

from __future__ import annotations

import unicodedata
from collections import Counter

import pytest

from stashplex.sandbox.plex import PlexEmulator
from stashplex.sandbox.seed import seed_world
from stashplex.sandbox.stash import StashEmulator


def _library(stash: StashEmulator) -> list[dict]:
    return [stash.scene(scene_id) for scene_id in stash.scene_ids()]


@pytest.fixture(scope="module")
def seeded() -> list[dict]:
    with StashEmulator() as stash:
        stash.seed(400, seed=11)
        return _library(stash)


def test_the_same_seed_gives_the_same_library():
    with StashEmulator() as first, StashEmulator() as second:
        first.seed(60, seed=5)
        second.seed(60, seed=5)

        assert _library(first) == _library(second)


def test_a_different_seed_gives_a_different_library():
    with StashEmulator() as first, StashEmulator() as second:
        first.seed(60, seed=5)
        second.seed(60, seed=6)

        assert _library(first) != _library(second)


def test_seeding_returns_the_new_scene_ids():
    with StashEmulator() as stash:
        ids = stash.seed(10)

        assert ids == [str(i) for i in range(1, 11)]


def test_seeding_refuses_more_than_the_supported_maximum():
    with StashEmulator() as stash, pytest.raises(ValueError, match="between 0 and 100000"):
        stash.seed(100_001)


def test_the_library_has_the_awkward_cases_a_sync_must_handle(seeded):
    titles = [scene["title"] for scene in seeded]
    all_text = " ".join(t for t in titles if t)
    dates = [scene["date"] for scene in seeded if scene["date"]]

    assert any(not title for title in titles)
    assert any(not scene["has_cover"] for scene in seeded)
    assert any(len(scene["files"]) > 1 for scene in seeded)
    assert any(scene["studio"] and scene["studio"]["parent"] for scene in seeded)
    assert any(scene["performers"] for scene in seeded)
    assert any(scene["tags"] for scene in seeded)
    assert any(scene["groups"] for scene in seeded)
    assert any(len(scene["details"] or "") > 5000 for scene in seeded)
    assert any(unicodedata.combining(char) for char in all_text)
    assert any("\u4e00" <= char <= "\u9fff" for char in all_text)
    assert any(ord(char) > 0xFFFF for char in all_text)
    assert {len(date) for date in dates} == {4, 7, 10}


def test_every_file_path_is_as_stash_in_docker_sees_it(seeded):
    paths = [file["path"] for scene in seeded for file in scene["files"]]

    assert all(path.startswith("/data/") for path in paths)
    assert len(set(paths)) == len(paths)


def test_two_files_share_a_basename_in_different_folders(seeded):
    basenames = Counter(file["basename"] for scene in seeded for file in scene["files"])
    shared = [name for name, count in basenames.items() if count > 1]

    assert shared
    folders = {
        file["path"].rsplit("/", 1)[0]
        for scene in seeded
        for file in scene["files"]
        if file["basename"] == shared[0]
    }
    assert len(folders) > 1


def test_seed_world_gives_plex_a_movie_for_every_stash_file_under_the_plex_root():
    with StashEmulator() as stash, PlexEmulator() as plex:
        # When a world is seeded with a fifth of the files not yet scanned by Plex
        world = seed_world(stash, plex, 80, seed=2, unscanned_fraction=0.2)

        # Then every Stash file has its Plex twin at the mapped path, same size and duration
        stash_files = [f for sid in world.scene_ids for f in stash.scene(sid)["files"]]
        assert len(world.files) == len(stash_files)
        for world_file, stash_file in zip(world.files, stash_files, strict=True):
            assert world_file.stash_path == stash_file["path"]
            assert world_file.plex_path == "/media/" + stash_file["path"].removeprefix("/data/")
            assert world_file.duration_ms == round(stash_file["duration"] * 1000)
            if world_file.rating_key is None:
                assert plex.find_by_file(world_file.plex_path) is None
            else:
                assert plex.find_by_file(world_file.plex_path) == world_file.rating_key
                assert plex.item(world_file.rating_key)
        assert 0 < len(world.unscanned) < len(world.files)
        assert list(world.sections) == [""]


def test_seed_world_can_split_plex_sections_by_top_folder():
    with StashEmulator() as stash, PlexEmulator() as plex:
        world = seed_world(stash, plex, 30, seed=4, section_per_top_folder=True)

        assert len(world.sections) == 3
        assert all(file.plex_path.startswith("/media/") for file in world.files)
