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

#: The child elements of an item that hold each tag field (plexapi's Genre, Role, ...).
_TAG_ELEMENTS = {
    "genre": "Genre",
    "actor": "Role",
    "collection": "Collection",
    "director": "Director",
}


def _element(item: Any) -> Any:
    """The XML Plex answered for ``item``, which plexapi keeps as ``_data``.

    Read directly, not through plexapi's attributes: each of those builds an object per tag
    through plexapi's attribute machinery, about 0.5 ms per item, a twentieth of a first sync's
    CPU. The values are the same, converted the way plexapi converts them (``utils.cast``,
    ``utils.toDatetime``); a test holds the two readings equal.
    """
    return item._data  # noqa: SLF001 - plexapi's documented raw response of the object


def _date(raw: str | None) -> str:
    if raw is None:
        return ""
    try:
        return datetime.strptime(raw, "%Y-%m-%d").strftime("%Y-%m-%d")
    except ValueError:
        return ""  # plexapi reads an unparsable date as None


def _number(kind: type[int] | type[float], raw: str | None) -> str:
    if raw is None:
        return ""
    try:
        value = kind(raw)
    except ValueError:
        return "nan"  # plexapi's cast() of a malformed number
    return f"{value:g}" if kind is float else str(value)


def current_fields(item: Any) -> dict[str, FieldValue]:
    """The item's present values for every field the sync knows, from its detail XML."""
    element = _element(item)
    attrib = element.attrib
    values: dict[str, FieldValue] = {
        "title": attrib.get("title") or "",
        "summary": attrib.get("summary") or "",
        "studio": attrib.get("studio") or "",
        "originallyAvailableAt": _date(attrib.get("originallyAvailableAt")),
        "year": _number(int, attrib.get("year")),
        "userRating": _number(float, attrib.get("userRating")),
    }
    for field, tag in _TAG_ELEMENTS.items():
        values[field] = tuple(name for child in element.findall(tag) if (name := child.get("tag")))
    return values


def locked_fields(item: Any) -> frozenset[str]:
    return frozenset(
        child.get("name") for child in _element(item).findall("Field")
        if child.get("locked") in ("1", "true")
    )  # fmt: skip


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
        file
        for media in _element(item).findall("Media")
        for part in media.findall("Part")
        if (file := part.get("file"))
    ]
    if len(files) < 2 or path_key(files[0]) in scene_paths:
        return None
    return PlexFailure(
        ErrorClass.SHARED_ITEM,
        f"Plex item {rating_key} is one item for {len(files)} files; its first part "
        f"{files[0]} is another scene's, and that scene is the one written to it",
    )
