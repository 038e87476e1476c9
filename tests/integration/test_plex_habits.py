"""The product converges on a real Plex library's habits (real plexapi, realistic emulator)."""

from __future__ import annotations

import base64
import dataclasses
import hashlib

import pytest

from tests.support.world import SyncWorld

LONG_CJK = "日本語の長い説明文です。" * 834  # ~10,000 characters, ~90 KB percent-encoded


@pytest.fixture
def world(tmp_path):
    w = SyncWorld(tmp_path)
    yield w
    w.close()


def one_movie(world, path="/media/videos/a/scene.mp4"):
    section = world.plex.add_section("Movies", "movie", ["/media/"])
    return section, world.plex.add_movie(
        section, path, title="scene", size=1_234_567, duration_ms=61_500
    )


def edits_of(world, rating_key):
    return [
        r for r in world.plex.requests.entries
        if r.method == "PUT" and r.query.get("id") == str(rating_key)
    ]  # fmt: skip


def test_a_10000_character_cjk_summary_behind_an_8_kib_proxy_lands_with_every_other_field(
    world,
):
    # Given a scene with a summary far longer than one request line may carry, and Plex
    # behind a proxy that refuses request lines over 8 KiB (the emulator's default)
    tag = world.stash.add_tag("Keep")
    scene_id = world.stash.add_scene(
        files=[{"path": "/data/videos/a/scene.mp4", "size": 1_234_567, "duration": 61.5}],
        title="長い説明のシーン",
        details=LONG_CJK,
        tag_ids=[tag],
        date="2020-05-06",
    )
    _, rating_key = one_movie(world)
    world.start()
    # When it is synced
    job = world.sync("scenes", scene_ids=[scene_id])
    # Then it is written, not dead-lettered: every other field in full, the summary cut to fit
    fields = world.plex.item(rating_key)["fields"]
    assert job["done"] == 1 and job["failed"] == 0
    assert fields["title"] == "長い説明のシーン"
    assert fields["originallyAvailableAt"] == "2020-05-06"
    assert world.plex.item(rating_key)["tags"]["genre"] == ["Keep"]
    assert fields["summary"].endswith("…") and LONG_CJK.startswith(fields["summary"][:-1])
    assert world.plex.rejections == []
    # And a second sync finds nothing to write: the cut value is what we compare against
    before = len(edits_of(world, rating_key))
    world.sync("scenes", scene_ids=[scene_id], force=True)
    assert len(edits_of(world, rating_key)) == before


def test_a_file_renamed_on_disk_is_found_again_under_its_item_without_a_restart(world):
    # Given a scene synced to its Plex item
    scene_id = world.stash.add_scene(
        files=[{"path": "/data/videos/a/scene.mp4", "size": 1_234_567, "duration": 61.5}],
        title="Before the rename",
    )
    section, rating_key = one_movie(world)
    world.start()
    world.sync("scenes", scene_ids=[scene_id])
    # When a renamer moves the file, Plex's scan keeps the item under the new path, Stash follows
    world.plex.move_on_disk("/media/videos/a/scene.mp4", "/media/videos/renamed/new name.mp4")
    world.plex.scan_now(section)
    record = world.stash.store.require_scene(int(scene_id))
    record.files[0] = dataclasses.replace(
        record.files[0], path="/data/videos/renamed/new name.mp4", basename="new name.mp4"
    )
    world.stash.update_scene(scene_id, title="After the rename")
    job = world.sync("scenes", scene_ids=[scene_id])
    # Then the same item gets the edit at once: no retry chain, no dead letter, same ratingKey
    assert job["done"] == 1 and job["failed"] == 0
    assert world.plex.item(rating_key)["fields"]["title"] == "After the rename"


def selected_poster(world, rating_key):
    return [p["sha1"] for p in world.plex.item(rating_key)["posters"] if p["selected"]]


def test_a_cover_changed_a_then_b_then_back_to_a_shows_a_in_plex(world):
    # Given a scene whose cover A reached Plex, then cover B
    cover_a = b"\x89PNG\r\n\x1a\n" + b"cover A" * 40
    cover_b = b"\x89PNG\r\n\x1a\n" + b"cover B" * 40
    scene_id = world.stash.add_scene(
        files=[{"path": "/data/videos/a/scene.mp4", "size": 1_234_567, "duration": 61.5}],
        title="Covers",
        cover=cover_a,
    )
    _, rating_key = one_movie(world)
    world.start()
    world.sync("scenes", scene_ids=[scene_id])
    world.stash.clock.advance(5)  # Stash names a cover by its scene's updated_at second
    world.stash.update_scene(scene_id, cover_image=base64.b64encode(cover_b).decode())
    world.sync("scenes", scene_ids=[scene_id])
    assert selected_poster(world, rating_key) == [hashlib.sha1(cover_b).hexdigest()]
    # When the cover goes back to A, bytes Plex already holds and will not select by itself
    world.stash.clock.advance(5)
    world.stash.update_scene(scene_id, cover_image=base64.b64encode(cover_a).decode())
    world.sync("scenes", scene_ids=[scene_id])
    # Then Plex shows A
    assert selected_poster(world, rating_key) == [hashlib.sha1(cover_a).hexdigest()]


