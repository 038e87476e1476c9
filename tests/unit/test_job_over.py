"""When a sync job counts as over for whoever follows it: every scene ended, or all that is left
of it waits in a Scheduler timer. Real stores and mailboxes; no actor runs."""

from __future__ import annotations

import json
import time
from types import SimpleNamespace

from actors.addresses import DEAD_LETTER
from actors.intake_state import SyncState
from actors.plex_awaiting import SCHEMA as AWAITING_SCHEMA
from actors.scheduler import open_store as open_timers
from stashplex.ops.operations import Operations
from stashplex.plex.state import GatewayState
from stashplex.runtime.envelope import Envelope
from tests.support.actors import Harness


def job_of_three_with_one_done(h: Harness) -> None:
    """And a gateway that has run once: its table of parked scenes exists, empty."""
    with GatewayState(h.data).store.transaction() as conn:
        for statement in AWAITING_SCHEMA:
            conn.execute(statement)
    state = SyncState(h.data)
    state.create_job("j", "scenes", dry_run=False)
    state.bump_job("j", total=3, queued=3)
    state.job_enumerated("j")
    state.bump_job("j", done=1)


def timer_for(h: Harness, scene_id: str) -> None:
    job = {"to": "plex_gateway", "kind": "sync.locate", "scene_id": scene_id,
           "payload": {"scene_id": scene_id, "job_id": "j"}}  # fmt: skip
    with open_timers(h.data).transaction() as conn:
        conn.execute(
            "INSERT INTO timers(id, scene_id, revision, due_at, reason, job, every_s, created_at)"
            " VALUES(?, ?, 1, ?, 'transient', ?, NULL, ?)",
            (f"t{scene_id}", scene_id, time.time() + 60, json.dumps(job), time.time()),
        )


def test_a_job_whose_last_scenes_are_on_their_way_to_the_dead_letters_is_not_over(tmp_path):
    # Given a job of three scenes: one done, two given up on by the Matcher and still in the
    # dead letters' mailbox (no timer holds them)
    h = Harness(tmp_path)
    job_of_three_with_one_done(h)
    for scene_id in ("2", "3"):
        h.post.send(DEAD_LETTER, Envelope(kind="dead_letter.job", scene_id=scene_id, payload={}))
    ops = Operations(SimpleNamespace(data=h.data, post=h.post))
    # When its follower asks how it is
    job = ops.job("j")
    # Then it is not over, and no scene is said to wait to retry
    assert job["finished"] is False
    assert job["waiting_for_retry"] is False


def test_a_job_whose_only_scenes_left_wait_in_timers_is_over_for_its_follower(tmp_path):
    # Given the same job, its two scenes now each in a retry timer, no mailbox holding work
    h = Harness(tmp_path)
    job_of_three_with_one_done(h)
    timer_for(h, "2")
    ops = Operations(SimpleNamespace(data=h.data, post=h.post))
    # When one of the two is in a timer, the job is not over yet
    assert ops.job("j")["waiting_for_retry"] is False
    # And when both are, it is, and both are counted as waiting to retry
    timer_for(h, "3")
    job = ops.job("j")
    assert job["waiting_for_retry"] is True
    assert (job["waiting_to_retry"], job["waiting_for_scan"]) == (2, 0)
