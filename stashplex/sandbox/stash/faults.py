"""Failure modes a sync must survive: Stash down, Stash slow, Stash answering with errors."""

from __future__ import annotations

import threading
from collections.abc import Callable


class StashFaults:
    """`down()` really closes the listening socket; `up()` reopens it on the same port."""

    def __init__(
        self, close_listener: Callable[[], None], open_listener: Callable[[], None]
    ) -> None:
        self._close_listener = close_listener
        self._open_listener = open_listener
        self._lock = threading.Lock()
        self.delay_s = 0.0
        self.graphql_errors_on = False
        self.is_down = False

    def down(self) -> None:
        with self._lock:
            if not self.is_down:
                self._close_listener()
                self.is_down = True

    def up(self) -> None:
        with self._lock:
            if self.is_down:
                self._open_listener()
                self.is_down = False

    def slow(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("delay must be >= 0 seconds")
        self.delay_s = seconds

    def graphql_errors(self, on: bool = True) -> None:
        self.graphql_errors_on = on

    def clear(self) -> None:
        self.delay_s = 0.0
        self.graphql_errors_on = False
        self.up()
