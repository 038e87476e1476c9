"""Every HTTP answer is capped in size and bounded in time (issue 16, item 2).

Real sockets on loopback: hostile servers that trickle, never stop, lie about their size,
compress a bomb, or redirect elsewhere.
"""

import gzip
import time
from http.server import BaseHTTPRequestHandler

import pytest
import requests

from stashplex.plex.connection import ErrorClass, classify, plex_session
from stashplex.runtime.bounded_http import (
    DeadlineExceededError,
    ResponseTooLargeError,
    bounded_session,
)
from stashplex.stash import StashAnswerRefusedError, StashAuthError, StashClient
from tests.support.hostile import CaptureServer, LoopbackServer


class Scripted(LoopbackServer):
    """Answers each path with a behaviour chosen by the test."""

    def __init__(self) -> None:
        super().__init__()
        self.seen_headers: dict[str, dict[str, str]] = {}

    def serve(self, handler: BaseHTTPRequestHandler) -> None:
        path = handler.path.split("?", 1)[0]
        self.seen_headers[path] = dict(handler.headers)
        handler.close_connection = True
        try:
            getattr(self, "_" + path.strip("/").replace("-", "_"))(handler)
        except OSError:
            return

    def _send(self, handler, body: bytes, **headers: str) -> None:
        handler.send_response(200)
        for name, value in headers.items():
            handler.send_header(name.replace("_", "-"), value)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    def _small(self, handler) -> None:
        self._send(handler, b"hello")

    def _endless(self, handler) -> None:
        handler.send_response(200)
        handler.end_headers()
        while not self.stopping.is_set():
            handler.wfile.write(b"x" * 65536)

    def _trickle(self, handler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Length", "100000")
        handler.end_headers()
        while not self.stopping.is_set():
            handler.wfile.write(b"x")
            handler.wfile.flush()
            self.stopping.wait(1.0)

    def _slow_headers(self, handler) -> None:
        for byte in b"HTTP/1.1 200 OK\r\nX-Padding: " + b"x" * 1000:
            if self.stopping.is_set():
                return
            handler.wfile.write(bytes([byte]))
            handler.wfile.flush()
            self.stopping.wait(0.5)

    def _declared_huge(self, handler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Length", str(10 * 2**30))
        handler.end_headers()
        handler.wfile.write(b"x" * 1000)

    def _bomb(self, handler) -> None:
        self._send(handler, gzip.compress(b"\0" * (8 * 2**20)), Content_Encoding="gzip")

    def _away(self, handler) -> None:
        handler.send_response(302)
        handler.send_header("Location", self.elsewhere + "/landing")
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    def _home(self, handler) -> None:
        handler.send_response(302)
        handler.send_header("Location", "/small")
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    def _graphql(self, handler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        handler.rfile.read(length)
        self._endless(handler)


@pytest.fixture
def server():
    s = Scripted().start()
    yield s
    s.stop()


def test_an_endless_body_is_cut_at_the_cap(server):
    # Given a session capped at 1 MB
    session = bounded_session(max_bytes=2**20, deadline_s=30)
    # When a server streams forever
    started = time.monotonic()
    with pytest.raises(ResponseTooLargeError, match="over 1 MB"):
        session.get(server.url + "/endless", timeout=5)
    # Then the read stops at the cap, long before any timeout
    assert time.monotonic() - started < 2


def test_a_trickling_body_fails_at_the_deadline_not_at_the_read_timeout(server):
    # Given a 2 s deadline and a read timeout that each trickled byte easily meets
    session = bounded_session(max_bytes=2**20, deadline_s=2)
    started = time.monotonic()
    # When a server sends one byte a second
    with pytest.raises(DeadlineExceededError, match="deadline"):
        session.get(server.url + "/trickle", timeout=(5, 5))
    # Then the request fails at its deadline (requests alone would wait 100,000 s)
    assert 1.9 < time.monotonic() - started < 3.5


def test_headers_sent_a_byte_at_a_time_fail_at_the_deadline_too(server):
    # Given a 2 s deadline, and a server that sends its status line and headers slowly
    session = bounded_session(max_bytes=2**20, deadline_s=2)
    started = time.monotonic()
    # When a request waits for them
    with pytest.raises(DeadlineExceededError):
        session.get(server.url + "/slow-headers", timeout=(5, 5))
    # Then it ends at the deadline, though every byte beat the read timeout
    assert 1.9 < time.monotonic() - started < 3.5


def test_a_declared_size_over_the_cap_is_refused_before_reading(server):
    session = bounded_session(max_bytes=2**20, deadline_s=30)
    with pytest.raises(ResponseTooLargeError, match=str(10 * 2**30)):
        session.get(server.url + "/declared-huge", timeout=5)


def test_a_compressed_bomb_counts_at_its_decompressed_size(server):
    # Given a body of 8 KB that inflates to 8 MB
    session = bounded_session(max_bytes=2**20, deadline_s=30)
    with pytest.raises(ResponseTooLargeError):
        session.get(server.url + "/bomb", timeout=5)


def test_an_answer_within_bounds_reads_as_usual(server):
    session = bounded_session(max_bytes=100, deadline_s=5)
    response = session.get(server.url + "/small", timeout=5)
    assert (response.status_code, response.content, response.text) == (200, b"hello", "hello")


def test_a_redirect_to_another_origin_is_not_followed_and_gets_no_credential(server):
    # Given a server that redirects to another origin, which records what reaches it
    with CaptureServer() as elsewhere:
        server.elsewhere = elsewhere.url
        session = bounded_session(max_bytes=2**20, deadline_s=5)
        # When a request with an API key header is redirected there
        response = session.get(server.url + "/away", headers={"ApiKey": "k-123"}, timeout=5)
        # Then the 302 is the answer and the other origin never hears from us
        assert response.status_code == 302
        assert elsewhere.requests == []


def test_a_redirect_on_the_same_origin_is_followed(server):
    session = bounded_session(max_bytes=2**20, deadline_s=5)
    assert session.get(server.url + "/home", timeout=5).content == b"hello"


def test_an_endless_graphql_answer_is_one_refused_request(server):
    client = StashClient(server.url, max_bytes=2**20, timeout=5)
    with pytest.raises(StashAnswerRefusedError, match="over 1 MB"):
        client.execute("{ version { version } }")


def test_stash_credentials_go_only_to_stash_s_own_origin(server):
    # Given a Stash client with an API key, and a cover URL on another server
    with CaptureServer() as elsewhere:
        client = StashClient(server.url, api_key="k-123")
        # When it downloads a cover from there and one from Stash itself
        with pytest.raises(StashAuthError):  # the other server wants credentials it never got
            client.fetch_image(elsewhere.url + "/scene/1/screenshot")
        client.fetch_image(server.url + "/small")
        # Then the key reached Stash only
        assert elsewhere.carrying("k-123") == []
        assert server.seen_headers["/small"]["ApiKey"] == "k-123"


def test_a_plex_page_over_the_cap_is_a_permanent_failure_of_that_request(server):
    from stashplex.config.settings import Settings

    session = plex_session(Settings(max_response_mb=1))
    with pytest.raises(requests.RequestException) as error:
        session.get(server.url + "/endless", timeout=5)
    assert classify(error.value).error_class is ErrorClass.PERMANENT


def test_the_environment_s_proxy_is_honoured_and_read_once_per_origin(server, monkeypatch):
    # Given a proxy named in the environment (a loopback server that records what it gets)
    with CaptureServer() as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        session = bounded_session(max_bytes=1024, deadline_s=5)
        # When a request is sent
        session.get(f"{server.url}/small", timeout=5)
        # Then it went through the proxy, as requests has it
        assert [r.path for r in proxy.requests] == [f"{server.url}/small"]
        # And once that origin's settings are known, the environment is not read again:
        # the supervisor's environment is fixed when it starts
        monkeypatch.setenv("NO_PROXY", "*")
        session.get(f"{server.url}/small", timeout=5)
        assert len(proxy.requests) == 2
        # While a session opened after the change follows it
        fresh = bounded_session(max_bytes=1024, deadline_s=5)
        assert fresh.get(f"{server.url}/small", timeout=5).content == b"hello"
        assert len(proxy.requests) == 2
