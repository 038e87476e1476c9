"""What a Plex item shows now: values in the sync's field vocabulary, plus its locks.

Read only from a detail fetch (``/library/metadata/{ids}``): listings truncate tag lists, and an
edit computed from a truncated list would silently delete the rest of the cast.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from stashplex.plex.connection import ErrorClass, PlexFailure
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


def target_problem(
    rating_key: int, item: Any, scene_paths: set[str], path_key: Callable[[str], str]
) -> PlexFailure | None:
    """Why this item must not get this scene's write, or None.

    Gone: the item answered nothing (deleted, or re-added under a new ratingKey). Shared: Plex
    made one item of several files (stacked ``-pt1``/``-cd1`` parts, merged versions), so
    several scenes match it exactly; the scene whose file is the item's first part owns it,
    any other would overwrite it back and forth on every sync. ``scene_paths`` are the
    scene's files as Plex spells them, passed through ``path_key``.
    """
    if item is None:
        return PlexFailure(ErrorClass.NOT_FOUND, f"Plex item {rating_key} no longer exists")
    files = [
        part.file
        for media in getattr(item, "media", None) or []
        for part in getattr(media, "parts", None) or []
        if getattr(part, "file", None)
    ]
    if len(files) < 2 or path_key(files[0]) in scene_paths:
        return None
    return PlexFailure(
        ErrorClass.SHARED_ITEM,
        f"Plex item {rating_key} is one item for {len(files)} files; its first part "
        f"{files[0]} is another scene's, and that scene is the one written to it",
    )
