"""`PlexEmulator`: the library, the HTTP server, faults, latency and the request log in one object.

Staging the library is `EmulatorApi` (api.py); this module adds the network side: listeners,
the admin API, faults, the latency model and the request log.
"""

from __future__ import annotations

import ipaddress
import logging
import threading
import time
from collections.abc import Callable, Sequence
from types import TracebackType

from stashplex.sandbox.plex.admin import ADMIN_PREFIX, AdminApp
from stashplex.sandbox.plex.api import EmulatorApi
from stashplex.sandbox.plex.faults import Decision, Faults
from stashplex.sandbox.plex.latency import LatencyModel, LatencySettings, RateBound, RequestShape
from stashplex.sandbox.plex.model import PlexError
from stashplex.sandbox.plex.realism import Realism
from stashplex.sandbox.plex.requestlog import RequestLog
from stashplex.sandbox.plex.routes import PlexApp
from stashplex.sandbox.plex.server import HttpListener
from stashplex.sandbox.plex.wire import Request, Response, error, unauthorized

log = logging.getLogger(__name__)
_UPLOAD_PATHS = ("/posters", "/arts")


def _require_loopback(host: str) -> None:
    """The emulator must never be reachable from another machine."""
    if host == "localhost":
        return
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise ValueError(f"the Plex emulator binds loopback only, not {host!r}")


class PlexEmulator(EmulatorApi):
    """A Plex Media Server on loopback that the real plexapi can talk to.

    `scan_delay` is how long a section scan takes before new files appear. `admin_port` (None:
    no separate listener) serves the admin API on its own port, reachable while Plex is "down";
    the admin API is also served under /__emulator/ on the main port. `realism` holds the real
    server's habits (all on by default); `latency` its costs (off by default).
    """

    def __init__(
        self,
        token: str = "t0ken",  # noqa: S107 - a loopback emulator's documented default
        host: str = "127.0.0.1",
        port: int = 0,
        scan_delay: float = 0.2,
        *,
        admin_port: int | None = None,
        friendly_name: str = "stashplex-emulator",
        clock: Callable[[], float] = time.time,
        realism: Realism | None = None,
        latency: LatencySettings | None = None,
    ) -> None:
        _require_loopback(host)
        if not token:
            raise ValueError("the emulator needs a non-empty token")
        super().__init__(clock, scan_delay, realism or Realism())
        self.token = token
        self.host = host
        self.requests = RequestLog()
        self.latency = LatencyModel(latency)
        self.faults = Faults(on_down=self._go_down, on_up=self._go_up)
        self._rejections: list[dict[str, object]] = []
        self._rejections_lock = threading.Lock()
        self._app = PlexApp(self.library, self.scanner, lambda: self.token, friendly_name)
        self._admin = AdminApp(self)
        self._listener = HttpListener(host, port, self._dispatch, self._limits, self._rejected)
        self._admin_listener = (
            None if admin_port is None else HttpListener(host, admin_port, self._dispatch_admin)
        )
        self._started = False

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self) -> PlexEmulator:
        self._started = True
        self.faults.is_down = False
        self._listener.start()
        if self._admin_listener is not None:
            self._admin_listener.start()
        return self

    def stop(self) -> None:
        self._started = False
        self.scanner.stop()
        self.latency.release_all()
        self._listener.stop()
        if self._admin_listener is not None:
            self._admin_listener.stop()
        # Last, so a request that arrived while stopping cannot start waiting after the release.
        self.faults.release_all()
        self.latency.release_all()

    def __enter__(self) -> PlexEmulator:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        return self._listener.port

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def admin_url(self) -> str:
        """Where the admin API answers even while the Plex port is down (if admin_port was set)."""
        listener = self._admin_listener or self._listener
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{listener.port}{ADMIN_PREFIX}"

    def _go_down(self) -> None:
        if self._started:
            self._listener.stop()

    def _go_up(self) -> None:
        if self._started:
            self._listener.start()

    # -- latency and the proxy in front -------------------------------------------------------

    def configure_latency(self, **settings: object) -> dict[str, object]:
        """Change the latency model (base_ms, per_kb_ms, upload_ms, concurrency)."""
        self.latency.configure(**settings)
        return self.latency.describe()

    def latency_bound(self, mix: Sequence[RequestShape]) -> RateBound:
        """The most requests per second the current latency settings allow for `mix`."""
        return self.latency.max_rate(mix)

    def _limits(self) -> tuple[int | None, int | None]:
        return self.realism.max_request_line, self.realism.max_body_bytes

    def _rejected(self, status: int, method: str, target: str) -> None:
        with self._rejections_lock:
            self._rejections.append({"status": status, "method": method, "target": target})
            del self._rejections[:-1000]

    @property
    def rejections(self) -> list[dict[str, object]]:
        """Requests the proxy stand-in refused (414/413); they never reached Plex or its log."""
        with self._rejections_lock:
            return list(self._rejections)

    # -- request path -------------------------------------------------------------------------

    def _dispatch_admin(self, request: Request) -> Response:
        if not request.path.startswith(ADMIN_PREFIX):
            return error(404, "this port serves the admin API only")
        return self._admin.handle(request)

    def _faulted(self, decision: Decision) -> Response | None:
        """The answer (or silence) a faulted request gets."""
        if decision.outcome == "hang":
            self.faults.wait(decision.hang_seconds, decision.release)
            return None
        if decision.outcome == "unauthorized":
            return unauthorized()
        if decision.outcome == "status" and decision.status is not None:
            return error(decision.status)
        return None  # "drop": close without an answer

    def _dispatch(self, request: Request) -> Response | None:
        if request.path.startswith(ADMIN_PREFIX):
            return self._admin.handle(request)
        start = request.param("X-Plex-Container-Start")
        size = request.param("X-Plex-Container-Size")
        self.requests.record(
            request.method,
            request.path,
            request.pairs,
            int(start) if start and start.isdigit() else None,
            int(size) if size and size.isdigit() else None,
        )
        decision = self.faults.decide(request.path)
        self.faults.wait(decision.delay, decision.release)
        if decision.outcome is not None:
            return self._faulted(decision)
        with self.latency.slot() as costs:
            started = time.perf_counter()
            response = self._answer(request)
            if costs.enabled:
                spent_ms = (time.perf_counter() - started) * 1000.0
                kilobytes = (len(request.body) + len(response.body)) / 1024.0
                upload = request.method == "POST" and request.path.endswith(_UPLOAD_PATHS)
                self.latency.spend(costs, kilobytes, upload, spent_ms)
        return response

    def _answer(self, request: Request) -> Response:
        try:
            return self._app.handle(request)
        except PlexError as refusal:
            return error(refusal.status, refusal.message)
        except Exception:
            log.exception("plex emulator failed on %s %s", request.method, request.path)
            return error(500, "emulator error")
