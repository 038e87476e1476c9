"""Metadata edits exactly as PMS applies them, and the agent refresh that undoes unlocked ones.

The whole query is parsed and validated before anything changes, so a bad parameter leaves the
item untouched (a 400) instead of half-edited. Tag names are linked to the server's tag rows in
the rows' spelling (`tags.py`); removals match rows the same way.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from urllib.parse import unquote

from stashplex.sandbox.plex.model import (
    AGENT_FIELDS,
    AGENT_TAG_TYPES,
    EDITABLE_FIELDS,
    EPISODE,
    LOCKABLE_FIELDS,
    MOVIE,
    TAG_ELEMENTS,
    Item,
    PlexError,
    Tag,
)
from stashplex.sandbox.plex.realism import Realism
from stashplex.sandbox.plex.tags import TagRegistry

_TAG_PARAM = re.compile(
    r"^(?P<type>[A-Za-z]+)\[(?P<index>\d*)\]\."
    r"(?P<attr>tag\.tag|tag\.thumb|tag\.tagKey|tagging\.text|tag)(?P<minus>-?)$"
)
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
IGNORED_PARAMS = frozenset({"id", "type"})
_DATE_FIELD = "originallyAvailableAt"


@dataclass
class EditPlan:
    """A validated edit, ready to apply to one or more items."""

    values: dict[str, str] = field(default_factory=dict)
    locks: dict[str, bool] = field(default_factory=dict)
    tag_lists: dict[str, dict[int, dict[str, str]]] = field(default_factory=dict)
    tag_removals: dict[str, list[str]] = field(default_factory=dict)
    tag_clears: set[str] = field(default_factory=set)

    def is_empty(self) -> bool:
        return not (
            self.values or self.locks or self.tag_lists or self.tag_removals or self.tag_clears
        )


def _validate_value(name: str, value: str) -> str:
    if value == "":
        return value
    if name == "originallyAvailableAt":
        try:
            if not _DATE.match(value):
                raise ValueError(value)
            dt.date.fromisoformat(value)
        except ValueError:
            message = f"originallyAvailableAt must be YYYY-MM-DD, got {value!r}"
            raise PlexError(400, message) from None
    elif name in ("year", "addedAt"):
        if not value.lstrip("-").isdigit():
            raise PlexError(400, f"{name} must be an integer, got {value!r}")
    elif name in ("userRating", "rating", "audienceRating"):
        try:
            number = float(value)
        except ValueError:
            raise PlexError(400, f"{name} must be a number, got {value!r}") from None
        if not 0.0 <= number <= 10.0:
            raise PlexError(400, f"{name} must be between 0 and 10, got {value!r}")
        return repr(number)
    return value


def parse_edit(params: list[tuple[str, str]]) -> EditPlan:
    """Turn decoded query pairs into an EditPlan, or raise PlexError(400) naming the bad key."""
    plan = EditPlan()
    for key, value in params:
        if key in IGNORED_PARAMS or key.lower().startswith("x-plex-"):
            continue
        match = _TAG_PARAM.match(key)
        if match:
            _parse_tag_param(plan, match, value)
            continue
        name, dot, suffix = key.rpartition(".")
        if not dot:
            raise PlexError(400, f"unknown edit parameter {key!r}")
        if suffix == "value":
            if name not in EDITABLE_FIELDS:
                raise PlexError(400, f"field {name!r} cannot be edited")
            plan.values[name] = _validate_value(name, value)
        elif suffix == "locked":
            if name not in LOCKABLE_FIELDS:
                raise PlexError(400, f"field {name!r} cannot be locked")
            if value not in ("0", "1"):
                raise PlexError(400, f"{key} must be 0 or 1, got {value!r}")
            plan.locks[name] = value == "1"
        else:
            raise PlexError(400, f"unknown edit parameter {key!r}")
    return plan


def _parse_tag_param(plan: EditPlan, match: re.Match[str], value: str) -> None:
    tag_type, index, attr, minus = match["type"], match["index"], match["attr"], match["minus"]
    if tag_type not in TAG_ELEMENTS:
        raise PlexError(400, f"unknown tag type {tag_type!r}")
    if index == "":
        if attr == "tag.tag" and minus:
            # Each name was percent-encoded once more before joining with commas.
            names = [unquote(part) for part in value.split(",") if part != ""]
            plan.tag_removals.setdefault(tag_type, []).extend(names)
        elif attr == "tag" and not minus and value == "":
            plan.tag_clears.add(tag_type)
        else:
            raise PlexError(400, f"unsupported tag parameter {match.group(0)!r}")
        return
    if minus or attr == "tag":
        raise PlexError(400, f"unsupported tag parameter {match.group(0)!r}")
    plan.tag_lists.setdefault(tag_type, {}).setdefault(int(index), {})[attr] = value


def _check_names(plan: EditPlan) -> None:
    for tag_type, entries in plan.tag_lists.items():
        for index, entry in entries.items():
            if entry.get("tag.tag", "") == "":
                raise PlexError(400, f"{tag_type}[{index}] has no tag.tag name")


def _tag_list(tags: TagRegistry, tag_type: str, entries: dict[int, dict[str, str]]) -> list[Tag]:
    """The new list in index order, in the rows' spelling, each row once."""
    result: list[Tag] = []
    seen: set[str] = set()
    for index in sorted(entries):
        entry = entries[index]
        name = tags.spelling(tag_type, entry["tag.tag"])
        if tags.identity(name) in seen:
            continue
        seen.add(tags.identity(name))
        result.append(
            Tag(name, entry.get("tagging.text"), entry.get("tag.thumb"), entry.get("tag.tagKey"))
        )
    return result


