"""The local wire protocol between Stash's plugin processes and the supervisor.

Shared by the hook (which Stash runs synchronously while the user's save waits), the tasks,
the supervisor's server and the CLI. The hook copies this file next to itself and runs with
``python -S``, so this module may import only the standard library, and only the cheap part of
it: ``json`` drags in ``re`` and ``enum`` and ``socket`` drags in ``selectors`` and ``enum``,
which together would double the hook's start-up time. We therefore speak JSON through the C
accelerator ``_json`` and sockets through ``_socket`` (both always built into CPython), and fall
back to ``json`` only if the accelerator is missing.

A frame is a 4-byte big-endian length followed by that many bytes of UTF-8 JSON holding one
object. Requests look like ``{"v": 1, "type": "<kind>", ...}``; replies like
``{"v": 1, "ok": true|false, "error": "<one clear line>", ...}``.
"""

# pathlib costs ~10 ms of start-up (it imports re, fnmatch, urllib): the hook pays for every byte.
# ruff: noqa: PTH100, PTH103, PTH105, PTH118, PTH123

from __future__ import annotations

import _socket
import os
import sys
import time

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs ~10 ms at start-up; annotations need it only for checkers
    from typing import Any

#: Version of the frame format and message vocabulary; both sides refuse any other.
PROTOCOL_VERSION = 1
#: Largest frame body either side accepts; a hook event with its huge values cut is far smaller.
MAX_FRAME_BYTES = 1024 * 1024
#: Size of the big-endian length prefix in front of each frame body.
HEADER_BYTES = 4
#: Name of the Unix socket inside the data directory.
SOCKET_NAME = "stashplex.sock"
#: Where a TCP server records its port and shared token (owner-only permissions).
ENDPOINT_FILE = "endpoint.json"
#: Longest Unix socket path we bind: the kernel limit is 104-108 bytes depending on the OS.
MAX_UNIX_PATH_BYTES = 100
#: Folder of the data directory where a hook leaves events the supervisor could not take.
SPOOL_DIR = "spool"
#: Loopback address of the TCP fallback; we never listen on or talk to anything else.
LOOPBACK = "127.0.0.1"


class FrameError(ValueError):
    """A frame or message that breaks the protocol; the text says exactly how."""


class ConnectionClosedError(FrameError):
    """The peer closed cleanly between frames: the normal end of a conversation."""


class UnreachableError(ConnectionError):
    """No supervisor answers at the data directory's endpoint."""


# -- JSON through the C accelerator ----------------------------------------------------------


class _ScannerContext:
    """The attributes ``_json.make_scanner`` reads from its context object."""

    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    memo: dict[str, str]

    def __init__(self) -> None:
        self.memo = {}

    @staticmethod
    def parse_constant(name: str) -> float:
        raise FrameError(f"not JSON: {name} is not a JSON value")


def _refuse_unserialisable(value: object) -> object:
    raise FrameError(f"not JSON-serialisable: {type(value).__name__}")


try:
    import _json

    _scan_once = _json.make_scanner(_ScannerContext())
    _encode_object = _json.make_encoder(
        None, _refuse_unserialisable, _json.encode_basestring_ascii, None, ":", ",",
        False, False, False,
    )  # fmt: skip
except (ImportError, AttributeError, TypeError):  # pragma: no cover - not CPython
    import json as _slow_json

    _scan_once = None
    _encode_object = None

_JSON_WHITESPACE = " \t\n\r"


