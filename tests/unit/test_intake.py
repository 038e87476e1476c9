"""Intake at actor level: real mailboxes and stores, the Stash emulator as its only neighbour."""

import logging

import pytest

from actors.addresses import INTAKE, PLEX_GATEWAY, SCHEDULER
from actors.intake import Intake
from actors.intake_state import SyncState, counters
from actors.messages import (
    HOOK_EVENT,
    INTAKE_CATCHUP,
    SYNC_LOCATE,
    SYNC_REQUEST,
    TIMER_SUPERSEDE,
)
from stashplex.sandbox.stash import StashEmulator
from stashplex.stash import StashClient
from tests.support.actors import Harness
from tests.support.waiting import wait_until


@pytest.fixture
def stash():
    emulator = StashEmulator().start()
    yield emulator
    emulator.stop()


def event(scene_id: str, trigger="Scene.Update.Post", fields=("id", "title"), at=None) -> dict:
    return {
        "trigger": trigger,
        "scene_id": scene_id,
        "input_fields": list(fields),
        "received_at": at,
    }


def harness(tmp_path, stash) -> Harness:
    return Harness(tmp_path, stash_url=stash.url)


def start(h: Harness, stash, debounce_s: float = 0) -> Harness:
    """Debounce 0 flushes after every batch; the debounce timer itself is the Scheduler's."""
    Intake.start(h.context(stash=StashClient(stash.url), intake_debounce_s=debounce_s))
    return h


def stats(h: Harness) -> dict:
    return counters(SyncState(h.data).store)


def test_many_events_for_one_scene_become_one_job_with_the_latest_data(tmp_path, stash):
    # Given a scene edited several times in a burst
    scene_id = stash.add_scene(title="v1", files=[{"path": "/data/a.mp4"}])
    h = harness(tmp_path, stash)
    for _ in range(5):
        h.send(INTAKE, HOOK_EVENT, event(scene_id), scene_id=scene_id)
    stash.update_scene(scene_id, title="v-latest")
    # When Intake takes them (in one batch, as while a job is pending)
    start(h, stash)
    # Then one job reaches the gateway, carrying the latest title
    wait_until(lambda: stats(h).get("jobs_emitted") == 1, message="one job")
    (job,) = [e for e in h.drain(PLEX_GATEWAY) if e.kind == SYNC_LOCATE]
    assert job.payload["scene"]["title"] == "v-latest"
    assert stats(h)["hook_events"] == 5


def test_an_event_that_touches_nothing_we_sync_is_dropped_without_asking_stash(tmp_path, stash):
    scene_id = stash.add_scene(title="x", files=[{"path": "/data/a.mp4"}])
    h = start(harness(tmp_path, stash), stash)
    wait_until(lambda: SyncState(h.data).kv.get("cursor"), message="start-up catch-up done")
    stash.requests.reset()
    h.send(
        INTAKE,
        HOOK_EVENT,
        event(scene_id, fields=("id", "organized", "o_counter")),
        scene_id=scene_id,
    )
    wait_until(lambda: stats(h).get("dropped_irrelevant") == 1, message="dropped")
    assert stash.requests.count(root_field="findScenes") == 0
    assert h.post[PLEX_GATEWAY].depth() == 0


def test_a_destroyed_scene_cancels_its_pending_job_and_its_retries(tmp_path, stash):
    scene_id = stash.add_scene(title="x", files=[{"path": "/data/a.mp4"}])
    h = harness(tmp_path, stash)
    # A long debounce keeps the first event pending when the destroy arrives
    start(h, stash, debounce_s=30)
    h.send(INTAKE, HOOK_EVENT, event(scene_id), scene_id=scene_id)
    h.send(
        INTAKE,
        HOOK_EVENT,
        event(scene_id, trigger="Scene.Destroy.Post", fields=()),
        scene_id=scene_id,
    )
    wait_until(lambda: stats(h).get("destroyed") == 1, message="destroy handled")
    assert SyncState(h.data).pending_count() == 0
    supersedes = [e for e in h.drain(SCHEDULER) if e.kind == TIMER_SUPERSEDE]
    assert scene_id in supersedes[-1].payload["revisions"]


def test_an_event_older_than_our_last_fetch_of_the_scene_is_already_reflected(tmp_path, stash):
    scene_id = stash.add_scene(title="x", files=[{"path": "/data/a.mp4"}])
    h = start(harness(tmp_path, stash), stash)
    h.send(INTAKE, HOOK_EVENT, event(scene_id), scene_id=scene_id)
    wait_until(lambda: stats(h).get("jobs_emitted") == 1, message="first job")
    h.send(INTAKE, HOOK_EVENT, event(scene_id, at=1.0), scene_id=scene_id)
    wait_until(lambda: stats(h).get("dropped_stale") == 1, message="stale event dropped")
    assert stats(h)["jobs_emitted"] == 1


