import random
import time

import pytest

from actors.addresses import DEAD_LETTER, INTAKE, PLEX_GATEWAY, SCHEDULER
from actors.messages import DEAD_LETTER_JOB, RETRY_SCHEDULE, SYNC_LOCATE, TIMER_SUPERSEDE
from actors.scheduler import Scheduler, open_store, timer_summary
from stashplex.runtime.store import dumps
from stashplex.sync.backoff import RetryPolicy, backoff_delay
from tests.support.actors import Harness
from tests.support.waiting import wait_until


def retry(reason: str, scene_id: str = "7", revision: int = 1, due_at=None, history=()):
    return {
        "reason": reason,
        "error": f"{reason} error",
        "due_at": due_at,
        "job": {"to": PLEX_GATEWAY, "kind": SYNC_LOCATE, "scene_id": scene_id,
                "payload": {"revision": revision, "fingerprint": "f", "scene": {"id": scene_id},
                            "history": list(history)}},
    }


def stored_timers(h: Harness) -> list[dict]:
    store = open_store(h.data)
    rows = [dict(r) for r in store.query(
        "SELECT * FROM timers WHERE every_s IS NULL ORDER BY due_at")]
    store.close()
    return rows


@pytest.fixture
def harness(tmp_path):
    return Harness(tmp_path, transient_base_seconds=1, transient_cap_seconds=1,
                   transient_retries=2, not_found_base_seconds=30, not_found_cap_seconds=600,
                   not_found_retries=12)


def test_a_transient_retry_fires_back_into_its_mailbox_after_its_backoff(harness):
    # Given a scheduler and a transient failure with a 1 s policy
    Scheduler.start(harness.context())
    before = time.time()
    harness.send(SCHEDULER, RETRY_SCHEDULE, retry("transient"), scene_id="7")
    # When the timer is due
    wait_until(lambda: harness.post[PLEX_GATEWAY].depth() == 1, timeout=5, message="retry fired")
    # Then the job comes back with its history, not earlier than half the base delay
    (job,) = harness.drain(PLEX_GATEWAY)
    assert time.time() - before >= 0.5
    assert job.kind == SYNC_LOCATE
    assert [a["reason"] for a in job.payload["history"]] == ["transient"]


def test_the_backoff_schedule_is_deterministic_under_a_seeded_rng(harness):
    # Given a seeded scheduler and a not-found job that already failed twice
    Scheduler.start(harness.context(rng_seed=42))
    history = [{"at": 1.0, "reason": "not_found", "error": "x"}] * 2
    now = time.time()
    harness.send(SCHEDULER, RETRY_SCHEDULE, retry("not_found", history=history), scene_id="7")
    # Then its due time is exactly the third delay drawn from the same seed
    (timer,) = wait_until(lambda: stored_timers(harness), message="timer stored")
    expected = backoff_delay(RetryPolicy(30, 600, 12), 3, random.Random(42))
    assert timer["due_at"] - now == pytest.approx(expected, abs=1.0)


def test_past_its_retries_a_job_goes_to_dead_letter_with_its_whole_history(harness):
    # Given a job that already used both transient retries
    Scheduler.start(harness.context())
    history = [{"at": 1.0, "reason": "transient", "error": "first"},
               {"at": 2.0, "reason": "breaker_open", "error": "open"},
               {"at": 3.0, "reason": "transient", "error": "second"}]
    harness.send(SCHEDULER, RETRY_SCHEDULE, retry("transient", history=history), scene_id="7")
    # Then it is dead-lettered with all four attempts, and nothing is scheduled
    wait_until(lambda: harness.post[DEAD_LETTER].depth() == 1, message="dead letter")
    (dead,) = harness.drain(DEAD_LETTER)
    assert dead.kind == DEAD_LETTER_JOB
    assert [a["error"] for a in dead.payload["history"]] == [
        "first", "open", "second", "transient error"]
    assert "gave up after 2 transient retries" in dead.payload["error"]
    assert stored_timers(harness) == []


