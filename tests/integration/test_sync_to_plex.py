"""Matcher and PlexGateway against the emulators, with real plexapi: what the user sees in Plex."""

import pytest

from stashplex.plex.journal import journal_entries
from stashplex.plex.state import GatewayState
from tests.support.waiting import wait_until
from tests.support.world import SyncWorld

COVER = b"\x89PNG\r\n\x1a\n" + b"cover-bytes" * 50


@pytest.fixture
def world(tmp_path):
    w = SyncWorld(tmp_path)
    yield w
    w.close()


def add_scene(world, path="/data/videos/a/scene.mp4", size=1_234_567, **fields):
    stash = world.stash
    studio = stash.add_studio("Stüdio ✨", parent_id=stash.add_studio("Parent Co"))
    performers = [stash.add_performer("Zoë Ångström"), stash.add_performer("李小龍")]
    tags = [stash.add_tag("Tag, with comma"), stash.add_tag("Émoji 🎬"), stash.add_tag("Keep")]
    group = stash.add_group("Séries A")
    values = dict(
        title="Ünïcode title — 日本語 ✓",
        details="Line one\nLine two «quoted» & more",
        studio_id=studio,
        performer_ids=performers,
        tag_ids=tags,
        date="2021-03",
        rating100=85,
        director="Ann Smith; Bob Jones",
        groups=[{"group_id": group, "scene_index": 1}],
    )
    values.update(fields)
    return stash.add_scene(
        files=[{"path": path, "size": size, "duration": 61.5}], cover=COVER, **values
    ), tags


def plex_library(world, *files):
    section = world.plex.add_section("Movies", "movie", ["/media/"])
    return [
        world.plex.add_movie(
            section, f, title=f.rsplit("/", 1)[-1], size=1_234_567, duration_ms=61_500
        )
        for f in files
    ]


def test_every_stash_field_lands_in_its_plex_field_locked_and_unicode_survives(world):
    # Given a scene in Stash and its file (plus a same-named file elsewhere) in Plex
    scene_id, _ = add_scene(world)
    target, other = plex_library(world, "/media/videos/a/scene.mp4", "/media/videos/b/scene.mp4")
    world.start()
    # When it is synced
    job = world.sync("scenes", scene_ids=[scene_id])
    # Then Plex shows exactly what Stash says, every written field locked but the collections
    item = world.plex.item(target)
    fields, tags = item["fields"], item["tags"]
    assert job["done"] == 1
    assert fields["title"] == "Ünïcode title — 日本語 ✓"
    assert fields["summary"] == "Line one\nLine two «quoted» & more"
    assert fields["studio"] == "Stüdio ✨"
    assert fields["originallyAvailableAt"] == "2021-03-01"
    assert float(fields["userRating"]) == 8.5
    assert sorted(tags["genre"]) == sorted(["Tag, with comma", "Émoji 🎬", "Keep"])
    assert [r["tag"] for r in item["roles"]] == ["Zoë Ångström", "李小龍"]
    assert tags["collection"] == ["Séries A"]
    assert sorted(tags["director"]) == ["Ann Smith", "Bob Jones"]
    assert {
        "title",
        "summary",
        "studio",
        "originallyAvailableAt",
        "userRating",
        "genre",
        "actor",
        "director",
    } <= set(item["locks"])
    assert "collection" not in item["locks"]
    # And the poster is the Stash cover, byte for byte
    assert [p["sha1"] for p in item["posters"] if p["selected"]] == [
        __import__("hashlib").sha1(COVER).hexdigest()
    ]
    # And the same-named file in another folder was never touched
    assert world.plex.item(other)["fields"]["title"] == "scene.mp4"
    assert world.plex.item(other)["locks"] == []


def test_a_tag_removed_in_stash_disappears_from_plex(world):
    scene_id, tags = add_scene(world)
    (target,) = plex_library(world, "/media/videos/a/scene.mp4")
    world.start()
    world.sync("scenes", scene_ids=[scene_id])
    # When the user removes a tag in Stash
    world.stash.update_scene(scene_id, tag_ids=[tags[2]])
    world.sync("scenes", scene_ids=[scene_id])
    # Then Plex has exactly the remaining one
    assert world.plex.item(target)["tags"]["genre"] == ["Keep"]


