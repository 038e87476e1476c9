"""Metadata edits exactly as PMS applies them, and the agent refresh that undoes unlocked ones.

The whole query is parsed and validated before anything changes, so a bad parameter leaves the
item untouched (a 400) instead of half-edited.
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
    LOCKABLE_FIELDS,
    TAG_ELEMENTS,
    Item,
    PlexError,
    Tag,
)

_TAG_PARAM = re.compile(
    r"^(?P<type>[A-Za-z]+)\[(?P<index>\d*)\]\."
    r"(?P<attr>tag\.tag|tag\.thumb|tag\.tagKey|tagging\.text|tag)(?P<minus>-?)$"
)
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
IGNORED_PARAMS = frozenset({"id", "type"})


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


def _tag_list(tag_type: str, entries: dict[int, dict[str, str]]) -> list[Tag]:
    tags: list[Tag] = []
    seen: set[str] = set()
    for index in sorted(entries):
        entry = entries[index]
        name = entry.get("tag.tag", "")
        if name == "":
            raise PlexError(400, f"{tag_type}[{index}] has no tag.tag name")
        if name in seen:
            continue
        seen.add(name)
        tags.append(
            Tag(name, entry.get("tagging.text"), entry.get("tag.thumb"), entry.get("tag.tagKey"))
        )
    return tags


def apply_edit(plan: EditPlan, items: list[Item], now: int) -> None:
    """Apply one validated edit; an indexed tag list replaces a single item's list.

    With several items the list is added to each (the spec's "associates it with each item");
    plexapi does not merge existing tags for multi-item edits, so replacing would wipe them.
    """
    new_lists = {kind: _tag_list(kind, entries) for kind, entries in plan.tag_lists.items()}
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
                names = {tag.tag for tag in existing}
                existing.extend(tag for tag in copies if tag.tag not in names)
        for tag_type, names in plan.tag_removals.items():
            doomed = set(names)
            item.tags[tag_type] = [t for t in item.tags.get(tag_type, []) if t.tag not in doomed]
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


def refresh_from_agent(item: Item, now: int) -> None:
    """What an agent refresh does: every unlocked agent-owned field goes back to the agent value."""
    for name in AGENT_FIELDS:
        if name in item.locks:
            continue
        if name in item.agent_fields:
            item.fields[name] = item.agent_fields[name]
        else:
            item.fields.pop(name, None)
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
