"""The actor host's idle stop, as the host and the watchdog agree on it (issue 19).

An actor host with nothing to do for ``idle_stop_minutes`` exits with :data:`EXIT_IDLE` to give
its memory back; the watchdog's front door still answers hooks, and the watchdog starts a host
again when one is needed. Before it exits, the host writes :data:`WAKE_FILE` in the data
directory: when its own next recurring timer (catch-up, reconciliation, dead-letter cleanup) is
due and which one, since nobody else would fire it. Standard library only: the watchdog reads it.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
from pathlib import Path
from typing import Protocol

from stashplex.runtime.datadir import DataDir
from stashplex.runtime.private_files import write_private

log = logging.getLogger(__name__)

#: The host stopped because it was idle: not a failure; start it again on demand.
EXIT_IDLE = 7
WAKE_FILE = "wake.json"
#: The host's flag that says the watchdog started it for its recorded wake time, not for work
#: someone asked for: such a host may stop again as soon as its timers' work is done.
WOKEN_BY_TIMER_FLAG = "--woken-by-timer"
#: How often a sleeping host's watchdog looks at the spool and its stop flag.
POLL_S = 0.25
#: With no wake time recorded (an unreadable file), look again this often anyway.
FALLBACK_WAKE_S = 3600.0
#: The wake reason of a host that found work in its mailboxes as it stopped: wake it at once.
WORK_LEFT = "work that reached its mailboxes as it stopped"


def write_wake(root: Path, wake_at: float | None, why: str) -> None:
    """Record when the sleeping host must run again (``None``: only on demand), atomically."""
    record = json.dumps({"wake_at": wake_at, "why": why}).encode("utf-8")
    write_private(Path(root) / WAKE_FILE, record)


def read_wake(root: Path, *, now: float | None = None) -> tuple[float, str]:
    """When (a ``time.time()``) and why the sleeping host must be started again.

    A missing or unreadable record cannot say: then it is woken within the hour all the same.
    """
    now = time.time() if now is None else now
    try:
        record = json.loads((Path(root) / WAKE_FILE).read_text(encoding="utf-8"))
        wake_at, why = record.get("wake_at"), str(record.get("why", ""))
    except (OSError, ValueError, AttributeError):
        return now + FALLBACK_WAKE_S, "no wake time recorded"
    if wake_at is None:
        return float("inf"), why or "nothing scheduled"
    if not isinstance(wake_at, int | float) or isinstance(wake_at, bool):
        return now + FALLBACK_WAKE_S, "no wake time recorded"
    return float(wake_at), why


def clear_wake(root: Path) -> None:
    with contextlib.suppress(OSError):
        (Path(root) / WAKE_FILE).unlink()


def spool_waiting(root: Path) -> bool:
    """Whether a spooled hook event waits for a host to drain it."""
    try:
        return any(DataDir(Path(root)).spool.glob("*.json"))
    except OSError:
        return False


class Door(Protocol):
    """The watchdog's front door as a sleeping host needs it (``HostDoor`` has both)."""

    def fall_asleep(self) -> None: ...

    def wait_for_demand(self, timeout: float) -> bool: ...


def sleep_until_needed(root: Path, door: Door, stop: threading.Event) -> bool:
    """In the watchdog, the host stopped for being idle: wait until a host is needed again.

    Needed for a hook in the spool (one spooled while the host was stopping counts too: the
    spool is looked at first), a client the front door holds, or the recorded wake time; a
    set ``stop`` ends the wait too. True if only the host's own timer needs it.
    """
    wake_at, why = read_wake(root)
    door.fall_asleep()
    due = "never" if wake_at == float("inf") else f"in {max(0.0, wake_at - time.time()):.0f} s"
    log.info("actor host asleep (idle); its next timer (%s) is due %s", why or "none", due)
    while not stop.is_set():
        if spool_waiting(root):
            log.info("waking the actor host: a hook event waits in the spool")
            return False
        if time.time() >= wake_at:
            if why == WORK_LEFT:
                log.info("waking the actor host: %s", WORK_LEFT)
                return False
            log.info("waking the actor host: its %s timer is due", why)
            return True
        if door.wait_for_demand(POLL_S) and not spool_waiting(root):
            log.info("waking the actor host: a request waits for it")
            return False
    return False