def test_a_scene_stash_no_longer_has_is_dropped_with_a_clear_log(tmp_path, stash, caplog):
    caplog.set_level(logging.INFO, logger="actors.intake")
    h = start(harness(tmp_path, stash), stash)
    h.send(INTAKE, HOOK_EVENT, event("424242"), scene_id="424242")
    wait_until(
        lambda: "scene 424242 no longer exists in Stash" in caplog.text,
        message="missing scene logged",
    )
    wait_until(lambda: SyncState(h.data).pending_count() == 0, message="its event dropped")


def test_a_steady_trickle_of_events_does_not_postpone_the_flush(tmp_path, stash):
    # Given Intake with a 1 s coalescing window, fed an event every 0.2 s
    scene_ids = [
        stash.add_scene(title=f"s{n}", files=[{"path": f"/data/{n}.mp4"}]) for n in range(8)
    ]
    h = start(harness(tmp_path, stash), stash, debounce_s=1.0)
    import time

    for scene_id in scene_ids:
        h.send(INTAKE, HOOK_EVENT, event(scene_id), scene_id=scene_id)
        time.sleep(0.2)
    # Then exactly one flush timer was set for the whole trickle (the window did not slide)
    timers = [e for e in h.drain(SCHEDULER) if e.kind == "timer.set"]
    assert len(timers) == 1


def test_when_its_state_file_was_damaged_intake_runs_a_full_sync_on_its_own(tmp_path, stash):
    # Given three scenes in Stash and an Intake state file that is no longer SQLite
    ids = [stash.add_scene(title=f"s{n}", files=[{"path": f"/data/{n}.mp4"}]) for n in range(3)]
    h = harness(tmp_path, stash)
    h.data.state.mkdir(parents=True, exist_ok=True)
    (h.data.state / "intake.db").write_bytes(b"not a database" * 100)
    # When Intake starts
    start(h, stash)
    # Then the damaged file is set aside and every scene is sent on, as by `stashplex sync`
    wait_until(lambda: h.post[PLEX_GATEWAY].depth() == 3, message="three jobs")
    jobs = [e for e in h.drain(PLEX_GATEWAY) if e.kind == SYNC_LOCATE]
    assert sorted(e.scene_id for e in jobs) == sorted(ids)
    assert any(p.name.startswith("intake.db.corrupt-") for p in h.data.state.iterdir())


def test_a_dry_run_arriving_with_a_real_edit_neither_hides_it_nor_supersedes_it(tmp_path, stash):
    # Given a hook event for a scene and, in the same batch, a dry run of that scene
    scene_id = stash.add_scene(title="edited", files=[{"path": "/data/a.mp4"}])
    h = harness(tmp_path, stash)
    h.send(INTAKE, HOOK_EVENT, event(scene_id), scene_id=scene_id)
    h.send(INTAKE, SYNC_REQUEST, {"mode": "scenes", "scene_ids": [scene_id], "dry_run": True,
                                  "job_id": "dry"})
    # When Intake handles them
    start(h, stash)
    wait_until(lambda: h.post[PLEX_GATEWAY].depth() == 2, message="two jobs")
    # Then the edit goes on as a real job and the dry run as a job of its own
    jobs = [e for e in h.drain(PLEX_GATEWAY) if e.kind == SYNC_LOCATE]
    assert sorted(e.payload["dry_run"] for e in jobs) == [False, True]
    # And only the real job supersedes older retries of the scene
    real = next(e.payload["revision"] for e in jobs if not e.payload["dry_run"])
    notices = [e.payload["revisions"] for e in h.drain(SCHEDULER) if e.kind == TIMER_SUPERSEDE]
    assert notices == [{scene_id: real}]


