"""A latency model for the emulated server (issue 19): slow on purpose, and predictably so.

A real PMS spends time per request (SQLite, XML), more on large answers, much more on image
uploads (it writes and transcodes them), and serves a limited number of requests at once. The
model charges each request `base_ms + per_kb_ms * KB + upload_ms (poster/art uploads only)`,
spent while holding one of `concurrency` slots; requests beyond that wait for a slot. The
emulator's own work on the answer is part of that time, not added to it: the modelled server
takes exactly its service time (or the emulator's work, when that is longer), so `max_rate()`
is the bound a client can actually reach, whatever CPU the emulator's process is given. Off by
default so unit and integration tests stay fast. `max_rate()` gives the throughput bound a
benchmark can report next to what it measured.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from typing import Any


@dataclass(frozen=True)
class LatencySettings:
    """Costs in milliseconds; `concurrency` None means no limit on requests served at once."""

    base_ms: float = 0.0
    per_kb_ms: float = 0.0
    upload_ms: float = 0.0
    concurrency: int | None = None

    def validate(self) -> None:
        for name in ("base_ms", "per_kb_ms", "upload_ms"):
            value = getattr(self, name)
            if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
                raise ValueError(f"{name} must be a number >= 0, got {value!r}")
        concurrency = self.concurrency
        if concurrency is not None and (type(concurrency) is not int or concurrency < 1):
            raise ValueError(f"concurrency must be None or an integer >= 1, got {concurrency!r}")

    @property
    def enabled(self) -> bool:
        costs = self.base_ms or self.per_kb_ms or self.upload_ms
        return bool(costs) or self.concurrency is not None

    def service_ms(self, kilobytes: float, upload: bool = False) -> float:
        """How long one request holds its slot."""
        return self.base_ms + self.per_kb_ms * kilobytes + (self.upload_ms if upload else 0.0)


@dataclass(frozen=True)
class RequestShape:
    """One kind of request in a mix: its share (weight), its size and whether it uploads."""

    name: str
    weight: float = 1.0
    kilobytes: float = 0.0
    upload: bool = False


@dataclass(frozen=True)
class RateBound:
    """The most requests per second the server can answer for a mix (inf: no server limit)."""

    requests_per_second: float
    mean_service_ms: float
    concurrency: int | None
    #: What one client sending requests back to back can reach (1000 / mean service time).
    per_connection_per_second: float


def max_rate(settings: LatencySettings, mix: Sequence[RequestShape]) -> RateBound:
    """The theoretical bound: `concurrency` slots, each busy the mix's mean service time."""
    total = sum(shape.weight for shape in mix)
    if not mix or total <= 0:
        raise ValueError("the mix needs at least one request shape with a positive weight")
    mean = sum(s.weight * settings.service_ms(s.kilobytes, s.upload) for s in mix) / total
    per_connection = math.inf if mean == 0 else 1000.0 / mean
    if settings.concurrency is None or mean == 0:
        bound = math.inf
    else:
        bound = settings.concurrency * 1000.0 / mean
    return RateBound(bound, mean, settings.concurrency, per_connection)


class LatencyModel:
    """Applies the settings to live requests; reconfigurable while requests are in flight."""

    def __init__(self, settings: LatencySettings | None = None) -> None:
        self._lock = threading.Lock()
        self._settings = settings or LatencySettings()
        self._settings.validate()
        self._slots = self._new_slots(self._settings)
        self._release = threading.Event()
        self.waited_for_slot = 0

    @staticmethod
    def _new_slots(settings: LatencySettings) -> threading.BoundedSemaphore | None:
        if settings.concurrency is None:
            return None
        return threading.BoundedSemaphore(settings.concurrency)

    @property
    def settings(self) -> LatencySettings:
        return self._settings

    def configure(self, **changes: Any) -> LatencySettings:
        """Change some settings (names as in `LatencySettings`); returns the new settings."""
        unknown = set(changes) - set(asdict(self._settings))
        if unknown:
            raise ValueError(f"unknown latency settings {sorted(unknown)}")
        updated = replace(self._settings, **changes)
        updated.validate()
        with self._lock:
            if updated.concurrency != self._settings.concurrency:
                self._slots = self._new_slots(updated)
            self._settings = updated
        return updated

    def max_rate(self, mix: Sequence[RequestShape]) -> RateBound:
        return max_rate(self._settings, mix)

    @contextmanager
    def slot(self) -> Iterator[LatencySettings]:
        """Hold one of the server's slots (waiting for one when all are busy)."""
        with self._lock:
            slots, settings = self._slots, self._settings
        if slots is None:
            yield settings
            return
        if not slots.acquire(blocking=False):
            with self._lock:
                self.waited_for_slot += 1
            slots.acquire()
        try:
            yield settings
        finally:
            slots.release()

    def spend(
        self, settings: LatencySettings, kilobytes: float, upload: bool, spent_ms: float = 0.0
    ) -> None:
        """Sleep what is left of the request's service time after the ``spent_ms`` the emulator
        took to answer it; `release_all()` (on stop) cuts it short."""
        milliseconds = settings.service_ms(kilobytes, upload) - spent_ms
        if milliseconds > 0:
            self._release.wait(milliseconds / 1000.0)

    def release_all(self) -> None:
        """End every sleep in progress (the emulator is stopping); later sleeps wait again."""
        released, self._release = self._release, threading.Event()
        released.set()

    def describe(self) -> dict[str, object]:
        return {**asdict(self._settings), "waitedForSlot": self.waited_for_slot}
