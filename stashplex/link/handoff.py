"""How a hook event reaches the supervisor: its socket endpoint, or else a durable spool file.

Part of the stdlib-only hook link (see :mod:`stashplex.link.wire` for why every import here is
the cheap part of the standard library): the hook copies this package next to itself.
"""

# pathlib costs ~10 ms of start-up (it imports re, fnmatch, urllib): the hook pays for every byte.
# ruff: noqa: PTH123

from __future__ import annotations

import _socket
import sys
import time

from . import lean_os, wire
from .wire import (
    ENDPOINT_FILE,
    LOOPBACK,
    MAX_UNIX_PATH_BYTES,
    PROTOCOL_VERSION,
    SOCKET_NAME,
    SPOOL_DIR,
    ConnectionClosedError,
    FrameError,
    UnreachableError,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from .lean_os import StrPath


# -- endpoints --------------------------------------------------------------------------------


class Endpoint:
    """Where a supervisor listens: a Unix socket path, or loopback TCP with a shared token."""

    __slots__ = ("kind", "path", "port", "token")

    def __init__(
        self, kind: str, *, path: str | None = None, port: int = 0, token: str | None = None
    ) -> None:
        self.kind = kind
        self.path = path
        self.port = port
        self.token = token

    @classmethod
    def unix(cls, path: str) -> Endpoint:
        return cls("unix", path=path)

    @classmethod
    def tcp(cls, port: int, token: str) -> Endpoint:
        return cls("tcp", port=port, token=token)

    def describe(self) -> str:
        """For messages and logs: never includes the token."""
        return f"unix socket {self.path}" if self.kind == "unix" else f"tcp {LOOPBACK}:{self.port}"

    def __repr__(self) -> str:
        return f"Endpoint({self.describe()})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Endpoint):
            return NotImplemented
        return (self.kind, self.path, self.port, self.token) == (
            other.kind, other.path, other.port, other.token,
        )  # fmt: skip

    def __hash__(self) -> int:
        return hash((self.kind, self.path, self.port))


def unix_socket_path(data_dir: StrPath) -> str | None:
    """The socket path for ``data_dir``, or None where Unix sockets can't be used.

    None on platforms without AF_UNIX (Windows Python) and when the path is too long for
    ``sockaddr_un`` (deep Docker volume paths), which is when the TCP fallback takes over.
    """
    if not hasattr(_socket, "AF_UNIX"):
        return None
    path = lean_os.join(lean_os.abspath(data_dir), SOCKET_NAME)
    return path if len(lean_os.fsencode(path)) <= MAX_UNIX_PATH_BYTES else None


def endpoint_file(data_dir: StrPath) -> str:
    return lean_os.join(lean_os.fspath(data_dir), ENDPOINT_FILE)


def endpoint_for(data_dir: StrPath) -> Endpoint:
    """The endpoint clients of ``data_dir`` should use.

    ``endpoint.json`` exists only while a TCP server runs (a Unix server removes stale ones), so
    it wins; otherwise the Unix socket path. Raises ``UnreachableError`` if neither can apply.
    """
    record_path = endpoint_file(data_dir)
    try:
        with open(record_path, encoding="utf-8") as handle:
            text = handle.read()
    except FileNotFoundError:
        text = None
    except OSError as exc:
        raise UnreachableError(f"cannot read {record_path}: {exc.strerror}") from None
    if text is not None:
        try:
            record = wire.from_json(text)
            port, token = record["port"], record["token"]
            if type(port) is not int or not 0 < port < 65536 or not isinstance(token, str):
                raise TypeError
        except (FrameError, KeyError, TypeError):
            raise UnreachableError(f"{record_path} is corrupt; restart the supervisor") from None
        return Endpoint.tcp(port, token)
    path = unix_socket_path(data_dir)
    if path is None:
        raise UnreachableError(f"no supervisor endpoint recorded in {record_path}")
    return Endpoint.unix(path)


def connect(endpoint: Endpoint, timeout: float) -> Any:
    """A connected client socket, or ``UnreachableError`` saying why not."""
    if endpoint.kind == "unix":
        sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
        address: Any = endpoint.path
    else:
        sock = _socket.socket(_socket.AF_INET, _socket.SOCK_STREAM)
        address = (LOOPBACK, endpoint.port)
    sock.settimeout(timeout)
    try:
        sock.connect(address)
    except OSError as exc:
        sock.close()
        reason = (
            "timed out" if isinstance(exc, TimeoutError) else exc.strerror or type(exc).__name__
        )
        raise UnreachableError(f"no supervisor at {endpoint.describe()}: {reason}") from None
    return sock


def request(endpoint: Endpoint, message: dict[str, Any], timeout: float) -> dict[str, Any]:
    """Send one request and return its reply; ``timeout`` bounds the whole exchange.

    Raises ``UnreachableError`` when nobody answers (including a timeout or a connection dropped
    before the reply) and ``FrameError`` when the reply breaks the protocol.
    """
    deadline = time.monotonic() + timeout
    frame = wire.encode_frame({"v": PROTOCOL_VERSION, **message})
    if endpoint.kind == "tcp":  # the token first, in a small frame of its own (link/gate.py)
        auth = {"v": PROTOCOL_VERSION, "type": "auth", "token": endpoint.token}
        frame = wire.encode_frame(auth) + frame
    sock = connect(endpoint, timeout)
    try:
        sock.settimeout(wire.time_left(deadline))
        sock.sendall(frame)
        return wire.read_frame(sock, deadline)
    except ConnectionClosedError:
        raise UnreachableError(f"{endpoint.describe()} closed without a reply") from None
    except OSError as exc:
        reason = (
            "timed out" if isinstance(exc, TimeoutError) else exc.strerror or type(exc).__name__
        )
        raise UnreachableError(f"no reply from {endpoint.describe()}: {reason}") from None
    finally:
        sock.close()


# -- spool ------------------------------------------------------------------------------------


def write_spool(data_dir: StrPath, event: dict[str, Any], *, fsync: bool = True) -> str:
    """Durably leave ``event`` in ``<data_dir>/spool/`` for the supervisor to pick up later.

    Written to a ``.tmp`` file, fsynced, atomically renamed and the folder fsynced, so a crash
    leaves either nothing or the whole event. Names sort by time:
    ``<time_ns>-<pid>-<random>.json``. Returns the final path. Without ``fsync`` (the front
    door, when the mailboxes do not fsync either) the rename alone still survives any process
    crash, though not a power loss.
    """
    spool_dir = lean_os.join(lean_os.fspath(data_dir), SPOOL_DIR)
    lean_os.makedirs(data_dir, mode=0o700, exist_ok=True)  # the events carry Stash's session cookie
    lean_os.makedirs(spool_dir, mode=0o700, exist_ok=True)
    body = wire.to_json({"v": PROTOCOL_VERSION, "event": event}).encode("ascii")
    name = f"{time.time_ns():020d}-{lean_os.getpid()}-{lean_os.urandom(4).hex()}.json"
    final_path = lean_os.join(spool_dir, name)
    tmp_path = final_path + ".tmp"
    flags = lean_os.O_WRONLY | lean_os.O_CREAT | lean_os.O_EXCL | lean_os.O_BINARY
    fd = lean_os.open_fd(tmp_path, flags, 0o600)
    try:
        view = memoryview(body)
        while view:
            view = view[lean_os.write(fd, view) :]
        if fsync:
            lean_os.fsync(fd)
    finally:
        lean_os.close(fd)
    lean_os.replace(tmp_path, final_path)
    if fsync:
        fsync_directory(spool_dir)
    return final_path


def read_spool_record(data: bytes) -> dict[str, Any]:
    """The event inside a spool file's bytes, or ``FrameError`` saying what is wrong."""
    record = wire.decode_frame_body(data)
    event = record.get("event")
    if not isinstance(event, dict):
        raise FrameError("spool record has no event object")
    return event


def fsync_directory(path: str) -> None:
    """Make a rename in ``path`` durable; Windows has no directory fsync (NTFS journals it)."""
    if sys.platform == "win32":  # pragma: no cover - Windows
        return
    fd = lean_os.open_fd(path, lean_os.O_RDONLY)
    try:
        lean_os.fsync(fd)
    finally:
        lean_os.close(fd)
