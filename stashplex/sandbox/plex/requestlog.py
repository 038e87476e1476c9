"""Every Plex request the emulator received, so tests and benchmarks count what a client sent.

Paths are also kept in a normalised template form (`/library/metadata/{id}`), which is what a test
usually wants to count: "one detail fetch per item", whatever the ids were.
"""

from __future__ import annotations

import re
import threading
import time
from collections import Counter
from dataclasses import dataclass

_NUMERIC_SEGMENT = re.compile(r"(?<=/)\d+(?:,\d+)*(?=/|$)")
_SECRET_PARAMS = frozenset({"x-plex-token"})
REDACTED = "<redacted>"


def template_of(path: str) -> str:
    """`/library/sections/3/all` -> `/library/sections/{id}/all`; comma id lists count as one."""
    return _NUMERIC_SEGMENT.sub("{id}", path)


@dataclass(frozen=True, slots=True)
class RequestRecord:
    """One received request; the query is decoded and the token redacted."""

    method: str
    path: str
    template: str
    query: dict[str, str]
    container_start: int | None = None
    container_size: int | None = None
    #: When it arrived (epoch seconds): lets tests prove nothing reached Plex in a window.
    at: float = 0.0

    def as_json(self) -> dict[str, object]:
        return {
            "method": self.method,
            "path": self.path,
            "template": self.template,
            "query": self.query,
            "containerStart": self.container_start,
            "containerSize": self.container_size,
            "at": self.at,
        }


class RequestLog:
    """Thread-safe append-only log with counters per method and path/template."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: list[RequestRecord] = []
        self._by_path: Counter[tuple[str, str]] = Counter()
        self._by_template: Counter[tuple[str, str]] = Counter()

    def record(
        self,
        method: str,
        path: str,
        pairs: list[tuple[str, str]],
        container_start: int | None = None,
        container_size: int | None = None,
    ) -> RequestRecord:
        query = {key: REDACTED if key.lower() in _SECRET_PARAMS else value for key, value in pairs}
        entry = RequestRecord(
            method, path, template_of(path), query, container_start, container_size, time.time()
        )
        with self._lock:
            self._entries.append(entry)
            self._by_path[(method, path)] += 1
            self._by_template[(method, entry.template)] += 1
        return entry

    def count(
        self, method: str | None = None, path: str | None = None, template: str | None = None
    ) -> int:
        """How many requests matched every filter given (method, exact path, path template)."""
        method = method.upper() if method else None
        with self._lock:
            if method and path and template is None:
                return self._by_path[(method, path)]
            if method and template and path is None:
                return self._by_template[(method, template)]
            return sum(
                1
                for entry in self._entries
                if (method is None or entry.method == method)
                and (path is None or entry.path == path)
                and (template is None or entry.template == template)
            )

    @property
    def entries(self) -> list[RequestRecord]:
        with self._lock:
            return list(self._entries)

    def counts(self) -> dict[str, int]:
        """`"GET /library/metadata/{id}": n` for every method and template seen."""
        with self._lock:
            return {f"{m} {t}": n for (m, t), n in sorted(self._by_template.items())}

    def reset(self) -> None:
        with self._lock:
            self._entries.clear()
            self._by_path.clear()
            self._by_template.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)
