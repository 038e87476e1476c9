"""ID strings as Stash converts them: Go's `strconv.Atoi`, with Stash's error wording.

GraphQL `ID`s arrive as strings; Stash converts each with `strconv.Atoi` and, in most resolvers,
wraps the error with what it was converting ("converting id: ...", "converting source ids: ...").
`findScenes(ids:)` also refuses duplicates (internal/api/input.go, `handleIDList`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

_ATOI = re.compile(r"^[+-]?[0-9]+$")
_INT64_MAX = 2**63 - 1


class StashIdError(ValueError):
    """An ID that is not a decimal integer (answered as a GraphQL error, as in Stash)."""


def parse_stash_id(raw: Any, context: str | None = None) -> int:
    """`strconv.Atoi(raw)`; the message is Go's, prefixed with `context` when Stash wraps it."""
    text = str(raw)
    prefix = f"{context}: " if context else ""
    if not _ATOI.match(text):
        raise StashIdError(f'{prefix}strconv.Atoi: parsing "{text}": invalid syntax')
    value = int(text, 10)
    if abs(value) > _INT64_MAX:
        raise StashIdError(f'{prefix}strconv.Atoi: parsing "{text}": value out of range')
    return value


def parse_id_list(values: Sequence[Any], context: str) -> list[int]:
    """`stringslice.StringSliceToIntSlice` wrapped as the resolver wraps it."""
    return [parse_stash_id(value, context) for value in values]


def handle_id_list(values: Sequence[str], field: str) -> list[int]:
    """internal/api/input.go, `handleIDList`: no duplicate strings, then Atoi each."""
    seen: set[str] = set()
    for value in values:
        if value in seen:
            raise StashIdError(f"validating {field}: duplicate id found: {value}")
        seen.add(value)
    return parse_id_list(values, f"converting {field}")
