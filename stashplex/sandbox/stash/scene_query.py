"""`findScenes` without `ids`: Stash's filter criteria, sort keys and 1-based paging.

Criteria compare the way Stash's SQL does (pkg/sqlite/sql.go, criterion_handlers.go,
scene_filter.go): timestamps as plain text against the stored RFC3339 strings (so a cursor must
be sent in the form Stash returned it, and stamps with different offsets do not compare as
instants), strings with SQLite `LIKE` (case-insensitive), `BETWEEN` inclusive, a BETWEEN without
`value2` bounded by 0 for numbers and by "now + 1 day" for timestamps.

The `ids` branch of findScenes is not here: it ignores every filter (see `resolvers.py`).
"""

from __future__ import annotations

import random
import shlex
from collections.abc import Callable
from typing import Any

from stashplex.sandbox.stash.records import SceneRecord
from stashplex.sandbox.stash.scene_criteria import (
    FilterError,
    ScenePredicate,
    date_predicate,
    int_predicate,
    is_missing,
    links,
    normalized_date,
    string_predicate,
    text_column,
    timestamp_column,
)

DEFAULT_PER_PAGE = 25


def _search_words(text: str) -> list[str]:
    try:
        return [word.lower() for word in shlex.split(text)]
    except ValueError:
        return [word.lower() for word in text.split()]


def scene_predicate(scene_filter: dict[str, Any] | None) -> ScenePredicate:
    """Compile a SceneFilterType into one predicate (all criteria AND-ed, plus AND/OR/NOT)."""
    if not scene_filter:
        return lambda _scene: True
    checks: list[ScenePredicate] = []
    for key, criterion in scene_filter.items():
        if criterion is None:
            continue
        checks.append(_criterion_predicate(key, criterion))
    return lambda scene: all(check(scene) for check in checks)


def _with_or(scene_filter: dict[str, Any] | None) -> ScenePredicate:
    """Stash ORs a sub-filter with the rest of its parent: `(parent criteria) OR (sub-filter)`."""
    if not scene_filter or not scene_filter.get("OR"):
        return scene_predicate(scene_filter)
    rest = {key: value for key, value in scene_filter.items() if key != "OR"}
    left, right = scene_predicate(rest), _with_or(scene_filter["OR"])
    return lambda scene: left(scene) or right(scene)


def _not(criterion: Any) -> ScenePredicate:
    inner = _with_or(criterion)
    return lambda scene: not inner(scene)


def _or_misplaced(_criterion: Any) -> ScenePredicate:
    raise FilterError("OR must be combined with the other criteria in the parent filter")


_CRITERIA: dict[str, Callable[[Any], ScenePredicate]] = {
    "AND": _with_or,
    "OR": _or_misplaced,
    "NOT": _not,
    "id": lambda criterion: int_predicate(criterion, lambda scene: scene.id),
    "rating100": lambda criterion: int_predicate(criterion, lambda scene: scene.rating100),
    "file_count": lambda criterion: int_predicate(criterion, lambda scene: len(scene.files)),
    "title": text_column("title"),
    "code": text_column("code"),
    "details": text_column("details"),
    "director": text_column("director"),
    "path": lambda criterion: string_predicate(
        criterion, lambda scene: [file.path for file in scene.files] or [None]
    ),
    "organized": lambda criterion: lambda scene: scene.organized == criterion,
    "is_missing": is_missing,
    "performers": links("performers", lambda scene: scene.performer_ids, hierarchical=False),
    "tags": links("tags", lambda scene: scene.tag_ids, hierarchical=True),
    "groups": links(
        "groups", lambda scene: [link.group_id for link in scene.groups_links], hierarchical=True
    ),
    "studios": links(
        "studios",
        lambda scene: [] if scene.studio_id is None else [scene.studio_id],
        hierarchical=True,
    ),
    "date": date_predicate,
    "created_at": timestamp_column("created_at"),
    "updated_at": timestamp_column("updated_at"),
}


def _criterion_predicate(key: str, criterion: Any) -> ScenePredicate:
    build = _CRITERIA.get(key)
    if build is None:
        raise FilterError(f"scene filter criterion {key!r} is not supported by the emulator")
    return build(criterion)


