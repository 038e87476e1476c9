"""One thread that shuts sockets down at their deadlines, for every request of the process.

A blocked ``recv`` cannot be interrupted from Python; shutting its socket down from another
thread ends it. ``bounded_http`` needs that around every request (the wait for the status line
and headers). A ``threading.Timer`` per request did it at about 0.2 ms of CPU each (a thread
started and stopped), some 7 % of a first sync's CPU at three requests per scene. Here one
thread keeps every deadline in a heap and sleeps until the earliest.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import socket
import threading
import time
from typing import Final

#: Released entries the heap may carry beyond twice the armed ones before it is rebuilt.
COMPACT_SLACK: Final = 64


class SocketDeadlines:
    """Arm a socket with a deadline (``time.monotonic``); disarm it when the wait is over.

    A socket still armed at its deadline is shut down (both ways), under the same lock as
    :meth:`disarm`: once ``disarm`` returns, that socket is never cut for that arming, so a
    connection handed back to its pool cannot be cut under its next request.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._heap: list[tuple[float, int]] = []
        self._armed: dict[int, socket.socket] = {}
        self._tokens = itertools.count()
        self._thread: threading.Thread | None = None

    def arm(self, deadline: float, sock: socket.socket) -> int:
        """Watch ``sock`` until ``deadline``; returns the token :meth:`disarm` takes."""
        with self._cond:
            token = next(self._tokens)
            self._armed[token] = sock
            heapq.heappush(self._heap, (deadline, token))
            if len(self._heap) > 2 * len(self._armed) + COMPACT_SLACK:
                self._heap = [entry for entry in self._heap if entry[1] in self._armed]
                heapq.heapify(self._heap)
            if self._thread is None or not self._thread.is_alive():  # first use, or a fork
                self._thread = threading.Thread(
                    target=self._watch, name="socket-deadlines", daemon=True
                )
                self._thread.start()
            elif self._heap[0][1] == token:
                self._cond.notify()  # earlier than what the watcher sleeps towards
            return token

    def disarm(self, token: int) -> None:
        with self._cond:
            self._armed.pop(token, None)

    def armed(self) -> int:
        """Sockets armed now (for tests and status)."""
        with self._cond:
            return len(self._armed)

    def _watch(self) -> None:
        with self._cond:
            while True:
                heap = self._heap
                while heap and heap[0][1] not in self._armed:
                    heapq.heappop(heap)
                if not heap:
                    self._cond.wait()
                    continue
                deadline, token = heap[0]
                left = deadline - time.monotonic()
                if left > 0:
                    self._cond.wait(left)
                    continue
                heapq.heappop(heap)
                with contextlib.suppress(OSError):
                    self._armed.pop(token).shutdown(socket.SHUT_RDWR)


#: The process's one watcher, shared by every bounded session.
SOCKET_DEADLINES: Final = SocketDeadlines()
