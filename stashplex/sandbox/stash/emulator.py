"""`StashEmulator`: a loopback Stash with real HTTP, GraphQL validation and plugin hooks."""

from __future__ import annotations

import ipaddress
import shutil
import tempfile
import threading
from datetime import datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any

from stashplex.sandbox.plugin_runner import PluginRunner, SaveResult
from stashplex.sandbox.stash.clock import StashClock, format_rfc3339
from stashplex.sandbox.stash.context import HookChain, RequestContext
from stashplex.sandbox.stash.faults import StashFaults
from stashplex.sandbox.stash.graphql_api import build_executable_schema, execute
from stashplex.sandbox.stash.http_server import EmulatorHTTPServer
from stashplex.sandbox.stash.mutations import MutationResolvers
from stashplex.sandbox.stash.records import (
    FileRecord,
    GroupRecord,
    PerformerRecord,
    SceneRecord,
    StudioRecord,
    TagRecord,
)
from stashplex.sandbox.stash.request_counter import RequestCounter
from stashplex.sandbox.stash.resolvers import ReadResolvers, parse_stash_id
from stashplex.sandbox.stash.scene_edits import apply_scene_update
from stashplex.sandbox.stash.seeding import WorldSeeder
from stashplex.sandbox.stash.sessions import COOKIE_NAME, SessionCookies
from stashplex.sandbox.stash.store import StashDataError, StashStore

MAX_SESSION_AGE_S = 3600
SAME_SITE_LAX = 2

SCENE_UPDATE_MUTATION = """
mutation EmulatorUserEdit($input: SceneUpdateInput!) { sceneUpdate(input: $input) { id } }
"""


