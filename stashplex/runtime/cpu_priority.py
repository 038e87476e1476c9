"""How much CPU a background process leaves to everything else on the machine.

A sync is background work: the user's save (a hook process Stash waits for) and Stash's own
work come first. Linux decides who runs at two levels, and a nice value alone reaches neither
well enough:

* **Between sessions.** With autogroup scheduling (on by default on most distributions, for
  processes outside a CPU-controlled cgroup) each session shares the CPU as a group, and a
  thread's nice value counts only inside its group (sched(7)). A process leading its own session
  lowers the whole group instead, through ``/proc/self/autogroup``: to nice 10, so a hook
  process of another session (Stash's) gets the CPU before it, while a machine busy for hours
  still leaves the sync about a tenth of a core's share, enough to finish.
* **Inside the session or cgroup.** A ``SCHED_IDLE`` thread is preempted at once by any ordinary
  thread that wakes, and a CPU that runs only such threads counts as free when the kernel places
  a new process. In a container (Stash and stashplex in one cgroup) this is the level that
  decides; there an ``idle`` host waits for a busy machine's load to end, which ``low`` (nice 10)
  avoids.

On an otherwise idle machine none of this slows a sync. Linux keeps the policy and the nice value
per thread and a new thread inherits its creator's, so the change is applied to every thread the
process already has (``/proc/self/task``), and a thread started early (the socket watcher of the
first HTTP request) is not left behind.
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
#: The nice value of a session of our own (its autogroup) under ``idle`` and ``low``.
SESSION_NICE = 10
AUTOGROUP = Path("/proc/self/autogroup")


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


def _lower_session_priority(value: int = SESSION_NICE) -> bool:
    """Lower our autogroup to nice ``value`` if we lead a session of our own (another session's
    group is not ours to lower); False where there is no such group to lower."""
    if not hasattr(os, "getsid") or os.getsid(0) != os.getpid():
        return False
    try:
        AUTOGROUP.write_text(str(value))
    except OSError:  # no autogroups in this kernel, or not allowed: the threads' policy stands
        return False
    return True


def lower_cpu_priority(priority: CpuPriority) -> str:
    """Apply ``priority`` to every thread of this process, and to its session if it leads one;
    says what was done, for the log.

    Raises ``OSError`` when the system refuses (a container without the permission, say): the
    caller logs it and runs on at the priority it had.
    """
    if priority == "normal":
        return "normal CPU priority"
    if priority == "idle" and hasattr(os, "SCHED_IDLE"):
        _each_thread(_sched_idle)
        said = "idle CPU priority (SCHED_IDLE: runs when nothing else wants the CPU)"
    elif not hasattr(os, "setpriority"):
        raise OSError("this system has no per-process CPU priority")
    else:
        value = LOW_NICE if priority == "low" else IDLE_FALLBACK_NICE
        _each_thread(_nice(value))
        said = f"low CPU priority (nice {value})"
    if _lower_session_priority():
        said += f", its session at nice {SESSION_NICE}"
    return said


__all__ = ["CpuPriority", "lower_cpu_priority", "thread_ids"]
