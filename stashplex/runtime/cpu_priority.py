"""How much CPU a background process leaves to everything else on the machine.

A sync is background work: the user's save (a hook process Stash waits for) and Stash's own
work come first. A lower nice value is not enough for that on Linux: a nice-10 thread still takes
its share of a core, and a freshly started hook process queues behind it for a time slice. A
``SCHED_IDLE`` thread is preempted at once by any ordinary thread that wakes up, and a CPU that
runs only such threads counts as free when the kernel places a new process (sched(7)). On an
otherwise idle machine it runs at full speed, so a first sync is no slower.

The cost is that on a machine kept busy for hours (all cores transcoding, say) the sync waits
until the load ends; ``low`` (nice 10) is the setting for a user who wants it to keep a share.

Linux keeps the policy and the nice value per thread; a new thread inherits its creator's. The
change is therefore applied to every thread the process already has (``/proc/self/task``), so a
thread started early (a socket watcher of the first HTTP request) is not left behind.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Literal

CpuPriority = Literal["idle", "low", "normal"]

#: The nice value of ``low``, and of ``idle`` where ``SCHED_IDLE`` is not available.
LOW_NICE = 10
IDLE_FALLBACK_NICE = 19


def thread_ids() -> list[int]:
    """This process's threads, as the kernel numbers them (0: the calling thread alone)."""
    try:
        return sorted(int(entry.name) for entry in Path("/proc/self/task").iterdir())
    except OSError:
        return [0]


def _each_thread(lower: Callable[[int], None]) -> None:
    for tid in thread_ids():
        try:
            lower(tid)
        except ProcessLookupError:  # the thread ended since it was listed: nothing to lower
            continue


def _nice(value: int) -> Callable[[int], None]:
    def lower(tid: int) -> None:
        if os.getpriority(os.PRIO_PROCESS, tid) < value:  # raising it back needs privileges
            os.setpriority(os.PRIO_PROCESS, tid, value)

    return lower


def _sched_idle(tid: int) -> None:
    os.sched_setscheduler(tid, os.SCHED_IDLE, os.sched_param(0))


def lower_cpu_priority(priority: CpuPriority) -> str:
    """Apply ``priority`` to every thread of this process; says what was done, for the log.

    Raises ``OSError`` when the system refuses (a container without the permission, say): the
    caller logs it and runs on at the priority it had.
    """
    if priority == "normal":
        return "normal CPU priority"
    if priority == "idle" and hasattr(os, "SCHED_IDLE"):
        _each_thread(_sched_idle)
        return "idle CPU priority (SCHED_IDLE: runs when nothing else wants the CPU)"
    if not hasattr(os, "setpriority"):
        raise OSError("this system has no per-process CPU priority")
    value = LOW_NICE if priority == "low" else IDLE_FALLBACK_NICE
    _each_thread(_nice(value))
    return f"low CPU priority (nice {value})"


__all__ = ["CpuPriority", "lower_cpu_priority", "thread_ids"]
