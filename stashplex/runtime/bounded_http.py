"""HTTP reads with a size cap and a total deadline: what one answer may cost us.

``requests`` bounds each socket read (its timeout), never the whole answer: a server that
trickles one byte a second, or streams forever, holds the job, the actor and its memory for as
long as it likes. Every session stashplex opens to Stash or Plex is a :func:`bounded_session`:

* its adapter reads every body itself, in small pieces, and stops with
  :class:`ResponseTooLargeError` past ``max_bytes`` (decompressed bytes: a gzip bomb counts at
  its real size) and with :class:`DeadlineExceededError` past ``deadline_s`` since the request
  was sent, each socket read waiting at most the time that is left;
* the wait for the status line and headers ends at the same deadline: the socket is shut down
  then (a blocked read cannot be interrupted any other way; :mod:`socket_deadlines` watches
  every request's socket from one thread), so headers sent a byte at a time cannot stretch a
  request either;
* it follows no redirect to another origin (scheme, host, port): ``requests`` re-sends custom
  headers such as ``ApiKey`` or ``X-Plex-Token`` on a redirect, so an answer could otherwise
  send a credential anywhere. Such a redirect is returned as the 3xx answer it is.

Both errors are ``requests`` exceptions, so code that classifies ``requests`` failures keeps
working; the failure belongs to that one request, and so to that one job.
"""

from __future__ import annotations

import threading
import time
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import DecodeError, ProtocolError, ReadTimeoutError

from stashplex.runtime.socket_deadlines import SOCKET_DEADLINES

#: Bytes asked of the socket per read: small, so the deadline is checked often.
READ_PIECE = 64 * 1024


class ResponseTooLargeError(requests.RequestException):
    """The answer is larger than the cap allows."""


class DeadlineExceededError(requests.Timeout):
    """The answer did not arrive in full before the deadline."""


