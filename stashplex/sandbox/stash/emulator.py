"""`StashEmulator`: a loopback Stash with real HTTP, GraphQL validation and plugin hooks.

Realism is not optional: timestamps carry the server zone's DST offset, findScenes(ids:) ignores
filters, login-protected images redirect to /login, cookies expire. What tests may steer:

- `clock` (`advance`, `freeze`, `thaw`): the server's time, for stamps and cookie expiry;
- `time_zone` / `utc_offset_minutes` (constructor): the server's local zone (default Berlin);
- `api_key`, `username`, `password`, `max_session_age` (constructor): Stash's security settings;
- `faults` (`down`, `up`, `slow`, `graphql_errors`, `clear`): outages;
- `expire_sessions()`, `scan_new_files()`, `merge_tags()`, `destroy()`, `update_scene()`:
  user and server actions with Stash's hooks; `add_*` / `seed()` stage rows without hooks.
"""

from __future__ import annotations

import ipaddress
import secrets
import shutil
import tempfile
import threading
from collections.abc import Iterable
from datetime import tzinfo
from pathlib import Path
from types import TracebackType
from typing import Any

from stashplex.sandbox.plugin_runner import PluginRunner
from stashplex.sandbox.stash.clock import DEFAULT_TIME_ZONE, StashClock
from stashplex.sandbox.stash.context import RequestContext
from stashplex.sandbox.stash.contracts import HookChain, SaveResult, Session
from stashplex.sandbox.stash.faults import StashFaults
from stashplex.sandbox.stash.graphql_api import build_executable_schema, execute
from stashplex.sandbox.stash.http_server import EmulatorHTTPServer
from stashplex.sandbox.stash.mutations import MutationResolvers
from stashplex.sandbox.stash.request_counter import RequestCounter
from stashplex.sandbox.stash.resolvers import ReadResolvers
from stashplex.sandbox.stash.scan import ScanResult, scan_new_files
from stashplex.sandbox.stash.sessions import DEFAULT_MAX_SESSION_AGE, SessionCookies
from stashplex.sandbox.stash.staging import WorldStaging
from stashplex.sandbox.stash.store import StashDataError, StashStore

#: The user an API key logs in when the test gave no username (Stash requires one for a key).
DEFAULT_USERNAME = "admin"
SCENE_UPDATE_MUTATION = """
mutation EmulatorUserEdit($input: SceneUpdateInput!) { sceneUpdate(input: $input) { id } }
"""
TAGS_MERGE_MUTATION = """
mutation EmulatorTagsMerge($input: TagsMergeInput!) { tagsMerge(input: $input) { id } }
"""
DESTROY_MUTATION = "mutation EmulatorDestroy($input: {type}!) {{ {field}(input: $input) }}"


