"""Intake's decisions, as plain functions: what a hook event means, when to flush, which scenes
a related object's event re-reads. The Intake actor reads Stash and its store and acts on what
these return.

``changes`` decides which *fetched* scenes need a job; this module decides everything before
the fetch (is this event worth a read?) and the bookkeeping after it (which scenes vanished).
Where the catch-up cursor goes is :mod:`stashplex.sync.stamps`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import StrEnum
from typing import Any, Protocol

from stashplex.sync.changes import NOT_A_CHANGE

#: Pending scenes that trigger a flush without waiting for the coalescing window.
FLUSH_AT = 500
DESTROY_TRIGGER = "Scene.Destroy.Post"


class HookVerdict(StrEnum):
    """What one scene's hook event calls for."""

    #: The scene is gone: cancel what is pending for it and drop its retries.
    DESTROY = "destroy"
    #: The edit touched no field we sync.
    IRRELEVANT = "irrelevant"
    #: The event is older than our last read of the scene, which already reflects it.
    STALE = "stale"
    #: Read the scene (coalesced with other events for it).
    PENDING = "pending"


def scene_hook_verdict(
    trigger: str,
    input_fields: Iterable[str],
    relevant: frozenset[str],
    *,
    received_at: float,
    fetched_at: float | None,
) -> HookVerdict:
    """The verdict for a scene trigger.

    No ``input_fields`` means Stash did not say what changed (a create, a bulk path): read it.
    ``fetched_at`` is when our last read of the scene was *sent*; an event received before that
    is already in what the read returned.
    """
    if trigger == DESTROY_TRIGGER:
        return HookVerdict.DESTROY
    fields = list(input_fields)
    if fields and not (set(fields) - NOT_A_CHANGE) & relevant:
        return HookVerdict.IRRELEVANT
    if fetched_at is not None and received_at < fetched_at:
        return HookVerdict.STALE
    return HookVerdict.PENDING


def changed_fields(input_fields: Iterable[str]) -> list[str]:
    """The fields an update names, without the ones every update carries (for log lines)."""
    return sorted(set(input_fields) - NOT_A_CHANGE)


class FlushStep(StrEnum):
    """What to do with the pending set after a batch."""

    NOTHING = "nothing"
    FLUSH = "flush"
    #: Open the coalescing window: a timer flushes when it closes.
    ARM_TIMER = "arm_timer"


def flush_step(pending: int, *, asked: bool, debounce_s: float, timer_armed: bool) -> FlushStep:
    """Flush now, open the window, or wait for the window already open.

    The window opens with the first pending event and never slides, so a steady trickle of
    events cannot postpone the flush for ever; a large pending set is read at once.
    """
    if not pending:
        return FlushStep.NOTHING
    if asked or pending >= FLUSH_AT or debounce_s <= 0:
        return FlushStep.FLUSH
    return FlushStep.NOTHING if timer_armed else FlushStep.ARM_TIMER


class PendingScene(Protocol):
    scene_id: str
    job_id: str | None
    dry_run: bool
    force: bool


GroupKey = tuple[str | None, bool, bool]


def group_fetched(
    pending: Iterable[PendingScene], scenes: Iterable[Mapping[str, Any]]
) -> tuple[dict[GroupKey, list[Mapping[str, Any]]], list[str]]:
    """Fetched scenes grouped by (sync job, dry run, force), and the pending ids Stash lacks."""
    by_id = {p.scene_id: p for p in pending}
    groups: dict[GroupKey, list[Mapping[str, Any]]] = {}
    found: set[str] = set()
    for scene in scenes:
        scene_id = str(scene.get("id"))
        entry = by_id.get(scene_id)
        if entry is None:
            continue
        found.add(scene_id)
        groups.setdefault((entry.job_id, entry.dry_run, entry.force), []).append(scene)
    return groups, sorted(set(by_id) - found, key=_numeric_first)


def without_cookie(payload: Mapping[str, Any]) -> dict[str, Any]:
    """A hook event's payload without the session cookie, for rows stored longer than a hook."""
    copy = dict(payload)
    if isinstance(copy.get("connection"), dict):
        copy["connection"] = {**copy["connection"], "session_cookie": None}
    return copy


def _numeric_first(scene_id: str) -> tuple[int, str]:
    return (int(scene_id), "") if scene_id.isdigit() else (0, scene_id)