def test_a_breaker_wait_fires_at_the_trial_time_and_spends_no_retry(harness):
    Scheduler.start(harness.context())
    many_waits = [{"at": 1.0, "reason": "breaker_open", "error": "open"}] * 20
    trial_at = time.time() + 0.3
    harness.send(SCHEDULER, RETRY_SCHEDULE,
                 retry("breaker_open", due_at=trial_at, history=many_waits), scene_id="7")
    wait_until(lambda: harness.post[PLEX_GATEWAY].depth() == 1, message="fired at trial time")
    assert time.time() >= trial_at
    assert DEAD_LETTER_JOB not in harness.kinds(DEAD_LETTER)


def test_a_newer_job_supersedes_a_pending_retry_and_late_stale_retries(harness):
    # Given a pending retry of revision 1 for scene 7 and one for scene 8
    Scheduler.start(harness.context())
    harness.send(SCHEDULER, RETRY_SCHEDULE, retry("not_found", "7", 1), scene_id="7")
    harness.send(SCHEDULER, RETRY_SCHEDULE, retry("not_found", "8", 1), scene_id="8")
    wait_until(lambda: len(stored_timers(harness)) == 2, message="two timers")
    # When Intake emits revision 2 for scene 7, and a stale retry of revision 1 arrives after
    harness.send(SCHEDULER, TIMER_SUPERSEDE, {"revisions": {"7": 2}})
    harness.send(SCHEDULER, RETRY_SCHEDULE, retry("transient", "7", 1), scene_id="7")
    harness.send(SCHEDULER, RETRY_SCHEDULE, retry("not_found", "7", 3), scene_id="7")
    # Then only scene 8's retry and revision 3 of scene 7 remain
    wait_until(lambda: harness.post[SCHEDULER].depth() == 0, message="all handled")
    remaining = {(t["scene_id"], t["revision"]) for t in stored_timers(harness)}
    assert remaining == {("8", 1), ("7", 3)}
    # And both dropped jobs of scene 7 are reported to Intake, so the syncs they belong to end
    ended = [e for e in harness.drain(INTAKE) if e.kind == "sync.done"]
    assert sorted((e.scene_id, e.payload["status"], e.payload["revision"]) for e in ended) == [
        ("7", "skipped", 1),
        ("7", "skipped", 1),
    ]


def test_after_a_restart_overdue_timers_fire_at_once_and_none_fires_early(harness):
    # Given 1,000 stored timers: 500 overdue, 500 due in a minute
    store = open_store(harness.data)
    now = time.time()
    with store.transaction() as conn:
        for n in range(1000):
            due = now - 5 if n % 2 == 0 else now + 60
            job = {"to": PLEX_GATEWAY, "kind": SYNC_LOCATE, "scene_id": str(n),
                   "payload": {"revision": 1}}
            conn.execute(
                "INSERT INTO timers(id, scene_id, revision, due_at, reason, job, every_s,"
                " created_at) VALUES(?, ?, 1, ?, 'transient', ?, NULL, ?)",
                (f"t{n}", str(n), due, dumps(job), now))
    store.close()
    # When the scheduler starts (as after a restart)
    Scheduler.start(harness.context())
    # Then exactly the 500 overdue ones fire, and the others wait
    wait_until(lambda: harness.post[PLEX_GATEWAY].depth() == 500, message="overdue fired")
    time.sleep(0.3)
    fired = harness.drain(PLEX_GATEWAY)
    assert sorted(int(e.scene_id) for e in fired) == list(range(0, 1000, 2))
    assert len(stored_timers(harness)) == 500
    summary = timer_summary(open_store(harness.data))
    assert summary["scheduled"] == 500
    assert 55 < summary["next_retry_in_s"] <= 60


