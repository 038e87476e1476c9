"""Is the actor host well? One verdict from its process state, heartbeat and memory.

Kept apart from the watchdog so the rules can be tested on a real process without a watchdog.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import NamedTuple

import psutil


class HostHealth(NamedTuple):
    healthy: bool
    reason: str = ""


def check_host(
    proc: psutil.Process,
    *,
    heartbeat: Path,
    started_at: float,
    heartbeat_timeout_s: float,
    rss_cap_bytes: int,
    now: float | None = None,
) -> HostHealth:
    """One health verdict for the host process (pure apart from reading its state)."""
    now = time.time() if now is None else now
    try:
        if not proc.is_running():
            return HostHealth(False, "not running")
        if proc.status() == psutil.STATUS_ZOMBIE:
            return HostHealth(False, "zombie")
        rss = proc.memory_info().rss
    except psutil.NoSuchProcess:
        return HostHealth(False, "gone")
    if rss > rss_cap_bytes:
        return HostHealth(
            False, f"RSS {rss // 2**20} MB over the cap of {rss_cap_bytes // 2**20} MB"
        )
    try:
        beat = heartbeat.lstat().st_mtime  # never a link's target
    except FileNotFoundError:
        beat = 0.0
    last_sign = max(beat, started_at)
    if now - last_sign > heartbeat_timeout_s:
        return HostHealth(False, f"heartbeat stale for {now - last_sign:.1f} s")
    return HostHealth(True)