def apply_edit(plan: EditPlan, items: list[Item], now: int, tags: TagRegistry) -> None:
    """Apply one validated edit; an indexed tag list replaces a single item's list.

    With several items the list is added to each (the spec's "associates it with each item");
    plexapi does not merge existing tags for multi-item edits, so replacing would wipe them.
    """
    _check_names(plan)
    new_lists = {kind: _tag_list(tags, kind, entries) for kind, entries in plan.tag_lists.items()}
    for item in items:
        _apply_values(item, plan.values)
        for tag_type in plan.tag_clears:
            item.tags[tag_type] = []
        for tag_type, new_tags in new_lists.items():
            copies = [Tag(t.tag, t.role, t.thumb, t.tag_key) for t in new_tags]
            if len(items) == 1:
                item.tags[tag_type] = copies
            else:
                existing = item.tags.setdefault(tag_type, [])
                names = {tags.identity(tag.tag) for tag in existing}
                existing.extend(tag for tag in copies if tags.identity(tag.tag) not in names)
        for tag_type, names in plan.tag_removals.items():
            doomed = {tags.identity(name) for name in names}
            kept = [t for t in item.tags.get(tag_type, []) if tags.identity(t.tag) not in doomed]
            item.tags[tag_type] = kept
        for name, locked in plan.locks.items():
            if locked:
                item.locks.add(name)
            else:
                item.locks.discard(name)
        item.touch(now)


def _apply_values(item: Item, values: dict[str, str]) -> None:
    for name, value in values.items():
        if name == "addedAt":
            if value:
                item.added_at = int(value)
        elif value == "" and name != "title":
            item.fields.pop(name, None)
        else:
            item.fields[name] = value


def refresh_from_agent(item: Item, now: int, realism: Realism | None = None) -> None:
    """What an agent refresh does: every unlocked agent-owned field goes back to the agent value,
    and a date the agent has none for becomes the added date (the `date_refill` habit)."""
    for name in AGENT_FIELDS:
        if name in item.locks:
            continue
        if name in item.agent_fields:
            item.fields[name] = item.agent_fields[name]
        else:
            item.fields.pop(name, None)
    if realism is not None:
        refill_date(item, realism.date_refill)
    for tag_type in AGENT_TAG_TYPES:
        if tag_type not in item.locks:
            agent = item.agent_tags.get(tag_type, [])
            item.tags[tag_type] = [Tag(t.tag, t.role, t.thumb, t.tag_key) for t in agent]
    if "thumb" not in item.locks and item.selected_poster != item.agent_poster:
        item.selected_poster = item.agent_poster
        item.thumb_epoch = max(now, item.thumb_epoch + 1)
    if "art" not in item.locks and item.selected_art != item.agent_art:
        item.selected_art = item.agent_art
        item.art_epoch = max(now, item.art_epoch + 1)
    item.touch(now)


def added_date(item: Item) -> str:
    """The added date as PMS writes it into originallyAvailableAt (UTC here, for determinism)."""
    return dt.datetime.fromtimestamp(item.added_at, dt.UTC).date().isoformat()


def refill_date(item: Item, mode: str) -> None:
    """An empty originallyAvailableAt of a movie or episode becomes its added date.

    PlexKodiConnect #1395: "If originallyAvailableAt is not obtained, [the] current date of when
    a movie was added is used" while `year` keeps the agent's year; a locked field is left alone
    unless `mode` is "always". `year` is never touched: the two fields are stored apart.
    """
    if mode == "off" or item.type not in (MOVIE, EPISODE) or item.fields.get(_DATE_FIELD):
        return
    if mode == "unlocked" and _DATE_FIELD in item.locks:
        return
    item.fields[_DATE_FIELD] = added_date(item)
