"""When Plex misbehaves: the breaker, a revoked token, an outage, a file that never appears."""

import itertools
import time

import pytest

from actors.addresses import DEAD_LETTER
from actors.messages import DEAD_LETTER_RETRY
from stashplex.config.settings import Settings
from stashplex.plex.state import GatewayState
from stashplex.runtime.envelope import Envelope
from tests.support.waiting import wait_until
from tests.support.world import SyncWorld

FAST_RETRIES = dict(
    breaker_failures=5,
    breaker_reset_seconds=1,
    transient_base_seconds=1,
    transient_cap_seconds=1,
    transient_retries=5,
)

#: A breaker that opens after 2 failures, and a retry budget a short outage would outlast.
TIGHT_BREAKER = dict(
    breaker_failures=2,
    breaker_reset_seconds=1,
    transient_base_seconds=1,
    transient_cap_seconds=1,
    transient_retries=2,
)


@pytest.fixture
def world(tmp_path):
    w = SyncWorld(tmp_path, scenes=30)
    yield w
    w.close()


def breaker_state(world) -> str:
    status = GatewayState(world.data).kv.get("status") or {}
    return status.get("breaker", {}).get("state", "")


def test_with_plex_failing_the_breaker_opens_after_5_failures_and_only_trials_reach_it(world):
    # Given Plex answers every request with 503
    world.plex.faults.status(503)
    world.start(**FAST_RETRIES)
    world.plex.requests.reset()
    # When a sync runs into it
    world.host.post.send("intake", Envelope(kind="sync.request", payload={"mode": "all"}))
    wait_until(lambda: breaker_state(world) == "open", message="breaker open")
    # Then exactly five requests failed before it opened ...
    opened_at = time.time()
    assert len(world.plex.requests) == 5
    # ... and while it stays open, Plex sees at most one trial per reset timeout
    time.sleep(3.5)
    during = [e.at for e in world.plex.requests.entries if e.at > opened_at]
    assert 1 <= len(during) <= 4
    assert all(b - a >= 0.9 for a, b in itertools.pairwise(during))


def test_a_revoked_token_sends_the_job_straight_to_dead_letter_with_a_clear_reason(world):
    world.plex.faults.revoke_token()
    world.start(**FAST_RETRIES)
    scene_id = world.world.scene_ids[0]
    world.sync("scenes", scene_ids=[scene_id])
    (dead,) = wait_until(world.dead_letters, message="a dead letter")
    assert dead["reason"] == "unauthorized"
    assert "401" in dead["error"] and "token" in dead["error"]
    assert world.host.post.depths()["scheduler"] == 0


def test_an_outage_during_a_sync_ends_in_plex_with_nothing_dead_lettered(world):
    # Given a sync that starts while Plex is healthy
    world.start(**FAST_RETRIES)
    world.plex.requests.reset()
    world.host.post.send(
        "intake", Envelope(kind="sync.request", payload={"mode": "all", "job_id": "outage"})
    )
    # When Plex fails for a few seconds in the middle
    wait_until(lambda: world.plex.requests.count(method="PUT") >= 3, message="first writes")
    world.plex.faults.status(503)
    outage_start = time.time()
    wait_until(lambda: breaker_state(world) == "open", message="breaker open")
    time.sleep(4)
    world.plex.faults.clear()
    outage_end = time.time()
    # Then every scene reaches Plex on its own, and none is dead-lettered for the outage
    world.wait_job("outage", timeout=60)
    assert world.dead_letters() == []
    assert world.scenes_not_written() == []
    # And during the outage Plex saw the failures that opened the breaker (plus the writes
    # already in flight on the other plex_concurrency threads), then one probe a second at most
    during = [e.at for e in world.plex.requests.entries if outage_start <= e.at <= outage_end]
    in_flight = Settings().plex_concurrency - 1
    assert len(during) <= 5 + in_flight + (outage_end - outage_start) + 1


