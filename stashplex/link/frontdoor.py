"""The front door: the watchdog answers hooks; the actor host answers everything else.

Why: a hook is Stash's user waiting on a save. In the actor host its answer waited behind actor
work: every socket call and SQLite commit of the hook's path must win the GIL back from actor
threads busy in Python (pydantic, XML, JSON) during a sync, and a host set to yield the CPU to
the machine would slow it more. The watchdog runs no actor work, so the socket lives there:

* A ``hook`` frame is checked (the same rules as the host's ``HookEvent``, in the standard
  library), written to the spool as a hook does when no supervisor answers (a whole file, by
  rename; fsynced too with ``mailbox_sync = "full"``, as durable as a mailbox commit either
  way), acknowledged, and then the host is woken to drain the spool into the Intake mailbox
  (the drain pokes the settings watch first, as before). Acknowledged only once durable; a
  crash of any process at any point leaves the event in the spool (drained at the host's next
  start and every few seconds) or already in Intake (a crash between the two delivers it
  twice, never zero times).
* Any other frame (ping, status, sync, tasks, the CLI) goes to the host with its connection
  (:mod:`stashplex.link.handover`), which answers it as before; a host still starting reads
  it once it is ready. Between two hosts (a restart's backoff) it is closed without a reply,
  exactly what a client met before the front door: nobody answers.
* While the host sleeps (it stopped for being idle, ``idle_stop_minutes``), a hook is spooled
  and acknowledged as ever and wakes the watchdog, which starts a host to drain it; any other
  request is held here and handed to that host once it is started (the client only waits a
  little longer), except ``ping``, answered here with ``asleep: true``: the supervisor runs,
  and "is it running" stays a quick question. A hand-over the host refuses (it closes its end
  as it goes to sleep) is held the same way, for the next host.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from stashplex.link import events, handover, starts
from stashplex.link.handover import Sender
from stashplex.link.ipc import LocalServer, ServerError
from stashplex.link.spool import write_event
from stashplex.link.version import __version__

logger = logging.getLogger(__name__)


class FrontDoor:
    """The watchdog's handler for :class:`~stashplex.link.ipc.LocalServer`."""

    def __init__(self, data_dir: Path, *, fsync: bool = False) -> None:
        self.data_dir = Path(data_dir)
        self._fsync = fsync
        self._sender: Sender | None = None
        self._lock = threading.Lock()
        self._asleep = False
        #: Clients waiting for the next host (copies of their connections, first requests).
        self._held: list[tuple[socket.socket, dict[str, Any]]] = []
        #: Set when a hook is spooled or a client held: a sleeping host is needed.
        self._demand = threading.Event()

    def attach(self, sender: Sender) -> None:
        """A new host's channel (the watchdog just started it): it gets the held clients."""
        with self._lock:
            previous, self._sender = self._sender, sender
            held, self._held, self._asleep = self._held, [], False
        if previous is not None:
            previous.close()
        for connection, request in held:
            with contextlib.suppress(OSError):  # the new host is gone already: client retries
                sender.hand_over(connection, request)
            connection.close()

    def fall_asleep(self) -> None:
        """The host stopped for being idle: hold clients and answer pings until the next one."""
        with self._lock:
            self._asleep = True
        self._demand.clear()

    def wait_for_demand(self, timeout: float) -> bool:
        """Whether a hook was spooled or a client held since :meth:`fall_asleep`."""
        return self._demand.wait(timeout)

    def release_held(self) -> None:
        """The watchdog stops: nobody will answer the held clients."""
        with self._lock:
            held, self._held = self._held, []
        for connection, _request in held:
            connection.close()

    def detach(self) -> None:
        """The host is gone: what it did not take is lost with its channel (clients retry)."""
        with self._lock:
            previous, self._sender = self._sender, None
        if previous is not None:
            previous.close()

    def handle(self, request: dict[str, Any]) -> dict[str, Any]:
        """A ``hook`` frame: durable in the spool, then acknowledged, then the host woken; a
        ``ping`` while the host sleeps."""
        if request.get("type") == "ping":
            return {"ok": True, "pid": None, "asleep": True, "version": __version__}
        event = request.get("event")
        problem = events.event_problem(event)
        if problem is not None:
            return {"ok": False, "error": f"malformed hook event: {problem}"}
        try:
            path = write_event(self.data_dir, event, fsync=self._fsync)
        except OSError as exc:
            logger.error("a hook event could not be spooled: %s", exc)
            return {"ok": False, "error": f"the event could not be stored: {exc.strerror or exc}"}
        sender = self._sender
        if sender is not None:
            sender.wake()
        self._demand.set()
        return {"ok": True, "id": path.stem, "version": __version__}

    def divert(self, connection: socket.socket, request: dict[str, Any]) -> bool:
        """Hand a connection whose request is not a hook to the host; False keeps it here."""
        if request.get("type") == "hook":
            return False
        with self._lock:
            if self._asleep and self._sender is None:
                if request.get("type") == "ping":
                    return False  # answered here: see ``handle``
                return self._hold(connection, request)
            sender = self._sender
        if sender is not None:
            try:
                sender.hand_over(connection, request)
            except OSError:  # the host closed its end to sleep, or died: hold it for the next
                with self._lock:
                    if self._sender is sender or self._sender is None:
                        return self._hold(connection, request)
                return self.divert(connection, request)
        # Handed over, or hung up on with no reply: between two hosts a request finds nobody,
        # as it did before there was a front door, so no client mistakes an error for a
        # supervisor that answers (the plugin's tasks and lifecycle ask ``ping`` exactly that).
        return True

    def _hold(self, connection: socket.socket, request: dict[str, Any]) -> bool:
        """Keep a copy of the connection (the server closes its own) until a host is there."""
        self._held.append((connection.dup(), request))
        self._demand.set()
        return True


