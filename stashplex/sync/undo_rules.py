"""Undo, as plain functions: which journaled writes to revert, and the edit that reverts one.

An undo puts each field back as it was before the first of the selected writes: its value, its
lock (journaled with each write) and whether stashplex owned it, so a field an agent filled
goes back to the agent's value, unlocked, and is no longer ours. Three rules keep it from doing
harm of its own:

* a field a later write changed again (outside the selection) is skipped: undo that one first;
* a field whose Plex value is no longer what our write left there (a person or another tool
  changed it since) is skipped, never overwritten;
* collections are reverted name by name: the names the writes added are taken off, the names
  they removed are put back, and the names other tools added since stay.

Posters and backgrounds are not reverted: Plex keeps every uploaded image, and the previous one
can be picked in Plex itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

from stashplex.sync.fieldmap import PLEX_FIELDS, FieldChange, FieldValue, field_form, same_value
from stashplex.sync.sanitize import name_key

COLLECTION = "collection"


class Restore(NamedTuple):
    """One field of one item to put back."""

    rating_key: int
    scene_id: str | None
    field: str
    #: The value before the first selected write.
    value: FieldValue
    #: The value the last selected write left; Plex must still show it.
    written: FieldValue
    #: The lock before the first selected write; None when it was not journaled (older rows).
    locked: bool | None
    #: What stashplex owned before (the value it had written); None when it did not own it.
    owned: FieldValue | None


class Skip(NamedTuple):
    rating_key: int
    field: str
    reason: str


def _form(field: str, value: Any) -> FieldValue:
    return field_form(field, tuple(value) if isinstance(value, list) else value)


def plan_undo(
    selected: Iterable[Mapping[str, Any]], later: Iterable[Mapping[str, Any]] = ()
) -> tuple[list[Restore], list[Skip]]:
    """The fields to put back for journal rows ``selected``; ``later`` holds the changes to the
    same items journaled after them, which win."""
    first: dict[tuple[int, str], Mapping[str, Any]] = {}
    last: dict[tuple[int, str], Mapping[str, Any]] = {}
    images: dict[tuple[int, str], Skip] = {}
    for row in sorted(selected, key=lambda r: r["id"]):
        key = (int(row["rating_key"]), str(row["field"]))
        if key[1] not in PLEX_FIELDS:
            images[key] = Skip(*key, "images are not reverted; pick the old one in Plex")
            continue
        first.setdefault(key, row)
        last[key] = row
    skipped = list(images.values())
    newest_later: dict[tuple[int, str], Mapping[str, Any]] = {}
    for row in later:
        newest_later[(int(row["rating_key"]), str(row["field"]))] = row
    restores: list[Restore] = []
    for key, row in last.items():
        rival = newest_later.get(key)
        if rival is not None and rival["id"] > row["id"]:
            when = f"job {rival['job_id']}" if rival.get("job_id") else "a later sync"
            skipped.append(Skip(*key, f"written again since by {when}; undo that first"))
            continue
        start, field = first[key], key[1]
        owned = start.get("owned_before")
        restores.append(
            Restore(
                rating_key=key[0],
                scene_id=row.get("scene_id"),
                field=field,
                value=_form(field, start["old"]),
                written=_form(field, row["new"]),
                locked=start.get("old_locked"),
                owned=None if owned is None else _form(field, owned),
            )
        )
    restores.sort(key=lambda r: (r.rating_key, PLEX_FIELDS.index(r.field)))
    return restores, skipped


def restored_collections(current: Iterable[str], restore: Restore) -> tuple[str, ...]:
    """The item's collections with our writes' additions taken off and their removals put back,
    every name added since by someone else kept."""
    value = {name_key(n) for n in restore.value}
    written = {name_key(n) for n in restore.written}
    added = {key for key in written if key not in value}
    kept = [name for name in current if name_key(name) not in added]
    present = {name_key(name) for name in kept}
    return tuple(kept) + tuple(
        n for n in restore.value if name_key(n) not in written and name_key(n) not in present
    )


def undo_change(
    restore: Restore, current: Mapping[str, Any], locked: frozenset[str]
) -> FieldChange | str | None:
    """The change that reverts one field, None when nothing needs sending, or why it is skipped.

    The lock goes back to what it was; a row journaled before locks were recorded gets a lock,
    as every undo did then. The collection list's lock is never ours, so it is left as it is.
    """
    field, plex_value = restore.field, current.get(restore.field)
    old = field_form(field, plex_value)
    if field == COLLECTION:
        new: FieldValue = restored_collections(old, restore)
        lock: bool | None = None
    else:
        new = restore.value
        lock = True if restore.locked is None else restore.locked
    same = same_value(field, plex_value, new)
    if same and (lock is None or lock == (field in locked)):
        return None
    if not same and field != COLLECTION and not same_value(field, plex_value, restore.written):
        return f"changed in Plex since (now {old!r}), left as it is"
    return FieldChange(field=field, old=old, new=new, lock_only=same, lock=lock)
