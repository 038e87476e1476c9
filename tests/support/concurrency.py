"""Measuring how many calls run at once."""

from __future__ import annotations

import threading
import time


class PeakMeter:
    """Counts the calls inside :meth:`hold` now, and the most there ever were at once."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.now = 0
        self.peak = 0

    def hold(self, seconds: float) -> None:
        """Be one of the calls running for ``seconds``."""
        with self._lock:
            self.now += 1
            self.peak = max(self.peak, self.now)
        time.sleep(seconds)
        with self._lock:
            self.now -= 1
