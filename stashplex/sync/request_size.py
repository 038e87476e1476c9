"""Plex edits travel in the query string, so their size is bounded by the request line.

plexapi sends ``item.edit(**params)`` as one ``PUT`` with every field in the URL. Plex itself
takes long lines, but the reverse proxies people put in front of it do not: nginx's default
``large_client_header_buffers 4 8k`` answers ``414 Request-URI Too Large`` past 8 KiB. A
10,000-character summary in Japanese is ~90 KB once percent-encoded.

So the edit is split into requests of their own per field (a field's value, its tag list and its
lock always travel together: a tag list is replaced whole by each request that names it), and a
value too big for any request is cut *before* the diff, so what we write is exactly what we
compare against next time (no write loop on a value Plex can never hold in full).
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from typing import Any

#: The budget of one request's query string by default: nginx's 8 KiB line minus the method,
#: the path, plexapi's own ``type``/``id`` parameters and the protocol (``settings`` may lower it).
DEFAULT_MAX_QUERY_BYTES = 7 * 1024
#: Room kept in each request for what plexapi adds (``type=1&id=123456&includeExternalMedia=1``).
RESERVED_BYTES = 128
_FIELD = re.compile(r"^(\w+)")
#: The bytes ``urllib.parse.quote`` never escapes (RFC 3986's unreserved characters).
_UNRESERVED = (string.ascii_letters + string.digits + "_.-~").encode("ascii")


def param_bytes(key: str, value: str) -> int:
    """Bytes ``key=value&`` takes in the query string, encoded as plexapi encodes it.

    plexapi's ``utils.joinArgs`` leaves the key as it is and quotes the value with
    ``quote(value, safe='')``: every UTF-8 byte but the unreserved ones becomes ``%XX`` (a
    space too, not ``+``). Counted, not built: ``quote`` works a byte at a time in Python, and
    sizing every edit with it was a tenth of a first sync's CPU.
    """
    raw = value.encode("utf-8")
    escaped = len(raw.translate(None, _UNRESERVED))
    return len(key) + 1 + len(raw) + 2 * escaped + 1


def field_of(param: str) -> str:
    """``genre[3].tag.tag`` -> ``genre``: the Plex field a parameter belongs to."""
    match = _FIELD.match(param)
    return match.group(1) if match else param


def split_edit(params: Mapping[str, str], max_bytes: int) -> list[dict[str, str]]:
    """The edit as requests that each stay within ``max_bytes``, whole fields per request.

    Fields are packed in their original order; one field bigger than the budget on its own goes
    in a request of its own (the caller fitted values beforehand, so that only happens when the
    budget was lowered after the values were fitted).
    """
    budget = max(max_bytes - RESERVED_BYTES, 1)
    groups: dict[str, dict[str, str]] = {}
    for key, value in params.items():
        groups.setdefault(field_of(key), {})[key] = value
    requests: list[dict[str, str]] = []
    current: dict[str, str] = {}
    used = 0
    for group in groups.values():
        size = sum(param_bytes(k, v) for k, v in group.items())
        if current and used + size > budget:
            requests.append(current)
            current, used = {}, 0
        current.update(group)
        used += size
    if current:
        requests.append(current)
    return requests


def fit_text(field: str, text: str, max_bytes: int) -> str:
    """``text`` cut at a word boundary so that ``field.value=text`` fits one request."""
    budget = max(max_bytes - RESERVED_BYTES - param_bytes(f"{field}.locked", "1"), 1)
    key = f"{field}.value"
    if param_bytes(key, text) <= budget:
        return text
    low, high = 0, len(text)
    while low < high:  # the longest prefix that fits (encoded size grows with length)
        middle = (low + high + 1) // 2
        if param_bytes(key, text[:middle] + "…") <= budget:
            low = middle
        else:
            high = middle - 1
    cut = text[:low]
    space = cut.rfind(" ")
    if space > low * 0.8:
        cut = cut[:space]
    return cut.rstrip() + "…"


def fit_names(field: str, names: tuple[str, ...], max_bytes: int) -> tuple[str, ...]:
    """The leading names of a tag list that fit one request (the list is replaced whole)."""
    budget = max(max_bytes - RESERVED_BYTES - param_bytes(f"{field}.locked", "1"), 1)
    used = 0
    for index, name in enumerate(names):
        used += param_bytes(f"{field}[{index}].tag.tag", name)
        if used > budget:
            return names[:index]
    return names


def fit_fields(
    desired: Mapping[str, Any], max_bytes: int
) -> tuple[dict[str, Any], list[tuple[str, int, int]]]:
    """Desired Plex fields with each value cut to fit a request of its own.

    Returns the fitted fields and, for each cut, (field, size before, size after) in characters
    or names, so the caller can say so at warning level.
    """
    fitted: dict[str, Any] = {}
    cuts: list[tuple[str, int, int]] = []
    for field, value in desired.items():
        if isinstance(value, str):
            new: Any = fit_text(field, value, max_bytes)
        elif isinstance(value, tuple):
            new = fit_names(field, value, max_bytes)
        else:
            new = value
        if len(new) != len(value):
            cuts.append((field, len(value), len(new)))
        fitted[field] = new
    return fitted, cuts
