"""Timestamps the way Stash stores and returns them, made strictly increasing.

Stash compares `updated_at` filters as plain text against stored RFC3339 strings, so a sync that
uses `updated_at > last_seen` as a cursor only works if two saves never share a timestamp. Real
Stash can collide within a second; the emulator guarantees a strictly increasing clock so that
cursor bugs in the sync show up as bugs, not as flaky tests.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta, timezone

ONE_MICROSECOND = timedelta(microseconds=1)


def format_rfc3339(moment: datetime) -> str:
    """Fixed-width microseconds keep text order equal to time order; UTC prints as `Z` like Go."""
    text = moment.isoformat(timespec="microseconds")
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def parse_rfc3339(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def unix_seconds(text: str) -> int:
    return int(parse_rfc3339(text).timestamp())


class StrictClock:
    """Hands out RFC3339 timestamps in the server's zone, each later than the one before."""

    def __init__(self, utc_offset_minutes: int = 0) -> None:
        self.zone = (
            UTC if utc_offset_minutes == 0 else timezone(timedelta(minutes=utc_offset_minutes))
        )
        self._lock = threading.Lock()
        self._last: datetime | None = None

    def now(self) -> str:
        with self._lock:
            moment = datetime.now(self.zone)
            if self._last is not None and moment <= self._last:
                moment = self._last + ONE_MICROSECOND
            self._last = moment
            return format_rfc3339(moment)

    def observe(self, text: str) -> None:
        """Seeded rows may carry timestamps; never hand out one earlier than those."""
        moment = parse_rfc3339(text).astimezone(self.zone)
        with self._lock:
            if self._last is None or moment > self._last:
                self._last = moment