def test_resyncing_an_unchanged_scene_sends_no_write_and_no_poster(world):
    # Given a scene that was synced once
    scene_id, _ = add_scene(world)
    plex_library(world, "/media/videos/a/scene.mp4")
    world.start()
    world.sync("scenes", scene_ids=[scene_id])
    world.plex.requests.reset()
    # When it is synced again, even forced past the fingerprint filter
    job = world.sync("scenes", scene_ids=[scene_id], force=True)
    # Then Plex got no edit and no upload
    assert job["changes"] == 0
    assert world.plex.requests.count(method="PUT") == 0
    assert world.plex.requests.count(method="POST") == 0
    # And without force it is not even sent to Plex
    world.plex.requests.reset()
    job = world.sync("scenes", scene_ids=[scene_id])
    assert (job["skipped"], world.plex.requests.count()) == (1, 0)


def test_docker_style_stash_paths_reach_plex_paths_through_the_map(world):
    # Given Stash sees /data/..., Plex sees /mnt/plex/... and a map between them
    scene_id, _ = add_scene(world, path="/data/deep/Folder Ω/clip.mp4")
    section = world.plex.add_section("Movies", "movie", ["/mnt/plex/"])
    target = world.plex.add_movie(
        section,
        "/mnt/plex/deep/Folder Ω/clip.mp4",
        title="clip",
        size=1_234_567,
        duration_ms=61_500,
    )
    world.start(path_map=("/data/ => /mnt/plex/",))
    world.sync("scenes", scene_ids=[scene_id])
    assert world.plex.item(target)["fields"]["title"] == "Ünïcode title — 日本語 ✓"


def test_two_candidates_with_the_same_name_and_no_exact_path_go_to_dead_letter(world):
    # Given the scene's own path is not in Plex, but two same-named files elsewhere are
    scene_id, _ = add_scene(world, path="/data/elsewhere/scene.mp4")
    plex_library(world, "/media/videos/a/scene.mp4", "/media/videos/b/scene.mp4")
    world.start(scan_on_miss=False)
    world.sync("scenes", scene_ids=[scene_id])
    # Then nothing is written and the dead letter lists both candidates
    (dead,) = wait_until(world.dead_letters, message="a dead letter")
    assert dead["reason"] in ("ambiguous", "low_confidence")
    assert "/media/videos/a/scene.mp4" in dead["error"]
    assert "/media/videos/b/scene.mp4" in dead["error"]
    assert world.plex.requests.count(method="PUT") == 0


def test_a_person_s_edit_in_plex_is_preserved_and_journaled_when_asked(world):
    scene_id, _ = add_scene(world)
    (target,) = plex_library(world, "/media/videos/a/scene.mp4")
    world.start(preserve_plex_edits=True)
    world.sync("scenes", scene_ids=[scene_id])
    # When someone retitles the item in Plex, then the scene changes in Stash
    from plexapi.server import PlexServer

    PlexServer(world.plex.url, world.plex.token).fetchItem(target).editTitle("My own title")
    world.stash.update_scene(scene_id, details="New details")
    world.sync("scenes", scene_ids=[scene_id])
    # Then the person's title stays, the new details arrive, and the journal says why
    fields = world.plex.item(target)["fields"]
    assert (fields["title"], fields["summary"]) == ("My own title", "New details")
    entries = journal_entries(GatewayState(world.data).store, target)
    assert any(e["action"] == "preserved" and e["field"] == "title" for e in entries)


def test_a_dry_run_reports_the_diff_and_writes_nothing(world):
    scene_id, _ = add_scene(world)
    (target,) = plex_library(world, "/media/videos/a/scene.mp4")
    world.start()
    job = world.sync("scenes", scene_ids=[scene_id], dry_run=True)
    assert world.plex.requests.count(method="PUT") == 0
    changed = {c["field"]: c["new"] for d in job["diffs"] for c in d["changes"]}
    assert changed["title"] == "Ünïcode title — 日本語 ✓"
    assert world.plex.item(target)["fields"]["title"] == "scene.mp4"


