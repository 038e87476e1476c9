"""A Plex server on Windows: drive letters, backslashes, case-insensitive paths, end to end."""

from __future__ import annotations

import pytest

from tests.support.world import SyncWorld


@pytest.fixture
def world(tmp_path):
    w = SyncWorld(tmp_path)
    w.plex.configure_realism(windows=True)
    yield w
    w.close()


def start(world, **settings):
    return world.start(
        path_map=("/data/ => D:\\Media\\",), case_insensitive_paths=True, **settings
    )


def test_a_scene_reaches_its_item_on_a_windows_server(world):
    # Given a Windows section and a file Plex reports as D:\Media\Videos\Clip.MP4
    section = world.plex.add_section("Movies", "movie", ["D:\\Media"])
    rating_key = world.plex.add_movie(
        section, "D:\\Media\\Videos\\Clip.MP4", title="clip", size=1_000, duration_ms=1_000
    )
    scene_id = world.stash.add_scene(
        files=[{"path": "/data/videos/clip.mp4", "size": 1_000, "duration": 1.0}],
        title="On Windows",
    )
    start(world)
    # When it is synced
    job = world.sync("scenes", scene_ids=[scene_id])
    # Then the exact (case-insensitive) path matched and the title is written
    assert job["done"] == 1 and job["failed"] == 0
    assert world.plex.item(rating_key)["fields"]["title"] == "On Windows"


def test_a_file_not_scanned_yet_is_scanned_with_windows_separators_and_then_written(world):
    # Given a Windows section, and a new file on disk that Plex has not scanned
    section = world.plex.add_section("Movies", "movie", ["D:\\Media"])
    world.plex.add_movie(section, "D:\\Media\\Old\\old.mp4", size=1_000, duration_ms=1_000)
    world.plex.put_on_disk("D:\\Media\\New\\fresh.mp4", size=2_000, duration_ms=1_000)
    scene_id = world.stash.add_scene(
        files=[{"path": "/data/New/fresh.mp4", "size": 2_000, "duration": 1.0}],
        title="Fresh",
    )
    start(world, not_found_base_seconds=1, not_found_cap_seconds=2)
    # When it is synced
    job = world.sync("scenes", scene_ids=[scene_id], timeout=60)
    # Then stashplex asked Plex to scan D:\Media\New in the server's own spelling, found the
    # file on its next look, and wrote it
    scans = [
        r.query.get("path") for r in world.plex.requests.entries if r.path.endswith("/refresh")
    ]
    assert scans == ["D:\\Media\\New"]
    (rating_key,) = world.plex.items_of_file("D:\\Media\\New\\fresh.mp4")
    assert job["done"] == 1 and world.plex.item(rating_key)["fields"]["title"] == "Fresh"
