"""Requests and responses as the emulator sees them, and their bytes on the wire.

A response is encoded into a single buffer (status line, headers and body) and written with one
`sendall`: separate writes over keep-alive cost ~40 ms each through Nagle and delayed ACKs.
"""

from __future__ import annotations

import http
import time
from dataclasses import dataclass, field
from email.utils import formatdate

XML_TYPE = "text/xml;charset=utf-8"
HTML_TYPE = "text/html"
JSON_TYPE = "application/json"
UNAUTHORIZED_BODY = (
    b"<html><head><title>Unauthorized</title></head><body><h1>401 Unauthorized</h1></body></html>"
)


@dataclass
class Request:
    method: str
    path: str
    pairs: list[tuple[str, str]]
    headers: dict[str, str]
    body: bytes = b""

    @property
    def query(self) -> dict[str, str]:
        return dict(self.pairs)

    def param(self, name: str) -> str | None:
        """A query parameter; X-Plex-* ones may come as headers instead, as PMS allows."""
        for key, value in self.pairs:
            if key == name:
                return value
        return self.headers.get(name.lower()) if name.startswith("X-Plex-") else None


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    content_type: str | None = XML_TYPE
    headers: dict[str, str] = field(default_factory=dict)
    #: The status line's reason phrase when it is not Python's (nginx says "Request-URI Too
    #: Large" where Python says "Request-URI Too Long").
    reason: str | None = None


def xml(text: str, status: int = 200) -> Response:
    return Response(status, text.encode("utf-8"))


def empty(status: int = 200) -> Response:
    return Response(status, b"", None)


def error(status: int, message: str = "") -> Response:
    """PMS answers errors with a small HTML page; the emulator adds the reason for humans."""
    phrase = http.HTTPStatus(status).phrase
    detail = f"<p>{_html_escape(message)}</p>" if message else ""
    body = (
        f"<html><head><title>{phrase}</title></head>"
        f"<body><h1>{status} {phrase}</h1>{detail}</body></html>"
    )
    return Response(status, body.encode("utf-8"), HTML_TYPE)


def unauthorized() -> Response:
    return Response(401, UNAUTHORIZED_BODY, HTML_TYPE)


#: What an nginx in front of PMS answers for these (ngx_http_special_response.c pages).
PROXY_REASONS = {413: "Request Entity Too Large", 414: "Request-URI Too Large"}


def proxy_error(status: int) -> Response:
    """A reverse proxy's refusal: its own reason phrase and HTML page, no X-Plex headers."""
    reason = PROXY_REASONS[status]
    body = (
        f"<html>\r\n<head><title>{status} {reason}</title></head>\r\n<body>\r\n"
        f"<center><h1>{status} {reason}</h1></center>\r\n<hr><center>nginx</center>\r\n"
        "</body>\r\n</html>\r\n"
    )
    return Response(status, body.encode("ascii"), HTML_TYPE, reason=reason)


def _html_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


_date_cache: list[object] = [0, ""]


def _http_date() -> str:
    now = int(time.time())
    if _date_cache[0] != now:
        _date_cache[0] = now
        _date_cache[1] = formatdate(now, usegmt=True)
    return str(_date_cache[1])


def encode(response: Response, keep_alive: bool, head_only: bool = False) -> bytes:
    """The whole HTTP/1.1 response in one buffer."""
    phrase = response.reason or http.HTTPStatus(response.status).phrase
    lines = [f"HTTP/1.1 {response.status} {phrase}"]
    if response.content_type:
        lines.append(f"Content-Type: {response.content_type}")
    lines.append(f"Content-Length: {len(response.body)}")
    if response.reason is None:  # a proxy's own answer never reached PMS
        lines.append("X-Plex-Protocol: 1.0")
    lines += [
        "Cache-Control: no-cache",
        f"Date: {_http_date()}",
        "Connection: " + ("Keep-Alive" if keep_alive else "close"),
    ]
    lines += [f"{name}: {value}" for name, value in response.headers.items()]
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    return head if head_only else head + response.body
