"""The door of the TCP fallback: prove the token in a small first frame, or be gone.

A Unix socket is guarded by file permissions; loopback TCP (the fallback where the data-dir
path is too long for a socket) is open to every local user. So before anything is read from a
TCP client that could be large or slow, it must send ``{"v": 1, "type": "auth", "token": ...}``
as its first frame: at most :data:`AUTH_FRAME_MAX` bytes, within :data:`AUTH_DEADLINE_S`.

Connections waiting to authenticate cost no thread: one selector loop (the server's accept loop)
reads their first frames, byte-exact, without ever reading past it. At most
:data:`MAX_PENDING` of them wait at once; a new one pushes out the oldest, so a flood of silent
connections cannot keep the owner's hook (which sends its token at once) from being admitted.
Only an admitted connection gets a thread and may send frames of the normal size.
"""

from __future__ import annotations

import contextlib
import hmac
import logging
import selectors
import socket
import time
from collections import OrderedDict
from collections.abc import Callable

from stashplex.link import wire

logger = logging.getLogger(__name__)

#: Largest first frame: version, type and a 43-character token fit many times over.
AUTH_FRAME_MAX = 512
#: How long a connection may take to authenticate.
AUTH_DEADLINE_S = 1.0
#: Connections waiting to authenticate at once; the oldest is dropped for a new one.
MAX_PENDING = 128
#: Connections accepted per turn of the loop, so waiting ones are read between bursts.
ACCEPT_BATCH = 32
#: The reply to a client that did not prove the token.
REFUSAL = "unauthorised: missing or wrong token"


class _Pending:
    __slots__ = ("buffer", "deadline", "sock")

    def __init__(self, sock: socket.socket, deadline: float) -> None:
        self.sock = sock
        self.buffer = bytearray()
        self.deadline = deadline

    def wanted(self) -> int:
        """Bytes still missing from the first frame (header first, then its body)."""
        if len(self.buffer) < wire.HEADER_BYTES:
            return wire.HEADER_BYTES - len(self.buffer)
        length = int.from_bytes(self.buffer[: wire.HEADER_BYTES], "big")
        return wire.HEADER_BYTES + length - len(self.buffer)


class AuthGate:
    """Accepts on ``listener`` and admits connections that prove ``token``."""

    def __init__(
        self,
        listener: socket.socket,
        token: str,
        admit: Callable[[socket.socket], None],
        *,
        max_pending: int = MAX_PENDING,
        deadline_s: float = AUTH_DEADLINE_S,
    ) -> None:
        self._listener = listener
        self._token = token.encode("utf-8")
        self._admit = admit
        self._max_pending = max_pending
        self._deadline_s = deadline_s
        self._pending: OrderedDict[socket.socket, _Pending] = OrderedDict()
        self._selector = selectors.DefaultSelector()
        listener.setblocking(False)
        self._selector.register(listener, selectors.EVENT_READ)

    def poll(self, timeout: float) -> None:
        """One turn: accept what waits, read first frames, drop the late."""
        if self._pending:
            soonest = next(iter(self._pending.values())).deadline - time.monotonic()
            timeout = max(0.0, min(timeout, soonest))
        for key, _events in self._selector.select(timeout):
            if key.fileobj is self._listener:
                self._accept()
            elif key.fileobj in self._pending:
                self._read(self._pending[key.fileobj])  # type: ignore[index]
        now = time.monotonic()
        while self._pending:
            oldest = next(iter(self._pending.values()))
            if oldest.deadline > now:
                break
            self._drop(oldest, reply=True)

    def close(self) -> None:
        for pending in list(self._pending.values()):
            self._drop(pending, reply=False)
        self._selector.close()

    def _accept(self) -> None:
        for _ in range(ACCEPT_BATCH):
            try:
                sock, _address = self._listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                logger.warning("accept failed: %s", exc)
                return
            sock.setblocking(False)
            if len(self._pending) >= self._max_pending:
                self._drop(next(iter(self._pending.values())), reply=False)
            pending = _Pending(sock, time.monotonic() + self._deadline_s)
            self._pending[sock] = pending
            self._selector.register(sock, selectors.EVENT_READ)
            self._read(pending)  # its frame may be there already

    def _read(self, pending: _Pending) -> None:
        while (wanted := pending.wanted()) > 0:
            if len(pending.buffer) + wanted > AUTH_FRAME_MAX + wire.HEADER_BYTES:
                self._drop(pending, reply=True)  # a first frame this large is not an auth frame
                return
            try:
                chunk = pending.sock.recv(wanted)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                self._drop(pending, reply=False)
                return
            if not chunk:
                self._drop(pending, reply=False)
                return
            pending.buffer += chunk
        self._decide(pending)

    def _decide(self, pending: _Pending) -> None:
        try:
            frame = wire.decode_frame_body(bytes(pending.buffer[wire.HEADER_BYTES :]))
        except wire.FrameError:
            frame = {}
        offered = frame.get("token")
        proved = (
            frame.get("type") == "auth"
            and isinstance(offered, str)
            and hmac.compare_digest(offered.encode("utf-8"), self._token)
        )
        if not proved:
            self._drop(pending, reply=True)
            return
        self._forget(pending)
        pending.sock.setblocking(True)
        self._admit(pending.sock)

    def _forget(self, pending: _Pending) -> None:
        self._pending.pop(pending.sock, None)
        with contextlib.suppress(KeyError, ValueError):
            self._selector.unregister(pending.sock)

    def _drop(self, pending: _Pending, *, reply: bool) -> None:
        """Close an unauthenticated connection; a refusal is sent only if it fits at once."""
        self._forget(pending)
        if reply:
            with contextlib.suppress(OSError):
                pending.sock.send(wire.encode_frame(wire.error_reply(REFUSAL)))
        with contextlib.suppress(OSError):
            pending.sock.close()
