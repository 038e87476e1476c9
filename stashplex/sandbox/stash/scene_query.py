"""`findScenes` semantics: Stash's filter criteria, sort keys and 1-based paging.

Criteria compare the way Stash's SQL does: timestamps as plain text against the stored RFC3339
strings (so a cursor must be sent in the form Stash returned it), strings with SQLite `LIKE`
(case-insensitive), `BETWEEN` inclusive.
"""

from __future__ import annotations

import random
import re
import shlex
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from stashplex.sandbox.stash.clock import format_rfc3339
from stashplex.sandbox.stash.records import SceneRecord

DEFAULT_PER_PAGE = 25

ScenePredicate = Callable[[SceneRecord], bool]


class FilterError(ValueError):
    """A criterion Stash itself would reject (answered as a GraphQL error)."""


_COMPARISONS: dict[str, Callable[[Any, Any, Any], bool]] = {
    "EQUALS": lambda actual, value, _value2: actual == value,
    "NOT_EQUALS": lambda actual, value, _value2: actual != value,
    "GREATER_THAN": lambda actual, value, _value2: actual > value,
    "LESS_THAN": lambda actual, value, _value2: actual < value,
    "BETWEEN": lambda actual, value, value2: value <= actual <= value2,
    "NOT_BETWEEN": lambda actual, value, value2: not value <= actual <= value2,
}


def _comparison(modifier: str, value: Any, value2: Any) -> Callable[[Any], bool]:
    """The SQL comparison behind Int/Timestamp/Date criteria; NULL never matches a comparison."""
    if modifier == "IS_NULL":
        return lambda actual: actual is None or actual == ""
    if modifier == "NOT_NULL":
        return lambda actual: actual is not None and actual != ""
    compare = _COMPARISONS.get(modifier)
    if compare is None:
        raise FilterError(f"unsupported modifier {modifier} for this criterion")
    return lambda actual: actual is not None and compare(actual, value, value2)


def _int_predicate(criterion: dict[str, Any], read: Callable[[SceneRecord], Any]) -> ScenePredicate:
    modifier, value = criterion["modifier"], criterion["value"]
    value2 = criterion.get("value2")
    if modifier in {"BETWEEN", "NOT_BETWEEN"} and value2 is None:
        value2 = value
    matches = _comparison(modifier, value, value2)
    return lambda scene: matches(read(scene))


def _timestamp_predicate(
    criterion: dict[str, Any], read: Callable[[SceneRecord], str | None]
) -> ScenePredicate:
    """Plain text comparison with the stored strings; a missing upper bound is now + 1 day."""
    modifier, value = criterion["modifier"], criterion["value"]
    value2 = criterion.get("value2")
    if value2 is None:
        value2 = format_rfc3339(datetime.now().astimezone() + timedelta(days=1))
    matches = _comparison(modifier, value, value2)
    return lambda scene: matches(read(scene))


def _normalized_date(date: str | None) -> str | None:
    if not date:
        return None
    return date + "-01" * (2 - date.count("-"))


def _date_predicate(criterion: dict[str, Any]) -> ScenePredicate:
    value = _normalized_date(criterion["value"])
    value2 = _normalized_date(criterion.get("value2")) or value
    matches = _comparison(criterion["modifier"], value, value2)
    return lambda scene: matches(_normalized_date(scene.date))


def _search_words(text: str) -> list[str]:
    try:
        return [word.lower() for word in shlex.split(text)]
    except ValueError:
        return [word.lower() for word in text.split()]


def _regex(value: str) -> re.Pattern[str]:
    try:
        return re.compile(value)
    except re.error as error:
        raise FilterError(f"invalid regex {value!r}: {error}") from error


