"""HTTP front of the emulator: routes, Stash's authentication rules, faults and request counting."""

from __future__ import annotations

import contextlib
import json
import re
import socket
import threading
import time
from collections.abc import Callable
from http import HTTPStatus
from http.cookies import CookieError, SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from stashplex.sandbox.stash.context import HookChain, RequestContext
from stashplex.sandbox.stash.graphql_api import execute, parse_operation
from stashplex.sandbox.stash.images import DEFAULT_IMAGE, content_type
from stashplex.sandbox.stash.sessions import COOKIE_NAME

if TYPE_CHECKING:
    from stashplex.sandbox.stash.emulator import StashEmulator

IMAGE_ROUTES: dict[str, tuple[re.Pattern[str], str]] = {
    "/scene/{id}/screenshot": (re.compile(r"^/scene/(\d+)/screenshot$"), "scene"),
    "/performer/{id}/image": (re.compile(r"^/performer/(\d+)/image$"), "performer"),
    "/studio/{id}/image": (re.compile(r"^/studio/(\d+)/image$"), "studio"),
    "/tag/{id}/image": (re.compile(r"^/tag/(\d+)/image$"), "tag"),
    "/group/{id}/frontimage": (re.compile(r"^/group/(\d+)/frontimage$"), "group"),
}
INJECTED_ERROR = "fault injected: the emulator answers every GraphQL request with an error"


