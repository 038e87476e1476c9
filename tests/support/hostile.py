"""Hostile neighbours on loopback: servers that capture credentials, trickle, or never stop.

Small ``http.server`` fixtures, started on 127.0.0.1 with an ephemeral port, for the tests of
issue 16. Nothing here is mocked: stashplex talks to them over real HTTP, as it would to a
server someone pointed it at.
"""

from __future__ import annotations

import re
import threading
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

IDENTITY_XML = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<MediaContainer size="0" claimed="1" machineIdentifier="{mid}" version="1.40.0.0"/>\n'
)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    fixture: LoopbackServer


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, *_args: Any) -> None:
        """Quiet: the tests assert on what the fixture recorded instead."""

    def do_GET(self) -> None:
        self.server.fixture.serve(self)

    def do_POST(self) -> None:
        self.server.fixture.serve(self)

    def do_PUT(self) -> None:
        self.server.fixture.serve(self)


class LoopbackServer:
    """A threaded HTTP server on loopback; subclasses answer in :meth:`serve`."""

    def __init__(self) -> None:
        self._httpd = _Server(("127.0.0.1", 0), _Handler)
        self._httpd.fixture = self
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self.stopping = threading.Event()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def start(self) -> LoopbackServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> LoopbackServer:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def serve(self, handler: BaseHTTPRequestHandler) -> None:
        raise NotImplementedError


@dataclass
class Captured:
    method: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)


class CaptureServer(LoopbackServer):
    """Pretends to be a Plex server (``/identity`` answers) and records every request."""

    def __init__(self, machine_identifier: str = "capture-server") -> None:
        super().__init__()
        self.machine_identifier = machine_identifier
        self.requests: list[Captured] = []
        self._lock = threading.Lock()

    def serve(self, handler: BaseHTTPRequestHandler) -> None:
        with self._lock:
            self.requests.append(Captured(handler.command, handler.path, dict(handler.headers)))
        if handler.path.split("?", 1)[0] == "/identity":
            body = IDENTITY_XML.format(mid=self.machine_identifier).encode()
            status = 200
        else:
            body, status = b"<html>401 Unauthorized</html>", 401
        handler.send_response(status)
        handler.send_header("Content-Type", "text/xml")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    def carrying(self, secret: str) -> list[Captured]:
        """The requests that carried ``secret`` anywhere (a header or the URL)."""
        with self._lock:
            return [
                r
                for r in self.requests
                if secret in r.path or any(secret in v for v in r.headers.values())
            ]


_SCREENSHOT = re.compile(r"^/scene/(\d+)/screenshot")


class HostileStash(LoopbackServer):
    """A reverse proxy in front of a Stash emulator whose covers may misbehave.

    Stash builds cover URLs from the Host header it is asked with, so covers of scenes seen
    through the proxy point at the proxy. ``covers[scene_id]`` picks how one misbehaves:
    ``trickle`` (one byte a second, forever) or ``endless`` (64 KiB pieces until the client
    hangs up); other requests are passed to the emulator unchanged.
    """

    def __init__(self, upstream: str) -> None:
        super().__init__()
        self.upstream = upstream.rstrip("/")
        self.covers: dict[str, str] = {}
        self.bytes_sent: dict[str, int] = {}

    def serve(self, handler: BaseHTTPRequestHandler) -> None:
        match = _SCREENSHOT.match(handler.path)
        mode = self.covers.get(match.group(1)) if match else None
        if mode is not None:
            self._misbehave(handler, match.group(1), mode)  # type: ignore[union-attr]
            return
        self._forward(handler)

    def _forward(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else None
        headers = {
            k: v
            for k, v in handler.headers.items()
            if k.lower() not in ("content-length", "connection", "accept-encoding")
        }
        request = urllib.request.Request(
            self.upstream + handler.path, data=body, headers=headers, method=handler.command
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:
                status, payload, kind = answer.status, answer.read(), answer.headers
        except urllib.error.HTTPError as error:
            status, payload, kind = error.code, error.read(), error.headers
        handler.send_response(status)
        handler.send_header("Content-Type", kind.get("Content-Type", "application/octet-stream"))
        handler.send_header("Content-Length", str(len(payload)))
        handler.end_headers()
        handler.wfile.write(payload)

    def _misbehave(self, handler: BaseHTTPRequestHandler, scene_id: str, mode: str) -> None:
        handler.close_connection = True
        handler.send_response(200)
        handler.send_header("Content-Type", "image/png")
        if mode == "trickle":
            handler.send_header("Content-Length", "1000")
        handler.end_headers()
        sent = 0
        piece = b"\x89" if mode == "trickle" else b"\x00" * 65536
        try:
            while not self.stopping.is_set():
                handler.wfile.write(piece)
                handler.wfile.flush()
                sent += len(piece)
                self.bytes_sent[scene_id] = sent
                if mode == "trickle":
                    self.stopping.wait(1.0)
        except OSError:
            return  # the client hung up: what we wanted
