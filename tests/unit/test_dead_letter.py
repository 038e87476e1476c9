import time

from actors.addresses import DEAD_LETTER, INTAKE, MATCHER, PLEX_GATEWAY
from actors.base import POISON_KIND
from actors.dead_letter import (
    DeadLetter,
    counts_by_reason,
    list_dead_letters,
    open_store,
    show_dead_letter,
)
from actors.messages import (
    DEAD_LETTER_JOB,
    DEAD_LETTER_PURGE,
    DEAD_LETTER_RETRY,
    SYNC_DONE,
    SYNC_LOCATE,
    SYNC_REQUEST,
)
from stashplex.runtime.envelope import Envelope
from tests.support.actors import Harness
from tests.support.waiting import wait_until


def dead_job(scene_id: str, reason: str, candidates=()) -> dict:
    return {
        "reason": reason,
        "error": f"{reason} for scene {scene_id}",
        "job": {"to": PLEX_GATEWAY, "kind": SYNC_LOCATE, "scene_id": scene_id,
                "payload": {"revision": 1, "fingerprint": "f"}},
        "history": [{"at": 1.0, "reason": "transient", "error": "503"},
                    {"at": 2.0, "reason": "transient", "error": "503"}],
        "candidates": list(candidates),
    }


def stored(h: Harness) -> int:
    return len(list_dead_letters(open_store(h.data)))


def test_a_failed_job_is_stored_with_reason_history_and_candidates(tmp_path):
    # Given a dead letter actor
    h = Harness(tmp_path)
    DeadLetter.start(h.context())
    candidates = [{"file": "/media/a/x.mp4", "rating_key": 3},
                  {"file": "/media/b/x.mp4", "rating_key": 4}]
    # When an ambiguous match and an exhausted retry arrive
    h.send(DEAD_LETTER, DEAD_LETTER_JOB, dead_job("5", "ambiguous", candidates), scene_id="5")
    h.send(DEAD_LETTER, DEAD_LETTER_JOB, dead_job("6", "transient"), scene_id="6")
    wait_until(lambda: stored(h) == 2, message="two dead letters")
    # Then operators can list them by reason and see everything about one
    store = open_store(h.data)
    assert counts_by_reason(store) == {"ambiguous": 1, "transient": 1}
    (ambiguous,) = list_dead_letters(store, reason="ambiguous")
    detail = show_dead_letter(store, ambiguous["id"])
    assert detail["scene_id"] == "5"
    assert [c["file"] for c in detail["candidates"]] == ["/media/a/x.mp4", "/media/b/x.mp4"]
    assert len(detail["history"]) == 2
    assert detail["error"] == "ambiguous for scene 5"


def test_retrying_by_reason_asks_intake_to_sync_those_scenes_again(tmp_path):
    h = Harness(tmp_path)
    DeadLetter.start(h.context())
    for scene_id, reason in (("1", "not_found"), ("2", "not_found"), ("3", "ambiguous")):
        h.send(DEAD_LETTER, DEAD_LETTER_JOB, dead_job(scene_id, reason), scene_id=scene_id)
    wait_until(lambda: stored(h) == 3, message="three stored")
    h.drain(INTAKE)
    # When the not-found ones are retried
    h.send(DEAD_LETTER, DEAD_LETTER_RETRY, {"reason": "not_found"})
    # Then Intake gets a forced sync request for each, and only the ambiguous one is left
    wait_until(lambda: stored(h) == 1, message="two retried")
    requests = [e for e in h.drain(INTAKE) if e.kind == SYNC_REQUEST]
    assert sorted(r.payload["scene_ids"][0] for r in requests) == ["1", "2"]
    assert all(r.payload["force"] for r in requests)


