"""The operator surface: what people and Stash's tasks ask of the running supervisor.

:class:`ControlHandler` answers the local socket (hook events, CLI requests, Stash tasks);
:class:`Operations` reads the actors' stores and sends them messages; :func:`run_doctor` checks
Stash, Plex and the path map without a supervisor; :func:`status_line` is the one-line status.
It sees the host only through :class:`HostView`, so imports point from the host down to here.

The names load their module on first use: the doctor must run in a process (the *Health
check* task without a supervisor) where the actors' own dependencies may be what is broken.
"""

from __future__ import annotations

from stashplex.runtime.lazy import lazy_exports

_EXPORTS = {
    "ControlHandler": "control",
    "report_text": "doctor",
    "run_doctor": "doctor",
    "HostView": "host_view",
    "Operations": "operations",
    "status_line": "statusline",
    "TaskContext": "tasks",
    "run_task": "tasks",
}

__all__ = sorted(_EXPORTS)  # noqa: PLE0605 - the names are the keys above

__getattr__ = lazy_exports(__name__, _EXPORTS)
