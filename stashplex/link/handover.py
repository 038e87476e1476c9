"""The channel from the front door (in the watchdog) to the actor host.

The front door owns the public socket so that a hook is answered by a process that runs no
actor work (see :mod:`stashplex.link.frontdoor`). Everything that is not a hook event is the
host's to answer, so the front door hands that connection over whole: the connection's file
descriptor travels over a Unix socket pair (``SCM_RIGHTS``) together with the first request,
already read; the host replies to it and serves the rest of the connection as if it had
accepted it. The same channel carries a cheap wake-up ("the spool has new events") with no
descriptor attached.

A message is a 4-byte big-endian length and that many bytes of JSON (the first request), or
length 0 for a wake-up. Senders share one lock so their messages never interleave.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
from collections.abc import Callable
from typing import Any

from stashplex.link import wire

logger = logging.getLogger(__name__)

#: The environment variable naming the host's end of the channel (set by the watchdog).
ENV_VAR = "STASHPLEX_HANDOVER_FD"
HEADER_BYTES = 4


def supported() -> bool:
    """Unix sockets and descriptor passing: every POSIX system, not Windows."""
    return hasattr(socket, "AF_UNIX") and hasattr(socket, "send_fds")


def channel_pair() -> tuple[socket.socket, socket.socket]:
    """(the front door's end, the host's end); the host's end is inheritable."""
    door, host = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    host.set_inheritable(True)
    return door, host


class Sender:
    """The front door's end: hand connections over, ring the wake-up."""

    def __init__(self, channel: socket.socket) -> None:
        self._channel = channel
        self._lock = threading.Lock()

    def hand_over(self, connection: socket.socket, first: dict[str, Any]) -> None:
        """Pass ``connection`` and its first request; raises ``OSError`` if the host is gone."""
        body = wire.to_json(first).encode("utf-8")
        header = len(body).to_bytes(HEADER_BYTES, "big")
        with self._lock:
            socket.send_fds(self._channel, [header], [connection.fileno()])
            self._channel.sendall(body)

    def wake(self) -> None:
        """Tell the host the spool has something; never blocks long, never raises."""
        with self._lock, contextlib.suppress(OSError):
            self._channel.sendall(bytes(HEADER_BYTES))

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._channel.close()


def receive(
    channel: socket.socket,
    on_connection: Callable[[socket.socket, dict[str, Any]], None],
    on_wake: Callable[[], None],
) -> None:
    """Read the channel until the front door closes it (the watchdog is gone or stopping)."""
    while True:
        try:
            header, fds, _flags, _address = socket.recv_fds(channel, HEADER_BYTES, 1)
        except OSError as exc:
            logger.warning("handover channel failed: %s", exc)
            return
        if not header:
            return
        header += _exactly(channel, HEADER_BYTES - len(header))
        length = int.from_bytes(header, "big")
        if not fds:
            if length == 0:
                on_wake()
                continue
            logger.error("handover channel out of step: a request without its connection")
            return
        connection = socket.socket(fileno=fds[0])
        for extra in fds[1:]:
            with contextlib.suppress(OSError):
                socket.socket(fileno=extra).close()
        try:
            first = wire.decode_frame_body(_exactly(channel, length))
        except (OSError, wire.FrameError) as exc:
            logger.error("handover channel failed mid-message: %s", exc)
            connection.close()
            return
        on_connection(connection, first)


def _exactly(channel: socket.socket, count: int) -> bytes:
    data = bytearray()
    while len(data) < count:
        chunk = channel.recv(count - len(data))
        if not chunk:
            raise OSError("handover channel closed mid-message")
        data += chunk
    return bytes(data)