def to_json(value: object) -> str:
    """Compact ASCII JSON; NaN, infinities and non-JSON types are refused with ``FrameError``."""
    if _encode_object is None:  # pragma: no cover - not CPython
        try:
            return _slow_json.dumps(value, separators=(",", ":"), allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise FrameError(f"not JSON-serialisable: {exc}") from None
    try:
        return "".join(_encode_object(value, 0))
    except (TypeError, ValueError) as exc:  # TypeError: a key that is not a string or number
        if isinstance(exc, FrameError):
            raise
        raise FrameError(f"not JSON-serialisable: {exc}") from None
    except RecursionError:
        raise FrameError("not JSON-serialisable: nested too deeply") from None


def from_json(text: str) -> Any:
    """Parse one JSON document (strict: no NaN/Infinity, no trailing data)."""
    if _scan_once is None:  # pragma: no cover - not CPython
        try:
            return _slow_json.loads(text, parse_constant=_ScannerContext.parse_constant)
        except ValueError as exc:
            raise FrameError(f"not JSON: {exc}") from None
    start = len(text) - len(text.lstrip(_JSON_WHITESPACE))
    try:
        value, end = _scan_once(text, start)
    except StopIteration as stop:
        raise FrameError(f"not JSON: no value at character {stop.value}") from None
    except ValueError as exc:  # JSONDecodeError or our FrameError
        if isinstance(exc, FrameError):
            raise
        raise FrameError(f"not JSON: {exc}") from None
    except RecursionError:
        raise FrameError("not JSON: nested too deeply") from None
    except SystemError:
        # The C scanner builds its error from json.decoder but only finds it if already
        # imported; pay for that import on this error path alone, then parse again.
        import json.decoder  # noqa: F401

        return from_json(text)
    if text[end:].strip(_JSON_WHITESPACE):
        raise FrameError(f"not JSON: extra data at character {end}")
    return value


# -- frames -----------------------------------------------------------------------------------


def encode_frame(message: dict[str, Any]) -> bytes:
    """The bytes of one frame; refuses non-objects and bodies over ``MAX_FRAME_BYTES``."""
    if not isinstance(message, dict):
        raise FrameError(f"a frame holds a JSON object, not {type(message).__name__}")
    body = to_json(message).encode("ascii")
    if len(body) > MAX_FRAME_BYTES:
        raise FrameError(f"message of {len(body)} bytes exceeds the {MAX_FRAME_BYTES} byte limit")
    return len(body).to_bytes(HEADER_BYTES, "big") + body


def decode_frame_body(body: bytes) -> dict[str, Any]:
    """Validate and parse a frame body (without its length prefix)."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise FrameError(f"frame is not UTF-8 (bad byte at offset {exc.start})") from None
    message = from_json(text)
    if not isinstance(message, dict):
        raise FrameError(f"frame must hold a JSON object, not {_json_type(message)}")
    if "v" not in message:
        raise FrameError("frame has no protocol version 'v'")
    version = message["v"]
    if type(version) is not int or version != PROTOCOL_VERSION:
        raise FrameError(
            f"unsupported protocol version {to_json(version)[:20]} "
            f"(this side speaks {PROTOCOL_VERSION})"
        )
    return message


def read_frame(sock: Any, deadline: float | None = None) -> dict[str, Any]:
    """Read exactly one frame from a connected socket.

    ``deadline`` (a ``time.monotonic()`` value) bounds the whole read; without it the socket's
    own timeout applies to each receive. A clean close before the first byte raises
    ``ConnectionClosedError``; any other shortfall or a malformed frame raises ``FrameError``.
    """
    header = _read_exact(sock, HEADER_BYTES, "frame header", deadline)
    length = int.from_bytes(header, "big")
    if length > MAX_FRAME_BYTES:
        raise FrameError(f"frame of {length} bytes exceeds the {MAX_FRAME_BYTES} byte limit")
    return decode_frame_body(_read_exact(sock, length, "frame body", deadline))


def _read_exact(sock: Any, size: int, what: str, deadline: float | None) -> bytes:
    chunks: list[bytes] = []
    received = 0
    while received < size:
        if deadline is not None:
            sock.settimeout(_remaining(deadline))
        chunk = sock.recv(min(size - received, 65536))
        if not chunk:
            if received == 0 and what == "frame header":
                raise ConnectionClosedError("connection closed")
            raise FrameError(f"connection closed after {received} of {size} {what} bytes")
        chunks.append(chunk)
        received += len(chunk)
    return b"".join(chunks)


def _remaining(deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError("timed out")
    return left


def _json_type(value: object) -> str:
    names = {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}
    return names.get(type(value), "number")


def error_reply(text: str) -> dict[str, Any]:
    """A refusal in the protocol's shape; ``text`` is cut to one line."""
    return {"v": PROTOCOL_VERSION, "ok": False, "error": one_line(text)}


def one_line(text: str, limit: int = 2000) -> str:
    """``text`` on one line and at most ``limit`` characters (Stash logs line by line)."""
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


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


def unix_socket_path(data_dir: str | os.PathLike[str]) -> str | None:
    """The socket path for ``data_dir``, or None where Unix sockets can't be used.

    None on platforms without AF_UNIX (Windows Python) and when the path is too long for
    ``sockaddr_un`` (deep Docker volume paths), which is when the TCP fallback takes over.
    """
    if not hasattr(_socket, "AF_UNIX"):
        return None
    path = os.path.join(os.path.abspath(data_dir), SOCKET_NAME)
    return path if len(os.fsencode(path)) <= MAX_UNIX_PATH_BYTES else None


def endpoint_file(data_dir: str | os.PathLike[str]) -> str:
    return os.path.join(os.fspath(data_dir), ENDPOINT_FILE)


def endpoint_for(data_dir: str | os.PathLike[str]) -> Endpoint:
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
            record = from_json(text)
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
    outgoing = {"v": PROTOCOL_VERSION, **message}
    if endpoint.kind == "tcp":
        outgoing["token"] = endpoint.token
    frame = encode_frame(outgoing)
    sock = connect(endpoint, timeout)
    try:
        sock.settimeout(_remaining(deadline))
        sock.sendall(frame)
        return read_frame(sock, deadline)
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


def write_spool(data_dir: str | os.PathLike[str], event: dict[str, Any]) -> str:
    """Durably leave ``event`` in ``<data_dir>/spool/`` for the supervisor to pick up later.

    Written to a ``.tmp`` file, fsynced, atomically renamed and the folder fsynced, so a crash
    leaves either nothing or the whole event. Names sort by time:
    ``<time_ns>-<pid>-<random>.json``. Returns the final path.
    """
    spool_dir = os.path.join(os.fspath(data_dir), SPOOL_DIR)
    os.makedirs(data_dir, mode=0o700, exist_ok=True)  # the events carry Stash's session cookie
    os.makedirs(spool_dir, mode=0o700, exist_ok=True)
    body = to_json({"v": PROTOCOL_VERSION, "event": event}).encode("ascii")
    name = f"{time.time_ns():020d}-{os.getpid()}-{os.urandom(4).hex()}.json"
    final_path = os.path.join(spool_dir, name)
    tmp_path = final_path + ".tmp"
    fd = os.open(tmp_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o600)
    try:
        view = memoryview(body)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp_path, final_path)
    fsync_directory(spool_dir)
    return final_path


def read_spool_record(data: bytes) -> dict[str, Any]:
    """The event inside a spool file's bytes, or ``FrameError`` saying what is wrong."""
    record = decode_frame_body(data)
    event = record.get("event")
    if not isinstance(event, dict):
        raise FrameError("spool record has no event object")
    return event


def fsync_directory(path: str) -> None:
    """Make a rename in ``path`` durable; Windows has no directory fsync (NTFS journals it)."""
    if sys.platform == "win32":  # pragma: no cover - Windows
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