def test_after_a_mailbox_was_lost_jobs_thought_in_flight_are_sent_again(tmp_path, stash):
    # Given a scene whose job Intake emitted, but which never came back done
    scene_id = stash.add_scene(title="in flight", files=[{"path": "/data/a.mp4"}])
    h = harness(tmp_path, stash)
    h.send(INTAKE, HOOK_EVENT, event(scene_id), scene_id=scene_id)
    first = Intake.start(h.context(stash=StashClient(stash.url), intake_debounce_s=0))
    wait_until(lambda: h.post[PLEX_GATEWAY].depth() == 1, message="first job")
    first.stop()
    h.drain(PLEX_GATEWAY)  # the mailbox that held it is gone
    # When Intake starts in a host that had to set a damaged mailbox aside
    Intake.start(h.context(stash=StashClient(stash.url), intake_debounce_s=0,
                           mailboxes_lost=["plex_gateway"]))
    # (or, as while running, is told so by a message)
    # Then a full sync sends the scene again instead of waiting for a job that will not come
    wait_until(lambda: h.post[PLEX_GATEWAY].depth() == 1, message="job sent again")
    (job,) = [e for e in h.drain(PLEX_GATEWAY) if e.kind == SYNC_LOCATE]
    assert job.scene_id == scene_id



def test_told_that_a_mailbox_was_lost_while_running_intake_sends_its_jobs_again(tmp_path, stash):
    # Given a scene whose job was in flight in a mailbox that has since been set aside
    scene_id = stash.add_scene(title="in flight", files=[{"path": "/data/a.mp4"}])
    h = harness(tmp_path, stash)
    h.send(INTAKE, HOOK_EVENT, event(scene_id), scene_id=scene_id)
    start(h, stash)
    wait_until(lambda: h.post[PLEX_GATEWAY].depth() == 1, message="first job")
    h.drain(PLEX_GATEWAY)
    # When the host tells Intake the mailbox was lost
    h.send(INTAKE, "intake.recover", {"mailboxes": ["plex_gateway"]})
    # Then the scene is sent again
    wait_until(lambda: h.post[PLEX_GATEWAY].depth() == 1, message="job sent again")
    assert [e.scene_id for e in h.drain(PLEX_GATEWAY) if e.kind == SYNC_LOCATE] == [scene_id]


def test_catch_up_asked_twice_at_once_reads_stash_once(tmp_path, stash):
    # Given a library, and the catch-up timer's overdue tick already waiting for Intake
    stash.add_scene(title="a", files=[{"path": "/data/a.mp4"}])
    h = harness(tmp_path, stash)
    h.send(INTAKE, INTAKE_CATCHUP, {})
    # When Intake starts (and asks itself for its start-up pass)
    start(h, stash)
    # Then one pass answered both: Stash's newest stamps were read once, and the cursor is set
    wait_until(lambda: h.post[INTAKE].depth() == 0, message="both asks taken")
    wait_until(lambda: SyncState(h.data).kv.get("cursor"), message="the cursor set")
    assert stash.requests.count(operation="LatestUpdatedAt") == 1


def test_a_dry_run_seen_finished_already_holds_the_diff_of_its_last_scene(
    tmp_path, stash, monkeypatch
):
    # Given a dry run of one scene, located and sent on to Plex
    from contextlib import contextmanager

    from actors.intake_state import job_progress
    from actors.messages import SYNC_DONE
    from stashplex.runtime.store import Store

    scene_id = stash.add_scene(title="edited", files=[{"path": "/data/a.mp4"}])
    h = harness(tmp_path, stash)
    h.send(INTAKE, SYNC_REQUEST, {"mode": "scenes", "scene_ids": [scene_id], "dry_run": True,
                                  "job_id": "dry"})  # fmt: skip
    start(h, stash)
    wait_until(lambda: h.post[PLEX_GATEWAY].depth() == 1, message="the dry run's job")
    (job,) = [e for e in h.drain(PLEX_GATEWAY) if e.kind == SYNC_LOCATE]
    # And a reader that looks at the job after every commit Intake makes, as the CLI or the
    # Stash task following the dry run may at any moment
    reader = SyncState(h.data).store  # a Store of its own: its own connections
    seen: list[tuple[bool, int]] = []
    committing = Store.transaction

    @contextmanager
    def watched(self):
        with committing(self) as conn:
            yield conn
        if self is not reader and self.path == reader.path:
            progress = job_progress(reader, "dry", with_diffs=True)
            seen.append((progress["finished"], len(progress["diffs"])))

    monkeypatch.setattr(Store, "transaction", watched)
    # When the scene comes back done with what a write would change
    change = {"rating_key": 1, "field": "title", "old": "a.mp4", "new": "edited"}
    h.send(INTAKE, SYNC_DONE, {"scene_id": scene_id, "fingerprint": "f", "status": "dry_run",
                               "revision": job.payload["revision"], "job_id": "dry",
                               "changes": 1, "diff": [change], "dry_run": True},
           scene_id=scene_id)  # fmt: skip
    wait_until(lambda: any(finished for finished, _ in seen), message="the job finished")
    # Then no reader ever saw it finished without that diff
    assert [diffs for finished, diffs in seen if finished and diffs != 1] == []
