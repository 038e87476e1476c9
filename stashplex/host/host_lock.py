"""The host lock: the mailboxes must never be opened by two processes at once.

A new host (a restart, a wake after an idle stop) may start while an orphaned predecessor still
lets go of them, so it waits a while for the lock rather than failing at once.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from stashplex.runtime.private_files import open_private


def take_host_lock(root: Path, wait_s: float) -> int | None:
    """The locked descriptor of ``root``'s ``host.lock``, or None if it stayed taken ``wait_s``."""
    import fcntl

    fd = open_private(Path(root) / "host.lock", os.O_RDWR | os.O_CREAT)
    deadline = time.monotonic() + wait_s
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if time.monotonic() > deadline:
                os.close(fd)
                return None
            time.sleep(0.1)
            continue
        return fd


def release_host_lock(fd: int | None) -> None:
    if fd is not None:
        os.close(fd)