def test_the_journal_shows_what_a_write_replaced_and_undo_puts_it_back(world):
    scene_id, _ = add_scene(world)
    (target,) = plex_library(world, "/media/videos/a/scene.mp4")
    world.start()
    world.sync("scenes", scene_ids=[scene_id])
    state = GatewayState(world.data)
    title = next(e for e in journal_entries(state.store, target) if e["field"] == "title")
    assert (title["old"], title["new"]) == ("scene.mp4", "Ünïcode title — 日本語 ✓")
    # When the operator undoes it
    from actors.messages import JOURNAL_UNDO
    from stashplex.runtime.envelope import Envelope

    world.host.post.send(
        "plex_gateway", Envelope(kind=JOURNAL_UNDO, payload={"rating_key": target})
    )
    # Then the old values are back
    wait_until(
        lambda: world.plex.item(target)["fields"]["title"] == "scene.mp4", message="undo applied"
    )
    assert world.plex.item(target)["tags"].get("genre", []) == []


def test_a_file_not_yet_scanned_is_found_after_the_folder_scan_it_triggers(world):
    # Given a scene whose file exists on Plex's disk but is not in the library yet
    scene_id = world.stash.add_scene(title="Fresh file",
                                     files=[{"path": "/data/new/fresh.mp4", "size": 7}])
    world.plex.add_section("Movies", "movie", ["/media/"])
    world.plex.put_on_disk(file="/media/new/fresh.mp4", size=7, duration_ms=60_000)
    world.start(not_found_base_seconds=1, not_found_cap_seconds=1)
    # When it is synced
    world.sync("scenes", scene_ids=[scene_id])
    # Then the gateway asked Plex to scan that folder, and a retry wrote the new item
    rating_key = wait_until(lambda: world.plex.find_by_file("/media/new/fresh.mp4"),
                            message="file scanned")
    wait_until(lambda: world.plex.item(rating_key)["fields"]["title"] == "Fresh file",
               timeout=20, message="written after the scan")
    scans = [e for e in world.plex.requests.entries if e.path.endswith("/refresh")]
    assert [e.query.get("path") for e in scans] == ["/media/new"]


def test_a_first_sync_costs_at_most_two_plex_requests_per_scene(tmp_path):
    # Given 300 seeded scenes and their Plex library
    w = SyncWorld(tmp_path, scenes=300, seed=3)
    try:
        w.start()
        w.plex.requests.reset()
        job = w.sync(timeout=120)
        # Then, images aside, Plex saw at most two requests per synced scene
        requests = len(w.plex.requests) - w.plex.requests.count(method="POST")
        assert job["done"] == 300
        assert requests / 300 <= 2.0
    finally:
        w.close()


def test_a_field_switched_off_is_neither_read_nor_written(world):
    scene_id, _ = add_scene(world)
    section = world.plex.add_section("Movies", "movie", ["/media/"])
    target = world.plex.add_movie(section, "/media/videos/a/scene.mp4", title="scene.mp4",
                                  size=1_234_567, duration_ms=61_500, genres=("Plex genre",))
    world.start(sync_tags=False, sync_poster=False)
    world.sync("scenes", scene_ids=[scene_id])
    item = world.plex.item(target)
    assert item["fields"]["title"] == "Ünïcode title — 日本語 ✓"
    assert item["tags"]["genre"] == ["Plex genre"]
    assert "genre" not in item["locks"]
    assert world.plex.requests.count(method="POST") == 0


def test_with_backgrounds_on_the_cover_becomes_the_background_once_and_is_not_sent_again(tmp_path):
    # Given a scene with a cover and the background toggle on
    w = SyncWorld(tmp_path)
    try:
        scene_id, _ = add_scene(w)
        (target,) = plex_library(w, "/media/videos/a/scene.mp4")
        w.start(sync_background=True)
        # When it is synced
        w.sync("scenes", scene_ids=[scene_id])
        # Then the cover is both the poster and the selected background, byte for byte
        cover = __import__("hashlib").sha1(COVER).hexdigest()
        item = w.plex.item(target)
        assert [a["sha1"] for a in item["arts"] if a["selected"]] == [cover]
        assert [p["sha1"] for p in item["posters"] if p["selected"]] == [cover]
        # And a forced re-sync with the same cover uploads nothing
        w.plex.requests.reset()
        w.sync("scenes", scene_ids=[scene_id], force=True)
        assert w.plex.requests.count(method="POST") == 0
    finally:
        w.close()
