"""One benchmark world: the emulators in this process, a real supervisor process beside them.

The supervisor is started the way a user starts it (``python -m stashplex run``), in its own
process group so a benchmark can SIGKILL the whole tree at once, and is only spoken to over its
local socket, so every figure includes the real IPC, mailboxes and HTTP. The emulators stay in
the benchmark process because their request logs are what the figures count, except where a
figure times the emulated Stash's side of a save (``plex_apart``: Plex in a process of its own).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import psutil
from _common import REPO
from _plex_process import TOKEN, EmulatorProcess

from stashplex.runtime.datadir import DataDir
from stashplex.link.ipc import send_request
from stashplex.plex.state import GatewayState
from stashplex.plugin import install_plugin
from stashplex.plugin.install import HOOK_ENTRY
from stashplex.sandbox.plex import PlexEmulator
from stashplex.sandbox.seed import World, seed_world
from stashplex.sandbox.stash import StashEmulator
from actors.intake_state import SyncState, job_progress

T = TypeVar("T")


class BenchTimeoutError(RuntimeError):
    """A benchmark waited longer than its bound: the figure is missing, not merely slow."""


def wait_for(
    condition: Callable[[], T], *, timeout: float, interval: float = 0.05, what: str = "condition"
) -> T:
    """Poll until ``condition()`` is truthy; every benchmark loop is bounded in time."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise BenchTimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


def toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(str(v)) for v in value) + "]"
    text = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{text}"'


def write_config(data_dir: Path, settings: dict[str, object]) -> None:
    data_dir.mkdir(parents=True, exist_ok=True)
    lines = [f"{key} = {toml_value(value)}" for key, value in settings.items()]
    (data_dir / "config.toml").write_text("\n".join(lines) + "\n")


@dataclass
class CpuSample:
    """CPU seconds (user + system) of the watchdog and every host it has had so far."""

    seconds: float
    at: float