def _string_matcher(modifier: str, value: str) -> Callable[[str | None], bool]:
    """SQLite LIKE semantics: case-insensitive; INCLUDES needs every word of the value."""
    lowered, words = value.lower(), _search_words(value)
    matchers: dict[str, Callable[[str | None], bool]] = {
        "IS_NULL": lambda actual: actual is None or actual.strip() == "",
        "NOT_NULL": lambda actual: actual is not None and actual.strip() != "",
        "EQUALS": lambda actual: actual is not None and actual.lower() == lowered,
        "NOT_EQUALS": lambda actual: actual is None or actual.lower() != lowered,
        "INCLUDES": lambda actual: (
            actual is not None and all(word in actual.lower() for word in words)
        ),
        "EXCLUDES": lambda actual: (
            actual is None or not any(word in actual.lower() for word in words)
        ),
    }
    if modifier in {"MATCHES_REGEX", "NOT_MATCHES_REGEX"}:
        pattern, wanted = _regex(value), modifier == "MATCHES_REGEX"
        return lambda actual: (actual is not None and pattern.search(actual) is not None) == wanted
    matcher = matchers.get(modifier)
    if matcher is None:
        raise FilterError(f"unsupported modifier {modifier} for a string criterion")
    return matcher


def _string_predicate(
    criterion: dict[str, Any], read: Callable[[SceneRecord], list[str | None]]
) -> ScenePredicate:
    matches = _string_matcher(criterion["modifier"], criterion["value"])
    return lambda scene: any(matches(text) for text in read(scene))


_MISSING_CHECKS: dict[str, ScenePredicate] = {
    "cover": lambda scene: scene.cover is None,
    "title": lambda scene: not (scene.title or "").strip(),
    "details": lambda scene: not (scene.details or "").strip(),
    "date": lambda scene: not scene.date,
    "url": lambda scene: not scene.urls,
    "studio": lambda scene: scene.studio_id is None,
    "performers": lambda scene: not scene.performer_ids,
    "tags": lambda scene: not scene.tag_ids,
    "groups": lambda scene: not scene.groups_links,
    "movie": lambda scene: not scene.groups_links,
    "galleries": lambda scene: not scene.gallery_ids,
    "stash_id": lambda scene: not scene.stash_ids,
    "file": lambda scene: not scene.files,
}


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


def _is_missing(criterion: str) -> ScenePredicate:
    check = _MISSING_CHECKS.get(criterion)
    if check is None:
        raise FilterError(f"no such column: scenes.{criterion}")
    return check


_LINK_MODIFIERS = frozenset({"INCLUDES", "INCLUDES_ALL", "EXCLUDES", "IS_NULL", "NOT_NULL"})


def _link_ids(values: list[str] | None) -> list[int | None]:
    """Criterion ids as row ids; one that is not a number matches no row (as in Stash's SQL)."""
    return [int(v) if v.isascii() and v.isdigit() else None for v in values or []]


def _links_predicate(
    key: str,
    criterion: dict[str, Any],
    read: Callable[[SceneRecord], list[int]],
    *,
    hierarchical: bool,
) -> ScenePredicate:
    """Stash's multi-criterion on a scene's links (criterion_handlers.go), direct links only.

    IS_NULL / NOT_NULL: no link / some link, whatever the values. EXCLUDES joins ``value`` to
    ``excludes``. Then, with neither values nor excludes the criterion matches everything;
    INCLUDES wants any value linked, INCLUDES_ALL every value (``count(distinct) = len(value)``,
    so a repeated id never matches); a scene linked to any of ``excludes`` never matches.
    Hierarchical criteria also match the sub-tags, sub-studios or sub-groups of each value for
    ``depth`` > 0 (or -1, all levels); the emulator does not follow hierarchies, so it refuses
    such a depth rather than answer as if it were 0.
    """
    modifier = criterion["modifier"]
    if modifier not in _LINK_MODIFIERS:
        raise FilterError(
            f"modifier {modifier} is not supported for {key} by the emulator "
            f"(supported: {', '.join(sorted(_LINK_MODIFIERS))})"
        )
    depth = criterion.get("depth") if hierarchical else None
    if depth not in (None, 0):
        raise FilterError(
            f"{key}: depth {depth} is not supported by the emulator, which does not follow "
            "hierarchies; use depth 0 or leave it out (direct links only)"
        )
    if modifier in {"IS_NULL", "NOT_NULL"}:
        wanted = modifier == "NOT_NULL"
        return lambda scene: bool(read(scene)) == wanted
    values, excludes = _link_ids(criterion.get("value")), _link_ids(criterion.get("excludes"))
    if modifier == "EXCLUDES":
        modifier, values, excludes = "INCLUDES_ALL", [], excludes + values
    if not values and not excludes:
        return lambda _scene: True
    excluded = set(excludes)

    def matches(scene: SceneRecord) -> bool:
        linked = set(read(scene))
        if linked & excluded:
            return False
        if not values:
            return True
        found = {value for value in values if value in linked}
        return bool(found) if modifier == "INCLUDES" else len(found) == len(values)

    return matches