class StashEmulator(WorldStaging):
    """Stash on loopback.

    Credentials are configured (Stash's `HasCredentials`) when `username` and `password` are
    given, or when `api_key` is given (Stash only makes keys for a user; the emulator then
    invents one). With credentials every route but `/healthz` and the login page needs an
    ApiKey or a session cookie; without, everything is open but a wrong ApiKey is still 401.
    """

    def __init__(
        self,
        api_key: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        utc_offset_minutes: int | None = None,
        *,
        time_zone: str | tzinfo = DEFAULT_TIME_ZONE,
        username: str | None = None,
        password: str | None = None,
        max_session_age: int = DEFAULT_MAX_SESSION_AGE,
    ) -> None:
        if not ipaddress.ip_address(host).is_loopback:
            raise ValueError(f"the emulator only listens on loopback, not {host}")
        self._api_key = api_key or None
        if self._api_key and not username:
            username = DEFAULT_USERNAME
        if username and not password:
            password = secrets.token_urlsafe(12)
        self._username = username or None
        self._password = password or None
        self.host = host
        self._requested_port = port
        self._port: int | None = None
        self.clock = StashClock(utc_offset_minutes, time_zone)
        self.store = StashStore(self.clock)
        self.requests = RequestCounter()
        self.faults = StashFaults(self._close_listener, self._open_listener)
        self.runner: PluginRunner | None = None
        self.sessions = SessionCookies(self.clock.unix, max_session_age)
        self._workdir = Path(tempfile.mkdtemp(prefix="stash-emulator-"))
        self.config_dir = self._workdir / "config"
        self.config_dir.mkdir()
        reads = ReadResolvers(self.store, lambda: self._api_key)
        writes = MutationResolvers(self.store, lambda: self.runner)
        self.schema = build_executable_schema(reads.field_resolvers() | writes.field_resolvers())
        self._server: EmulatorHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ------------------------------------------------------------------------------
    def start(self) -> StashEmulator:
        if self._server is None and not self.faults.is_down:
            self._open_listener()
        return self

    def stop(self) -> None:
        self._close_listener()
        if self.runner is not None:
            self.runner.close()
        shutil.rmtree(self._workdir, ignore_errors=True)

    def __enter__(self) -> StashEmulator:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def _open_listener(self) -> None:
        server = EmulatorHTTPServer((self.host, self._port or self._requested_port), self)
        self._port = server.server_address[1]
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"stash-emulator-{self._port}",
            daemon=True,
        )
        self._thread.start()

    def _close_listener(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        server.drop_connections()
        if self._thread is not None:
            self._thread.join(timeout=5)

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("the emulator has not been started")
        return self._port

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def graphql_url(self) -> str:
        return f"{self.url}/graphql"

    # -- security settings (contracts.HTTPBackend) -----------------------------------------------
    @property
    def api_key(self) -> str | None:
        return self._api_key

    @property
    def username(self) -> str | None:
        return self._username

    @property
    def login_required(self) -> bool:
        """Stash's `HasCredentials`: a username and a password are configured."""
        return bool(self._username and self._password)

    def check_password(self, username: str, password: str) -> bool:
        """`ValidateCredentials`: anything goes when no credentials are configured."""
        if not self.login_required:
            return True
        return secrets.compare_digest(
            f"{username}\0{password}", f"{self._username}\0{self._password}"
        )

    def read_session(self, cookie_value: str) -> Session | None:
        return self.sessions.read(cookie_value)

    def refresh_cookie(self, session: Session) -> str:
        return self.sessions.set_cookie_header(session)

    def login_cookie(self, user_id: str) -> str:
        return self.sessions.set_cookie_header(Session(user_id, ()))

    @property
    def admin_user(self) -> str:
        """Who the emulator's own Python-side actions run as (the configured user, or "")."""
        return self._username or ""

    # -- sessions, as handed to plugins ----------------------------------------------------------
    @property
    def session_cookie(self) -> str:
        """A fresh `session` cookie value for the configured user (as after a login)."""
        return self.sessions.issue((), self.admin_user)

    def expire_sessions(self) -> None:
        """Every cookie handed out so far stops working, as if max_session_age had passed."""
        self.sessions.expire_all()

    def session_chain(self, cookie_value: str) -> HookChain | None:
        session = self.sessions.read(cookie_value)
        return None if session is None else session.chain

    def server_connection(
        self, chain: HookChain = (), user_id: str | None = None
    ) -> dict[str, Any]:
        """`server_connection` as Stash writes it to a plugin's stdin (PluginDir is added per
        plugin by the runner): pkg/plugin/plugins.go `makeServerConnection`, a new cookie each
        call. `Host` is the configured listen host, which for Stash defaults to 0.0.0.0."""
        user = self.admin_user if user_id is None else user_id
        return {
            "Scheme": "http",
            "Host": "0.0.0.0",
            "Port": self.port,
            "SessionCookie": self.sessions.plugin_cookie(chain, user),
            "Dir": str(self.config_dir),
        }

    # -- plugins --------------------------------------------------------------------------------
    def attach_plugin(self, manifest_path: str | Path) -> PluginRunner:
        """Load a plugin; its hooks fire from every GraphQL mutation from now on."""
        if self.runner is None:
            self.runner = PluginRunner(self.server_connection, cwd=self._workdir)
        self.runner.load(manifest_path)
        return self.runner

    # -- in-process GraphQL: the same code path as HTTP, minus the socket -------------------------
    def _context(self) -> RequestContext:
        return RequestContext(
            base_url=f"http://{self.host}:{self._port or 0}", user_id=self.admin_user
        )

    def graphql(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        context: RequestContext | None = None,
    ) -> dict[str, Any]:
        context = context or self._context()
        _status, payload = execute(self.schema, query, variables, None, context)
        return payload

    def _save(self, query: str, variables: dict[str, Any]) -> SaveResult:
        context = self._context()
        payload = self.graphql(query, variables, context)
        if payload.get("errors"):
            raise StashDataError("; ".join(error["message"] for error in payload["errors"]))
        return context.saves[0]

    def update_scene(self, scene_id: str | int, **fields: Any) -> SaveResult:
        """A user's edit through sceneUpdate: moves updated_at, fires hooks and waits for them."""
        return self._save(SCENE_UPDATE_MUTATION, {"input": {"id": str(scene_id), **fields}})

    def merge_tags(self, source_ids: Iterable[str | int], destination_id: str | int) -> SaveResult:
        """A user's tag merge (`tagsMerge`): one Tag.Merge.Post, scenes' updated_at unchanged."""
        sources = [str(source) for source in source_ids]
        return self._save(
            TAGS_MERGE_MUTATION,
            {"input": {"source": sources, "destination": str(destination_id)}},
        )

    def destroy(self, kind: str, row_id: str | int) -> SaveResult:
        """A user's delete of a `tag`, `performer`, `studio` or `group` (`<kind>Destroy`)."""
        if kind not in {"tag", "performer", "studio", "group"}:
            raise ValueError(f"cannot destroy a {kind!r}; use tag, performer, studio or group")
        query = DESTROY_MUTATION.format(
            type=f"{kind.capitalize()}DestroyInput", field=f"{kind}Destroy"
        )
        return self._save(query, {"input": {"id": str(row_id)}})

    def scan_new_files(
        self,
        paths: Iterable[str],
        *,
        generate_covers: bool = True,
        cover_after_s: float = 0.0,
    ) -> ScanResult:
        """A library scan that finds these files: one bare scene and one Scene.Create.Post each,
        then (by default) the generated cover, which moves updated_at without a hook.
        `cover_after_s` advances the clock before each cover (the time ffmpeg would take)."""
        return scan_new_files(
            self.store,
            paths,
            lambda: self.runner,
            self.admin_user,
            generate_covers=generate_covers,
            cover_after_s=cover_after_s,
        )
