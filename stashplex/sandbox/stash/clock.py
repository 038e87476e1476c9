"""Timestamps the way Stash writes them: whole seconds, server's zone, collisions allowed.

Stash stores `created_at`/`updated_at` as `time.Now().Format(time.RFC3339)` in the server's local
zone (`...Z` under Docker's default UTC, `...+11:00` elsewhere) and compares `updated_at` filters
as plain text against those strings. So two saves in the same second share one stamp, and a
`bulkSceneUpdate` stamps every scene it touches with one time taken before its loop. A sync that
follows `updated_at > last_seen` must survive that; an emulator that made stamps unique would hide
exactly the bug the sync has to handle, so this clock does not.

Tests that need "a later second" or "the same second" without sleeping move the clock instead:
`advance()` jumps it forward (it keeps running), `freeze()` holds it on one second.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta, timezone


def format_rfc3339(moment: datetime) -> str:
    """Go's `time.RFC3339`: no fraction (truncated, not rounded), UTC printed as `Z`."""
    text = moment.isoformat(timespec="seconds")
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def parse_rfc3339(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def unix_seconds(text: str) -> int:
    return int(parse_rfc3339(text).timestamp())


class StashClock:
    """The emulated server's wall clock, in its zone; tests may shift or freeze it."""

    def __init__(self, utc_offset_minutes: int = 0) -> None:
        self.zone = (
            UTC if utc_offset_minutes == 0 else timezone(timedelta(minutes=utc_offset_minutes))
        )
        self._lock = threading.Lock()
        self._skew = timedelta(0)
        self._frozen: datetime | None = None

    def moment(self) -> datetime:
        """The current server time as Stash would store it (whole seconds, server zone)."""
        with self._lock:
            moment = self._frozen or datetime.now(self.zone) + self._skew
        return moment.replace(microsecond=0)

    def now(self) -> str:
        return format_rfc3339(self.moment())

    def advance(self, seconds: float = 1.0) -> None:
        """Jump forward, so the next stamp is at least `seconds` later than any stamp before."""
        with self._lock:
            if self._frozen is not None:
                self._frozen += timedelta(seconds=seconds)
            else:
                self._skew += timedelta(seconds=seconds)

    def freeze(self, at: datetime | None = None) -> str:
        """Hold the clock on one second (now, or `at`) until `thaw()`; returns that stamp."""
        with self._lock:
            moment = at or datetime.now(self.zone) + self._skew
            self._frozen = moment.astimezone(self.zone).replace(microsecond=0)
            return format_rfc3339(self._frozen)

    def thaw(self) -> None:
        """Run again from where a frozen clock stood, so time never goes backwards."""
        with self._lock:
            if self._frozen is not None:
                self._skew = self._frozen - datetime.now(self.zone)
                self._frozen = None
