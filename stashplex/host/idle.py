"""When the actor host may stop for being idle, and how it stops without losing anything.

Behind the watchdog's front door an idle host is not needed for a save: the front door answers
the hook and spools it, and the watchdog starts a host again to drain it (issue 19). So a host
with nothing to do for ``idle_stop_minutes`` exits with :data:`~stashplex.runtime.wake.EXIT_IDLE`
and gives its 50-70 MB back. "Nothing to do" is strict: every mailbox empty, no one-off timer
(a retry, a breaker wait, a Plex recheck), no hook event pending in Intake, no unfinished sync
job, nothing in the spool, no client connection open, and none of that for the whole idle time.

A host the watchdog started only because a recurring timer of its own came due (the catch-up
every few minutes) has no user waiting: it stops again once that work is done and a few quiet
seconds passed, not after the whole idle time, or a 5-minute catch-up would keep it up for good.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from stashplex.runtime.wake import WORK_LEFT, spool_waiting, write_wake

log = logging.getLogger(__name__)

#: Quiet seconds a timer-woken host waits after its last work before it stops again.
TIMER_WAKE_SETTLE_S = 5.0
#: How long a stopping host waits for requests handed to it just before it stopped.
DRAIN_HANDOVERS_S = 5.0


class IdleClock:
    """Measures how long the host has had nothing to do, and since when nobody asked."""

    def __init__(self, idle_stop_s: float, *, woken_by_timer: bool = False) -> None:
        now = time.monotonic()
        self.idle_stop_s = idle_stop_s
        self._last_asked = float("-inf") if woken_by_timer else now
        self._last_busy = now
        self._settle_s = min(idle_stop_s, TIMER_WAKE_SETTLE_S) if woken_by_timer else idle_stop_s

    def asked(self) -> None:
        """Someone wants the host (a hook to drain, a request): the whole idle time again."""
        self._last_asked = time.monotonic()
        self._settle_s = self.idle_stop_s

    def due(self, busy: bool) -> bool:
        """Whether the host has been idle long enough, ``busy`` being what it sees now (never,
        with an idle time of 0)."""
        now = time.monotonic()
        if busy:
            self._last_busy = now
            return False
        quiet_s, unasked_s = now - self._last_busy, now - self._last_asked
        enough = unasked_s >= self.idle_stop_s and quiet_s >= self._settle_s
        return bool(self.idle_stop_s) and enough


def busy_with(ops: Any, server: Any, root: Path) -> tuple[str | None, float | None, str]:
    """Why the host must stay up (None: it may stop), and its own next wake time and reason."""
    busy, wake_at, wake_for = ops.busy_with()
    if busy is None and spool_waiting(root):
        busy = "hook events wait in the spool"
    if busy is None and server is not None and server.open_connections():
        busy = "a client connection is open"
    return busy, wake_at, wake_for


def record_sleep(root: Path, idle_stop_s: float, wake_at: float | None, wake_for: str) -> None:
    """Write the wake time for the watchdog and say in the log why the host sleeps."""
    write_wake(root, wake_at, wake_for)
    if wake_at is None:
        when = "on demand only (no timer of its own is set)"
    else:
        at = datetime.fromtimestamp(wake_at).astimezone().isoformat(timespec="seconds")
        when = f"for a save or a request, or at {at} for its {wake_for} timer"
    log.info(
        "actor host idle for %s: stopping to free its memory; the watchdog answers hooks and "
        "starts it again %s",
        _duration(idle_stop_s),
        when,
    )


def note_work_left(root: Path, post: Any) -> None:
    """Hooks the front door spooled as the host was deciding to sleep are drained into
    Intake's mailbox by the stopping host; with the spool empty again, the watchdog would leave
    them for the next timer or save. Said in the wake record, they wake a host at once."""
    if any(post.depths().values()):
        write_wake(root, time.time(), WORK_LEFT)
        log.info("work reached the mailboxes as the host stopped: the watchdog starts it again")


def close_handover(channel: socket.socket | None, receiver: threading.Thread | None) -> None:
    """Refuse further hand-overs (the front door then holds them for the next host), and wait
    for the ones already on their way to be read, so that no client is dropped unanswered."""
    if channel is None:
        return
    with contextlib.suppress(OSError):
        channel.shutdown(socket.SHUT_RD)  # the front door's next send fails: it keeps the client
    if receiver is not None:
        receiver.join(DRAIN_HANDOVERS_S)


def wait_for_clients(server: Any, timeout: float = DRAIN_HANDOVERS_S) -> None:
    """Let requests adopted at the last moment be answered before the server stops."""
    deadline = time.monotonic() + timeout
    while server is not None and server.open_connections() and time.monotonic() < deadline:
        time.sleep(0.05)


def _duration(seconds: float) -> str:
    return f"{seconds / 60:g} min" if seconds >= 60 else f"{seconds:g} s"
