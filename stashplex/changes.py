"""Which Stash changes matter to Plex, and how to follow Stash's ``updated_at`` cursor.

Plain functions, so Intake stays a thin shell and the rules have plain tests.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta
from typing import Any

from stashplex.plex.writer import toggles_from

#: ``inputFields`` of a scene update that can change what Plex shows, per sync toggle.
SYNCED_INPUT_FIELDS: dict[str, frozenset[str]] = {
    "title": frozenset({"title"}),
    "summary": frozenset({"details"}),
    "studio": frozenset({"studio_id"}),
    "date": frozenset({"date"}),
    "rating": frozenset({"rating100", "rating"}),
    "performers": frozenset({"performer_ids"}),
    "tags": frozenset({"tag_ids"}),
    # sceneUpdate sends ``groups``/``movies``; bulkSceneUpdate sends ``group_ids``/``movie_ids``.
    "groups": frozenset({"groups", "movies", "group_ids", "movie_ids"}),
    "director": frozenset({"director"}),
    "poster": frozenset({"cover_image"}),
}
#: Changing which file is primary can change the match and the fallback title.
ALWAYS_RELEVANT = frozenset({"primary_file_id"})
#: Re-read this far before the cursor: Stash compares timestamps as text at second precision.
CURSOR_MARGIN = timedelta(seconds=2)


def relevant_fields(settings: Any) -> frozenset[str]:
    toggles = toggles_from(settings)
    fields = set(ALWAYS_RELEVANT)
    for toggle, names in SYNCED_INPUT_FIELDS.items():
        if getattr(toggles, toggle):
            fields |= names
    if toggles.studio_as_collection:
        fields.add("studio_id")
    return frozenset(fields)


def cursor_with_margin(cursor: str, *, forward: bool = False) -> str:
    margin = CURSOR_MARGIN.total_seconds()
    return shift_stash_time(cursor, margin if forward else -margin)


def shift_stash_time(stamp: str, seconds: float) -> str:
    """Move a Stash timestamp, spelled as Stash spells it.

    Stash compares timestamps as text, so the result keeps the input's form exactly: ``Z`` for
    UTC, the same offset, and fractional seconds only if the input had them.
    """
    cursor = stamp
    try:
        moment = datetime.fromisoformat(cursor.replace("Z", "+00:00"))
    except ValueError:
        return cursor
    moved = moment + timedelta(seconds=seconds)
    timespec = "microseconds" if "." in cursor else "seconds"
    text = moved.isoformat(timespec=timespec)
    return text[:-6] + "Z" if cursor.endswith("Z") and text.endswith("+00:00") else text


def without_baseline(
    pages: Iterable[tuple[int, list[dict[str, Any]]]], baseline: dict[str, Any]
) -> Iterator[tuple[int, list[dict[str, Any]]]]:
    """Drop scenes that were already in Stash, unchanged, when the cursor was started.

    The first cursor is Stash's newest ``updated_at``; a later edit may share its second, so
    catch-up re-reads that second. The scenes stamped with it at the start belong to the first
    full sync, not to catch-up, unless they changed since (then their stamp moved on).
    """
    ids = set(baseline.get("ids", []))
    stamp = baseline.get("stamp")
    for total, scenes in pages:
        yield total, [
            s for s in scenes if not (str(s.get("id")) in ids and s.get("updated_at") == stamp)
        ]
