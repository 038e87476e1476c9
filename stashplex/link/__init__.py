"""The hook link: how Stash's plugin processes reach the supervisor, and what they send.

- :mod:`~stashplex.link.wire`: the frame format and cheap JSON (standard library only);
- :mod:`~stashplex.link.events`: what a hook event is, one definition for hook and supervisor;
- :mod:`~stashplex.link.handoff`: the client side, the socket endpoint or a durable spool file;
- :mod:`~stashplex.link.ipc`: the supervisor's local socket server;
- :mod:`~stashplex.link.spool`: the supervisor draining spool files.

``wire``, ``events`` and ``handoff`` are copied into Stash's plugin folder (as
``stashplex_link``) and run under ``python -S``: they import each other relatively and nothing
but the cheap part of the standard library.
"""

from stashplex.link.handoff import Endpoint, endpoint_for, request, write_spool
from stashplex.link.ipc import LocalServer, ServerError, send_request
from stashplex.link.spool import DrainReport, drain_spool
from stashplex.link.wire import FrameError, UnreachableError

__all__ = [
    "DrainReport",
    "Endpoint",
    "FrameError",
    "LocalServer",
    "ServerError",
    "UnreachableError",
    "drain_spool",
    "endpoint_for",
    "request",
    "send_request",
    "write_spool",
]
