"""A whole sync world for integration tests: both emulators and a real actor host.

Nothing is mocked: the host runs the five actors over real mailboxes, PlexGateway talks to the
Plex emulator through plexapi, Intake to the Stash emulator over GraphQL.
"""

from __future__ import annotations

import threading
import time
import uuid
from pathlib import Path
from typing import Any

from actors.addresses import INTAKE, SCHEDULER
from actors.dead_letter import list_dead_letters
from actors.dead_letter import open_store as open_dead_letters
from actors.intake_state import SyncState, job_progress
from actors.messages import SYNC_REQUEST
from stashplex.config.settings import Settings
from stashplex.host.actor_host import Host
from stashplex.plex.state import GatewayState
from stashplex.runtime.datadir import DataDir
from stashplex.runtime.envelope import Envelope
from stashplex.sandbox.plex import PlexEmulator
from stashplex.sandbox.seed import World, seed_world
from stashplex.sandbox.stash import StashEmulator
from tests.support.waiting import wait_until

TOKEN = "plex-test-token-0123"


class SyncWorld:
    def __init__(self, tmp_path: Path, scenes: int = 0, seed: int = 1, **seed_options: Any):
        self.tmp_path = tmp_path
        self.plex = PlexEmulator(token=TOKEN).start()
        self.stash = StashEmulator().start()
        self.world: World | None = None
        if scenes:
            self.world = seed_world(self.stash, self.plex, scenes, seed=seed, **seed_options)
        self.data = DataDir(tmp_path / "data")
        self.host: Host | None = None
        self._thread: threading.Thread | None = None

    def settings(self, **overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "plex_url": self.plex.url,
            "plex_token": TOKEN,
            "stash_url": self.stash.url,
            "path_map": ("/data/ => /media/",),
            "index_refresh_seconds": 1,
        }
        values.update(overrides)
        return Settings(**values)

    def start(
        self,
        *,
        services: dict[str, Any] | None = None,
        settings: Settings | None = None,
        **overrides: Any,
    ) -> Host:
        """Start the host with ``settings`` as given (sources and all), else with the
        world's own settings and ``overrides``."""
        extra = {"intake_debounce_s": 0.05, **(services or {})}
        chosen = settings if settings is not None else self.settings(**overrides)
        self.host = Host(self.data, chosen, serve=False, extra_services=lambda *_: extra)
        self._thread = threading.Thread(target=self.host.run, daemon=True)
        self._thread.start()
        assert self.host.started.wait(30), "actor host did not start"
        return self.host

    def stop(self) -> None:
        if self.host is not None:
            self.host.request_shutdown()
            assert self._thread is not None
            self._thread.join(30)
            self.host = None

    def close(self) -> None:
        self.stop()
        self.plex.stop()
        self.stash.stop()

    # -- driving -----------------------------------------------------------------------

    def sync(
        self,
        mode: str = "all",
        *,
        scene_ids: list[str] | None = None,
        force: bool = False,
        dry_run: bool = False,
        timeout: float = 60,
    ) -> dict[str, Any]:
        assert self.host is not None and self.host.post is not None
        job_id = uuid.uuid4().hex[:12]
        payload = {
            "mode": mode,
            "scene_ids": scene_ids or [],
            "force": force,
            "dry_run": dry_run,
            "job_id": job_id,
        }
        self.host.post.send(INTAKE, Envelope(kind=SYNC_REQUEST, payload=payload))
        return self.wait_job(job_id, timeout=timeout)

    def wait_job(self, job_id: str, *, timeout: float = 60) -> dict[str, Any]:
        """The sync job's progress, once it finished (with its dry-run diffs)."""
        state = SyncState(self.data)
        try:
            return wait_until(
                lambda: (
                    (p := job_progress(state.store, job_id, with_diffs=True))
                    and p["finished"]
                    and p
                ),
                timeout=timeout,
                message=f"sync job {job_id} to finish",
            )
        finally:
            state.store.close()

    def ask(self, **request: Any) -> dict[str, Any]:
        """What the CLI or a Stash task would get back from the supervisor for this request."""
        assert self.host is not None
        return self.host.control.handle({"v": 1, **request})

    def wait_idle(self, timeout: float = 60, *, include_scheduler: bool = False) -> None:
        """Until no mailbox (but the Scheduler's timers) holds work, twice in a row."""
        assert self.host is not None and self.host.post is not None
        post = self.host.post

        def idle() -> bool:
            return all(
                depth == 0
                for name, depth in post.depths().items()
                if include_scheduler or name != SCHEDULER
            )

        wait_until(
            lambda: idle() and (time.sleep(0.2) or idle()),
            timeout=timeout,
            message="an idle pipeline",
        )

    def dead_letters(self) -> list[dict[str, Any]]:
        store = open_dead_letters(self.data)
        try:
            return list_dead_letters(store)
        finally:
            store.close()

    def scenes_not_written(
        self, scene_ids: list[str] | None = None, data: DataDir | None = None
    ) -> list[str]:
        """Scenes some Plex item of which has not been written: the gateway has no record of it,
        or it lacks the scene's title, locked. An untitled scene's title is left alone (the
        file-name fallback counts as empty), so for it the gateway's record is the proof."""
        assert self.world is not None
        state = GatewayState(data or self.data)
        try:
            missing = []
            for scene_id in scene_ids or self.world.scene_ids:
                keys = [f.rating_key for f in self.world.files_of(scene_id) if f.rating_key]
                written = state.written(keys)
                title = self.stash.scene(scene_id)["title"]
                items = [self.plex.item(key) for key in keys]
                if len(written) < len(keys) or any(
                    title and (item["fields"]["title"] != title or "title" not in item["locks"])
                    for item in items
                ):
                    missing.append(scene_id)
            return missing
        finally:
            state.store.close()

    def plex_items_of(self, scene_id: str) -> list[dict[str, Any]]:
        assert self.world is not None
        return [
            self.plex.item(f.rating_key)
            for f in self.world.files_of(scene_id)
            if f.rating_key is not None
        ]
