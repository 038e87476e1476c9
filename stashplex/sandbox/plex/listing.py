"""`GET /library/sections/{id}/all`: paged, sorted, filtered listings as PMS answers them.

Filters modelled: `type`, `title` (contains, case-insensitive), `file` (contains; undocumented
and not exact on real PMS, reference/plex-api.md §2.3), `limit`, `sort`, and the date
comparisons of the spec's "Media Queries" on `addedAt` / `updatedAt` with epoch seconds:
`updatedAt>>=N` (after), `updatedAt<<=N` (before), `updatedAt>=N` / `updatedAt<=N` (or equal).
A query string splits at the first `=`, so the keys arrive as `updatedAt>>`, `updatedAt>` ...
Anything else is refused with 400, so a client never mistakes an ignored filter for a result.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable

from stashplex.sandbox.plex import render, render_server
from stashplex.sandbox.plex.library import Library
from stashplex.sandbox.plex.model import MOVIE, SHOW, TYPE_NAMES, Item, PlexError
from stashplex.sandbox.plex.wire import Request

_LISTING_PARAMS = frozenset({"type", "title", "limit", "sort", "file"})
_SECTION_KINDS = {MOVIE: ("movie",), SHOW: ("show", "season", "episode")}
_DATE_FILTER = re.compile(r"^(?P<field>addedAt|updatedAt)(?P<op>>>|<<|>|<)$")
_OPERATORS: dict[str, Callable[[int, int], bool]] = {
    ">>": operator.gt,
    "<<": operator.lt,
    ">": operator.ge,
    "<": operator.le,
}


def parse_int(value: str | None, name: str, default: int | None = None) -> int | None:
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except ValueError:
        raise PlexError(400, f"{name} must be an integer, got {value!r}") from None
    if number < 0:
        raise PlexError(400, f"{name} must not be negative, got {value!r}")
    return number


def kind_of(section_type: str, type_param: str | None) -> str | None:
    """The item type a `type=` asks for; None when the section has none of that type."""
    if type_param is None or type_param == "":
        return section_type
    number = parse_int(type_param, "type")
    if number not in TYPE_NAMES:
        raise PlexError(400, f"unsupported type {type_param!r}")
    kind = TYPE_NAMES[number]
    return kind if kind in _SECTION_KINDS[section_type] else None


def _sort(lib: Library, sort: str | None) -> tuple[str, bool]:
    if not sort:
        return "titleSort", False
    if "," in sort:
        raise PlexError(400, "the emulator sorts by one field only")
    name, _, direction = sort.partition(":")
    name = name.rsplit(".", 1)[-1]
    if name not in lib.sort_fields() or direction not in ("", "asc", "desc"):
        raise PlexError(400, f"unsupported sort {sort!r}")
    return name, direction == "desc"


def _date_filters(request: Request) -> list[tuple[str, Callable[[int, int], bool], int]]:
    filters = []
    for key, value in request.pairs:
        match = _DATE_FILTER.match(key)
        if match is None:
            known = key in _LISTING_PARAMS or key.startswith(("include", "X-Plex-", "check"))
            if not known:
                raise PlexError(400, f"unsupported listing filter {key!r}")
            continue
        if not value.lstrip("-").isdigit():
            raise PlexError(400, f"{key}= needs epoch seconds, got {value!r}")
        filters.append((match["field"], _OPERATORS[match["op"]], int(value)))
    return filters


def _matches(lib: Library, item: Item, title: str | None, file_part: str | None) -> bool:
    if title and title.casefold() not in item.title.casefold():
        return False
    if not file_part:
        return True
    if lib.realism.windows:
        return any(file_part.casefold() in part.file.casefold() for part in item.parts)
    return any(file_part in part.file for part in item.parts)


def listing(lib: Library, request: Request, section_key: int) -> str:
    """The XML of one listing page (caller holds no lock; this takes the library's)."""
    filters = _date_filters(request)
    start = parse_int(request.param("X-Plex-Container-Start"), "X-Plex-Container-Start", 0) or 0
    size = parse_int(request.param("X-Plex-Container-Size"), "X-Plex-Container-Size")
    limit = parse_int(request.param("limit"), "limit")
    sort_name, descending = _sort(lib, request.param("sort"))
    with lib.lock:
        section = lib.section(section_key)
        kind = kind_of(section.type, request.param("type"))
        keys = lib.ordered(section.key, kind, sort_name, descending) if kind else []
        title, file_part = request.param("title"), request.param("file")
        if title or file_part:
            keys = [key for key in keys if _matches(lib, lib.items[key], title, file_part)]
        for field, compare, bound in filters:
            attribute = "added_at" if field == "addedAt" else "updated_at"
            keys = [k for k in keys if compare(getattr(lib.items[k], attribute), bound)]
        total = len(keys) if limit is None else min(limit, len(keys))
        end = total if size is None else min(total, start + size)
        include_guids = request.param("includeGuids") == "1"
        rows = "".join(
            render.listing_row(lib, lib.items[key], include_guids) for key in keys[start:end]
        )
        if request.param("includeMeta") == "1":
            rows = render_server.meta(section, lib.sort_fields()) + rows
        attributes = render_server.section_container_attributes(section, kind or section.type)
    return render.container(
        rows, size=max(0, end - start), totalSize=total, offset=start, **attributes
    )