def test_a_retried_poison_message_goes_back_to_its_mailbox_with_a_fresh_attempt_count(tmp_path):
    h = Harness(tmp_path)
    DeadLetter.start(h.context())
    original = Envelope(kind="match.score", scene_id="9", attempt=2, payload={"x": 1})
    h.send(DEAD_LETTER, POISON_KIND, {"mailbox": MATCHER, "envelope": original.to_json(),
                                      "error": "KeyError: 'x'", "traceback": "Traceback ..."},
           scene_id="9")
    wait_until(lambda: stored(h) == 1, message="poison stored")
    (item,) = list_dead_letters(open_store(h.data), reason="poison")
    assert "Traceback" in show_dead_letter(open_store(h.data), item["id"])["envelope"]["traceback"]
    h.send(DEAD_LETTER, DEAD_LETTER_RETRY, {"ids": [item["id"]]})
    wait_until(lambda: h.post[MATCHER].depth() == 1, message="poison resent")
    (resent,) = h.drain(MATCHER)
    assert (resent.id, resent.attempt, resent.payload) == (original.id, 0, {"x": 1})


def test_purge_removes_only_dead_letters_older_than_the_given_age(tmp_path):
    h = Harness(tmp_path)
    DeadLetter.start(h.context())
    h.send(DEAD_LETTER, DEAD_LETTER_JOB, dead_job("1", "permanent"), scene_id="1")
    h.send(DEAD_LETTER, DEAD_LETTER_JOB, dead_job("2", "permanent"), scene_id="2")
    wait_until(lambda: stored(h) == 2, message="stored")
    store = open_store(h.data)
    with store.transaction() as conn:
        conn.execute("UPDATE dead_letters SET created_at = ? WHERE scene_id = '1'",
                     (time.time() - 10 * 86400,))
    h.send(DEAD_LETTER, DEAD_LETTER_PURGE, {"older_than_days": 7})
    wait_until(lambda: stored(h) == 1, message="old one purged")
    assert [d["scene_id"] for d in list_dead_letters(store)] == ["2"]


def test_retention_cleanup_runs_on_start(tmp_path):
    # Given a dead letter older than the 30-day retention
    h = Harness(tmp_path, dead_letter_retention_days=30)
    store = open_store(h.data)
    with store.transaction() as conn:
        conn.execute(
            "INSERT INTO dead_letters(scene_id, reason, error, created_at, history, candidates)"
            " VALUES('1', 'permanent', 'old', ?, '[]', '[]')", (time.time() - 31 * 86400,))
    # When the actor starts, it is gone
    ref = DeadLetter.start(h.context())
    ref.ask("ping")
    assert stored(h) == 0


def test_a_poison_sync_job_is_reported_to_intake_so_its_sync_finishes_and_a_resync_resends_it(
    tmp_path,
):
    # Given a sync job that crashed the Matcher too often and reached DeadLetter as poison
    h = Harness(tmp_path)
    DeadLetter.start(h.context())
    job = {"scene": {"id": "9"}, "fingerprint": "fp-9", "revision": 4, "job_id": "job-1"}
    original = Envelope(kind="match.score", scene_id="9", attempt=2, payload=job)
    # When it is stored
    h.send(DEAD_LETTER, POISON_KIND, {"mailbox": MATCHER, "envelope": original.to_json(),
                                      "error": "KeyError: 'x'", "traceback": "Traceback ..."},
           scene_id="9")
    # Then Intake hears that the scene's job ended in the dead letters
    wait_until(lambda: h.post[INTAKE].depth() == 1, message="sync.done to Intake")
    (done,) = h.drain(INTAKE)
    assert done.kind == SYNC_DONE
    assert (done.payload["scene_id"], done.payload["status"]) == ("9", "dead_letter")
    assert (done.payload["fingerprint"], done.payload["revision"]) == ("fp-9", 4)
    assert done.payload["job_id"] == "job-1"


