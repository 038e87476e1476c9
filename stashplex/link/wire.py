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

from __future__ import annotations

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
            sock.settimeout(time_left(deadline))
        chunk = sock.recv(min(size - received, 65536))
        if not chunk:
            if received == 0 and what == "frame header":
                raise ConnectionClosedError("connection closed")
            raise FrameError(f"connection closed after {received} of {size} {what} bytes")
        chunks.append(chunk)
        received += len(chunk)
    return b"".join(chunks)


def time_left(deadline: float) -> float:
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