def origin(url: str) -> tuple[str, str, int | None]:
    """(scheme, host, port) with the default port filled in: who a URL talks to."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port or {"http": 80, "https": 443}.get(scheme)
    except ValueError:
        port = None
    return scheme, (parts.hostname or "").lower(), port


def same_origin(url: str, other: str) -> bool:
    return origin(url) == origin(other)


def read_bounded(response: requests.Response, *, max_bytes: int, deadline: float) -> bytes:
    """Read ``response``'s whole body within ``max_bytes`` and before ``deadline`` (monotonic).

    The body is kept on the response, so ``.content``, ``.text`` and ``.json()`` work after.
    On failure the connection is closed (it is in an unknown state) and the error says which
    limit was hit, in one line, without any of the body.
    """
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        response.close()
        raise ResponseTooLargeError(f"the answer is {int(declared)} bytes, over {_mb(max_bytes)}")
    raw = response.raw
    pieces: list[bytes] = []
    size = 0
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise DeadlineExceededError(_late(size))
            _limit_wait(raw, left)
            piece = raw.read1(READ_PIECE, decode_content=True)
            if not piece:
                break
            size += len(piece)
            if size > max_bytes:
                raise ResponseTooLargeError(f"the answer is over {_mb(max_bytes)}")
            pieces.append(piece)
    except requests.RequestException:
        response.close()
        raise
    except (TimeoutError, ReadTimeoutError):
        response.close()
        if time.monotonic() >= deadline:
            raise DeadlineExceededError(_late(size)) from None
        raise requests.ReadTimeout(f"the server stopped sending ({size} bytes read)") from None
    except DecodeError:
        response.close()
        raise requests.ContentDecodingError("the answer cannot be decompressed") from None
    except (ProtocolError, OSError) as exc:
        response.close()
        raise requests.ConnectionError(f"the answer broke off: {type(exc).__name__}") from None
    body = b"".join(pieces)
    response._content = body  # noqa: SLF001 - what requests itself sets after reading
    response._content_consumed = True  # noqa: SLF001
    return body


def _limit_wait(raw: Any, left: float) -> None:
    """Let the next socket read wait no longer than the deadline allows."""
    connection = getattr(raw, "connection", None)
    sock = getattr(connection, "sock", None)
    if sock is None:
        return
    current = sock.gettimeout()
    if current is None or current > left:
        sock.settimeout(max(left, 0.001))


def _late(size: int) -> str:
    return f"the answer took longer than its deadline ({size} bytes read)"


def _mb(size: int) -> str:
    return f"{size / 2**20:g} MB" if size >= 2**20 else f"{size} bytes"


#: The deadline of the request this thread is sending, for the connections below.
_current = threading.local()


class _HeadersByDeadline:
    """Connection mixin: waiting for the status line and headers ends at the deadline."""

    sock: Any

    def getresponse(self) -> Any:
        deadline = getattr(_current, "deadline", None)
        sock = self.sock
        if deadline is None or sock is None:
            return super().getresponse()  # type: ignore[misc]
        token = SOCKET_DEADLINES.arm(deadline, sock)
        try:
            return super().getresponse()  # type: ignore[misc]
        finally:
            SOCKET_DEADLINES.disarm(token)


class _Connection(_HeadersByDeadline, HTTPConnection):
    pass


class _TLSConnection(_HeadersByDeadline, HTTPSConnection):
    pass


class _Pool(HTTPConnectionPool):
    ConnectionCls = _Connection


class _TLSPool(HTTPSConnectionPool):
    ConnectionCls = _TLSConnection


class BoundedAdapter(HTTPAdapter):
    """Reads every body itself, within the cap and the deadline, unless the caller streams."""

    def __init__(self, *, max_bytes: int, deadline_s: float) -> None:
        self.max_bytes = max_bytes
        self.deadline_s = deadline_s
        super().__init__()

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _Pool, "https": _TLSPool}

    def send(
        self, request: requests.PreparedRequest, stream: bool = False, **kwargs: Any
    ) -> requests.Response:
        deadline = time.monotonic() + self.deadline_s
        _current.deadline = deadline
        try:
            response = super().send(request, stream=True, **kwargs)
        except requests.ConnectionError:
            if time.monotonic() >= deadline:
                raise DeadlineExceededError("no answer before the deadline") from None
            raise
        finally:
            _current.deadline = None
        if not stream:
            read_bounded(response, max_bytes=self.max_bytes, deadline=deadline)
        return response


class BoundedSession(requests.Session):
    """A session whose redirects stay on their origin (see the module docstring), and which
    reads the environment's proxy and CA settings once per origin instead of once per request.

    ``requests`` looks for proxies in the whole environment on every request (twice: the
    ``no_proxy`` check and the proxy list), decoding every variable through ``os.environ``:
    about a tenth of a first sync's CPU. The answer depends only on the origin and the
    environment, which a running supervisor never changes.
    """

    #: Origins remembered per session before the memo starts again (covers may come from many).
    MAX_REMEMBERED_ORIGINS = 64

    def __init__(self) -> None:
        super().__init__()
        self._environment_memo: dict[tuple[Any, ...], dict[str, Any]] = {}

    def merge_environment_settings(
        self, url: str, proxies: Any, stream: Any, verify: Any, cert: Any
    ) -> dict[str, Any]:
        if proxies or not self.trust_env:  # a caller's own proxies: decide afresh
            return super().merge_environment_settings(url, proxies, stream, verify, cert)
        key = (origin(url), stream, verify, cert, self.stream, self.verify, self.cert,
               tuple(sorted(self.proxies.items())))  # fmt: skip
        settings = self._environment_memo.get(key)
        if settings is None:
            if len(self._environment_memo) >= self.MAX_REMEMBERED_ORIGINS:
                self._environment_memo.clear()
            settings = super().merge_environment_settings(url, {}, stream, verify, cert)
            self._environment_memo[key] = settings
        return {**settings, "proxies": dict(settings["proxies"])}

    def get_redirect_target(self, resp: requests.Response) -> str | None:
        target = super().get_redirect_target(resp)
        if target is None:
            return None
        absolute = requests.compat.urljoin(resp.url, target)
        return target if same_origin(absolute, resp.url) else None


def bounded_session(*, max_bytes: int, deadline_s: float) -> BoundedSession:
    """A ``requests`` session whose every answer is capped and deadlined."""
    session = BoundedSession()
    adapter = BoundedAdapter(max_bytes=max_bytes, deadline_s=deadline_s)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session
