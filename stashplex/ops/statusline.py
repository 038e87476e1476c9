"""The one-line status: logged on start and every N jobs, shown by ``stashplex status``."""

from __future__ import annotations

import time
from typing import Any


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))


def status_line(status: dict[str, Any], *, now: float | None = None) -> str:
    now = time.time() if now is None else now
    queued = " ".join(f"{name}={depth}" for name, depth in status.get("mailboxes", {}).items())
    timers = status.get("timers", {})
    dead = status.get("dead_letters", {})
    breaker = status.get("breaker", {}).get("state", "unknown")
    last = status.get("last_sync_at")
    since = f"{now - last:.0f} s ago" if last else "never"
    parts = [
        f"queued {queued}",
        f"timers {timers.get('scheduled', 0)}"
        + (f" ({_counts(timers.get('by_reason', {}))})" if timers.get("by_reason") else ""),
        f"dead letters {sum(dead.values())}" + (f" ({_counts(dead)})" if dead else ""),
        f"breaker {breaker}",
        f"last sync {since}",
    ]
    return "; ".join(parts)
