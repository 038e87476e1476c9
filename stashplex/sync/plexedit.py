"""The query parameters of the one batched edit that applies a whole diff to a Plex item.

plexapi's ``item.edit(**params)`` sends them as a single ``PUT /library/sections/{id}/all``;
plexapi adds ``id`` and ``type`` itself and percent-encodes every key and value once. The grammar
(see ``reference/plex-api.md`` §4.2-4.6):

* scalar: ``title.value=…`` and ``title.locked=1``; an already-right value sends only the lock;
* tag list: ``genre[0].tag.tag=…``, ``genre[1].tag.tag=…`` replaces the item's whole list, so the
  complete desired list is always sent (never an "add");
* a tag list that only loses names (emptied, or a collection of ours removed):
  ``genre[].tag.tag-=<names>``, each name percent-encoded once *before* joining with ``,`` (Plex
  splits on ``,`` and then decodes each name, so a name containing a comma survives). Unlike a
  whole list, a removal cannot drop a name another tool added a moment before;
* a written field is locked (``<field>.locked=1``), or the next agent refresh undoes it, unless
  its change says otherwise: ``lock=None`` sends no lock (collections), ``lock=False`` unlocks
  (an undo putting back an unlocked field).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote, unquote

from stashplex.sync.fieldmap import SCALAR_FIELDS, TAG_FIELDS, FieldChange, field_form

LOCKED = "1"
UNLOCKED = "0"
_DESCRIBE_MAX_CHARS = 60
_PARAM = re.compile(r"(?P<field>\w+)(?:\[(?P<index>\d*)\])?\.(?P<part>.+)")


def edit_params(changes: Sequence[FieldChange], current: Mapping[str, Any]) -> dict[str, str]:
    """Parameters for ``item.edit(**params)``; ``current`` is the item's present values, needed
    to name the tags a list removal takes away."""
    params: dict[str, str] = {}
    seen: set[str] = set()
    for change in changes:
        field = change.field
        if field in seen:
            msg = f"two changes for Plex field {field!r}; one edit can only carry one per field"
            raise ValueError(msg)
        seen.add(field)
        if not change.lock_only:
            params.update(_value_params(change, current))
        if change.lock is not None:
            params[f"{field}.locked"] = LOCKED if change.lock else UNLOCKED
    return params


def _value_params(change: FieldChange, current: Mapping[str, Any]) -> dict[str, str]:
    field, new = change.field, change.new
    if field in SCALAR_FIELDS:
        if not isinstance(new, str):
            msg = f"Plex field {field!r} takes text, got {new!r}"
            raise TypeError(msg)
        return {f"{field}.value": new}
    if field not in TAG_FIELDS:
        msg = f"unknown Plex field {field!r}"
        raise ValueError(msg)
    if isinstance(new, str) or any(not isinstance(name, str) or not name for name in new):
        msg = f"Plex tag field {field!r} takes a list of non-empty names, got {new!r}"
        raise TypeError(msg)
    present = field_form(field, current.get(field, change.old))
    kept = set(new)
    if list(new) != [name for name in present if name in kept]:
        return {f"{field}[{index}].tag.tag": name for index, name in enumerate(new)}
    gone = [name for name in present if name not in kept]
    if not gone:
        return {}
    return {f"{field}[].tag.tag-": ",".join(quote(name, safe="") for name in gone)}


def _shorten(text: str) -> str:
    if len(text) <= _DESCRIBE_MAX_CHARS:
        return repr(text)
    return f"{text[: _DESCRIBE_MAX_CHARS - 1]!r}… ({len(text)} chars)"


def describe_params(params: Mapping[str, str]) -> str:
    """One log line per edit: which fields, their values shortened, which get locked."""
    fields: dict[str, dict[str, Any]] = {}
    for key, value in params.items():
        match = _PARAM.fullmatch(key)
        if not match:
            fields.setdefault(key, {})["value"] = value
            continue
        entry = fields.setdefault(match["field"], {})
        part, index = match["part"], match["index"]
        if part == "locked":
            entry["lock"] = "locked" if value == LOCKED else "unlocked"
        elif part == "value":
            entry["value"] = value
        elif part == "tag.tag" and index:
            entry.setdefault("tags", []).append(value)
        elif part == "tag.tag-":
            entry["removed"] = [unquote(name) for name in value.split(",")]
        else:
            entry.setdefault("other", []).append(f"{key}={value}")
    parts = []
    for field, entry in fields.items():
        words = [field]
        if "value" in entry:
            words.append(f"= {_shorten(entry['value'])}" if entry["value"] else "cleared")
        if "tags" in entry:
            shown = ", ".join(_shorten(tag) for tag in entry["tags"][:5])
            more = f", +{len(entry['tags']) - 5} more" if len(entry["tags"]) > 5 else ""
            words.append(f"= [{shown}{more}]")
        if "removed" in entry:
            words.append(f"cleared (removing {len(entry['removed'])})")
        words.extend(entry.get("other", []))
        if "lock" in entry:
            words.append(f"({entry['lock']})" if len(words) > 1 else entry["lock"])
        parts.append(" ".join(words))
    return "; ".join(parts) if parts else "no changes"
