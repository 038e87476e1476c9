"""HTTP transport: a threading HTTP/1.1 keep-alive server that can really go down and come back.

"Down" closes the listening socket and every open connection, so clients see connection refused
(not a hang); "up" binds the same port again.

It also stands in for the reverse proxy users put in front of PMS: a request line longer than
`max_request_line` is answered `414 Request-URI Too Large` and a body larger than
`max_body_bytes` `413 Request Entity Too Large`, as nginx does with its defaults
(`large_client_header_buffers 4 8k`, `client_max_body_size`). Such requests never reach PMS: they
are not dispatched, only reported to `on_reject`. The rest of the request is read and dropped
before answering, as nginx's lingering close does, so the client reads the answer instead of a
connection reset.
"""

from __future__ import annotations

import contextlib
import http.client
import logging
import socket
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, unquote

from stashplex.sandbox.plex.wire import Request, Response, encode, error, proxy_error

log = logging.getLogger(__name__)
# None means: close the connection without answering.
Dispatch = Callable[[Request], Response | None]
#: (max request line, max body bytes); None for no limit.
Limits = Callable[[], tuple[int | None, int | None]]
#: Told about every request the "proxy" refused: (status, method, first 200 bytes of target).
OnReject = Callable[[int, str, str], None]
_DRAIN_LIMIT = 64 * 1024 * 1024
_current = threading.local()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 128

    def __init__(
        self, address: tuple[str, int], dispatch: Dispatch, limits: Limits, on_reject: OnReject
    ) -> None:
        self.dispatch = dispatch
        self.limits = limits
        self.on_reject = on_reject
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        self.closing = False
        super().__init__(address, _Handler)

    def handle_error(self, request: object, client_address: object) -> None:
        """Client resets and our own forced closes are normal here; anything else is a bug."""
        import sys

        exc = sys.exc_info()[1]
        if isinstance(exc, OSError):
            return
        log.exception("plex emulator handler failed for %s", client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self.server.connections_lock:
            self.server.connections.add(self.connection)
        _current.connection = self.connection

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            with self.server.connections_lock:
                self.server.connections.discard(self.connection)
            _current.connection = None

    def log_message(self, *args: object) -> None:
        """Silence per-request stderr lines; the request log is the record."""

    def parse_request(self) -> bool:
        """Refuse an over-long request line before PMS would see it (414, like nginx)."""
        max_line, _ = self.server.limits()
        line = self.raw_requestline.rstrip(b"\r\n")
        if max_line is None or len(line) <= max_line:
            return super().parse_request()
        method, _, target = line.decode("latin-1").partition(" ")
        # Headers as broken as the line: answer and close all the same.
        with contextlib.suppress(http.client.HTTPException):
            self._drain(http.client.parse_headers(self.rfile).get("Content-Length"))
        self._refuse(414, method, target)
        return False

    def _drain(self, length_header: str | None) -> None:
        try:
            remaining = min(int(length_header or 0), _DRAIN_LIMIT)
        except ValueError:
            return
        while remaining > 0:
            chunk = self.rfile.read(min(remaining, 65536))
            if not chunk:
                return
            remaining -= len(chunk)

    def _refuse(self, status: int, method: str, target: str) -> None:
        self.close_connection = True
        self.server.on_reject(status, method, target[:200])
        self.wfile.write(encode(proxy_error(status), keep_alive=False))

    def do_GET(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def _serve(self) -> None:
        raw_path, _, raw_query = self.path.partition("?")
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0:
            self.close_connection = True
            self.wfile.write(encode(error(400, "bad Content-Length"), keep_alive=False))
            return
        _, max_body = self.server.limits()
        if max_body is not None and length > max_body:
            self._drain(str(length))
            self._refuse(413, self.command, self.path)
            return
        body = self.rfile.read(length) if length else b""
        request = Request(
            method=self.command,
            path=unquote(raw_path),
            pairs=parse_qsl(raw_query, keep_blank_values=True),
            headers={name.lower(): value for name, value in self.headers.items()},
            body=body,
        )
        response = self.server.dispatch(request)
        if response is None:
            self.close_connection = True
            return
        if self.server.closing:
            self.close_connection = True
        self.wfile.write(encode(response, keep_alive=not self.close_connection))


class HttpListener:
    """One listening socket served by a background thread; restartable on the same port."""

    def __init__(
        self,
        host: str,
        port: int,
        dispatch: Dispatch,
        limits: Limits = lambda: (None, None),
        on_reject: OnReject = lambda status, method, target: None,
    ) -> None:
        self.host = host
        self.port = port
        self._dispatch = dispatch
        self._limits = limits
        self._on_reject = on_reject
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    @property
    def running(self) -> bool:
        return self._server is not None

    def start(self) -> None:
        with self._lock:
            if self._server is not None:
                return
            server = _Server((self.host, self.port), self._dispatch, self._limits, self._on_reject)
            self.port = server.server_address[1]
            thread = threading.Thread(
                target=server.serve_forever,
                kwargs={"poll_interval": 0.05},
                name=f"plex-emulator-{self.port}",
                daemon=True,
            )
            thread.start()
            self._server, self._thread = server, thread

    def stop(self) -> None:
        """Stop listening and cut every connection but the asking one (closed after its answer)."""
        with self._lock:
            server, self._server = self._server, None
            thread, self._thread = self._thread, None
        if server is None:
            return
        server.closing = True
        server.shutdown()
        server.server_close()
        spare = getattr(_current, "connection", None)
        with server.connections_lock:
            doomed = [conn for conn in server.connections if conn is not spare]
        for conn in doomed:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        if thread is not None:
            thread.join(timeout=5)