class StashEmulator:
    """Stash on loopback. With `api_key` set, every route but `/healthz` requires credentials."""

    def __init__(
        self,
        api_key: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        utc_offset_minutes: int = 0,
    ) -> None:
        if not ipaddress.ip_address(host).is_loopback:
            raise ValueError(f"the emulator only listens on loopback, not {host}")
        self.api_key = api_key or None
        self.host = host
        self._requested_port = port
        self._port: int | None = None
        self.clock = StashClock(utc_offset_minutes)
        self.store = StashStore(self.clock)
        self.requests = RequestCounter()
        self.faults = StashFaults(self._close_listener, self._open_listener)
        self.runner: PluginRunner | None = None
        self._cookies = SessionCookies()
        self._workdir = Path(tempfile.mkdtemp(prefix="stash-emulator-"))
        self.config_dir = self._workdir / "config"
        self.config_dir.mkdir()
        reads = ReadResolvers(self.store, lambda: self.api_key)
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

    # -- sessions, as handed to plugins ----------------------------------------------------------
    @property
    def session_cookie(self) -> str:
        return self._cookies.issue()

    def session_chain(self, cookie_value: str) -> HookChain | None:
        return self._cookies.read(cookie_value)

    def server_connection(self, chain: HookChain = ()) -> dict[str, Any]:
        """The `server_connection` object Stash writes to a plugin's stdin (without PluginDir)."""
        expires = datetime.now().astimezone() + timedelta(seconds=MAX_SESSION_AGE_S)
        cookie = {
            "Name": COOKIE_NAME,
            "Value": self._cookies.issue(chain),
            "Quoted": False,
            "Path": "/",
            "Domain": "",
            "Expires": format_rfc3339(expires),
            "RawExpires": "",
            "MaxAge": MAX_SESSION_AGE_S,
            "Secure": False,
            "HttpOnly": False,
            "SameSite": SAME_SITE_LAX,
            "Partitioned": False,
            "Raw": "",
            "Unparsed": None,
        }
        return {
            "Scheme": "http",
            "Host": "0.0.0.0",
            "Port": self.port,
            "SessionCookie": cookie,
            "Dir": str(self.config_dir),
        }

    # -- plugins --------------------------------------------------------------------------------
    def attach_plugin(self, manifest_path: str | Path) -> PluginRunner:
        """Load a plugin; its hooks fire from every GraphQL mutation from now on."""
        if self.runner is None:
            self.runner = PluginRunner(self.server_connection, cwd=self._workdir)
        self.runner.load(manifest_path)
        return self.runner

    # -- data -----------------------------------------------------------------------------------
    def seed(self, n_scenes: int, seed: int = 0, path_root: str = "/data/") -> list[str]:
        ids = WorldSeeder(self.store, seed, path_root).seed(n_scenes)
        return [str(scene_id) for scene_id in ids]

    def add_scene(
        self,
        title: str | None = None,
        files: list[dict[str, Any]] | None = None,
        cover: bytes | None = None,
        **fields: Any,
    ) -> str:
        """Add a scene as a scan would (no hook); `fields` use SceneUpdateInput names."""
        with self.store.lock:
            now = self.store.clock.now()
            scene = SceneRecord(id=self.store.next_scene_id(), created_at=now, updated_at=now)
            scene.files = [self._file_record(spec, now) for spec in files or []]
            scene = apply_scene_update(self.store, scene, {"title": title, **fields})
            scene.created_at, scene.updated_at, scene.cover = now, now, cover
            self.store.scenes[scene.id] = scene
            return str(scene.id)

    def _file_record(self, spec: dict[str, Any], now: str) -> FileRecord:
        path = spec["path"]
        serial = self.store.next_file_id()
        return FileRecord(
            id=serial,
            path=path,
            basename=path.replace("\\", "/").rsplit("/", 1)[-1],
            size=int(spec.get("size", 1_000_000)),
            duration=float(spec.get("duration", 60.0)),
            width=int(spec.get("width", 1920)),
            height=int(spec.get("height", 1080)),
            format=spec.get("format", "mp4"),
            video_codec=spec.get("video_codec", "h264"),
            audio_codec=spec.get("audio_codec", "aac"),
            frame_rate=float(spec.get("frame_rate", 29.97)),
            bit_rate=int(spec.get("bit_rate", 5_000_000)),
            mod_time=spec.get("mod_time", now),
            created_at=now,
            updated_at=now,
            oshash=spec.get("oshash", f"{serial:016x}"),
            checksum=spec.get("checksum", f"{serial:032x}"),
        )

    def add_studio(
        self, name: str, parent_id: str | None = None, image: bytes | None = None
    ) -> str:
        with self.store.lock:
            now = self.store.clock.now()
            parent = None if parent_id is None else self.store.require_studio(int(parent_id)).id
            studio = StudioRecord(self.store.next_studio_id(), name, now, now, parent, image=image)
            self.store.studios[studio.id] = studio
            return str(studio.id)

    def add_performer(self, name: str, image: bytes | None = None, **fields: Any) -> str:
        with self.store.lock:
            now = self.store.clock.now()
            performer = PerformerRecord(
                self.store.next_performer_id(), name, now, now, image=image, **fields
            )
            self.store.performers[performer.id] = performer
            return str(performer.id)

    def add_tag(self, name: str) -> str:
        with self.store.lock:
            now = self.store.clock.now()
            tag = TagRecord(self.store.next_tag_id(), name, now, now)
            self.store.tags[tag.id] = tag
            return str(tag.id)

    def add_group(self, name: str) -> str:
        with self.store.lock:
            now = self.store.clock.now()
            group = GroupRecord(self.store.next_group_id(), name, now, now)
            self.store.groups[group.id] = group
            return str(group.id)

    def scene(self, scene_id: str | int) -> dict[str, Any] | None:
        return self.store.scene_snapshot(parse_stash_id(scene_id))

    def scene_ids(self) -> list[str]:
        with self.store.lock:
            return [str(scene_id) for scene_id in self.store.scenes]

    def image_of(self, kind: str, row_id: int) -> tuple[bool, bytes | None]:
        """(row exists, its stored image or None) for the image routes."""
        table: dict[int, Any] = {
            "scene": self.store.scenes,
            "performer": self.store.performers,
            "studio": self.store.studios,
            "tag": self.store.tags,
            "group": self.store.groups,
        }[kind]
        row = table.get(row_id)
        if row is None:
            return False, None
        attribute = {"scene": "cover", "group": "front_image"}.get(kind, "image")
        return True, getattr(row, attribute)

    # -- in-process GraphQL: the same code path as HTTP, minus the socket -------------------------
    def graphql(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        context: RequestContext | None = None,
    ) -> dict[str, Any]:
        context = context or RequestContext(base_url=f"http://{self.host}:{self._port or 0}")
        _status, payload = execute(self.schema, query, variables, None, context)
        return payload

    def update_scene(self, scene_id: str | int, **fields: Any) -> SaveResult:
        """A user's edit through sceneUpdate: moves updated_at, fires hooks and waits for them."""
        context = RequestContext(base_url=f"http://{self.host}:{self._port or 0}")
        payload = self.graphql(
            SCENE_UPDATE_MUTATION, {"input": {"id": str(scene_id), **fields}}, context
        )
        if payload.get("errors"):
            raise StashDataError("; ".join(error["message"] for error in payload["errors"]))
        return context.saves[0]
