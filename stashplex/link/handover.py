"""The channel from the front door (in the watchdog) to the actor host.

The front door owns the public socket so that a hook is answered by a process that runs no
actor work (see :mod:`stashplex.link.frontdoor`). Everything that is not a hook event is the
host's to answer, so the front door hands that connection over whole: the connection's file
descriptor travels over a Unix socket pair (``SCM_RIGHTS``) together with the first request,
already read; the host replies to it and serves the rest of the connection as if it had
accepted it. A message is a 4-byte big-endian length and that many bytes of JSON; senders share
one lock so their messages never interleave.

Wake-ups ("the spool has new events") go through a pipe of their own whose writing end never
blocks: a hook's answer must not wait behind a hand-over to a host too busy to read. A full
pipe already holds a wake-up, so a byte that does not fit is simply dropped.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
from collections.abc import Callable
from typing import Any

from stashplex.link import wire

logger = logging.getLogger(__name__)

#: The environment variable naming the host's ends, ``<channel fd>,<wake fd>`` (the watchdog's).
ENV_VAR = "STASHPLEX_HANDOVER_FD"
HEADER_BYTES = 4


def supported() -> bool:
    """Unix sockets and descriptor passing: every POSIX system, not Windows."""
    return hasattr(socket, "AF_UNIX") and hasattr(socket, "send_fds")


class Sender:
    """The front door's ends: hand connections over, ring the wake-up."""

    def __init__(self, channel: socket.socket, wake_fd: int) -> None:
        self._channel = channel
        self._wake_fd = wake_fd
        self._lock = threading.Lock()

    def hand_over(self, connection: socket.socket, first: dict[str, Any]) -> None:
        """Pass ``connection`` and its first request; raises ``OSError`` if the host is gone."""
        body = wire.to_json(first).encode("utf-8")
        header = len(body).to_bytes(HEADER_BYTES, "big")
        with self._lock:
            socket.send_fds(self._channel, [header], [connection.fileno()])
            self._channel.sendall(body)

    def wake(self) -> None:
        """Tell the host the spool has something; never blocks, never raises."""
        with contextlib.suppress(OSError):  # full (a wake-up is pending) or the host is gone
            os.write(self._wake_fd, b"\x01")

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._channel.close()
        with contextlib.suppress(OSError):
            os.close(self._wake_fd)


def open_channel() -> tuple[Sender, str, tuple[int, int], Callable[[], None]]:
    """The front door's :class:`Sender`, and for the host to be started: the value of
    :data:`ENV_VAR`, the descriptors to pass it, and what closes our copies of them once the
    host has them."""
    door, host = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    wake_read, wake_write = os.pipe()
    os.set_blocking(wake_write, False)
    for fd in (host.fileno(), wake_read):
        os.set_inheritable(fd, True)

    def close_host_ends() -> None:
        host.close()
        os.close(wake_read)

    value = f"{host.fileno()},{wake_read}"
    return Sender(door, wake_write), value, (host.fileno(), wake_read), close_host_ends


def host_ends(value: str) -> tuple[socket.socket, int] | None:
    """The host's ends named by :data:`ENV_VAR`'s ``value``, or None if it names none."""
    channel_fd, _, wake_fd = value.partition(",")
    if not (channel_fd.isdigit() and wake_fd.isdigit()):
        return None
    channel = socket.socket(fileno=int(channel_fd))
    channel.set_inheritable(False)
    os.set_inheritable(int(wake_fd), False)
    return channel, int(wake_fd)


def watch_wakes(wake_fd: int, on_wake: Callable[[], None]) -> None:
    """Call ``on_wake`` for every batch of wake-ups until the front door is gone."""
    while True:
        try:
            if not os.read(wake_fd, 4096):
                return
        except OSError:
            return
        on_wake()


def receive(
    channel: socket.socket, on_connection: Callable[[socket.socket, dict[str, Any]], None]
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
        if not fds:
            logger.error("handover channel out of step: a request without its connection")
            return
        connection = socket.socket(fileno=fds[0])
        for extra in fds[1:]:
            with contextlib.suppress(OSError):
                os.close(extra)
        try:
            header += _exactly(channel, HEADER_BYTES - len(header))
            first = wire.decode_frame_body(_exactly(channel, int.from_bytes(header, "big")))
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
