"""What reached the emulator, so benchmarks can report how many Stash requests a sync made."""

from __future__ import annotations

import threading
from collections import Counter


class RequestCounter:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[tuple[str, str]] = Counter()
        self._total = 0

    def record_route(self, route: str) -> None:
        with self._lock:
            self._total += 1
            self._counts["route", route] += 1

    def record_graphql(self, operation: str | None, root_fields: tuple[str, ...]) -> None:
        with self._lock:
            self._counts["operation", operation or ""] += 1
            for field in root_fields:
                self._counts["root_field", field] += 1

    def count(
        self,
        root_field: str | None = None,
        route: str | None = None,
        operation: str | None = None,
    ) -> int:
        """Requests on a route, operations selecting a root field, or by operation name.

        With no argument: every HTTP request. Routes are patterns such as `/scene/{id}/screenshot`.
        """
        with self._lock:
            if route is not None:
                return self._counts["route", route]
            if root_field is not None:
                return self._counts["root_field", root_field]
            if operation is not None:
                return self._counts["operation", operation]
            return self._total

    def snapshot(self) -> dict[str, dict[str, int]]:
        with self._lock:
            result: dict[str, dict[str, int]] = {"route": {}, "root_field": {}, "operation": {}}
            for (kind, name), value in self._counts.items():
                result[kind][name] = value
            return result

    def reset(self) -> None:
        with self._lock:
            self._counts.clear()
            self._total = 0
