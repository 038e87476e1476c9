"""Timestamps as Stash writes them: whole seconds, the server's local zone (with DST), ties allowed.

Stash stores `created_at`/`updated_at` as `time.Time.Format(time.RFC3339)` of `time.Now()` in the
server's local zone (pkg/sqlite/timestamp.go, `Timestamp.Value`), and mattn/go-sqlite3 reads the
text back with the offset it was written with (Stash opens the database without `_loc`,
pkg/sqlite/database.go), so GraphQL renders exactly the stored string: `...Z` under Docker's
default UTC, `2024-03-31T03:00:05+02:00` in Berlin summer, `...+01:00` in Berlin winter.
`updated_at` filters compare those strings as plain SQL text (pkg/sqlite/sql.go,
`getTimestampWhereClause`). Across the autumn DST change a later instant can therefore sort
*before* an earlier one (`02:10:00+01:00` < `02:50:00+02:00`): the default zone here has DST so
that a client comparing stamps as text is caught.

Two saves in the same second share one stamp; an emulator that made stamps unique would hide the
tie a sync has to handle, so this clock does not. Tests move the clock instead of sleeping:
`advance()` jumps forward (it keeps running), `freeze()` holds one second, `freeze(at=...)` puts
the server at a chosen instant (e.g. just before a DST change).
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo

#: A zone with DST, so that text comparison of stamps across a DST change is exercised by default.
DEFAULT_TIME_ZONE = "Europe/Berlin"


def format_rfc3339(moment: datetime) -> str:
    """Go's `time.RFC3339`: no fraction (truncated, not rounded), UTC printed as `Z`."""
    text = moment.replace(microsecond=0).isoformat(timespec="seconds")
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def parse_rfc3339(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def unix_seconds(text: str) -> int:
    return int(parse_rfc3339(text).timestamp())


def resolve_zone(time_zone: str | tzinfo | None, utc_offset_minutes: int | None) -> tzinfo:
    """The server's local zone: an IANA name (DST-aware), a tzinfo, or a fixed offset."""
    if utc_offset_minutes is not None:
        if utc_offset_minutes == 0:
            return UTC
        return timezone(timedelta(minutes=utc_offset_minutes))
    if time_zone is None:
        time_zone = DEFAULT_TIME_ZONE
    if isinstance(time_zone, str):
        return UTC if time_zone.upper() in {"UTC", "Z"} else ZoneInfo(time_zone)
    return time_zone


class StashClock:
    """The emulated server's wall clock, in its zone; tests may shift or freeze it."""

    def __init__(
        self,
        utc_offset_minutes: int | None = None,
        time_zone: str | tzinfo | None = None,
    ) -> None:
        self.zone = resolve_zone(time_zone, utc_offset_minutes)
        self._lock = threading.Lock()
        self._skew = timedelta(0)
        self._frozen: datetime | None = None

    def moment(self) -> datetime:
        """The current server time as Stash would store it (whole seconds, server zone)."""
        with self._lock:
            moment = self._frozen or datetime.now(UTC) + self._skew
        return moment.astimezone(self.zone).replace(microsecond=0)

    def now(self) -> str:
        return format_rfc3339(self.moment())

    def unix(self) -> int:
        """Whole seconds since the epoch, as Go's `time.Now().Unix()` (session cookie stamps)."""
        return int(self.moment().timestamp())

    def tomorrow(self) -> str:
        """`time.Now().AddDate(0, 0, 1).Format(time.RFC3339)`: one calendar day on, same wall time.

        Stash uses it as the upper bound of a BETWEEN timestamp filter sent without `value2`.
        """
        local = self.moment()
        later = (local.replace(tzinfo=None) + timedelta(days=1)).replace(tzinfo=self.zone)
        return format_rfc3339(later.astimezone(self.zone))

    def advance(self, seconds: float = 1.0) -> None:
        """Jump forward, so the next stamp is at least `seconds` later than any stamp before."""
        with self._lock:
            if self._frozen is not None:
                self._frozen += timedelta(seconds=seconds)
            else:
                self._skew += timedelta(seconds=seconds)

    def freeze(self, at: datetime | None = None) -> str:
        """Hold the clock on one second (now, or `at`) until `thaw()`; returns that stamp.

        A naive `at` is read as wall time in the server's zone. Freezing at an earlier instant
        than the clock shows is allowed: it is how a test stages "the server ran last October".
        """
        with self._lock:
            if at is None:
                moment = datetime.now(UTC) + self._skew
            elif at.tzinfo is None:
                moment = at.replace(tzinfo=self.zone)
            else:
                moment = at
            self._frozen = moment.astimezone(UTC).replace(microsecond=0)
            return format_rfc3339(self._frozen.astimezone(self.zone))

    def thaw(self) -> None:
        """Run again from where a frozen clock stood, so time never goes backwards."""
        with self._lock:
            if self._frozen is not None:
                self._skew = self._frozen - datetime.now(UTC)
                self._frozen = None