def test_a_poison_hook_event_is_kept_without_the_session_cookie_it_carried(tmp_path):
    # Given a hook event, with Stash's session cookie, that crashed Intake too often
    h = Harness(tmp_path)
    DeadLetter.start(h.context())
    event = Envelope(kind="hook.event", scene_id="3", payload={
        "trigger": "Scene.Update.Post", "scene_id": "3",
        "connection": {"session_cookie": "secret-cookie-value", "port": 9999}})
    # (whose error quotes the input cut short, as pydantic does)
    error = "ValidationError: input_value={'session_cookie': 'secret-coo...port': 9999}"
    h.send(DEAD_LETTER, POISON_KIND, {"mailbox": INTAKE, "envelope": event.to_json(),
                                      "error": error, "traceback": f"Traceback ...\n{error}"},
           scene_id="3")
    wait_until(lambda: stored(h) == 1, message="poison stored")
    # Then what `dlq show` would print holds no cookie, and everything else is kept
    (item,) = list_dead_letters(open_store(h.data))
    shown = show_dead_letter(open_store(h.data), item["id"])
    assert "secret-cookie-value" not in repr(shown)
    assert "secret-coo" not in repr(shown) and "[redacted]" in shown["error"]
    connection = shown["envelope"]["envelope"]["payload"]["connection"]
    assert connection == {"session_cookie": None, "port": 9999}


def test_retrying_a_dead_letter_that_is_not_a_scene_sends_its_job_back(tmp_path):
    # Given a dead-lettered index rebuild (no scene) and one entry with nothing to send
    h = Harness(tmp_path)
    DeadLetter.start(h.context())
    rebuild = {"reason": "unauthorized", "error": "401",
               "job": {"to": PLEX_GATEWAY, "kind": "index.rebuild", "payload": {}}}
    h.send(DEAD_LETTER, DEAD_LETTER_JOB, rebuild)
    h.send(DEAD_LETTER, POISON_KIND, {"mailbox": None, "envelope": None, "error": "x"})
    wait_until(lambda: stored(h) == 2, message="two dead letters")
    # When all are retried
    h.send(DEAD_LETTER, DEAD_LETTER_RETRY, {"all": True})
    # Then the rebuild goes back to PlexGateway, and the empty one is kept rather than lost
    wait_until(lambda: h.post[PLEX_GATEWAY].depth() == 1, message="rebuild resent")
    assert [e.kind for e in h.drain(PLEX_GATEWAY)] == ["index.rebuild"]
    wait_until(lambda: stored(h) == 1, message="the rebuild's entry removed")
    (kept,) = list_dead_letters(open_store(h.data))
    assert kept["reason"] == "poison"


def test_a_poisoned_report_of_a_finished_job_is_not_reported_to_intake_again(tmp_path):
    # Given a sync.done that crashed Intake too often
    h = Harness(tmp_path)
    DeadLetter.start(h.context())
    done = Envelope(kind="sync.done", scene_id="9", payload={
        "scene_id": "9", "fingerprint": "fp", "revision": 2, "status": "written"})
    h.send(DEAD_LETTER, POISON_KIND, {"mailbox": INTAKE, "envelope": done.to_json(),
                                      "error": "boom", "traceback": "Traceback ..."},
           scene_id="9")
    # When it is stored / Then Intake is not sent another report of it (that would loop)
    wait_until(lambda: stored(h) == 1, message="poison stored")
    assert h.post[INTAKE].depth() == 0


def test_a_scene_failing_again_for_the_same_reason_is_not_counted_again_for_stashs_log(tmp_path):
    # Given a scene given up on (ambiguous), and that reported in Stash's log
    from stashplex.link import notices

    h = Harness(tmp_path)
    DeadLetter.start(h.context())
    h.send(DEAD_LETTER, DEAD_LETTER_JOB, dead_job("5", "ambiguous"), scene_id="5")
    wait_until(lambda: notices.unreported_problems(str(h.data.root)), message="reported")
    # When the same scene fails again the same way (its edit sent twice), then another scene
    h.send(DEAD_LETTER, DEAD_LETTER_JOB, dead_job("5", "ambiguous"), scene_id="5")
    h.send(DEAD_LETTER, DEAD_LETTER_JOB, dead_job("6", "ambiguous"), scene_id="6")
    wait_until(lambda: stored(h) == 2, message="the other scene stored")
    # Then the next report (written just after the store) names the other scene alone
    (line,) = wait_until(
        lambda: notices.unreported_problems(str(h.data.root)), message="the next report"
    )
    assert line.startswith("stashplex: 1 scene could not be synced (1 ambiguous match).")
