"""SQLite's text operators as Stash's queries use them.

Stash compares names and strings with `LIKE` (pkg/sqlite/criterion_handlers.go,
`stringCriterionHandler`: EQUALS is `column LIKE ?`, INCLUDES is `column LIKE %word%` per word),
so the value is a pattern: `%` matches any run, `_` any one character, and letters compare
case-insensitively for ASCII only (SQLite's default `LIKE`; `É` and `é` differ). There is no
escape character. A NULL column matches neither `LIKE` nor `NOT LIKE`.
"""

from __future__ import annotations

import functools
import re


def _ascii_fold(text: str) -> str:
    return "".join(char.lower() if char.isascii() else char for char in text)


@functools.lru_cache(maxsize=512)
def _like_regex(pattern: str) -> re.Pattern[str]:
    parts = []
    for char in _ascii_fold(pattern):
        if char == "%":
            parts.append(".*")
        elif char == "_":
            parts.append(".")
        else:
            parts.append(re.escape(char))
    return re.compile("".join(parts), re.DOTALL)


def like(pattern: str, text: str | None) -> bool:
    """`text LIKE pattern`; False for a NULL `text` (SQL's NULL is not true)."""
    if text is None:
        return False
    return _like_regex(pattern).fullmatch(_ascii_fold(text)) is not None


def search_words(query: str) -> list[str]:
    """pkg/sqlite/sql.go `getStringSearchClause`: a value in double quotes is one phrase,
    otherwise every whitespace-separated word is a separate `%word%` pattern."""
    query = query.strip()
    trimmed = query.strip('"')
    if trimmed != query:
        return [trimmed]
    return re.sub(r"\s+", " ", query).split(" ")
