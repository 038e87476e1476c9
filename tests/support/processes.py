"""Start and stop real supervisor processes for integration tests."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from tests.support.waiting import wait_until

REPO = Path(__file__).resolve().parents[2]


def write_config(data_dir: Path, **settings: object) -> None:
    data_dir.mkdir(parents=True, exist_ok=True)
    lines = []
    for key, value in settings.items():
        if isinstance(value, bool):
            lines.append(f"{key} = {'true' if value else 'false'}")
        elif isinstance(value, int | float):
            lines.append(f"{key} = {value}")
        elif isinstance(value, list | tuple):
            lines.append(f"{key} = [{', '.join(repr(str(v)) for v in value)}]".replace("'", '"'))
        else:
            lines.append(f'{key} = "{value}"')
    (data_dir / "config.toml").write_text("\n".join(lines) + "\n")


def start_supervisor(
    data_dir: Path,
    *extra: str,
    argv: Sequence[str] | None = None,
    env: dict[str, str] | None = None,
) -> subprocess.Popen[bytes]:
    command = list(argv) if argv else [sys.executable, "-m", "stashplex", "run"]
    log = (data_dir.parent / f"{data_dir.name}.supervisor.out").open("ab")
    return subprocess.Popen(
        [*command, "--data-dir", str(data_dir), *extra],
        cwd=REPO,
        stdout=log,
        stderr=log,
        env={**os.environ, **(env or {})},
        start_new_session=True,
    )


def host_pid(data_dir: Path) -> int | None:
    try:
        return int((data_dir / "host.pid").read_text())
    except (OSError, ValueError):
        return None


def kill_outright(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL the watchdog's process group and its actor host, which has a session (and so a
    process group) of its own, together: a power cut or the OOM killer, not a stop."""
    import psutil

    try:
        children = psutil.Process(proc.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        children = []
    os.killpg(proc.pid, signal.SIGKILL)
    for child in children:
        with contextlib.suppress(psutil.NoSuchProcess):
            child.kill()
    proc.wait()


def stop_supervisor(proc: subprocess.Popen[bytes], timeout: float = 40) -> int:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            kill_outright(proc)
    return proc.returncode


def stop_whatever_owns(data_dir: Path, timeout: float = 60) -> None:
    """Stop the supervisor of ``data_dir`` whoever started it (a test may have replaced ours)."""
    subprocess.run(
        [sys.executable, "-m", "stashplex", "stop", "--data-dir", str(data_dir)],
        cwd=REPO,
        capture_output=True,
        timeout=timeout,
        check=False,
    )


def wait_for_host(data_dir: Path, *, other_than: int | None = None, timeout: float = 30) -> int:
    def ready() -> int | None:
        pid = host_pid(data_dir)
        if pid is None or pid == other_than:
            return None
        try:
            os.kill(pid, 0)
        except OSError:
            return None
        return pid

    return wait_until(ready, timeout=timeout, message="a running actor host")


def answering(data_dir: Path) -> bool:
    """Whether a supervisor answers ``ping`` on ``data_dir``'s socket right now."""
    from stashplex.link.ipc import send_request

    try:
        return bool(send_request(data_dir, {"v": 1, "type": "ping"}, timeout=2).get("ok"))
    except OSError:
        return False


def configure_for(world: object, data_dir: Path, **settings: object) -> None:
    """The config a test supervisor needs to sync ``world``'s emulators (Docker-style paths)."""
    from tests.support.world import TOKEN

    write_config(
        data_dir,
        plex_url=world.plex.url,  # type: ignore[attr-defined]
        plex_token=TOKEN,
        stash_url=world.stash.url,  # type: ignore[attr-defined]
        path_map=["/data/ => /media/"],
        index_refresh_seconds=1,
        **settings,
    )


def intake_counters(data_dir: Path) -> dict[str, int]:
    from actors.intake_state import SyncState, counters
    from stashplex.runtime.datadir import DataDir

    state = SyncState(DataDir(data_dir))
    try:
        return counters(state.store)
    finally:
        state.store.close()


def stashplex(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """The ``stashplex`` command run as a user runs it: its own process, from the checkout."""
    return subprocess.run(
        [sys.executable, "-m", "stashplex", *args],
        cwd=REPO,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