def test_catch_up_and_retention_recur_from_one_interval_after_start(harness):
    # Given a fresh Scheduler (Intake and DeadLetter run their own pass when they start)
    # When it starts
    started = time.time()
    Scheduler.start(harness.context())
    wait_until(lambda: len(recurring(harness)) == 3, message="the three recurring timers")
    # Then catch-up recurs every interval and retention daily (and reconciliation, tested
    # below), each first due an interval away
    timers = recurring(harness)
    catchup, retention = timers["recurring:catchup"], timers["recurring:dead-letter-retention"]
    assert catchup["every_s"] == 300 and retention["every_s"] == 86400
    assert catchup["due_at"] >= started + 300 and retention["due_at"] >= started + 86400
    # And nothing fires now: no second pass races the ones the actors run on start
    assert harness.kinds(INTAKE) == [] and harness.kinds(DEAD_LETTER) == []


def recurring(h: Harness) -> dict[str, dict]:
    store = open_store(h.data)
    rows = {r["id"]: dict(r) for r in store.query("SELECT * FROM timers WHERE every_s > 0")}
    store.close()
    return rows


def test_the_reconciliation_recurs_every_interval_starting_one_interval_from_now(tmp_path):
    # Given a reconciliation every 6 hours
    h = Harness(tmp_path, reconcile_interval_hours=6)
    # When the Scheduler starts
    started = time.time()
    ref = Scheduler.start(h.context())
    wait_until(lambda: "recurring:reconcile" in recurring(h), message="the reconcile timer")
    # Then its timer recurs every 6 h, and its first run is 6 h away, not now
    timer = recurring(h)["recurring:reconcile"]
    assert timer["every_s"] == 6 * 3600
    assert started + 6 * 3600 - 5 < timer["due_at"] <= time.time() + 6 * 3600
    assert "intake.reconcile" not in h.kinds(INTAKE)
    ref.stop()

    # When it starts again with reconciliation switched off (0)
    h.settings = h.settings.model_copy(update={"reconcile_interval_hours": 0})
    h.services["settings"] = h.settings
    ref = Scheduler.start(h.context())
    wait_until(lambda: "recurring:reconcile" not in recurring(h), message="the timer gone")
    # Then no reconciliation is scheduled, and the other recurring ticks still are
    assert set(recurring(h)) == {"recurring:catchup", "recurring:dead-letter-retention"}
    ref.stop()


def test_an_unusable_timer_row_is_set_aside_and_the_other_timers_still_fire(harness):
    # Given overdue timers: a job that is not a job, one addressed to no mailbox, and a good one
    store = open_store(harness.data)
    now = time.time()
    good = {"to": PLEX_GATEWAY, "kind": SYNC_LOCATE, "scene_id": "7", "payload": {"revision": 1}}
    nowhere = {**good, "to": "no_such_mailbox", "scene_id": "8"}
    with store.transaction() as conn:
        for timer_id, job in (("bad", '{"to": 5}'), ("nowhere", dumps(nowhere)),
                              ("good", dumps(good))):
            conn.execute(
                "INSERT INTO timers(id, scene_id, revision, due_at, reason, job, every_s,"
                " created_at) VALUES(?, '7', 1, ?, 'transient', ?, NULL, ?)",
                (timer_id, now - 5, job, now))
    store.close()
    # When the scheduler starts
    ref = Scheduler.start(harness.context())
    # Then the good timer fires, the two unusable ones go to dead letters, and it keeps running
    wait_until(lambda: harness.post[PLEX_GATEWAY].depth() == 1, message="good timer fired")
    assert [e.scene_id for e in harness.drain(PLEX_GATEWAY)] == ["7"]
    poison = [e for e in harness.drain(DEAD_LETTER) if e.kind == "dead_letter.poison"]
    assert sorted(e.payload["error"].split()[1] for e in poison) == ["bad", "nowhere"]
    assert stored_timers(harness) == []
    assert ref.is_alive()