_SORT_KEYS: dict[str, Callable[[SceneRecord], Any]] = {
    "id": lambda scene: scene.id,
    "title": lambda scene: ((scene.title or "").lower(), scene.id),
    "date": lambda scene: (normalized_date(scene.date) or "", scene.id),
    "created_at": lambda scene: (scene.created_at, scene.id),
    "updated_at": lambda scene: (scene.updated_at, scene.id),
    "path": lambda scene: (scene.files[0].path if scene.files else "", scene.id),
    "filesize": lambda scene: (scene.files[0].size if scene.files else 0, scene.id),
    "duration": lambda scene: (scene.files[0].duration if scene.files else 0.0, scene.id),
    "rating": lambda scene: (scene.rating100 or 0, scene.id),
    "rating100": lambda scene: (scene.rating100 or 0, scene.id),
    "organized": lambda scene: (scene.organized, scene.id),
    "o_counter": lambda scene: (scene.o_counter, scene.id),
    "play_count": lambda scene: (scene.play_count, scene.id),
}


def sort_scenes(scenes: list[SceneRecord], sort: str | None, direction: str | None) -> None:
    descending = direction == "DESC"
    key = sort or "title"
    if key == "random" or key.startswith("random_"):
        seed = int(key.removeprefix("random_")) if key.startswith("random_") else None
        random.Random(seed).shuffle(scenes)  # noqa: S311 - ordering, not security
        return
    sort_key = _SORT_KEYS.get(key)
    if sort_key is None:
        raise FilterError(f"invalid sort: {key}")
    scenes.sort(key=sort_key, reverse=descending)


def page_bounds(find_filter: dict[str, Any] | None, total: int) -> tuple[int, int]:
    """1-based pages; page null or < 1 is page 1; per_page -1 means everything."""
    find_filter = find_filter or {}
    per_page = find_filter.get("per_page")
    if per_page is None:
        per_page = DEFAULT_PER_PAGE
    if per_page < 0:
        return 0, total
    page = find_filter.get("page") or 1
    page = max(page, 1)
    start = (page - 1) * per_page
    return start, start + per_page


def _with_timestamp_bounds(scene_filter: dict[str, Any] | None, tomorrow: str) -> Any:
    """Fill a missing `value2` of every timestamp criterion with the server's now + 1 day."""
    if not isinstance(scene_filter, dict):
        return scene_filter
    filled: dict[str, Any] = {}
    for key, criterion in scene_filter.items():
        if key in {"AND", "OR", "NOT"}:
            filled[key] = _with_timestamp_bounds(criterion, tomorrow)
        elif key in {"created_at", "updated_at"} and criterion and criterion.get("value2") is None:
            filled[key] = {**criterion, "value2": tomorrow}
        else:
            filled[key] = criterion
    return filled


def find_scenes(
    all_scenes: list[SceneRecord],
    find_filter: dict[str, Any] | None,
    scene_filter: dict[str, Any] | None,
    tomorrow: str,
) -> tuple[int, list[SceneRecord], list[SceneRecord]]:
    """Return (count ignoring paging, the requested page, every match in order).

    `tomorrow` is the server clock's `time.Now().AddDate(0, 0, 1)` in RFC 3339.
    """
    predicate = _with_or(_with_timestamp_bounds(scene_filter, tomorrow))
    matched = [scene for scene in all_scenes if predicate(scene)]
    query_text = (find_filter or {}).get("q")
    if query_text:
        words = _search_words(query_text)
        matched = [scene for scene in matched if _matches_search(scene, words)]
    sort_scenes(matched, (find_filter or {}).get("sort"), (find_filter or {}).get("direction"))
    start, end = page_bounds(find_filter, len(matched))
    return len(matched), matched[start:end], matched


def _matches_search(scene: SceneRecord, words: list[str]) -> bool:
    haystack = " ".join(
        [scene.title or "", scene.details or "", scene.code or ""]
        + [file.path for file in scene.files]
    ).lower()
    return all(word in haystack for word in words)
