"""Files inside the data directory: owner-only, never through a symlink, never the wrong kind.

The data directory holds the Plex token's record, Stash's session cookies in spool files, the
socket and the logs. So stashplex refuses a directory another user owns or others may write to
(anyone could plant files there), and inside it follows no symbolic link: a link where a log,
lock, pid or SQLite file should be would make us write, truncate or read whatever it points at.
Such a link, or a directory where a file should be, is set aside (renamed, never followed) with
a warning, and a fresh file is created, owner-only (0600).
"""

from __future__ import annotations

import errno
import logging
import os
import stat
import time
from pathlib import Path

log = logging.getLogger(__name__)

#: Added to every open of a file in the data directory (0 where the OS lacks them).
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)


class DataDirError(RuntimeError):
    """The data directory cannot be used safely; the message says why and what to do."""


def check_private_dir(path: Path) -> None:
    """Refuse a directory that is a link, is not ours, or that others may write to."""
    info = path.lstat()
    if stat.S_ISLNK(info.st_mode) or not stat.S_ISDIR(info.st_mode):
        raise DataDirError(f"{path} is not a directory (a link or a file); move it away")
    if hasattr(os, "geteuid") and info.st_uid != os.geteuid():
        raise DataDirError(
            f"{path} belongs to uid {info.st_uid}, not to this user (uid {os.geteuid()}); "
            "stashplex keeps secrets there and uses only its own directory"
        )
    if info.st_mode & 0o022:
        raise DataDirError(
            f"{path} can be written by other users (mode {stat.S_IMODE(info.st_mode):o}); "
            f"run `chmod 700 {path}`"
        )


def set_aside(path: Path, what: str) -> Path:
    """Rename ``path`` (the link itself, never its target) to ``<name>.set-aside-<time>``."""
    stamp = time.strftime("%Y%m%dT%H%M%S")
    target = path.with_name(f"{path.name}.set-aside-{stamp}")
    suffix = 0
    while os.path.lexists(target):
        suffix += 1
        target = path.with_name(f"{path.name}.set-aside-{stamp}-{suffix}")
    path.rename(target)
    log.warning(
        "%s was %s where stashplex keeps a file of its own; moved it to %s", path, what, target.name
    )
    return target


def _misplaced(path: Path, *, want_dir: bool) -> str | None:
    """What is wrong with what sits at ``path`` (None: nothing, or nothing there)."""
    try:
        mode = path.lstat().st_mode
    except FileNotFoundError:
        return None
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if want_dir:
        return None if stat.S_ISDIR(mode) else "a file"
    if stat.S_ISDIR(mode):
        return "a directory"
    if not stat.S_ISREG(mode):
        return "a special file"
    return None


def prepare_dir(path: Path) -> None:
    """Make ``path`` a real directory of ours (a link or file there is set aside)."""
    wrong = _misplaced(path, want_dir=True)
    if wrong is not None:
        set_aside(path, wrong)
    path.mkdir(mode=0o700, parents=True, exist_ok=True)


def prepare_file(path: Path) -> None:
    """Before a library opens ``path`` (SQLite, persist-queue): a regular owner-only file, or
    nothing; anything else there is set aside."""
    wrong = _misplaced(path, want_dir=False)
    if wrong is not None:
        set_aside(path, wrong)
    elif path.exists() and path.stat().st_mode & 0o077:
        path.chmod(0o600)


def prepare_sqlite(path: Path) -> None:
    """The database and the files SQLite keeps beside it."""
    for name in (path.name, f"{path.name}-wal", f"{path.name}-shm", f"{path.name}-journal"):
        prepare_file(path.with_name(name))


def open_private(path: Path, flags: int) -> int:
    """``os.open`` for a file of ours: 0600 when created, never through a symlink."""
    try:
        return os.open(path, flags | _NOFOLLOW, 0o600)
    except OSError as exc:
        if exc.errno not in (errno.ELOOP, errno.EISDIR, errno.ENXIO):
            raise
    wrong = _misplaced(path, want_dir=False)
    if wrong is None:
        raise DataDirError(f"{path} cannot be opened")
    set_aside(path, wrong)
    return os.open(path, flags | _NOFOLLOW, 0o600)


def write_private(path: Path, data: bytes) -> None:
    """Atomically replace ``path`` with ``data``, owner-only, never through a symlink.

    The temporary file is created exclusively (a planted file or link there fails the write
    instead of being followed), and ``rename`` replaces a link at ``path`` rather than its target.
    """
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW, 0o600)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    finally:
        os.close(fd)
    if _misplaced(path, want_dir=False) == "a directory":
        set_aside(path, "a directory")
    tmp.replace(path)
