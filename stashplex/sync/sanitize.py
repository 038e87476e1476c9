"""Turn whatever text and dates a Stash user typed into values Plex can store and show.

Stash is user data: titles pasted from web pages carry NFD accents, NUL bytes, bidi overrides and
zero-width spaces; details run to many kilobytes; dates can be ``2021-02-30``. Plex serves every
value back inside XML 1.0, where control characters and lone surrogates are illegal, and a field
edit travels in a URL, so everything we write is cleaned here first, by rules that never raise on
any string.

Choices worth knowing:

* Control characters (C0, DEL, C1) go. Vertical tab, form feed, NEL and the Unicode line and
  paragraph separators count as line breaks; a single-line value turns every run of whitespace
  into one space, a multi-line value keeps every ``\\n`` and ``\\t``, blank lines and the spaces
  before a line break (Markdown's hard line break) included: a summary is shown as it was typed.
  Only the whitespace around the whole value is trimmed.
* Zero-width space, word joiner, BOM and the bidi embedding/override/isolate controls go: they are
  invisible, and an unbalanced override scrambles how the rest of a Plex row is displayed. The
  left-to-right/right-to-left *marks* stay (they are harmless and needed in mixed-direction text),
  and so does the zero-width non-joiner, which Persian and Indic spellings rely on.
* The zero-width joiner stays only between two emoji parts (``👩‍💻``, ``❤️‍🔥``), where it builds one
  pictograph; anywhere else it is invisible noise.
* Only two values have a length limit, and the sanitizer only cuts where one is given:
  :data:`MAX_SUMMARY_LEN` and :data:`MAX_NAME_LEN`. :func:`clean_text_cut` says when it cut, so
  the caller can warn. Titles and lists of names have no limit, as in Plex.
* Truncation counts code points (what Plex and Python count), cuts at a word boundary when one is
  near, never splits a grapheme (base letter + combining marks, emoji sequence, flag), and ends with
  ``…`` without ever exceeding the limit.
"""

from __future__ import annotations

import calendar
import re
import unicodedata
from collections.abc import Iterable
from itertools import pairwise

from pydantic import BaseModel, ConfigDict, model_validator

#: Longest summary (Stash ``details``). Plex documents no limit, but every edit travels in the
#: URL's query string, where non-ASCII text triples in size; past this a summary risks an edit
#: the server refuses. Cutting is logged as a warning (see ``stashplex.sync.scene``).
MAX_SUMMARY_LEN = 10_000
#: Longest single name: tag, performer, studio, group, director, studio code. A longer "name" is
#: pasted text; cutting one is logged as a warning.
MAX_NAME_LEN = 255

ELLIPSIS = "…"

_ZWJ = "\u200d"
_LINE_BREAKS = re.compile("\r\n?|[\x0b\x0c\x85\u2028\u2029]")
_UNWANTED = re.compile(
    "["
    "\x00-\x08\x0b-\x1f\x7f-\x9f"  # C0 except tab and LF, DEL, C1
    "\u200b\u2060\ufeff\u180e"  # zero-width space, word joiner, BOM, Mongolian vowel separator
    "\u202a-\u202e"  # bidi embeddings and overrides
    "\u2066-\u2069"  # bidi isolates
    "\ufff9-\ufffb"  # interlinear annotation controls
    "\ufffe\uffff"  # non-characters XML 1.0 forbids
    "\ud800-\udfff"  # lone surrogates (JSON lets them through; UTF-8 cannot encode them)
    "]+"
)
_JOINERS = re.compile(_ZWJ + "+")
_ANY_WHITESPACE = re.compile(r"\s+")
_DATE_SHAPE = re.compile(r"([0-9]{4})(?:-([0-9]{2})(?:-([0-9]{2}))?)?")

#: A word-boundary cut may give up at most this share of the budget; past it, a hard cut at a
#: grapheme boundary keeps more of the text (long words, CJK text without spaces, URLs).
_MAX_WORD_CUT_LOSS = 0.4


def _is_emoji_part(char: str) -> bool:
    """Characters that can sit on either side of a joiner inside one emoji sequence."""
    code = ord(char)
    return (
        unicodedata.category(char) == "So"
        or 0x1F000 <= code <= 0x1FAFF
        or code == 0xFE0F  # emoji presentation selector, as in ❤️‍🔥
        or 0xE0020 <= code <= 0xE007F  # tag characters of subdivision flags
    )


