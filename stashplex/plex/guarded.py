"""Every Plex request goes through the circuit breaker: outages become waits, not retries.

PlexGateway owns one :class:`GuardedCalls`; nothing else may call Plex while the breaker is open.
It is also where the ``plex_concurrency`` limit holds: at most that many calls are in Plex at
once, however many threads do the work around them (cover downloads, journal commits), so
those threads can keep every slot busy without ever sending Plex more than it was promised.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from stashplex.plex.connection import PlexFailure, classify, plex_errors
from stashplex.sync.breaker import BreakerState, CircuitBreaker

T = TypeVar("T")
#: However many jobs and timers ask, Plex gets at most one probe per this many seconds.
MIN_PROBE_INTERVAL_S = 1.0


class BreakerOpenError(Exception):
    """Plex is treated as down until ``trial_at``: the job waits and spends no retry."""

    def __init__(self, trial_at: float | None) -> None:
        super().__init__("circuit breaker open")
        self.trial_at = trial_at


class PlexCallError(Exception):
    """Plex answered with a failure that is the job's own (classified)."""

    def __init__(self, failure: PlexFailure) -> None:
        super().__init__(failure.message)
        self.failure = failure


class Slots:
    """At most ``limit`` calls at once (None: no limit); a call made inside another on the same
    thread (a request that first connects) uses its caller's slot, so it cannot deadlock."""

    def __init__(self, limit: int | None) -> None:
        self._semaphore = threading.BoundedSemaphore(limit) if limit else None
        self._held = threading.local()

    @contextmanager
    def held(self) -> Iterator[bool]:
        """Hold a slot; yields whether this call waited for one (so the caller re-checks what
        may have changed meanwhile, e.g. the breaker opening)."""
        depth = getattr(self._held, "depth", 0)
        if self._semaphore is None or depth:
            self._held.depth = depth + 1
            try:
                yield False
            finally:
                self._held.depth = depth
            return
        waited = not self._semaphore.acquire(blocking=False)
        if waited:
            self._semaphore.acquire()
        self._held.depth = 1
        try:
            yield waited
        finally:
            self._held.depth = 0
            self._semaphore.release()


class GuardedCalls:
    """Calls into plexapi behind ``breaker``; ``probe`` answers the breaker's trial; ``slots``
    bounds how many calls are in Plex at once (``plex_concurrency``)."""

    def __init__(
        self,
        breaker: CircuitBreaker,
        probe: Callable[[], Any] | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        slots: int | None = None,
    ) -> None:
        self.breaker = breaker
        self.probe = probe
        self._clock = clock
        self.slots = Slots(slots)
        #: (when, whether Plex answered, the breaker's generation then) of the last probe: at
        #: most one probe per second reaches Plex, whether a job's trial or the gateway's own
        #: timer asked for it.
        self._last_probe: tuple[float, bool, int] | None = None
        self._probing = threading.Lock()

    def __call__(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        breaker = self.breaker
        # A job that finds the breaker open probes Plex itself (at most once a second between
        # all callers) and goes ahead if Plex answers. The gateway's probe timer is a message
        # like any other: behind thousands of jobs released at a failed trial, it could reach
        # the gateway seconds after Plex is back.
        if not breaker.allow_request() and not self.try_probe():
            raise BreakerOpenError(breaker.next_trial_at())
        with self.slots.held() as waited:
            if waited and breaker.state is BreakerState.OPEN:
                # Plex went down while this call waited: it joins the waiting jobs rather than
                # adding one more failed request to the outage.
                raise BreakerOpenError(breaker.next_trial_at())
            return self._guarded(breaker, fn, *args, **kwargs)

    def _guarded(
        self, breaker: CircuitBreaker, fn: Callable[..., T], *args: Any, **kwargs: Any
    ) -> T:
        if breaker.state is BreakerState.HALF_OPEN and self.probe is not None:
            self._trial(self.probe)
        sent_in = breaker.generation
        try:
            result = fn(*args, **kwargs)
        except plex_errors() as exc:
            failure = classify(exc)
            if failure.trips_breaker:
                breaker.record_failure()
                if breaker.state is BreakerState.OPEN:
                    # As good as a failed probe: the next one is a second away.
                    self._last_probe = (self._clock(), False, breaker.generation)
                    # This failure opened the breaker (or was a failed trial): the job waits for
                    # the next trial like every other, spending no retry on the outage.
                    raise BreakerOpenError(breaker.next_trial_at()) from exc
            else:
                breaker.record_success(sent_in)
            raise PlexCallError(failure) from exc
        breaker.record_success(sent_in)
        return result

    def _trial(self, probe: Callable[[], Any]) -> None:
        """The breaker's trial is a cheap probe of the server, not a job's own request.

        A failure that opens the breaker, or a failed trial, costs its job no retry: that is
        an outage, and the job waits for the next trial. If the job's own request were the
        trial, one job failing on its own (one bad item) would hold the breaker open forever
        at no cost; with a probe, Plex answers, the breaker closes, and the job's next failure
        spends a retry as usual.
        """
        answered, sent_in = self._probe_once(probe)
        if answered:
            self.breaker.record_success(sent_in)
        else:
            self.breaker.record_failure()
        if self.breaker.state is not BreakerState.CLOSED:
            raise BreakerOpenError(self.breaker.next_trial_at())

    def _probe_once(self, probe: Callable[[], Any]) -> tuple[bool, int]:
        """Whether Plex answers, and the breaker's generation when the probe was sent.

        A probe less than a second old, or one another thread is sending right now, is
        answered from memory; but a remembered answer from before the breaker last opened is
        no answer (a remembered failure still spaces the probes a second apart).
        """
        now = self._clock()
        generation = self.breaker.generation
        last = self._last_probe
        if last is not None and last[1] and last[2] != generation:
            last = None
        if not self._probing.acquire(blocking=False):
            return (last is not None and last[1]), generation
        try:
            if last is not None and now - last[0] < MIN_PROBE_INTERVAL_S:
                return last[1], generation
            try:
                probe()
                answered = True
            except plex_errors() as exc:
                answered = not classify(exc).trips_breaker
            self._last_probe = (now, answered, generation)
            return answered, generation
        finally:
            self._probing.release()

    def try_probe(self) -> bool:
        """Probe now, whatever the breaker's timer says; True (and the breaker closed) if Plex
        answered. While the breaker is open this is the only request that reaches Plex."""
        if self.probe is None:
            return False
        answered, sent_in = self._probe_once(self.probe)
        if answered:
            self.breaker.record_success(sent_in)
        return answered and self.breaker.state is BreakerState.CLOSED
