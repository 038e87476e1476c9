"""Tags as the server owns them: one global row per (tag type, name), spelled once.

PMS keeps tags in one table; items only link to rows (plexapi PR #510: "adding an actor with the
same name that already exists in a different movie use[s] the same role `id` and `filter`").
The row's identity ignores case and its first spelling wins: an edit sending `action` when
`Action` exists links `Action` (Kometa #2676 and PR #3190: a collection sent as "The Water of
the Hills" came back as "The Water Of The Hills", so Kometa had to match case-insensitively).
Some servers capitalise the spelling of a new row (Kometa #201: label `.hidden` became
`.Hidden`); that is the `tag_capitalization` knob. Rows are never deleted here, as PMS keeps an
unused tag until its database is optimised.
"""

from __future__ import annotations

import threading

from stashplex.sandbox.plex.realism import Realism


def capitalize(name: str, mode: str) -> str:
    """Upper-case the first letter of the name ("first-letter") or of every word ("each-word").

    Only the first letter of a word changes (`.hidden` -> `.Hidden`, `of` -> `Of`); the rest
    is kept, so `McQueen` stays `McQueen`.
    """
    if mode == "none":
        return name
    words = name.split(" ") if mode == "each-word" else [name]
    shaped = []
    for word in words:
        letter = next((i for i, char in enumerate(word) if char.isalpha()), None)
        if letter is None:
            shaped.append(word)
        else:
            shaped.append(word[:letter] + word[letter].upper() + word[letter + 1 :])
    return " ".join(shaped)


class TagRegistry:
    """The global tag rows: ids and the spelling the server reports for every name."""

    def __init__(self, realism: Realism) -> None:
        self._realism = realism
        self._lock = threading.Lock()
        self._ids: dict[tuple[str, str], int] = {}
        self._spellings: dict[tuple[str, str], str] = {}

    def identity(self, name: str) -> str:
        """What makes two names the same row: case-folded when the habit is on."""
        return name.casefold() if self._realism.tag_spelling else name

    def spelling(self, tag_type: str, name: str) -> str:
        """The row's spelling for `name`, creating the row (in this spelling) if it is new."""
        key = (tag_type, self.identity(name))
        with self._lock:
            found = self._spellings.get(key)
            if found is None:
                found = self._spellings[key] = capitalize(name, self._realism.tag_capitalization)
                self._ids[key] = len(self._ids) + 1
            return found

    def id(self, tag_type: str, name: str) -> int:
        """The row id; rows are created on first sight, like PMS does on the first link."""
        key = (tag_type, self.identity(name))
        with self._lock:
            found = self._ids.get(key)
            if found is None:
                self._spellings[key] = name
                found = self._ids[key] = len(self._ids) + 1
            return found

    def rows(self) -> dict[str, list[str]]:
        """Every row's spelling by tag type (for the admin API and tests)."""
        with self._lock:
            result: dict[str, list[str]] = {}
            for (tag_type, _), spelling in sorted(self._spellings.items()):
                result.setdefault(tag_type, []).append(spelling)
            return result
