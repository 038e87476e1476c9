"""A cover that trickles or never ends fails its own job within the deadline (issue 16, item 2).

The Stash emulator sits behind a hostile proxy (tests/support/hostile.py) that serves two
scenes' covers badly; the other scenes, and the actors, carry on.
"""

import time

import pytest

from tests.support.hostile import HostileStash
from tests.support.world import SyncWorld

COVER = b"\x89PNG\r\n\x1a\n" + b"cover-bytes" * 50
DEADLINE_S = 2


@pytest.fixture
def world(tmp_path):
    w = SyncWorld(tmp_path)
    proxy = HostileStash(w.stash.url).start()
    w.proxy = proxy
    yield w
    w.close()
    proxy.stop()


def seed(world, count):
    section = world.plex.add_section("Movies", "movie", ["/media/"])
    scenes = {}
    for n in range(count):
        path = f"/data/videos/{n}/scene-{n}.mp4"
        scene_id = world.stash.add_scene(
            files=[{"path": path, "size": 1000 + n, "duration": 60.0}],
            cover=COVER,
            title=f"Scene {n}",
        )
        scenes[scene_id] = world.plex.add_movie(
            section, path.replace("/data/", "/media/"), title=f"old {n}", size=1000 + n
        )
    return scenes


def test_a_trickling_and_an_endless_cover_each_fail_their_job_while_the_others_sync(world):
    # Given six scenes, one whose cover comes at 1 byte/s and one whose cover never ends
    scenes = seed(world, 6)
    trickle, endless, *good = scenes
    world.proxy.covers = {trickle: "trickle", endless: "endless"}
    world.start(stash_url=world.proxy.url, request_deadline_seconds=DEADLINE_S, max_cover_mb=1)
    # When they are all synced
    started = time.monotonic()
    job = world.sync(timeout=60)
    took = time.monotonic() - started
    # Then the two bad covers fail their own jobs, within the deadline, and the rest sync
    assert (job["done"], job["failed"]) == (4, 2)
    assert took < DEADLINE_S + 4, f"the sync took {took:.1f} s"
    assert world.proxy.bytes_sent[trickle] <= DEADLINE_S + 2
    # (what the proxy pushed: the 1 MB read plus whatever loopback's socket buffers absorbed
    # before the client hung up, which autotuning grows to several MB on a busy machine)
    assert world.proxy.bytes_sent[endless] < 16 * 2**20
    letters = {d["scene_id"]: d for d in world.dead_letters()}
    assert set(letters) == {trickle, endless}
    assert {d["reason"] for d in letters.values()} == {"permanent"}
    assert "deadline" in letters[trickle]["error"]
    assert "over 1 MB" in letters[endless]["error"]
    for n, scene_id in enumerate(good, start=2):
        item = world.plex.item(scenes[scene_id])
        assert item["fields"]["title"] == f"Scene {n}"
        assert any(p["selected"] for p in item["posters"]), f"scene {scene_id} has no poster"
    print(f"sync of 6 scenes with 2 hostile covers took {took:.2f} s (deadline {DEADLINE_S} s)")
