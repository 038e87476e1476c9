"""An OTP-style one-for-one supervisor for pykka actors.

pykka has no supervision, and ``on_failure`` is not even called when ``on_start`` raises, so the
only reliable death signal is the ``actor_stopped`` event every ref carries. The supervisor is a
plain thread, not an actor, so that it survives the actors it watches. A child counts as
started only once it answered a ping, which catches a failing ``on_start`` at the door.

Past the restart intensity (default 5 restarts in 30 s for one child) the supervisor stops
everything in reverse start order and escalates: the host process exits non-zero and the
watchdog one level up restarts it, as a supervisor tree would.
"""

from __future__ import annotations

import heapq
import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import pykka

log = logging.getLogger(__name__)

#: OTP's own tuning advice for network-facing workers: 5 restarts in 30 s.
DEFAULT_MAX_RESTARTS = 5
DEFAULT_PERIOD_S = 30.0
#: Restart delays grow from here ...
DEFAULT_BACKOFF_INITIAL_S = 0.1
#: ... to at most this, so a flapping child cannot spin.
DEFAULT_BACKOFF_MAX_S = 5.0
#: How long a child may take to answer its first ping (``on_start`` included).
START_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class ChildSpec:
    """How to start one child, and how long its orderly stop may take."""

    name: str
    start: Callable[[], pykka.ActorRef]
    shutdown_timeout_s: float = 10.0
    #: Called just before the child is asked to stop, e.g. to stop feeding it new work.
    prepare_stop: Callable[[], None] | None = None
    #: Asked after each abnormal stop: True if the crash was one message's fault and that
    #: message was charged for it (so it cannot recur forever). Such a restart does not count
    #: toward the restart intensity: one bad message never escalates beyond itself.
    crash_contained: Callable[[], bool] | None = None


@dataclass(frozen=True)
class RestartIntensity:
    max_restarts: int = DEFAULT_MAX_RESTARTS
    period_s: float = DEFAULT_PERIOD_S

    def __post_init__(self) -> None:
        if self.max_restarts < 0 or self.period_s <= 0:
            raise ValueError("restart intensity needs max_restarts >= 0 and period_s > 0")


class Supervisor:
    """Starts children in order, restarts any that stop unasked, stops them in reverse."""

    def __init__(
        self,
        children: Sequence[ChildSpec],
        *,
        intensity: RestartIntensity | None = None,
        backoff_initial_s: float = DEFAULT_BACKOFF_INITIAL_S,
        backoff_max_s: float = DEFAULT_BACKOFF_MAX_S,
        on_escalate: Callable[[str], None] | None = None,
    ) -> None:
        self._specs = {spec.name: spec for spec in children}
        self._order = [spec.name for spec in children]
        self._intensity = intensity or RestartIntensity()
        self._backoff_initial_s = backoff_initial_s
        self._backoff_max_s = backoff_max_s
        self._on_escalate = on_escalate
        self._refs: dict[str, pykka.ActorRef] = {}
        self._restart_times: dict[str, deque[float]] = {n: deque() for n in self._order}
        self.restart_counts: dict[str, int] = dict.fromkeys(self._order, 0)
        self._events: queue.Queue[tuple[str, pykka.ActorRef | None]] = queue.Queue()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self.escalated: str | None = None
        self._thread = threading.Thread(target=self._run, name="supervisor", daemon=True)

    # -- public --------------------------------------------------------------------------

    def start(self) -> None:
        for name in self._order:
            self._start_child(name)
        self._thread.start()

    def ref(self, name: str) -> pykka.ActorRef | None:
        with self._lock:
            ref = self._refs.get(name)
        return ref if ref is not None and ref.is_alive() else None

    def stop(self) -> None:
        """Stop every child in reverse start order; each finishes its in-flight message."""
        self._stopping.set()
        self._events.put(("", None))
        for name in reversed(self._order):
            with self._lock:
                ref = self._refs.pop(name, None)
            if ref is None:
                continue
            spec = self._specs[name]
            if spec.prepare_stop is not None:
                spec.prepare_stop()
            try:
                if not ref.stop(block=True, timeout=spec.shutdown_timeout_s):
                    log.debug("child %s was already stopped", name)
            except pykka.Timeout:
                # A long handler (a library walk, a slow Plex) must not keep the rest running:
                # what it holds was never acked, so the next start serves it again.
                log.warning(
                    "child %s did not finish within %g s; leaving it, its messages stay queued",
                    name,
                    spec.shutdown_timeout_s,
                )
                continue
            log.info("stopped %s", name)
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    # -- internals -----------------------------------------------------------------------

    def _start_child(self, name: str) -> bool:
        """Start and ping a child. A failed start is reported like a crash."""
        spec = self._specs[name]
        try:
            ref = spec.start()
        except Exception:
            log.exception("child %s failed to construct", name)
            self._events.put((name, None))
            return False
        with self._lock:
            self._refs[name] = ref
        threading.Thread(
            target=self._watch, args=(name, ref), name=f"watch-{name}", daemon=True
        ).start()
        try:
            ref.ask("ping", timeout=START_TIMEOUT_S)
        except (pykka.ActorDeadError, pykka.Timeout) as exc:
            log.error("child %s failed to start: %s", name, type(exc).__name__)
            if isinstance(exc, pykka.Timeout):
                ref.stop(block=False)
            return False
        log.info("started %s", name)
        return True

    def _watch(self, name: str, ref: pykka.ActorRef) -> None:
        ref.actor_stopped.wait()
        self._events.put((name, ref))

    def _run(self) -> None:
        pending: list[tuple[float, str]] = []
        while not self._stopping.is_set():
            timeout = max(0.0, pending[0][0] - time.monotonic()) if pending else None
            try:
                name, ref = self._events.get(timeout=timeout)
            except queue.Empty:
                name, ref = "", None
            if self._stopping.is_set():
                return
            if name and self._is_current(name, ref):
                delay = self._record_death(name)
                if delay is None:
                    return
                heapq.heappush(pending, (time.monotonic() + delay, name))
            while pending and pending[0][0] <= time.monotonic() and not self._stopping.is_set():
                _, due = heapq.heappop(pending)
                self.restart_counts[due] += 1
                self._start_child(due)

    def _is_current(self, name: str, ref: pykka.ActorRef | None) -> bool:
        with self._lock:
            current = self._refs.get(name)
        return ref is None or current is ref

    def _record_death(self, name: str) -> float | None:
        """Account one abnormal stop; return the restart delay, or None after escalating."""
        contained = self._specs[name].crash_contained
        if contained is not None and contained():
            log.warning("%s crashed on one message (charged to it); restarting", name)
            return self._backoff_initial_s
        now = time.monotonic()
        window = self._restart_times[name]
        window.append(now)
        while window and now - window[0] > self._intensity.period_s:
            window.popleft()
        if len(window) > self._intensity.max_restarts:
            reason = (
                f"{name} stopped {len(window)} times within {self._intensity.period_s:g} s "
                f"(limit {self._intensity.max_restarts})"
            )
            log.critical("restart intensity exceeded: %s; stopping all actors", reason)
            self.escalated = reason
            threading.Thread(target=self._escalate, args=(reason,), daemon=True).start()
            return None
        delay = min(self._backoff_max_s, self._backoff_initial_s * 2 ** (len(window) - 1))
        log.warning("%s stopped unexpectedly; restart %d in %.2f s", name, len(window), delay)
        return delay

    def _escalate(self, reason: str) -> None:
        self.stop()
        if self._on_escalate is not None:
            self._on_escalate(reason)
