"""The data directory: where everything durable lives, and who may own it.

One supervisor per data directory. A PID file alone lies (PIDs are reused; in Docker a dead
helper lingers as a zombie under Stash), so ownership is an ``flock`` the kernel drops when the
holder dies, and the holder's identity (pid + process start time) is checked with psutil before
we call it alive (and that it is a stashplex process of this user, before anyone signals it).

The directory itself must be this user's and closed to others; inside it nothing is opened
through a symbolic link (:mod:`stashplex.runtime.private_files`).
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from pathlib import Path
from typing import NamedTuple

import psutil

from stashplex.runtime.private_files import (
    DataDirError,
    check_private_dir,
    open_private,
    prepare_dir,
    write_private,
)

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]


def default_data_dir() -> Path:
    """``$STASHPLEX_DATA_DIR``, else the XDG data home."""
    env = os.environ.get("STASHPLEX_DATA_DIR")
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "stashplex"


class DataDir(NamedTuple):
    root: Path

    @property
    def mailboxes(self) -> Path:
        return self.root / "mailboxes"

    @property
    def state(self) -> Path:
        return self.root / "state"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def spool(self) -> Path:
        return self.root / "spool"

    @property
    def heartbeat(self) -> Path:
        return self.root / "heartbeat"

    @property
    def lock_file(self) -> Path:
        return self.root / "supervisor.lock"

    @property
    def host_pid_file(self) -> Path:
        return self.root / "host.pid"

    @property
    def config_file(self) -> Path:
        return self.root / "config.toml"

    def ensure(self) -> DataDir:
        """Create the tree with owner-only permissions (the hook socket lives here).

        Raises :class:`DataDirError` (one line) for a directory another user owns or others
        may write to; a link or file where one of its folders should be is set aside.
        """
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        check_private_dir(self.root)
        self.root.chmod(0o700)
        for path in (self.mailboxes, self.state, self.logs, self.spool):
            prepare_dir(path)
        return self

    def touch_heartbeat(self) -> None:
        """Mark the host alive (the watchdog reads the file's mtime), never through a link."""
        fd = open_private(self.heartbeat, os.O_WRONLY | os.O_CREAT)
        try:
            os.utime(fd)
        finally:
            os.close(fd)

    def write_host_pid(self, pid: int) -> None:
        write_private(self.host_pid_file, str(pid).encode("ascii"))


class AlreadyRunningError(RuntimeError):
    def __init__(self, pid: int | None, data_dir: Path) -> None:
        who = f"pid {pid}" if pid else "another process"
        super().__init__(f"a supervisor ({who}) already owns {data_dir}")
        self.pid = pid


class Holder(NamedTuple):
    pid: int
    create_time: float


def process_alive(pid: int, create_time: float | None = None) -> bool:
    """True if ``pid`` runs, is not a zombie, and (if given) started at ``create_time``."""
    try:
        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE:
            return False
        return create_time is None or abs(proc.create_time() - create_time) < 1.0
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return False


def is_our_process(pid: int) -> bool:
    """Whether ``pid`` is a stashplex process of this user: the only kind we ever signal.

    A lock file names a pid, but a pid is reused, and a file can be edited: before ``stop``
    sends a signal, the process must run as us and have ``stashplex`` on its command line.
    """
    try:
        proc = psutil.Process(pid)
        if hasattr(os, "getuid") and proc.uids().real != os.getuid():
            return False
        return any("stashplex" in part for part in proc.cmdline())
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        return False


def read_holder(data_dir: DataDir) -> Holder | None:
    """The live supervisor of ``data_dir``, if any."""
    try:
        fd = open_private(data_dir.lock_file, os.O_RDONLY)
        with os.fdopen(fd, encoding="utf-8") as handle:
            info = json.loads(handle.read() or "{}")
        holder = Holder(int(info["pid"]), float(info["create_time"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    alive = process_alive(holder.pid, holder.create_time) and is_our_process(holder.pid)
    return holder if alive else None


class InstanceLock:
    """Exclusive ownership of a data directory for the life of this process."""

    def __init__(self, data_dir: DataDir) -> None:
        self.data_dir = data_dir
        self._fd: int | None = None

    def acquire(self) -> None:
        self.data_dir.ensure()
        fd = open_private(self.data_dir.lock_file, os.O_RDWR | os.O_CREAT)
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                holder = read_holder(self.data_dir)
                raise AlreadyRunningError(
                    holder.pid if holder else None, self.data_dir.root
                ) from None
        else:  # pragma: no cover - Windows: the live-process check is all we have
            holder = read_holder(self.data_dir)
            if holder is not None and holder.pid != os.getpid():
                os.close(fd)
                raise AlreadyRunningError(holder.pid, self.data_dir.root)
        me = psutil.Process()
        record = {"pid": me.pid, "create_time": me.create_time(), "started_at": time.time()}
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(record).encode(), 0)
        self._fd = fd

    def release(self) -> None:
        if self._fd is None:
            return
        with contextlib.suppress(OSError):
            os.ftruncate(self._fd, 0)
        os.close(self._fd)
        self._fd = None

    def __enter__(self) -> InstanceLock:
        self.acquire()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.release()


__all__ = [
    "AlreadyRunningError",
    "DataDir",
    "DataDirError",
    "Holder",
    "InstanceLock",
    "default_data_dir",
    "is_our_process",
    "process_alive",
    "read_holder",
    "write_private",
]
