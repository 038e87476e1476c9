"""What a Plex item shows now: values in the sync's field vocabulary, plus its locks.

Read only from a detail fetch (``/library/metadata/{ids}``): listings truncate tag lists, and an
edit computed from a truncated list would silently delete the rest of the cast.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from stashplex.sync.fieldmap import PLEX_FIELDS, FieldValue

#: Fields Plex accepts per item type (plexapi's mixins: episodes have no studio or genres).
SUPPORTED_FIELDS: dict[str, frozenset[str]] = {
    "movie": frozenset(PLEX_FIELDS),
    "episode": frozenset(
        {"title", "summary", "originallyAvailableAt", "userRating", "director", "collection"}
    ),
}

_TAG_ATTRIBUTES = {
    "genre": "genres",
    "actor": "roles",
    "collection": "collections",
    "director": "directors",
}


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d")
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def current_fields(item: Any) -> dict[str, FieldValue]:
    """The item's present values for every field the sync knows, from a plexapi object."""
    values: dict[str, FieldValue] = {
        "title": _text(getattr(item, "title", None)),
        "summary": _text(getattr(item, "summary", None)),
        "studio": _text(getattr(item, "studio", None)),
        "originallyAvailableAt": _text(getattr(item, "originallyAvailableAt", None)),
        "year": _text(getattr(item, "year", None)),
        "userRating": _text(getattr(item, "userRating", None)),
    }
    for field, attribute in _TAG_ATTRIBUTES.items():
        tags = getattr(item, attribute, None) or []
        values[field] = tuple(tag.tag for tag in tags if getattr(tag, "tag", None))
    return values


def locked_fields(item: Any) -> frozenset[str]:
    return frozenset(f.name for f in (getattr(item, "fields", None) or []) if f.locked)


def supported(item: Any) -> frozenset[str]:
    return SUPPORTED_FIELDS.get(getattr(item, "type", "movie"), SUPPORTED_FIELDS["episode"])