def test_a_file_that_never_appears_is_dead_lettered_after_its_window_and_retry_syncs_it(tmp_path):
    # Given a scene whose file Plex has not scanned (and a scan does not find it)
    world = SyncWorld(tmp_path)
    try:
        scene_id = world.stash.add_scene(
            title="Late arrival", files=[{"path": "/data/new/late.mp4", "size": 5}]
        )
        section = world.plex.add_section("Movies", "movie", ["/media/"])
        world.start(not_found_base_seconds=1, not_found_cap_seconds=1, not_found_retries=2)
        world.host.post.send(
            "intake",
            Envelope(kind="sync.request", payload={"mode": "scenes", "scene_ids": [scene_id]}),
        )
        # Then after its not-found retries it is dead-lettered with a clear reason
        (dead,) = wait_until(world.dead_letters, timeout=30, message="not-found dead letter")
        assert dead["reason"] == "not_found"
        assert "gave up waiting" in dead["error"]
        assert "2 not_found retries" in dead["error"]
        # When the file appears in Plex and the operator retries not-found dead letters
        rating_key = world.plex.add_movie(
            section, "/media/new/late.mp4", title="late", size=5, duration_ms=60_000
        )
        world.host.post.send(
            DEAD_LETTER, Envelope(kind=DEAD_LETTER_RETRY, payload={"reason": "not_found"})
        )
        # Then it is synced
        wait_until(
            lambda: world.plex.item(rating_key)["fields"]["title"] == "Late arrival",
            timeout=30,
            message="scene synced after retry",
        )
        assert world.dead_letters() == []
    finally:
        world.close()


def test_a_lone_job_through_a_long_outage_spends_no_retry_on_failed_trials(tmp_path):
    # Given one scene, Plex failing, and fewer transient retries than the trials the outage takes
    world = SyncWorld(tmp_path, scenes=3)
    try:
        world.plex.faults.status(503)
        world.start(**TIGHT_BREAKER)
        scene_id = world.world.scene_ids[0]
        world.plex.requests.reset()
        world.host.post.send(
            "intake",
            Envelope(kind="sync.request", payload={"mode": "scenes", "scene_ids": [scene_id]}),
        )
        # When the breaker opens and its trials keep failing for a while
        wait_until(lambda: breaker_state(world) == "open", message="breaker open")
        wait_until(lambda: len(world.plex.requests) >= 5, timeout=20, message="several trials")
        world.plex.faults.clear()
        # Then the job reaches Plex once Plex is back, and was never dead-lettered for the outage
        wait_until(
            lambda: not world.scenes_not_written([scene_id]),
            timeout=30,
            message="the scene written and locked in Plex",
        )
        assert world.dead_letters() == []
    finally:
        world.close()


def test_a_job_that_fails_on_its_own_while_plex_is_up_is_dead_lettered_and_frees_the_breaker(
    tmp_path,
):
    # Given one scene whose Plex item always answers 503, while the rest of Plex works
    world = SyncWorld(tmp_path, scenes=3)
    try:
        scene_id = world.world.scene_ids[0]
        keys = [f.rating_key for f in world.world.files_of(scene_id) if f.rating_key]
        world.plex.faults.status(503, path_prefix=f"/library/metadata/{keys[0]}")
        world.start(**TIGHT_BREAKER)
        # When it is synced, fails, opens the breaker, and the trial finds Plex answering
        world.host.post.send(
            "intake",
            Envelope(kind="sync.request", payload={"mode": "scenes", "scene_ids": [scene_id]}),
        )
        # Then the job spends its retries and ends in DeadLetter instead of holding the breaker
        (dead,) = wait_until(world.dead_letters, timeout=40, message="a dead letter")
        assert dead["reason"] == "transient" and dead["scene_id"] == scene_id
        wait_until(lambda: breaker_state(world) == "closed", timeout=10, message="breaker closed")
    finally:
        world.close()


def test_after_an_outage_the_first_write_follows_plex_within_seconds_not_the_breaker_reset(world):
    # Given the default 60 s breaker reset, and a sync that runs into a Plex outage
    world.start(breaker_failures=2, breaker_reset_seconds=60)
    world.plex.faults.status(503)
    world.host.post.send(
        "intake", Envelope(kind="sync.request", payload={"mode": "all", "job_id": "probe"})
    )
    wait_until(lambda: breaker_state(world) == "open", message="breaker open")
    opened_at = time.time()
    # When Plex is down for 4 s, then answers again
    time.sleep(4)
    world.plex.faults.clear()
    back_at = time.time()
    wait_until(lambda: world.plex.requests.count(method="PUT") >= 1, timeout=10,
               message="a write after the outage")  # fmt: skip
    first_write = min(e.at for e in world.plex.requests.entries if e.method == "PUT")
    # Then the first write goes out within 2 s of Plex answering, not at the 60 s trial ...
    assert first_write - back_at <= 2.0
    # ... and while Plex was down it saw at most one probe per second
    down = [e.at for e in world.plex.requests.entries if opened_at < e.at < back_at]
    assert len(down) <= (back_at - opened_at) + 1
    world.wait_job("probe", timeout=60)
    assert world.dead_letters() == []
