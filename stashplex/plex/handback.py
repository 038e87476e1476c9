"""Handing fields back: undoing journaled writes, and releasing fields stashplex owns.

Both read the gateway's state; undo also edits Plex items (through the caller's guarded call,
so the circuit breaker sees every request). The decisions are in
:mod:`stashplex.sync.undo_rules`; the operator surface uses :func:`select_undo` and
:func:`release_targets` read-only for dry runs and to refuse ids that do not exist.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from stashplex.plex.items import current_fields, locked_fields
from stashplex.plex.journal import (
    JournalRow,
    changes_after,
    changes_since,
    job_writes,
    last_write,
)
from stashplex.plex.state import GatewayState
from stashplex.runtime.store import Store
from stashplex.sync.plexedit import edit_params
from stashplex.sync.undo_rules import Restore, Skip, plan_undo, undo_change

log = logging.getLogger(__name__)


def select_undo(
    store: Store,
    *,
    rating_key: int | None = None,
    job_id: str | None = None,
    since: float | None = None,
) -> tuple[list[Restore], list[Skip]]:
    """What an undo of one item's last change, one sync job, or everything since a time would
    put back, and what it would skip (and why)."""
    if rating_key is not None:
        return plan_undo(last_write(store, rating_key))
    if job_id is not None:
        rows = job_writes(store, job_id)
        if not rows:
            return [], []
        later = changes_after(store, {r["rating_key"] for r in rows}, rows[0]["id"])
        chosen = {r["id"] for r in rows}
        return plan_undo(rows, [r for r in later if r["id"] not in chosen])
    if since is not None:
        return plan_undo(changes_since(store, since))
    raise ValueError("name what to undo: a Plex item, a sync job, or a time")


@dataclass
class UndoReport:
    items: int = 0
    fields: int = 0
    skipped: list[Skip] = field(default_factory=list)


def apply_undo(
    restores: Sequence[Restore],
    items: dict[int, Any],
    state: GatewayState,
    call: Callable[..., Any],
) -> UndoReport:
    """Put the fields back, one edit per item, and journal it as an ``undo`` (so it can be
    undone in turn); ownership goes back to what it was before the reverted writes."""
    report = UndoReport()
    by_item: dict[int, list[Restore]] = {}
    for restore in restores:
        by_item.setdefault(restore.rating_key, []).append(restore)
    batch = uuid.uuid4().hex
    for key, group in by_item.items():
        item = items.get(key)
        if item is None:
            report.skipped += [Skip(key, r.field, "the Plex item no longer exists") for r in group]
            continue
        current, locked = current_fields(item), locked_fields(item)
        prior = state.written([key]).get(key)
        owned_now = prior.fields if prior else {}
        changes, rows, owned = [], [], {}
        for restore in group:
            outcome = undo_change(restore, current, locked)
            if isinstance(outcome, str):
                report.skipped.append(Skip(key, restore.field, outcome))
                continue
            owned[restore.field] = restore.owned
            if outcome is not None:
                changes.append(outcome)
                rows.append(
                    JournalRow(
                        restore.field,
                        outcome.old,
                        outcome.new,
                        restore.field in locked,
                        owned_now.get(restore.field),
                    )
                )
        if changes:
            call(item.edit, **edit_params(changes, current))
            state.journal(batch, key, group[0].scene_id, "undo", rows)
            report.items += 1
            report.fields += len(changes)
        if owned:
            state.set_owned(key, owned)
    for skip in report.skipped:
        log.warning("journal undo: item %d %s skipped: %s", *skip)
    return report


def release_targets(
    state: GatewayState,
    fields: Sequence[str],
    *,
    rating_key: int | None = None,
    scene_id: str | None = None,
) -> dict[int, tuple[str, list[str]]]:
    """Per item, its scene and the fields a release would hand back: the given fields it owns,
    or with none given, the fields it preserves for a person's edit. None of the three
    selectors means every item."""
    if rating_key is not None:
        written = state.written([rating_key])
    else:
        written = state.written_where(scene_id=scene_id)
    targets: dict[int, tuple[str, list[str]]] = {}
    for key, entry in sorted(written.items()):
        names = list(fields) if fields else list(entry.preserved)
        released = [f for f in names if f in entry.fields or f in entry.preserved]
        if released:
            targets[key] = (entry.scene_id, released)
    return targets


def release(
    state: GatewayState,
    fields: Sequence[str],
    *,
    rating_key: int | None = None,
    scene_id: str | None = None,
) -> dict[int, tuple[str, list[str]]]:
    """Forget that stashplex owns these fields (and any person's edit it preserved there), so
    the next sync treats them as never written: Stash's value is filled in again, and an empty
    one leaves Plex alone. Journaled as ``release``; Plex itself is not touched."""
    targets = release_targets(state, fields, rating_key=rating_key, scene_id=scene_id)
    batch = uuid.uuid4().hex
    for key, (scene, names) in targets.items():
        entry = state.written([key])[key]
        rows = [JournalRow(name, entry.fields.get(name), None) for name in names]
        state.journal(batch, key, scene, "release", rows)
        state.set_owned(key, dict.fromkeys(names))
    return targets
