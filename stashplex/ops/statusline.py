"""The status in words a user knows: the table of ``stashplex status`` and the one-line status
(logged on start and every N jobs, the *Status* task's answer).

The status reply names mailboxes, actors and reasons as the code does (``plex_gateway``,
``not_found``); people see them here as what they are for. One list of rows serves both forms,
so the table and the line never disagree.
"""

from __future__ import annotations

import time
from typing import Any

from actors.messages import REASON_WORDS

#: What waits in each mailbox, in a user's words.
QUEUE_WORDS = {
    "intake": "from Stash",
    "plex_gateway": "for Plex",
    "matcher": "to match",
    "scheduler": "for the timers",
    "dead_letter": "to file as failed",
}
#: Who restarted, in a user's words.
ACTOR_WORDS = {
    "intake": "Stash reader",
    "plex_gateway": "Plex writer",
    "matcher": "matcher",
    "scheduler": "timers",
    "dead_letter": "failed-sync keeper",
}
#: Why a timer waits.
TIMER_WORDS = {
    "not_found": "file not in Plex yet",
    "transient": "Plex error",
    "breaker_open": "waiting for Plex",
    "timer": "edits being gathered",
}
#: Intake's counters.
COUNTER_WORDS = {
    "hook_events": "saves seen",
    "related_events": "renames seen",
    "related_scenes": "scenes re-read",
    "jobs_emitted": "syncs sent",
    "jobs_done": "syncs done",
    "dropped_irrelevant": "edits ignored",
    "dropped_stale": "edits already seen",
    "destroyed": "scenes deleted",
}
PLEX_WORDS = {
    "closed": "ok",
    "open": "down: syncs wait for it",
    "half_open": "being tried again",
}


def _listed(counts: dict[str, int], words: dict[str, str]) -> str:
    return ", ".join(
        f"{n} {words.get(name, name.replace('_', ' '))}"
        for name, n in sorted(counts.items())
        if n
    )


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 172_800:
        return f"{seconds / 3600:.0f} h"
    return f"{seconds / 86400:.0f} days"


def status_rows(status: dict[str, Any], *, now: float | None = None) -> list[tuple[str, str]]:
    """(label, value) rows: what runs, what waits, what failed, Plex, last sync, problems."""
    now = time.time() if now is None else now
    rows: list[tuple[str, str]] = []
    if "host_pid" in status or "supervisor_pid" in status:
        supervisor = status.get("supervisor_pid")
        rows.append(("supervisor", f"pid {supervisor}" if supervisor else "not watched"))
        rows.append(
            (
                "actor host",
                f"pid {status.get('host_pid')}, up {_duration(status.get('uptime_s', 0))}, "
                f"{status.get('rss_mb', 0):g} MB",
            )
        )
    waiting = _listed(status.get("mailboxes", {}), QUEUE_WORDS)
    pending = status.get("pending_events", 0)
    if pending:
        waiting = ", ".join(filter(None, [f"{pending} edits to read", waiting]))
    rows.append(("waiting", waiting or "nothing"))
    timers = status.get("timers", {})
    retries = _listed(timers.get("by_reason", {}), TIMER_WORDS)
    if retries and timers.get("next_retry_in_s") is not None:
        retries += f", next in {_duration(timers['next_retry_in_s'])}"
    rows.append(("timers", retries or "none"))
    dead = status.get("dead_letters", {})
    failed = f"{sum(dead.values())} ({_listed(dead, REASON_WORDS)})" if dead else "none"
    rows.append(("failed", failed))
    breaker = status.get("breaker", {})
    state = breaker.get("state")
    shown = str(state).replace("_", "-")
    plex = PLEX_WORDS.get(state, "not asked yet") + (f" (breaker {shown})" if state else "")
    if state in ("open", "half_open"):
        plex += f", {breaker.get('consecutive_failures', 0)} failures in a row"
    rows.append(("Plex", plex))
    rows.append(("library", f"{status.get('index_items', 0)} Plex items known"))
    restarts = _listed(status.get("restarts", {}), ACTOR_WORDS)
    rows.append(("restarts", restarts or "none"))
    last = status.get("last_sync_at")
    rows.append(("last sync", f"{_duration(now - last)} ago" if last else "never"))
    activity = _listed(status.get("counters", {}), COUNTER_WORDS)
    rows.append(("activity", activity or "none yet"))
    problems = status.get("problems") or []
    rows += [("problem", f"{p['message']}. Fix: {p['fix']}") for p in problems]
    return rows


def status_line(status: dict[str, Any], *, now: float | None = None) -> str:
    """The rows that matter most, on one line (no pids, counters or problem texts)."""
    keep = ("waiting", "timers", "failed", "Plex", "last sync")
    parts = [f"{label} {value}" for label, value in status_rows(status, now=now) if label in keep]
    problems = len(status.get("problems") or [])
    if problems:
        parts.append(f"{problems} problem{'s' if problems > 1 else ''} (`stashplex status`)")
    return "; ".join(parts)