class Supervisor:
    """A ``stashplex run`` process and the requests a benchmark sends it."""

    def __init__(self, data_dir: Path, log_path: Path) -> None:
        self.data_dir = data_dir
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None
        self._cpu_of_dead_hosts = 0.0
        self._known_hosts: dict[int, float] = {}

    def start(self, *, wait: bool = True, timeout: float = 60) -> Supervisor:
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "stashplex", "run", "--data-dir", str(self.data_dir)],
            cwd=REPO,
            stdout=log,
            stderr=log,
            env={**os.environ, "PYTHONPATH": str(REPO)},
            start_new_session=True,
        )
        log.close()
        self._cpu_of_dead_hosts = 0.0
        self._known_hosts = {}
        if wait:
            wait_for(self.answering, timeout=timeout, interval=0.01, what="the supervisor's ping")
        return self

    # -- requests ---------------------------------------------------------------------------

    def request(self, kind: str, timeout: float = 10, **fields: Any) -> dict[str, Any]:
        reply = send_request(self.data_dir, {"v": 1, "type": kind, **fields}, timeout=timeout)
        if not reply.get("ok"):
            raise RuntimeError(f"{kind} refused: {reply.get('error')}")
        return reply

    def answering(self) -> bool:
        try:
            return bool(send_request(self.data_dir, {"v": 1, "type": "ping"}, timeout=1).get("ok"))
        except OSError:
            return False

    def status(self) -> dict[str, Any]:
        return self.request("status", timeout=30)

    def sync(self, mode: str = "all", **options: Any) -> str:
        return str(self.request("sync", mode=mode, **options)["job"])

    def job(self, job_id: str) -> dict[str, Any]:
        return self.request("job", timeout=30, job=job_id)

    def wait_job(
        self, job_id: str, *, timeout: float, until: str = "finished", interval: float = 0.2
    ) -> dict[str, Any]:
        """Poll ``job`` until its ``until`` flag ("finished" or "done") is set."""

        def settled() -> dict[str, Any] | None:
            try:
                reply = self.job(job_id)
            except OSError:
                return None
            return reply if reply.get(until) else None

        return wait_for(settled, timeout=timeout, interval=interval, what=f"job {job_id} {until}")

    def idle(self, *, include_scheduler: bool = False) -> bool:
        depths = self.status()["mailboxes"]
        return all(
            depth == 0 for name, depth in depths.items() if include_scheduler or name != "scheduler"
        )

    # -- processes --------------------------------------------------------------------------

    def processes(self) -> list[psutil.Process]:
        if self.process is None or self.process.poll() is not None:
            return []
        try:
            watchdog = psutil.Process(self.process.pid)
            return [watchdog, *watchdog.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def cpu_seconds(self) -> float:
        """Cumulative CPU of watchdog + hosts; a host that died keeps the seconds it had used."""
        total = self._cpu_of_dead_hosts
        seen: dict[int, float] = {}
        for proc in self.processes():
            try:
                times = proc.cpu_times()
            except psutil.NoSuchProcess:
                continue
            seen[proc.pid] = times.user + times.system
        for pid, used in self._known_hosts.items():
            if pid not in seen:
                self._cpu_of_dead_hosts += used
                total += used
        self._known_hosts = seen
        return total + sum(seen.values())

    def rss_mb(self) -> dict[str, float]:
        """Resident memory of the watchdog and the host, as psutil sees them from outside."""
        procs = self.processes()
        figures: dict[str, float] = {}
        for role, proc in zip(("watchdog", "host"), procs, strict=False):
            try:
                figures[role] = round(proc.memory_info().rss / 2**20, 1)
            except psutil.NoSuchProcess:
                continue
        return figures

    def kill_group(self) -> None:
        """SIGKILL the watchdog and its host together, the way a power cut or OOM would (the host
        has a session, and so a process group, of its own)."""
        assert self.process is not None
        host = self.processes()[1:]
        os.killpg(self.process.pid, signal.SIGKILL)
        for proc in host:
            with contextlib.suppress(psutil.NoSuchProcess):
                proc.kill()
        self.process.wait()

    def stop(self, timeout: float = 60) -> int | None:
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill_group()
        return self.process.returncode


class BenchWorld:
    """Emulators seeded with ``scenes`` scenes, a data dir, and (once started) a supervisor."""

    def __init__(
        self, scenes: int, *, seed: int = 1, plex_apart: bool = False, **settings: object
    ) -> None:
        """``plex_apart``: the Plex emulator in a process of its own (``EmulatorProcess``), as a
        real PMS is, so a busy Plex never holds the GIL the emulated Stash spawns hooks under.
        Its request log is not readable here then, and ``world.files`` is empty."""
        self.root = Path(tempfile.mkdtemp(prefix="spbench-", dir="/tmp"))
        self.stash = StashEmulator().start()
        started = time.perf_counter()
        self.plex: Any
        if plex_apart:
            self.plex = EmulatorProcess(stash_world=scenes, seed=seed)
            scene_ids = self.stash.seed(scenes, seed=seed, path_root="/data/")
            self.world: World = World(scene_ids=scene_ids, files=[])
        else:
            self.plex = PlexEmulator(token=TOKEN).start()
            self.world = seed_world(self.stash, self.plex, scenes, seed=seed)
        self.seed_seconds = time.perf_counter() - started
        self.data_dir = self.root / "data"
        write_config(
            self.data_dir,
            {
                "plex_url": self.plex.url,
                "plex_token": TOKEN,
                "stash_url": self.stash.url,
                "path_map": ["/data/ => /media/"],
                **settings,
            },
        )
        self.supervisor = Supervisor(self.data_dir, self.root / "supervisor.log")

    def reset_counts(self) -> None:
        self.plex.requests.reset()
        self.stash.requests.reset()

    def plex_writes(self) -> int:
        return self.plex.requests.count(method="PUT") + self.plex.requests.count(method="POST")

    def scenes_not_in_plex(self, scene_ids: list[str] | None = None) -> list[str]:
        """Scenes some of whose Plex items lack the synced, locked title, or were never written
        (a lost update). An untitled scene's title is left alone (its file-name fallback counts
        as empty), so for it the gateway's record of the write is the proof."""
        lost = []
        state = GatewayState(DataDir(self.data_dir))
        try:
            for scene_id in scene_ids or self.world.scene_ids:
                wanted = self.stash.scene(scene_id)["title"]
                keys = [f.rating_key for f in self.world.files_of(scene_id) if f.rating_key]
                written = state.written(keys)
                for key in keys:
                    item = self.plex.item(key)
                    titled = "title" in item["locks"] and item["fields"]["title"] == wanted
                    if key not in written or (wanted and not titled):
                        lost.append(scene_id)
                        break
        finally:
            state.store.close()
        return lost

    def close(self, *, keep: bool = False) -> None:
        try:
            self.supervisor.stop()
        finally:
            self.plex.stop()
            self.stash.stop()
            if keep:
                print(f"  (kept {self.root})", file=sys.stderr)
            else:
                shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> BenchWorld:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def stash_request_counts(stash: StashEmulator) -> dict[str, int]:
    """GraphQL requests and image downloads, split, from the emulator's counter."""
    snapshot = stash.requests.snapshot()
    routes = snapshot["route"]
    graphql = routes.get("/graphql", 0)
    images = sum(count for route, count in routes.items() if "{id}" in route)
    return {"graphql": graphql, "images": images, "all": stash.requests.count()}


def job_counts(data_dir: Path, job_id: str) -> dict[str, Any]:
    """A job's counts read from Intake's store (the ``job`` reply's ``done`` is a flag)."""
    state = SyncState(DataDir(data_dir))
    try:
        progress = job_progress(state.store, job_id) or {}
    finally:
        state.store.close()
    keys = ("total", "queued", "skipped", "done", "failed", "changes")
    return {key: progress.get(key) for key in keys}


def hook_stdin(stash: StashEmulator, scene_id: str, fields: tuple[str, ...] = ("title",)) -> str:
    """What Stash writes to a ``Scene.Update.Post`` hook's stdin."""
    return json.dumps(
        {
            "server_connection": stash.server_connection(),
            "args": {
                "hookContext": {
                    "id": int(scene_id),
                    "type": "Scene.Update.Post",
                    "input": {"id": scene_id, **dict.fromkeys(fields)},
                    "inputFields": ["id", *fields],
                }
            },
        }
    )


def hook_event(scene_id: str, fields: tuple[str, ...] = ("title",)) -> dict[str, Any]:
    """The frame the hook sends for one edit, for probing the socket without a hook process."""
    return {
        "trigger": "Scene.Update.Post",
        "scene_id": scene_id,
        "input_fields": ["id", *fields],
        "input": {"id": scene_id},
        "received_at": time.time(),
    }


@dataclass
class HookRun:
    seconds: float
    exit_code: int
    queued: bool
    output: str


def install_manifest(world: BenchWorld) -> Path:
    """Install the plugin for ``world``'s data dir; returns the manifest Stash loads."""
    return install_plugin(
        world.root / "plugins" / "stashplex", data_dir=world.data_dir, python=Path(sys.executable)
    )


def install_hook(world: BenchWorld) -> Path:
    """Install the plugin for ``world``'s data dir; returns the hook script."""
    return install_manifest(world).parent / HOOK_ENTRY


def run_hook(hook: Path, stdin: str, *, timeout: float = 60) -> HookRun:
    """One hook process, run the way Stash runs it; ``queued`` = the supervisor acknowledged it."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-S", str(hook)],
        input=stdin,
        text=True,
        capture_output=True,
        timeout=timeout,
        check=False,
        cwd="/",
    )
    seconds = time.perf_counter() - started
    try:
        output = str(json.loads(done.stdout).get("output") or "")
    except ValueError:
        output = done.stdout
    return HookRun(seconds, done.returncode, output.startswith("queued"), output)
