"""`PlexEmulator`: the library, the HTTP server, faults and the request log behind one object."""

from __future__ import annotations

import ipaddress
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from types import TracebackType

from stashplex.sandbox.plex.admin import ADMIN_PREFIX, AdminApp
from stashplex.sandbox.plex.faults import Decision, Faults
from stashplex.sandbox.plex.library import ActorSpec, Library
from stashplex.sandbox.plex.model import PlexError
from stashplex.sandbox.plex.requestlog import RequestLog
from stashplex.sandbox.plex.routes import PlexApp
from stashplex.sandbox.plex.scans import Scanner
from stashplex.sandbox.plex.seed import SeededItem, seed_library
from stashplex.sandbox.plex.server import HttpListener
from stashplex.sandbox.plex.snapshot import item_snapshot
from stashplex.sandbox.plex.wire import Request, Response, error, unauthorized

log = logging.getLogger(__name__)


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


class PlexEmulator:
    """A Plex Media Server on loopback that the real plexapi can talk to.

    `scan_delay` is how long a section scan takes before new files appear. `admin_port` (None:
    no separate listener) serves the admin API on its own port, reachable while Plex is "down";
    the admin API is also served under /__emulator/ on the main port.
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
    ) -> None:
        _require_loopback(host)
        if not token:
            raise ValueError("the emulator needs a non-empty token")
        self.token = token
        self.host = host
        self.library = Library(clock)
        self.scanner = Scanner(self.library, scan_delay)
        self.requests = RequestLog()
        self.faults = Faults(on_down=self._go_down, on_up=self._go_up)
        self._app = PlexApp(self.library, self.scanner, lambda: self.token, friendly_name)
        self._admin = AdminApp(self)
        self._listener = HttpListener(host, port, self._dispatch)
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
        self._listener.stop()
        if self._admin_listener is not None:
            self._admin_listener.stop()
        # Last, so a request that arrived while stopping cannot start waiting after the release.
        self.faults.release_all()

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

    # -- library ------------------------------------------------------------------------------

    def add_section(self, title: str, type: str, locations: Sequence[str]) -> int:
        """Add a movie or show section; returns its key."""
        return self.library.add_section(title, type, locations)

    def add_movie(
        self,
        section: int,
        file: str,
        title: str | None = None,
        *,
        size: int = 1_000_000,
        duration_ms: int = 5_400_000,
        added_at: int | None = None,
        genres: Iterable[str] = (),
        actors: Iterable[ActorSpec] = (),
        directors: Iterable[str] = (),
        writers: Iterable[str] = (),
        collections: Iterable[str] = (),
        labels: Iterable[str] = (),
        **fields: str | int | float | None,
    ) -> int:
        """Add a matched movie; the values given are what the agent supplied. Returns ratingKey.

        Extra keyword fields use Plex names (summary, studio, year, originallyAvailableAt,
        tagline, contentRating, titleSort, ...); also producers=, countries=, guids=.
        """
        return self.library.add_movie(
            section,
            file,
            title=title,
            size=size,
            duration_ms=duration_ms,
            added_at=added_at,
            genres=genres,
            actors=actors,
            directors=directors,
            writers=writers,
            collections=collections,
            labels=labels,
            **fields,
        )

    def add_episode(
        self,
        section: int,
        file: str,
        *,
        show_title: str,
        season: int,
        episode: int,
        title: str | None = None,
        size: int = 500_000,
        duration_ms: int = 1_800_000,
        added_at: int | None = None,
        **fields: str | int | float | None,
    ) -> int:
        """Add an episode (and its show and season when new). Returns the episode's ratingKey."""
        return self.library.add_episode(
            section,
            file,
            show_title=show_title,
            season=season,
            episode=episode,
            title=title,
            size=size,
            duration_ms=duration_ms,
            added_at=added_at,
            **fields,
        )

    def put_on_disk(
        self,
        file: str,
        title: str | None = None,
        *,
        size: int = 1_000_000,
        duration_ms: int = 5_400_000,
        show_title: str | None = None,
        season: int | None = None,
        episode: int | None = None,
    ) -> int:
        """Make a file exist for the next scan of its section (found by Location). Returns it."""
        return self.scanner.put_on_disk(
            file,
            title,
            size=size,
            duration_ms=duration_ms,
            show_title=show_title,
            season=season,
            episode=episode,
        )

    def item(self, rating_key: int) -> dict[str, object]:
        """A snapshot of the stored state of one item (KeyError if unknown)."""
        with self.library.lock:
            found = self.library.items.get(rating_key)
            if found is None:
                raise KeyError(f"no item with ratingKey {rating_key}")
            return item_snapshot(self.library, found)

    def find_by_file(self, path: str) -> int | None:
        with self.library.lock:
            return self.library.by_file.get(path)

    def seed(
        self, n_items: int, seed: int = 0, sections: Sequence[int] | None = None
    ) -> list[SeededItem]:
        """Add `n_items` deterministic items (see `seed.seed_library`)."""
        return seed_library(self.library, n_items, seed, sections)

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
        try:
            return self._app.handle(request)
        except PlexError as refusal:
            return error(refusal.status, refusal.message)
        except Exception:
            log.exception("plex emulator failed on %s %s", request.method, request.path)
            return error(500, "emulator error")
