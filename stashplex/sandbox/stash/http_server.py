"""HTTP front of the emulator: routes, Stash's authentication rules, faults and request counting.

It talks to the emulator only through `contracts.HTTPBackend`, so it never imports the emulator.
Middleware order follows internal/api/server.go: `/healthz` heartbeat first, then
authentication (auth.py), then the routes.
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import threading
import time
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from stashplex.sandbox.stash.auth import (
    LOGIN_PATH,
    LOGOUT_PATH,
    RETURN_URL_PARAM,
    AuthOutcome,
    authenticate,
    redirect_body,
)
from stashplex.sandbox.stash.context import RequestContext
from stashplex.sandbox.stash.contracts import HTTPBackend
from stashplex.sandbox.stash.graphql_api import execute, parse_operation
from stashplex.sandbox.stash.images import DEFAULT_IMAGES, content_type, etag
from stashplex.sandbox.stash.pages import login_page
from stashplex.sandbox.stash.sessions import COOKIE_NAME

IMAGE_ROUTES: dict[str, tuple[re.Pattern[str], str]] = {
    "/scene/{id}/screenshot": (re.compile(r"^/scene/(\d+)/screenshot$"), "scene"),
    "/performer/{id}/image": (re.compile(r"^/performer/(\d+)/image$"), "performer"),
    "/studio/{id}/image": (re.compile(r"^/studio/(\d+)/image$"), "studio"),
    "/tag/{id}/image": (re.compile(r"^/tag/(\d+)/image$"), "tag"),
    "/group/{id}/frontimage": (re.compile(r"^/group/(\d+)/frontimage$"), "group"),
}
INJECTED_ERROR = "fault injected: the emulator answers every GraphQL request with an error"
TEXT_PLAIN = "text/plain; charset=utf-8"
#: pkg/utils/http.go: cache-busted (`?t=`) image URLs may be cached for a year, others revalidate.
IMMUTABLE = "private, max-age=31536000, immutable"


class EmulatorHTTPServer(ThreadingHTTPServer):
    """Tracks open connections so `faults.down()` can cut keep-alive clients off too."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], backend: HTTPBackend) -> None:
        self.backend = backend
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
    _set_cookie: str | None = None

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: access logs would carry `?apikey=` secrets."""

    # -- plumbing -------------------------------------------------------------------------------
    @property
    def backend(self) -> HTTPBackend:
        return self.server.backend

    def _send(
        self,
        status: int,
        body: bytes,
        content: str | None,
        extra: dict[str, str] | None = None,
    ) -> None:
        self.send_response(status)
        if content is not None:
            self.send_header("Content-Type", content)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        if self._set_cookie is not None:
            self.send_header("Set-Cookie", self._set_cookie)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _send_json(self, status: int, payload: Any) -> None:
        self._send(
            status, json.dumps(payload).encode(), "application/json", {"Cache-Control": "no-store"}
        )

    def _http_error(self, status: HTTPStatus) -> None:
        """Go's `http.Error(w, http.StatusText(code), code)`."""
        body = f"{status.phrase}\n".encode()
        self._send(status, body, TEXT_PLAIN, {"X-Content-Type-Options": "nosniff"})

    def _redirect(self, location: str) -> None:
        """Go's `http.Redirect(..., 302)`: a tiny HTML body for GET, none otherwise."""
        if self.command == "GET":
            body = redirect_body(location)
            self._send(HTTPStatus.FOUND, body, "text/html; charset=utf-8", {"Location": location})
        elif self.command == "HEAD":
            self._send(HTTPStatus.FOUND, b"", "text/html; charset=utf-8", {"Location": location})
        else:
            self._send(HTTPStatus.FOUND, b"", None, {"Location": location})

    def _prefix(self) -> str:
        return self.headers.get("X-Forwarded-Prefix", "")

    def _base_url(self) -> str:
        host = self.headers.get("Host") or f"{self.backend.host}:{self.backend.port}"
        return f"http://{host}{self._prefix()}"

    # -- dispatch -------------------------------------------------------------------------------
    def do_GET(self) -> None:
        self._dispatch()

    def do_HEAD(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def _dispatch(self) -> None:
        self._set_cookie = None
        parts = urlsplit(self.path)
        query = parse_qs(parts.query)
        length = self._content_length()
        if length is None:
            return
        route, handler = self._route(parts.path)
        self.backend.requests.record_route(route)
        body = self.rfile.read(length) if length > 0 else b""
        if self.backend.faults.delay_s:
            time.sleep(self.backend.faults.delay_s)
        if route == "/healthz" and self.command in {"GET", "HEAD"}:
            # chi's middleware.Heartbeat answers before any authentication.
            self._send(HTTPStatus.OK, b".", "text/plain")
            return
        outcome = authenticate(
            self.backend,
            path=parts.path,
            raw_query=parts.query,
            query=query,
            api_key_header=self.headers.get("ApiKey"),
            raw_cookie=self.headers.get("Cookie"),
            prefix=self._prefix(),
        )
        if outcome.status == "unauthorized":
            self._send(HTTPStatus.UNAUTHORIZED, b"", None, {"WWW-Authenticate": "FormBased"})
            return
        if outcome.status == "redirect":
            assert outcome.location is not None
            self._redirect(outcome.location)
            return
        self._set_cookie = outcome.set_cookie
        if handler is None:
            self._send(HTTPStatus.NOT_FOUND, b"404 page not found\n", TEXT_PLAIN)
            return
        handler(parts.path, query, body, outcome)

    def _route(self, path: str) -> tuple[str, Callable[..., None] | None]:
        if path == "/healthz":
            return path, None
        if path == "/graphql":
            return path, self._graphql
        if path == LOGIN_PATH:
            return path, self._login
        if path == LOGOUT_PATH:
            return path, self._logout
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
        self._send(HTTPStatus.BAD_REQUEST, message, TEXT_PLAIN, {"Connection": "close"})
        return None

    # -- handlers -------------------------------------------------------------------------------
    def _graphql(
        self, _path: str, query: dict[str, list[str]], body: bytes, outcome: AuthOutcome
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
            self.backend.requests.record_graphql(parsed.operation_name, parsed.root_fields)
        if self.backend.faults.graphql_errors_on:
            self._send_json(HTTPStatus.OK, {"errors": [{"message": INJECTED_ERROR}], "data": None})
            return
        if self.command != "POST" and parsed is not None and parsed.has_mutation:
            self._send_json(
                HTTPStatus.NOT_ACCEPTABLE,
                {"errors": [{"message": "GET requests only allow query operations"}], "data": None},
            )
            return
        context = RequestContext(
            base_url=self._base_url(), hook_chain=outcome.chain, user_id=outcome.user_id
        )
        status, payload = execute(self.backend.schema, text, variables, operation_name, context)
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
                {"errors": [{"message": "json request body could not be decoded"}], "data": None},
            )
            return None
        if not isinstance(request, dict) or not isinstance(request.get("query"), str):
            self._send_json(
                HTTPStatus.UNPROCESSABLE_ENTITY,
                {"errors": [{"message": "no operation provided"}], "data": None},
            )
            return None
        variables = request.get("variables")
        return (
            request["query"],
            variables if isinstance(variables, dict) else None,
            request.get("operationName") or None,
        )

    def _login(
        self, _path: str, query: dict[str, list[str]], body: bytes, _outcome: AuthOutcome
    ) -> None:
        """internal/api/session.go: `handleLogin` (GET) and `handleLoginPost` (POST)."""
        if self.command == "POST":
            form = parse_qs(body.decode("utf-8", errors="replace"))
            username = (form.get("username") or [""])[0]
            password = (form.get("password") or [""])[0]
            if not self.backend.check_password(username, password):
                self._send(
                    HTTPStatus.UNAUTHORIZED,
                    b"Username or password is invalid\n",
                    TEXT_PLAIN,
                    {"X-Content-Type-Options": "nosniff"},
                )
                return
            self._set_cookie = self.backend.login_cookie(username)
            self._send(HTTPStatus.OK, b"", None)
            return
        return_url = (query.get(RETURN_URL_PARAM) or [""])[0]
        if not self.backend.login_required:
            self._redirect(return_url or f"{self._prefix()}/")
            return
        page = login_page(return_url)
        self._send(
            HTTPStatus.OK, page, "text/html", {"Cache-Control": "no-cache", "ETag": etag(page)}
        )

    def _logout(self, _path: str, _query: Any, _body: bytes, _outcome: AuthOutcome) -> None:
        """`handleLogout`: drop the cookie, then back to the login page (or home)."""
        self._set_cookie = f"{COOKIE_NAME}=; Path=/; Max-Age=0; SameSite=Lax"
        target = LOGIN_PATH if self.backend.login_required else "/"
        self._redirect(f"{self._prefix()}{target}")

    def _image(
        self, path: str, query: dict[str, list[str]], _body: bytes, _outcome: AuthOutcome
    ) -> None:
        """Stored image, else the kind's default, always 200 (`ServeScreenshot`, `Image`)."""
        for pattern, kind in IMAGE_ROUTES.values():
            match = pattern.match(path)
            if match is None:
                continue
            found, image = self.backend.image_of(kind, int(match.group(1)))
            if not found:
                self._http_error(HTTPStatus.NOT_FOUND)
                return
            # Performer/studio/tag/group routes skip the stored image for `default=true`; the
            # scene screenshot route has no such parameter (routes_*.go).
            if kind != "scene" and (query.get("default") or [""])[0] == "true":
                image = None
            picture = image if image else DEFAULT_IMAGES[kind]
            tag = etag(picture)
            headers = {"Cache-Control": IMMUTABLE if "t" in query else "no-cache", "ETag": tag}
            if self.headers.get("If-None-Match") == tag:
                self._send(HTTPStatus.NOT_MODIFIED, b"", None, headers)
                return
            self._send(HTTPStatus.OK, picture, content_type(picture), headers)
            return
