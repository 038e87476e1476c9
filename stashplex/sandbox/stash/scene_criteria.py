"""The single criteria of SceneFilterType, compiled to predicates the way Stash's SQL matches.

Sources: pkg/sqlite/sql.go (numeric, date and timestamp clauses), criterion_handlers.go (strings,
links), scene_filter.go (`is_missing`). `scene_query.py` combines them (AND/OR/NOT) and pages.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from stashplex.sandbox.stash.records import SceneRecord
from stashplex.sandbox.stash.sql_text import like, search_words

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


def int_predicate(criterion: dict[str, Any], read: Callable[[SceneRecord], Any]) -> ScenePredicate:
    """`getIntWhereClause`: a missing `value2` is 0, so `BETWEEN 5` means `BETWEEN 5 AND 0`."""
    modifier, value = criterion["modifier"], criterion["value"]
    value2 = criterion.get("value2")
    if value2 is None:
        value2 = 0
    matches = _comparison(modifier, value, value2)
    return lambda scene: matches(read(scene))


def timestamp_predicate(
    criterion: dict[str, Any], read: Callable[[SceneRecord], str | None]
) -> ScenePredicate:
    """Plain text comparison with the stored strings (`getTimestampWhereClause`).

    A missing upper bound was filled in by `find_scenes` with the server's "now + 1 day".
    """
    modifier, value = criterion["modifier"], criterion["value"]
    value2 = criterion.get("value2")
    matches = _comparison(modifier, value, value2)
    return lambda scene: matches(read(scene))


def normalized_date(date: str | None) -> str | None:
    if not date:
        return None
    return date + "-01" * (2 - date.count("-"))


def date_predicate(criterion: dict[str, Any]) -> ScenePredicate:
    value = normalized_date(criterion["value"])
    value2 = normalized_date(criterion.get("value2")) or value
    matches = _comparison(criterion["modifier"], value, value2)
    return lambda scene: matches(normalized_date(scene.date))


def _regex(value: str) -> re.Pattern[str]:
    try:
        return re.compile(value)
    except re.error as error:
        raise FilterError(f"invalid regex {value!r}: {error}") from error


def _string_matcher(modifier: str, value: str) -> Callable[[str | None], bool]:
    """`stringCriterionHandler`: LIKE patterns; INCLUDES wants any word, EXCLUDES none.

    Stash stores an empty text column as NULL, and NULL matches no LIKE and no NOT LIKE.
    """
    patterns = [f"%{word}%" for word in search_words(value)]

    def text(actual: str | None) -> str | None:
        return actual if actual else None

    matchers: dict[str, Callable[[str | None], bool]] = {
        "IS_NULL": lambda actual: actual is None or actual.strip() == "",
        "NOT_NULL": lambda actual: actual is not None and actual.strip() != "",
        "EQUALS": lambda actual: like(value, text(actual)),
        "NOT_EQUALS": lambda actual: text(actual) is not None and not like(value, actual),
        "INCLUDES": lambda actual: any(like(p, text(actual)) for p in patterns),
        "EXCLUDES": lambda actual: (
            text(actual) is not None and not any(like(p, actual) for p in patterns)
        ),
    }
    if modifier in {"MATCHES_REGEX", "NOT_MATCHES_REGEX"}:
        pattern, wanted = _regex(value), modifier == "MATCHES_REGEX"
        if wanted:
            return lambda actual: actual is not None and pattern.search(actual) is not None
        return lambda actual: actual is None or pattern.search(actual) is None
    matcher = matchers.get(modifier)
    if matcher is None:
        raise FilterError(f"unsupported modifier {modifier} for a string criterion")
    return matcher


def string_predicate(
    criterion: dict[str, Any], read: Callable[[SceneRecord], list[str | None]]
) -> ScenePredicate:
    matches = _string_matcher(criterion["modifier"], criterion["value"])
    return lambda scene: any(matches(text) for text in read(scene))


#: scene_filter.go, `isMissingCriterionHandler`: named cases, else the column itself is checked for
#: NULL or blank (a name that is no column of `scenes` is an SQL error).
_MISSING_CHECKS: dict[str, ScenePredicate] = {
    "url": lambda scene: not scene.urls,
    "galleries": lambda scene: not scene.gallery_ids,
    "studio": lambda scene: scene.studio_id is None,
    "movie": lambda scene: not scene.groups_links,
    "group": lambda scene: not scene.groups_links,
    "performers": lambda scene: not scene.performer_ids,
    "date": lambda scene: not scene.date,
    "tags": lambda scene: not scene.tag_ids,
    "stash_id": lambda scene: not scene.stash_ids,
    "phash": lambda scene: not any(file.phash for file in scene.files),
    "cover": lambda scene: scene.cover is None,
    # the default branch, for the text and number columns the emulator keeps
    "title": lambda scene: not (scene.title or "").strip(),
    "code": lambda scene: not (scene.code or "").strip(),
    "details": lambda scene: not (scene.details or "").strip(),
    "director": lambda scene: not (scene.director or "").strip(),
    "rating": lambda scene: scene.rating100 is None,
}


def is_missing(criterion: str) -> ScenePredicate:
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


def links(
    key: str, read: Callable[[SceneRecord], list[int]], *, hierarchical: bool
) -> Callable[[Any], ScenePredicate]:
    return lambda criterion: _links_predicate(key, criterion, read, hierarchical=hierarchical)


def text_column(key: str) -> Callable[[Any], ScenePredicate]:
    return lambda criterion: string_predicate(criterion, lambda scene: [getattr(scene, key)])


def timestamp_column(key: str) -> Callable[[Any], ScenePredicate]:
    return lambda criterion: timestamp_predicate(criterion, lambda scene: getattr(scene, key))
