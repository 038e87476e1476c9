"""A consecutive-failure circuit breaker for the one Plex server we talk to.

When Plex is down every scene would otherwise burn its retry budget against a dead server. The
breaker turns "Plex is down" into one shared fact: callers ask before each request and, while it
is open, leave their work queued instead of failing it. One local server produces few calls, so a
pybreaker-style count of consecutive failures fits better than a failure-rate window.

The clock is injected so tests can move time by hand; transitions are reported through an
optional callback so the owner decides how to log them.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from enum import StrEnum
from typing import Any

log = logging.getLogger(__name__)

#: Consecutive failures that open the breaker (pybreaker's ``fail_max`` default).
DEFAULT_FAILURE_THRESHOLD = 5
#: Seconds the breaker stays open before admitting a trial request (pybreaker's default).
DEFAULT_RESET_TIMEOUT_S = 60.0

_THRESHOLD_RANGE = (1, 10_000)
_RESET_TIMEOUT_MAX_S = 86400.0


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


TransitionCallback = Callable[[BreakerState, BreakerState], None]


class CircuitBreaker:
    """Closed -> open after N consecutive failures -> one trial after a timeout -> closed.

    ``state`` reports what the breaker last decided; the move from OPEN to HALF_OPEN happens
    lazily inside :meth:`allow_request`, so that merely looking at the breaker never consumes the
    single trial permit.
    """

    def __init__(
        self,
        failure_threshold: int = DEFAULT_FAILURE_THRESHOLD,
        reset_timeout_s: float = DEFAULT_RESET_TIMEOUT_S,
        clock: Callable[[], float] = time.time,
        on_transition: TransitionCallback | None = None,
    ) -> None:
        low, high = _THRESHOLD_RANGE
        if (
            isinstance(failure_threshold, bool)
            or not isinstance(failure_threshold, int)
            or not low <= failure_threshold <= high
        ):
            msg = (
                f"failure_threshold must be an integer in {low}..{high}, got {failure_threshold!r}"
            )
            raise ValueError(msg)
        if (
            isinstance(reset_timeout_s, bool)
            or not isinstance(reset_timeout_s, int | float)
            or not math.isfinite(reset_timeout_s)
            or not 0 < reset_timeout_s <= _RESET_TIMEOUT_MAX_S
        ):
            msg = (
                f"reset_timeout_s must be > 0 and <= {_RESET_TIMEOUT_MAX_S:g} s, "
                f"got {reset_timeout_s!r}"
            )
            raise ValueError(msg)
        self._failure_threshold = failure_threshold
        self._reset_timeout_s = float(reset_timeout_s)
        self._clock = clock
        self._on_transition = on_transition
        self._lock = threading.Lock()
        self._state = BreakerState.CLOSED
        self._consecutive_failures = 0
        self._opened_at: float | None = None
        self._trial_started_at: float | None = None
        self._generation = 0

    @property
    def generation(self) -> int:
        """How many times the breaker has opened: a caller notes it when its request is sent,
        and passes it to :meth:`record_success`."""
        with self._lock:
            return self._generation

    @property
    def failure_threshold(self) -> int:
        return self._failure_threshold

    @property
    def reset_timeout_s(self) -> float:
        return self._reset_timeout_s

    @property
    def state(self) -> BreakerState:
        with self._lock:
            return self._state

    @property
    def consecutive_failures(self) -> int:
        with self._lock:
            return self._consecutive_failures

    def allow_request(self) -> bool:
        """Whether the caller may talk to Plex now; a True in HALF_OPEN is the single trial.

        A trial whose caller never reports back (it crashed, or forgot) is given up after
        another ``reset_timeout_s`` and a fresh trial is admitted, so the breaker cannot wedge.
        """
        with self._lock:
            now = self._clock()
            old = self._state
            if old is BreakerState.CLOSED:
                return True
            if old is BreakerState.OPEN:
                assert self._opened_at is not None
                if now < self._opened_at + self._reset_timeout_s:
                    return False
                self._state = BreakerState.HALF_OPEN
                self._trial_started_at = now
            else:
                assert self._trial_started_at is not None
                if now < self._trial_started_at + self._reset_timeout_s:
                    return False
                log.warning("circuit breaker trial was never reported; admitting a new one")
                self._trial_started_at = now
            new = self._state
        self._notify(old, new)
        return True

    def record_success(self, sent_in: int | None = None) -> None:
        """Plex answered: close the breaker and forget earlier failures.

        An answer to a request sent before the breaker last opened (``sent_in``, the
        :attr:`generation` then, is older) says nothing about the server now, and is ignored:
        a request already in flight when Plex went down, or a thread that records its answer
        late, must not close the breaker on a dead server and let every waiting job through.
        """
        with self._lock:
            if sent_in is not None and sent_in != self._generation:
                return
            old = self._state
            self._state = BreakerState.CLOSED
            self._consecutive_failures = 0
            self._opened_at = None
            self._trial_started_at = None
        self._notify(old, BreakerState.CLOSED)

    def record_failure(self) -> None:
        """Plex failed: count it, open at the threshold, and re-open on a failed trial.

        A late failure from a request admitted before the breaker opened does not extend the
        open period; only a failed trial earns the server another full timeout.
        """
        with self._lock:
            now = self._clock()
            old = self._state
            self._consecutive_failures += 1
            if old is BreakerState.HALF_OPEN or (
                old is BreakerState.CLOSED and self._consecutive_failures >= self._failure_threshold
            ):
                self._state = BreakerState.OPEN
                self._opened_at = now
                self._trial_started_at = None
                self._generation += 1
            new = self._state
        self._notify(old, new)

    def next_trial_at(self) -> float | None:
        """Clock time at which a (new) trial will be admitted; None while closed."""
        with self._lock:
            return self._next_trial_at_locked()

    def snapshot(self) -> dict[str, Any]:
        """A JSON-able view for the status page."""
        with self._lock:
            return {
                "state": str(self._state),
                "consecutive_failures": self._consecutive_failures,
                "failure_threshold": self._failure_threshold,
                "reset_timeout_s": self._reset_timeout_s,
                "opened_at": self._opened_at,
                "next_trial_at": self._next_trial_at_locked(),
            }

    def _next_trial_at_locked(self) -> float | None:
        if self._state is BreakerState.OPEN:
            assert self._opened_at is not None
            return self._opened_at + self._reset_timeout_s
        if self._state is BreakerState.HALF_OPEN:
            assert self._trial_started_at is not None
            return self._trial_started_at + self._reset_timeout_s
        return None

    def _notify(self, old: BreakerState, new: BreakerState) -> None:
        # Called outside the lock so a callback may read the breaker without deadlocking.
        if old is new or self._on_transition is None:
            return
        try:
            self._on_transition(old, new)
        except Exception:
            # The callback only observes; a bug in it must not break callers' requests.
            log.exception("circuit breaker transition callback failed (%s -> %s)", old, new)