def _extends_grapheme(char: str, previous: str) -> bool:
    """Whether ``char`` belongs to the grapheme ``previous`` is part of (a practical subset of
    Unicode's segmentation rules, enough to keep accents, emoji sequences and flags whole)."""
    code = ord(char)
    return (
        unicodedata.category(char) in {"Mn", "Mc", "Me"}
        or _ZWJ in (char, previous)
        or 0xFE00 <= code <= 0xFE0F
        or 0xE0100 <= code <= 0xE01EF
        or 0x1F3FB <= code <= 0x1F3FF  # skin-tone modifiers
        or 0xE0020 <= code <= 0xE007F
    )


def _is_regional_indicator(char: str) -> bool:
    return 0x1F1E6 <= ord(char) <= 0x1F1FF


def _is_grapheme_boundary(text: str, index: int) -> bool:
    """Whether a user-perceived character starts at ``index`` (0 < index < len(text))."""
    char, previous = text[index], text[index - 1]
    if _extends_grapheme(char, previous):
        return False
    if _is_regional_indicator(char) and _is_regional_indicator(previous):
        run_start = index - 1
        while run_start > 0 and _is_regional_indicator(text[run_start - 1]):
            run_start -= 1
        return (index - run_start) % 2 == 0  # flags pair regional indicators from the left
    return True


def grapheme_boundaries(text: str) -> list[int]:
    """Indices where a user-perceived character starts, then ``len(text)``."""
    inner = [index for index in range(1, len(text)) if _is_grapheme_boundary(text, index)]
    return [0, *inner, len(text)] if text else [0]


def last_grapheme_boundary(text: str, limit: int) -> int:
    """The last index at or before ``limit`` where ``text`` may be cut; scans back from
    ``limit``, so truncating a huge value costs almost nothing."""
    index = min(limit, len(text))
    while 0 < index < len(text) and not _is_grapheme_boundary(text, index):
        index -= 1
    return index


def graphemes(text: str) -> list[str]:
    """Split text into user-perceived characters, so truncation never strands an accent."""
    return [text[start:end] for start, end in pairwise(grapheme_boundaries(text))]


def _keep_emoji_joiner(match: re.Match[str]) -> str:
    text, start, end = match.string, match.start(), match.end()
    if (
        start > 0
        and end < len(text)
        and _is_emoji_part(text[start - 1])
        and _is_emoji_part(text[end])
    ):
        return _ZWJ
    return ""


def _drop_invisible(text: str) -> str:
    text = _UNWANTED.sub("", text)
    return _JOINERS.sub(_keep_emoji_joiner, text) if _ZWJ in text else text


def truncate(text: str, max_len: int) -> str:
    """Shorten to at most ``max_len`` code points, ending in ``…`` when anything was cut."""
    if max_len < 1:
        msg = f"max_len must be at least 1, got {max_len}"
        raise ValueError(msg)
    if len(text) <= max_len:
        return text
    budget = max_len - len(ELLIPSIS)
    kept = last_grapheme_boundary(text, budget)
    prefix = text[:kept]
    if not text[kept].isspace():
        last_space = max(prefix.rfind(" "), prefix.rfind("\n"), prefix.rfind("\t"))
        if last_space > 0 and kept - last_space <= budget * _MAX_WORD_CUT_LOSS:
            prefix = prefix[:last_space]
    return prefix.rstrip() + ELLIPSIS


def clean_text(value: str | None, *, max_len: int | None, multiline: bool = False) -> str:
    """The form of a Stash text value that is safe to write to Plex (see the module notes);
    ``max_len`` None means no limit."""
    return clean_text_cut(value, max_len=max_len, multiline=multiline)[0]


def clean_text_cut(
    value: str | None, *, max_len: int | None, multiline: bool = False
) -> tuple[str, bool]:
    """:func:`clean_text`, and whether the limit cut the value (so the caller can warn)."""
    if value is None:
        return "", False
    if not isinstance(value, str):
        msg = f"expected text, got {type(value).__name__}"
        raise TypeError(msg)
    # A single-line value's line breaks and tabs become spaces in the whitespace collapse below.
    text = _LINE_BREAKS.sub("\n", value)
    text = unicodedata.normalize("NFC", _drop_invisible(text))
    if not multiline:
        text = _ANY_WHITESPACE.sub(" ", text)
    text = text.strip()
    if max_len is None or len(text) <= max_len:
        return text, False
    return truncate(text, max_len), True