def _links(
    key: str, read: Callable[[SceneRecord], list[int]], *, hierarchical: bool
) -> Callable[[Any], ScenePredicate]:
    return lambda criterion: _links_predicate(key, criterion, read, hierarchical=hierarchical)


def _text_column(key: str) -> Callable[[Any], ScenePredicate]:
    return lambda criterion: _string_predicate(criterion, lambda scene: [getattr(scene, key)])


def _timestamp_column(key: str) -> Callable[[Any], ScenePredicate]:
    return lambda criterion: _timestamp_predicate(criterion, lambda scene: getattr(scene, key))


_CRITERIA: dict[str, Callable[[Any], ScenePredicate]] = {
    "AND": _with_or,
    "OR": _or_misplaced,
    "NOT": _not,
    "id": lambda criterion: _int_predicate(criterion, lambda scene: scene.id),
    "rating100": lambda criterion: _int_predicate(criterion, lambda scene: scene.rating100),
    "file_count": lambda criterion: _int_predicate(criterion, lambda scene: len(scene.files)),
    "title": _text_column("title"),
    "code": _text_column("code"),
    "details": _text_column("details"),
    "director": _text_column("director"),
    "path": lambda criterion: _string_predicate(
        criterion, lambda scene: [file.path for file in scene.files] or [None]
    ),
    "organized": lambda criterion: lambda scene: scene.organized == criterion,
    "is_missing": _is_missing,
    "performers": _links("performers", lambda scene: scene.performer_ids, hierarchical=False),
    "tags": _links("tags", lambda scene: scene.tag_ids, hierarchical=True),
    "groups": _links(
        "groups", lambda scene: [link.group_id for link in scene.groups_links], hierarchical=True
    ),
    "studios": _links(
        "studios",
        lambda scene: [] if scene.studio_id is None else [scene.studio_id],
        hierarchical=True,
    ),
    "date": _date_predicate,
    "created_at": _timestamp_column("created_at"),
    "updated_at": _timestamp_column("updated_at"),
}


def _criterion_predicate(key: str, criterion: Any) -> ScenePredicate:
    build = _CRITERIA.get(key)
    if build is None:
        raise FilterError(f"scene filter criterion {key!r} is not supported by the emulator")
    return build(criterion)


_SORT_KEYS: dict[str, Callable[[SceneRecord], Any]] = {
    "id": lambda scene: scene.id,
    "title": lambda scene: ((scene.title or "").lower(), scene.id),
    "date": lambda scene: (_normalized_date(scene.date) or "", scene.id),
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


def find_scenes(
    all_scenes: list[SceneRecord],
    find_filter: dict[str, Any] | None,
    scene_filter: dict[str, Any] | None,
    ids: list[int] | None,
) -> tuple[int, list[SceneRecord], list[SceneRecord]]:
    """Return (count ignoring paging, the requested page, every match in order)."""
    predicate = _with_or(scene_filter)
    wanted = set(ids) if ids is not None else None
    matched = [
        scene for scene in all_scenes if (wanted is None or scene.id in wanted) and predicate(scene)
    ]
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
