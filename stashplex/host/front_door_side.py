"""The actor host's side of the watchdog's front door (:mod:`stashplex.link.frontdoor`).

Behind the front door, hooks are answered by the watchdog and only drained here, so the host is
background work: it yields the CPU to the user's save, and counts a spooled hook as a settings
poke before it has drained it.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from stashplex.config.watch import SettingsWatch
from stashplex.runtime.cpu_priority import CpuPriority, lower_cpu_priority

log = logging.getLogger(__name__)


class SpoolPokedWatch(SettingsWatch):
    """A hook the front door acknowledged has not poked us yet (we drain it a moment later),
    but its spool file is there: a file newer than the last one seen is that hook's poke, so
    nothing Intake takes after the save returned is judged by settings older than it."""

    def __init__(self, *args: Any, spool: Path, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._spool, self._seen = spool, ""

    def due(self) -> bool:
        try:
            newest = max((p.name for p in self._spool.glob("*.json")), default="")
        except OSError:
            newest = ""
        if newest > self._seen:  # names sort by the time they were written
            self._seen = newest
            self.poke()
        return super().due()


def yield_cpu_if_behind_front_door(priority: CpuPriority) -> None:
    """Lower every thread's CPU priority; a host with no front door answers hooks itself, and
    a save would then wait on it, so it keeps the priority it was started with."""
    from stashplex.link import handover

    if handover.ENV_VAR not in os.environ:
        return
    try:
        log.info("the actor host runs at %s", lower_cpu_priority(priority))
    except OSError as exc:
        log.warning("cannot lower the actor host's CPU priority (%s): %s", priority, exc)