def name_key(name: str) -> str:
    """How two names are compared for "the same name": Stash's own tags differ only in case."""
    return unicodedata.normalize("NFC", name).casefold()


def clean_names(names: Iterable[str | None]) -> tuple[str, ...]:
    """Cleaned, non-empty names, deduplicated case-insensitively keeping the first spelling and
    the original order; each at most :data:`MAX_NAME_LEN` long."""
    seen: set[str] = set()
    result: list[str] = []
    for raw in names:
        name = clean_text(raw, max_len=MAX_NAME_LEN)
        key = name_key(name)
        if not name or key in seen:
            continue
        seen.add(key)
        result.append(name)
    return tuple(result)


def names_cut(names: Iterable[str | None]) -> list[str]:
    """The names :func:`clean_names` would cut to :data:`MAX_NAME_LEN`, shortened for a log line.

    Cleaning shortens text (NFC lengthens only a few rare characters, ignored here), so only raw
    names past the limit are cleaned twice: ordinary names cost one length check each.
    """
    cut: list[str] = []
    for raw in names:
        if isinstance(raw, str) and len(raw) > MAX_NAME_LEN:
            name, was_cut = clean_text_cut(raw, max_len=MAX_NAME_LEN)
            if was_cut:
                cut.append(name[:40] + ELLIPSIS)
    return cut


class PartialDate(BaseModel):
    """A Stash date at the precision it was entered: a year, a month, or a day."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    year: int
    month: int | None = None
    day: int | None = None

    @model_validator(mode="after")
    def _check_calendar(self) -> PartialDate:
        problem = _calendar_problem(self.year, self.month, self.day)
        if problem:
            raise ValueError(problem)
        return self

    def isoformat(self) -> str:
        """``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD``, as precise as the source."""
        text = f"{self.year:04d}"
        if self.month is not None:
            text += f"-{self.month:02d}"
        if self.day is not None:
            text += f"-{self.day:02d}"
        return text

    def plex_date(self) -> str:
        """Plex only stores whole dates, so a missing month or day becomes the first one."""
        return f"{self.year:04d}-{self.month or 1:02d}-{self.day or 1:02d}"

    def __str__(self) -> str:
        return self.isoformat()


def _calendar_problem(year: int, month: int | None, day: int | None) -> str | None:
    if not 1 <= year <= 9999:
        return f"year {year} is outside 1..9999"
    if month is None:
        return "a day needs a month" if day is not None else None
    if not 1 <= month <= 12:
        return f"month {month} is outside 1..12"
    if day is None:
        return None
    last_day = calendar.monthrange(year, month)[1]
    if not 1 <= day <= last_day:
        return f"day {day} does not exist in {year:04d}-{month:02d} (last day {last_day})"
    return None


def _split_date(value: str) -> tuple[int, int | None, int | None] | str:
    match = _DATE_SHAPE.fullmatch(value.strip())
    if not match:
        return f"{value!r} is not a date of the form YYYY, YYYY-MM or YYYY-MM-DD"
    year, month, day = match.groups()
    return int(year), None if month is None else int(month), None if day is None else int(day)


def date_problem(value: str | None) -> str | None:
    """Why :func:`parse_partial_date` rejects ``value``, or None when it does not (an absent or
    blank date is not a problem, just no date)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str):
        return f"a date must be text, got {type(value).__name__}"
    parts = _split_date(value)
    if isinstance(parts, str):
        return parts
    problem = _calendar_problem(*parts)
    return f"{value!r}: {problem}" if problem else None


def parse_partial_date(value: str | None) -> PartialDate | None:
    """The date in ``value``; None when absent or invalid (:func:`date_problem` says why)."""
    if not isinstance(value, str) or not value.strip():
        return None
    parts = _split_date(value)
    if isinstance(parts, str) or _calendar_problem(*parts):
        return None
    year, month, day = parts
    return PartialDate(year=year, month=month, day=day)
