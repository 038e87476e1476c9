"""Intake's decisions as plain functions: hook verdicts, flush steps, grouping."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from stashplex.sync.intake_rules import (
    FLUSH_AT,
    FlushStep,
    HookVerdict,
    changed_fields,
    flush_step,
    group_fetched,
    scene_hook_verdict,
    without_cookie,
)

RELEVANT = frozenset({"title", "details", "tag_ids"})


@pytest.mark.parametrize(
    ("trigger", "fields", "received", "fetched", "verdict"),
    [
        ("Scene.Destroy.Post", ["title"], 10.0, 20.0, HookVerdict.DESTROY),
        ("Scene.Update.Post", ["rating100", "o_counter"], 10.0, None, HookVerdict.IRRELEVANT),
        ("Scene.Update.Post", ["id", "clientMutationId"], 10.0, None, HookVerdict.IRRELEVANT),
        ("Scene.Update.Post", ["title"], 10.0, 20.0, HookVerdict.STALE),
        ("Scene.Update.Post", ["title"], 20.0, 20.0, HookVerdict.PENDING),
        ("Scene.Update.Post", ["title", "o_counter"], 30.0, 20.0, HookVerdict.PENDING),
        ("Scene.Update.Post", [], 30.0, None, HookVerdict.PENDING),
        ("Scene.Create.Post", [], 5.0, None, HookVerdict.PENDING),
    ],
)
def test_a_scene_hook_gets_the_verdict_its_trigger_fields_and_timing_call_for(
    trigger, fields, received, fetched, verdict
):
    # Given a hook event and when we last sent a read of its scene
    # When it is judged
    result = scene_hook_verdict(
        trigger, fields, RELEVANT, received_at=received, fetched_at=fetched
    )
    # Then the verdict follows the table
    assert result is verdict


def test_the_fields_named_in_a_log_line_leave_out_what_every_update_carries():
    assert changed_fields(["title", "id", "clientMutationId", "details"]) == ["details", "title"]


@pytest.mark.parametrize(
    ("pending", "asked", "debounce", "armed", "step"),
    [
        (0, True, 1.0, False, FlushStep.NOTHING),
        (3, True, 1.0, True, FlushStep.FLUSH),
        (FLUSH_AT, False, 1.0, True, FlushStep.FLUSH),
        (3, False, 0.0, False, FlushStep.FLUSH),
        (3, False, 1.0, False, FlushStep.ARM_TIMER),
        (3, False, 1.0, True, FlushStep.NOTHING),
    ],
)
def test_the_pending_set_is_flushed_armed_or_left_as_the_window_demands(
    pending, asked, debounce, armed, step
):
    assert flush_step(pending, asked=asked, debounce_s=debounce, timer_armed=armed) is step


@dataclass
class Pending:
    scene_id: str
    job_id: str | None = None
    dry_run: bool = False
    force: bool = False


def test_fetched_scenes_are_grouped_by_job_and_the_ones_stash_lacks_are_named():
    # Given three pending scenes of two jobs, one of which Stash no longer has
    pending = [Pending("1", "a"), Pending("2", "a"), Pending("10", None, force=True)]
    scenes = [{"id": "2"}, {"id": "10"}, {"id": "99"}]
    # When the answer is grouped
    groups, missing = group_fetched(pending, scenes)
    # Then each scene sits with its job, the stray answer is ignored and the lost one is named
    assert groups == {("a", False, False): [{"id": "2"}], (None, False, True): [{"id": "10"}]}
    assert missing == ["1"]


def test_a_stored_event_keeps_its_connection_but_not_its_session_cookie():
    payload = {"trigger": "Tag.Update.Post", "connection": {"port": 9999, "session_cookie": "s"}}

    stored = without_cookie(payload)

    assert stored["connection"] == {"port": 9999, "session_cookie": None}
    assert payload["connection"]["session_cookie"] == "s"