class EmulatorHTTPServer(ThreadingHTTPServer):
    """Tracks open connections so `faults.down()` can cut keep-alive clients off too."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], emulator: StashEmulator) -> None:
        self.emulator = emulator
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        super().__init__(address, StashRequestHandler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self.connections_lock:
            self.connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self.connections_lock:
            self.connections.discard(request)
        super().shutdown_request(request)

    def drop_connections(self) -> None:
        with self.connections_lock:
            open_connections = list(self.connections)
        for connection in open_connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)


class StashRequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes; with Nagle on, keep-alive clients stall ~40 ms.
    disable_nagle_algorithm = True
    server: EmulatorHTTPServer

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: access logs would carry `?apikey=` secrets."""

    # -- plumbing -------------------------------------------------------------------------------
    @property
    def emulator(self) -> StashEmulator:
        return self.server.emulator

    def _send(
        self, status: int, body: bytes, content: str, extra: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _send_json(self, status: int, payload: Any) -> None:
        self._send(status, json.dumps(payload).encode(), "application/json")

    def _unauthorized(self) -> None:
        self._send(HTTPStatus.UNAUTHORIZED, b"", "text/plain", {"WWW-Authenticate": "FormBased"})

    def _authenticate(self, query: dict[str, list[str]]) -> tuple[bool, HookChain]:
        """Stash's order: ApiKey header, then `?apikey=`, then the session cookie."""
        configured = self.emulator.api_key
        given = self.headers.get("ApiKey") or (query.get("apikey") or [""])[0]
        chain: HookChain | None = None
        raw_cookie = self.headers.get("Cookie")
        if raw_cookie:
            try:
                morsel = SimpleCookie(raw_cookie).get(COOKIE_NAME)
            except CookieError:
                morsel = None
            if morsel is not None:
                chain = self.emulator.session_chain(morsel.value)
        if given:
            return given == configured, chain or ()
        if configured is None:
            return True, chain or ()
        return chain is not None, chain or ()

    def _base_url(self) -> str:
        host = self.headers.get("Host") or f"{self.emulator.host}:{self.emulator.port}"
        return f"http://{host}{self.headers.get('X-Forwarded-Prefix', '')}"

    # -- dispatch -------------------------------------------------------------------------------
    def do_GET(self) -> None:
        self._dispatch()

    def do_HEAD(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def _dispatch(self) -> None:
        parts = urlsplit(self.path)
        query = parse_qs(parts.query)
        length = self._content_length()
        if length is None:
            return
        route, handler = self._route(parts.path)
        self.emulator.requests.record_route(route)
        body = self.rfile.read(length) if length > 0 else b""
        if self.emulator.faults.delay_s:
            time.sleep(self.emulator.faults.delay_s)
        if route == "/healthz":
            self._send(HTTPStatus.OK, b".", "text/plain; charset=utf-8")
            return
        if handler is None:
            self._send(HTTPStatus.NOT_FOUND, b"404 page not found\n", "text/plain")
            return
        authenticated, chain = self._authenticate(query)
        if not authenticated:
            self._unauthorized()
            return
        handler(parts.path, query, body, chain)

    def _route(self, path: str) -> tuple[str, Callable[..., None] | None]:
        if path == "/healthz":
            return path, None
        if path == "/graphql":
            return path, self._graphql
        for route, (pattern, _kind) in IMAGE_ROUTES.items():
            if pattern.match(path):
                return route, self._image
        return "other", None

    def _content_length(self) -> int | None:
        """The body length, or None after answering 400 for a header that is not a byte count.

        Go's net/http (Stash's server) rejects such a request before any handler runs and closes
        the connection: without a length the rest of the stream cannot be framed.
        """
        raw = self.headers.get("Content-Length")
        value = (raw or "").strip()
        if value == "":
            return 0
        if value.isascii() and value.isdigit():
            return int(value)
        self.close_connection = True
        message = f"400 Bad Request: invalid Content-Length: {raw!r}\n".encode()
        self._send(
            HTTPStatus.BAD_REQUEST, message, "text/plain; charset=utf-8", {"Connection": "close"}
        )
        return None

    # -- handlers -------------------------------------------------------------------------------
    def _graphql(
        self, _path: str, query: dict[str, list[str]], body: bytes, chain: HookChain
    ) -> None:
        request = self._graphql_request(query, body)
        if request is None:
            return
        text, variables, operation_name = request
        try:
            parsed = parse_operation(text, operation_name)
        except Exception:  # noqa: BLE001 - the executor reports parse errors itself
            parsed = None
        if parsed is not None:
            self.emulator.requests.record_graphql(parsed.operation_name, parsed.root_fields)
        if self.emulator.faults.graphql_errors_on:
            self._send_json(HTTPStatus.OK, {"errors": [{"message": INJECTED_ERROR}], "data": None})
            return
        if (
            self.command != "POST"
            and parsed is not None
            and any(
                getattr(d, "operation", None) is not None and d.operation.value == "mutation"
                for d in parsed.document.definitions
            )
        ):
            self._send_json(
                HTTPStatus.NOT_ACCEPTABLE,
                {
                    "errors": [{"message": "GET requests only allow query operations"}],
                    "data": None,
                },
            )
            return
        context = RequestContext(base_url=self._base_url(), hook_chain=chain)
        status, payload = execute(self.emulator.schema, text, variables, operation_name, context)
        self._send_json(status, payload)

    def _graphql_request(
        self, query: dict[str, list[str]], body: bytes
    ) -> tuple[str, dict[str, Any] | None, str | None] | None:
        try:
            if self.command == "POST":
                request = json.loads(body or b"null")
            else:
                request = {key: values[0] for key, values in query.items()}
                if isinstance(request.get("variables"), str):
                    request["variables"] = json.loads(request["variables"])
        except ValueError:
            self._send_json(
                HTTPStatus.BAD_REQUEST,
                {
                    "errors": [{"message": "json request body could not be decoded"}],
                    "data": None,
                },
            )
            return None
        if not isinstance(request, dict) or not isinstance(request.get("query"), str):
            self._send_json(
                HTTPStatus.UNPROCESSABLE_ENTITY,
                {
                    "errors": [{"message": "no operation provided"}],
                    "data": None,
                },
            )
            return None
        variables = request.get("variables")
        return (
            request["query"],
            variables if isinstance(variables, dict) else None,
            request.get("operationName") or None,
        )

    def _image(self, path: str, _query: Any, _body: bytes, _chain: HookChain) -> None:
        for pattern, kind in IMAGE_ROUTES.values():
            match = pattern.match(path)
            if match:
                found, image = self.emulator.image_of(kind, int(match.group(1)))
                if not found:
                    self._send(HTTPStatus.NOT_FOUND, b"404 page not found\n", "text/plain")
                    return
                picture = image if image is not None else DEFAULT_IMAGE
                self._send(
                    HTTPStatus.OK,
                    picture,
                    content_type(picture),
                    {"Cache-Control": "no-store" if image is None else "max-age=604800"},
                )
                return
