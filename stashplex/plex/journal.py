"""Reading the gateway's journal: what each sync wrote to each Plex item, and how to select a
set of writes to undo (one item's last write, one sync job's, everything since a time).

Every row keeps a field's value before and after a write, the field's lock before it
(``old_locked``; NULL in rows journaled before locks were recorded) and whether stashplex owned
the field before it (``owned_before``: the value it had last written, NULL when it did not own
it). That is what lets an undo put back values, locks and ownership as they were.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, NamedTuple

from stashplex.runtime.store import Store, loads

#: Journal actions that changed Plex, and so can be undone.
CHANGES = ("write", "undo")


class JournalRow(NamedTuple):
    """One field of one journaled write, as the gateway records it."""

    field: str
    old: Any
    new: Any
    old_locked: bool | None = None
    owned_before: Any = None


def _entry(row: Any) -> dict[str, Any]:
    locked = row["old_locked"]
    return {
        "id": row["id"],
        "batch": row["batch"],
        "at": row["at"],
        "rating_key": row["rating_key"],
        "scene_id": row["scene_id"],
        "job_id": row["job_id"],
        "action": row["action"],
        "field": row["field"],
        "old": loads(row["old"]),
        "new": loads(row["new"]),
        "old_locked": None if locked is None else bool(locked),
        "owned_before": loads(row["owned_before"]),
    }


def journal_entries(
    store: Store,
    rating_key: int | None = None,
    limit: int = 200,
    *,
    scene_id: str | None = None,
) -> list[dict[str, Any]]:
    """The newest entries first, of one Plex item or of every item of one Stash scene."""
    if (rating_key is None) == (scene_id is None):
        raise ValueError("name either a Plex item or a Stash scene")
    column, value = ("rating_key", rating_key) if scene_id is None else ("scene_id", scene_id)
    rows = store.query(
        f"SELECT * FROM journal WHERE {column} = ? ORDER BY id DESC LIMIT ?",  # noqa: S608 - fixed column names
        (value, limit),
    )
    return [_entry(r) for r in rows]


def last_write(store: Store, rating_key: int) -> list[dict[str, Any]]:
    """The entries of the most recent change to an item (what ``journal undo KEY`` reverts; the
    last change may itself be an undo, which the next undo then reverts)."""
    batch = store.scalar(
        "SELECT batch FROM journal WHERE rating_key = ? AND action IN ('write', 'undo')"
        " ORDER BY id DESC LIMIT 1",
        (rating_key,),
    )
    if batch is None:
        return []
    rows = store.query("SELECT * FROM journal WHERE batch = ? ORDER BY id", (batch,))
    return [_entry(r) for r in rows]


def job_writes(store: Store, job_id: str) -> list[dict[str, Any]]:
    """Every write a sync job made (``stashplex sync`` prints its id)."""
    rows = store.query(
        "SELECT * FROM journal WHERE job_id = ? AND action = 'write' ORDER BY id", (job_id,)
    )
    return [_entry(r) for r in rows]


def changes_since(store: Store, since: float) -> list[dict[str, Any]]:
    """Every change to Plex since a time (epoch seconds), undos included: undoing them all puts
    each field back as it was at that time."""
    rows = store.query(
        "SELECT * FROM journal WHERE at >= ? AND action IN ('write', 'undo') ORDER BY id",
        (since,),
    )
    return [_entry(r) for r in rows]


def changes_after(
    store: Store, rating_keys: Iterable[int], after_id: int
) -> list[dict[str, Any]]:
    """Changes to these items journaled after row ``after_id`` (a later write wins over an undo
    of an earlier one)."""
    keys = sorted(set(rating_keys))
    if not keys:
        return []
    marks = ",".join("?" * len(keys))
    rows = store.query(
        f"SELECT * FROM journal WHERE id > ? AND rating_key IN ({marks})"  # noqa: S608 - placeholders only
        " AND action IN ('write', 'undo') ORDER BY id",
        (after_id, *keys),
    )
    return [_entry(r) for r in rows]
