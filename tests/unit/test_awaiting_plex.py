"""Jobs waiting for Plex to scan their files: one row per scene (the newest job), one shared timer,
and nothing lost or left hanging: every job replaced, released or given up is accounted for."""

from __future__ import annotations

import pytest

from actors.addresses import DEAD_LETTER, INTAKE, MATCHER, SCHEDULER
from actors.plex_awaiting import RECHECK_TIMER_ID, AwaitingPlex
from stashplex.config.settings import Settings
from stashplex.runtime.envelope import Envelope
from stashplex.runtime.store import Store


class Sent:
    def __init__(self) -> None:
        self.messages: list[tuple[str, Envelope]] = []

    def __call__(self, to: str, envelopes) -> None:
        self.messages += [(to, e) for e in envelopes]

    def take(self, to: str) -> list[Envelope]:
        taken = [e for t, e in self.messages if t == to]
        self.messages = [(t, e) for t, e in self.messages if t != to]
        return taken


@pytest.fixture
def sent():
    return Sent()


@pytest.fixture
def awaiting(tmp_path, sent):
    settings = Settings(index_refresh_seconds=30, not_found_base_seconds=30)
    store = Store(tmp_path / "gateway.db", ())
    yield AwaitingPlex(store, settings, send_many=sent)
    store.close()


def locate(scene_id: str, revision: int, job_id: str | None = "job") -> Envelope:
    payload = {"scene": {"id": scene_id}, "fingerprint": f"fp{revision}", "revision": revision,
               "job_id": job_id}  # fmt: skip
    return Envelope(kind="sync.locate", scene_id=scene_id, payload=payload)


def test_a_burst_of_jobs_waits_on_one_timer_armed_once(awaiting, sent):
    # When a hundred jobs find no Plex item, one after another
    for n in range(100):
        assert awaiting.park(locate(str(n), n), n, [f"/data/{n}.mp4"])
    # Then they all wait, and the Scheduler was asked for one timer, one refresh interval away
    assert awaiting.count() == 100
    (timer,) = sent.take(SCHEDULER)
    assert timer.payload["timer_id"] == RECHECK_TIMER_ID
    assert timer.payload["job"]["kind"] == "plex.recheck"


def test_a_newer_job_of_a_waiting_scene_replaces_it_and_the_older_is_reported_skipped(
    awaiting, sent
):
    awaiting.park(locate("7", 1), 1, ["/data/a.mp4"])
    # When a newer job of the scene waits too (say its cover was generated meanwhile)
    awaiting.park(locate("7", 2), 2, ["/data/a.mp4"])
    # Then one row holds the newer job, and the older one ended as skipped for its sync job
    (row,) = awaiting.rows()
    assert row.revision == 2
    (ended,) = sent.take(INTAKE)
    assert (ended.payload["status"], ended.payload["revision"]) == ("skipped", 1)
    # And a late older job (a retry from before) does not displace it
    assert not awaiting.park(locate("7", 1), 1, ["/data/a.mp4"])
    assert [r.revision for r in awaiting.rows()] == [2]
    assert [e.payload["revision"] for e in sent.take(INTAKE)] == [1]


def test_a_deleted_scene_or_a_newer_job_that_found_its_file_drops_the_waiting_one(
    awaiting, sent
):
    awaiting.park(locate("7", 1), 1, ["/data/a.mp4"])
    awaiting.park(locate("8", 2), 2, ["/data/b.mp4"])
    awaiting.drop_older({"7": 5, "8": 2, "9": 1})
    assert [r.scene_id for r in awaiting.rows()] == ["8"]
    assert [e.scene_id for e in sent.take(INTAKE)] == ["7"]


def test_released_jobs_go_to_the_matcher_with_their_candidates_in_one_batch(awaiting, sent):
    for n in range(3):
        awaiting.park(locate(str(n), n), n, [f"/data/{n}.mp4"])
    rows = awaiting.rows()
    candidate = {"rating_key": 1, "section_key": 1, "file": "/media/0.mp4"}
    awaiting.release([(rows[0], [candidate]), (rows[2], [candidate])])
    released = sent.take(MATCHER)
    assert [(e.kind, e.scene_id) for e in released] == [("match.score", "0"), ("match.score", "2")]
    assert released[0].payload["candidates"] == [candidate]
    assert released[0].payload["revision"] == 0
    assert [r.scene_id for r in awaiting.rows()] == ["1"]


def test_a_job_that_waited_its_whole_not_found_window_goes_to_the_dead_letters(awaiting, sent):
    awaiting.park(locate("7", 1), 1, ["/data/a.mp4"])
    (row,) = awaiting.rows()
    # When a recheck finds it still missing, before and after the window
    assert awaiting.expire([row], row.parked_at + awaiting.budget_s - 1) == []
    assert awaiting.expire([row], row.parked_at + awaiting.budget_s) == [row]
    # Then it is a not-found dead letter that names the wait, and it no longer waits
    (dead,) = sent.take(DEAD_LETTER)
    assert dead.payload["reason"] == "not_found"
    assert "gave up waiting 86 min" in dead.payload["error"]
    assert dead.payload["job"]["kind"] == "sync.locate"
    assert dead.payload["history"][-1]["reason"] == "not_found"
    assert awaiting.count() == 0


def test_the_shared_timer_backs_off_while_plex_adds_nothing_and_stops_when_none_wait(
    awaiting, sent
):
    awaiting.park(locate("7", 1), 1, ["/data/a.mp4"])
    sent.take(SCHEDULER)
    delays = []
    for _ in range(4):
        awaiting.next_wave(progress=False)
        (timer,) = sent.take(SCHEDULER)
        delays.append(round(timer.payload["due_at"] - timer.created_at))
    assert delays == [30, 60, 120, 240]
    awaiting.next_wave(progress=True)  # Plex added files: look again soon
    (timer,) = sent.take(SCHEDULER)
    assert round(timer.payload["due_at"] - timer.created_at) == 30
    awaiting.drop_older({"7": 2})
    awaiting.next_wave(progress=False)
    assert sent.take(SCHEDULER) == []


def test_a_waiting_job_retried_on_its_own_that_finds_its_file_leaves_without_a_second_report(
    awaiting, sent
):
    # Given a waiting job (revision 3) and the same job found by a locate of its own
    awaiting.park(locate("7", 3), 3, ["/data/a.mp4"])
    awaiting.drop_older({"7": 3}, found=True)
    # Then it no longer waits (no second release later), and no "skipped" is reported for it
    assert awaiting.count() == 0
    assert sent.take(INTAKE) == []
