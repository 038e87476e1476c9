"""The operator surface: what people and Stash's tasks ask of the running supervisor.

:class:`ControlHandler` answers the local socket (hook events, CLI requests, Stash tasks);
:class:`Operations` reads the actors' stores and sends them messages; :func:`run_doctor` checks
Stash, Plex and the path map without a supervisor; :func:`status_line` is the one-line status.
It sees the host only through :class:`HostView`, so imports point from the host down to here.
"""

from stashplex.ops.control import ControlHandler
from stashplex.ops.doctor import report_text, run_doctor
from stashplex.ops.host_view import HostView
from stashplex.ops.operations import Operations
from stashplex.ops.statusline import status_line
from stashplex.ops.tasks import TaskContext, run_task

__all__ = [
    "ControlHandler",
    "HostView",
    "Operations",
    "TaskContext",
    "report_text",
    "run_doctor",
    "run_task",
    "status_line",
]