class FrontDoorService:
    """The watchdog's ``HostDoor``: the public socket here, a channel to each host it starts.

    Where descriptors cannot be passed (no Unix sockets), or another process still answers on
    the socket (an orphaned host letting go), the host serves its own socket as before; the
    door is tried again at the next host's start.
    """

    def __init__(self, data_dir: Path, limits: Any = None) -> None:
        self.data_dir = Path(data_dir)
        full = getattr(limits, "mailbox_sync", "normal") == "full"
        self.door = FrontDoor(self.data_dir, fsync=full)
        self.server: LocalServer | None = None

    def open(self) -> bool:
        if self.server is None and handover.supported():
            server = LocalServer(self.data_dir, self.door.handle, divert=self.door.divert)
            try:
                self.server = server.start()
            except (ServerError, OSError) as exc:
                logger.warning("the host serves its own socket this time: %s", exc)
        return self.server is not None

    def popen(self, argv: list[str]) -> subprocess.Popen[bytes]:
        if not self.open():
            return subprocess.Popen(argv, stderr=subprocess.PIPE)
        sender, value, fds, close_host_ends = handover.open_channel()
        try:
            env = {**os.environ, handover.ENV_VAR: value}
            # A session of its own: its share of the CPU can then be lowered as a whole
            # (``runtime.cpu_priority``) without lowering ours, or a terminal's we started in.
            child = subprocess.Popen(
                argv, stderr=subprocess.PIPE, env=env, pass_fds=fds, start_new_session=True
            )
        except BaseException:
            sender.close()
            raise
        finally:
            close_host_ends()
        self.door.attach(sender)
        return child

    def host_gone(self) -> None:
        self.door.detach()

    def fall_asleep(self) -> None:
        self.door.fall_asleep()

    def wait_for_demand(self, timeout: float) -> bool:
        return self.door.wait_for_demand(timeout)

    def close(self) -> None:
        self.door.detach()
        self.door.release_held()
        if self.server is not None:
            self.server.stop()
            self.server = None


def main(argv: Sequence[str] | None = None) -> int:
    """``stashplex run`` becomes this: the watchdog, with the front door. Stopped on purpose, it
    ends the hooks' start cooldown, so a save right after a stop starts a supervisor at once."""
    from stashplex.runtime import watchdog

    doors: list[FrontDoorService] = []

    def door(data_dir: Path, limits: Any) -> FrontDoorService:
        doors.append(FrontDoorService(data_dir, limits))
        return doors[-1]

    code = watchdog.main(argv, door=door)
    if code == watchdog.EXIT_OK and doors:
        starts.end_cooldown(str(doors[0].data_dir))
    return code


if __name__ == "__main__":
    sys.exit(main())