def spelled_scene(world):
    """Plex already holds the genre "Action" (on another item); the Stash tag is "action"."""
    section, rating_key = one_movie(world)
    world.plex.add_movie(section, "/media/other/film.mp4", genres=["Action"])
    tag = world.stash.add_tag("action")
    scene_id = world.stash.add_scene(
        files=[{"path": "/data/videos/a/scene.mp4", "size": 1_234_567, "duration": 61.5}],
        title="Spelling",
        tag_ids=[tag],
    )
    return scene_id, rating_key, tag


def test_a_tag_plex_spells_its_own_way_is_written_once_and_never_again(world):
    # Given a Stash tag whose name Plex already holds in another spelling
    scene_id, rating_key, _ = spelled_scene(world)
    world.start()
    # When it is synced, Plex keeps its own spelling
    world.sync("scenes", scene_ids=[scene_id])
    assert world.plex.item(rating_key)["tags"]["genre"] == ["Action"]
    writes = len(edits_of(world, rating_key))
    # Then forced re-syncs write nothing: a case-only difference is no change
    for _ in range(2):
        assert world.sync("scenes", scene_ids=[scene_id], force=True)["failed"] == 0
    assert len(edits_of(world, rating_key)) == writes


def test_the_servers_spelling_is_not_taken_for_a_persons_edit(world):
    # Given preserve_plex_edits, and a genre Plex spelled its own way on our first write
    scene_id, rating_key, tag = spelled_scene(world)
    world.start(preserve_plex_edits=True)
    world.sync("scenes", scene_ids=[scene_id])
    # When a tag is added in Stash
    world.stash.clock.advance(2)
    world.stash.update_scene(scene_id, tag_ids=[str(tag), str(world.stash.add_tag("Drama"))])
    world.sync("scenes", scene_ids=[scene_id])
    # Then it reaches Plex: the genre list was never frozen as "edited in Plex"
    assert sorted(world.plex.item(rating_key)["tags"]["genre"]) == ["Action", "Drama"]


def test_a_year_month_date_moves_the_plex_year_with_it_and_a_zero_rating_is_no_rating(world):
    # Given an agent-filled item from another year, with a rating, and a Stash scene of 2019-07
    section = world.plex.add_section("Movies", "movie", ["/media/"])
    rating_key = world.plex.add_movie(
        section, "/media/videos/a/scene.mp4", title="scene", year=2001,
        originallyAvailableAt="2001-01-01", userRating=7.0,
    )  # fmt: skip
    scene_id = world.stash.add_scene(
        files=[{"path": "/data/videos/a/scene.mp4", "size": 1_000_000, "duration": 5400.0}],
        title="Dated",
        date="2019-07",
        rating100=0,
    )
    world.start()
    # When it is synced
    world.sync("scenes", scene_ids=[scene_id])
    # Then Plex shows the Stash date and its year, and a rating of 0 is "unrated": left alone
    fields = world.plex.item(rating_key)["fields"]
    assert fields["originallyAvailableAt"] == "2019-07-01"
    assert str(fields["year"]) == "2019"
    assert float(fields["userRating"]) == 7.0


def test_two_scenes_on_one_stacked_item_make_one_write_pattern_and_one_shared_item_letter(world):
    # Given a movie Plex stacked from two part files, and a Stash scene for each part
    _, rating_key = one_movie(world, "/media/videos/a/film-pt1.mp4")
    world.plex.add_file(rating_key, "/media/videos/a/film-pt2.mp4", size=2_000, duration_ms=1_000)
    first = world.stash.add_scene(
        files=[{"path": "/data/videos/a/film-pt1.mp4", "size": 1_234_567, "duration": 61.5}],
        title="Part one",
    )
    second = world.stash.add_scene(
        files=[{"path": "/data/videos/a/film-pt2.mp4", "size": 2_000, "duration": 1.0}],
        title="Part two",
    )
    world.start()
    # When both are synced, twice
    world.sync("scenes", scene_ids=[first, second])
    writes = len(edits_of(world, rating_key))
    world.sync("scenes", scene_ids=[first, second], force=True)
    # Then the scene holding the first part owns the item, the other is one clear dead letter,
    # and the second sync writes nothing back and forth
    assert world.plex.item(rating_key)["fields"]["title"] == "Part one"
    letters = [d for d in world.dead_letters() if d["reason"] == "shared_item"]
    assert [d["scene_id"] for d in letters] == [second]
    assert "film-pt1.mp4" in letters[0]["error"]
    assert len(edits_of(world, rating_key)) == writes
