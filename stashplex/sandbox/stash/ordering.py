"""The order in which Stash lists a scene's tags, performers and groups.

Source: pkg/sqlite/scene.go (`sceneRepository`) and pkg/sqlite/repository.go (`getIDs`):

- tags: `ORDER BY COALESCE(tags.sort_name, tags.name) COLLATE NATURAL_CI ASC`
  (pkg/sqlite/tables.go, `tagTableSortSQL`). NATURAL_CI is registered in pkg/sqlite/driver.go
  from github.com/WithoutPants/sortorder `casefolded.NaturalLess`: case-folded, digit runs
  compared as numbers ("t2" < "T10"), fewer leading zeros first on a tie ("2" < "02"). The
  collation never answers "equal", so SQLite's order among equal names is unspecified; the
  emulator breaks such ties by tag id.
- performers: no ORDER BY; `performers_scenes` has `PRIMARY KEY (scene_id, performer_id)`
  (migration 35), so SQLite reads the rows through that index, in performer id order.
- groups: no ORDER BY on `groups_scenes` (primary key group_id, scene_id), read in row order,
  i.e. the order the links were written (a SET replaces them in the input's order).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable

ASCII_MAX = 0x7F


def _is_digit(char: str) -> bool:
    return "0" <= char <= "9"


def _fold(char: str) -> int:
    """The lowest code point among the character's simple case variants (Go `SimpleFold`)."""
    variants = [char, char.lower(), char.upper(), char.upper().lower(), char.lower().upper()]
    return min(ord(v) for v in variants if len(v) == 1)


def _rune_key(char: str) -> int:
    if ord(char) <= ASCII_MAX:
        return ord(char.upper())
    return _fold(char)


def _digit_run(text: str, start: int) -> tuple[int, int, str]:
    """(index after leading zeros, index after the run, the significant digits)."""
    index = start
    while index < len(text) and text[index] == "0":
        index += 1
    significant = index
    while index < len(text) and _is_digit(text[index]):
        index += 1
    return significant, index, text[significant:index]


def natural_less(first: str, second: str) -> bool:
    """`casefolded.NaturalLess`: is `first` before `second` in Stash's NATURAL_CI order?"""
    i = j = 0
    while i < len(first) and j < len(second):
        a, b = first[i], second[j]
        if not (_is_digit(a) and _is_digit(b)):
            i, j = i + 1, j + 1
            if a == b:
                continue
            key_a, key_b = _rune_key(a), _rune_key(b)
            if key_a != key_b:
                return key_a < key_b
            continue
        zeros_end_a, i, digits_a = _digit_run(first, i)
        zeros_end_b, j, digits_b = _digit_run(second, j)
        if len(digits_a) != len(digits_b):
            return len(digits_a) < len(digits_b)
        if digits_a != digits_b:
            return digits_a < digits_b
        if zeros_end_a != zeros_end_b:
            return zeros_end_a < zeros_end_b
    return len(first) - i < len(second) - j


def natural_compare(first: str, second: str) -> int:
    if natural_less(first, second):
        return -1
    if natural_less(second, first):
        return 1
    return 0


def tag_sort_key(sort_name: str | None, name: str) -> str:
    """`COALESCE(tags.sort_name, tags.name)`: Stash stores an empty sort name as NULL."""
    return sort_name or name


def sort_tags(tags: Iterable[tuple[int, str | None, str]]) -> list[int]:
    """Tag ids ordered as Stash lists a scene's tags; input is (id, sort_name, name)."""

    def compare(a: tuple[int, str | None, str], b: tuple[int, str | None, str]) -> int:
        order = natural_compare(tag_sort_key(a[1], a[2]), tag_sort_key(b[1], b[2]))
        return order or (a[0] > b[0]) - (a[0] < b[0])

    return [tag[0] for tag in sorted(tags, key=functools.cmp_to_key(compare))]
