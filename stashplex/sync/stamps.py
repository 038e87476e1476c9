"""Stash's ``updated_at`` stamps: instants to compare, and text to filter with.

Stash writes ``updated_at`` as Go's RFC 3339 of ``time.Now()`` in the server's local zone
(pkg/sqlite/timestamp.go, ``Timestamp.Value``): whole seconds, ``Z`` for UTC, otherwise the
offset the zone had at that moment. A zone with DST therefore spells summer and winter stamps
with different offsets, and two things follow:

* Comparing stamps as text is wrong across an offset change. In the hour an autumn fall-back
  repeats, ``02:10:00+01:00`` (the later instant) sorts before ``02:50:00+02:00``. So everything
  stashplex orders or compares is an instant (:func:`instant`).
* Stash's own ``updated_at`` filter *is* text: ``updated_at > ?`` in SQL against the stored
  strings (pkg/sqlite/sql.go, ``getTimestampWhereClause``). To ask for "changed at or after
  instant T", :func:`filter_value` spells a value, in the server's own offset, whose text sorts
  below every stamp of an instant >= T, however the zone moved its offset since; the caller then
  keeps the instants >= T itself (:func:`at_or_after`).

No clocks here: the caller passes every "now" in.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

#: How far a zone may set its wall clock back at once. A DST fall-back repeats one hour
#: (30 minutes on Lord Howe Island), so a stamp up to an hour of wall time *below* the cursor's
#: may still be a later instant.
FOLD_ALLOWANCE = timedelta(hours=1)
#: Stash stamps whole seconds and ``GREATER_THAN`` is strict: one second more keeps the floor's
#: own second in.
_ONE_SECOND = timedelta(seconds=1)


def instant(stamp: Any) -> datetime | None:
    """The moment a stamp names (timezone-aware), or None for anything that is not a zoned time."""
    if not isinstance(stamp, str) or not stamp:
        return None
    try:
        moment = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def offset_of(stamp: Any) -> timedelta | None:
    moment = instant(stamp)
    return None if moment is None else moment.utcoffset()


def spell(moment: datetime, offset: timedelta) -> str:
    """``moment`` as Stash writes it in a zone at ``offset``: Go's RFC 3339, whole seconds
    (truncated), ``Z`` when the offset is zero."""
    text = moment.astimezone(timezone(offset)).replace(microsecond=0).isoformat("T", "seconds")
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def newest(stamps: Iterable[Any]) -> str | None:
    """The latest of these stamps as an instant, spelled as Stash spelled it."""
    best: tuple[datetime, str] | None = None
    for stamp in stamps:
        moment = instant(stamp)
        if moment is not None and (best is None or moment > best[0]):
            best = (moment, stamp)
    return None if best is None else best[1]


def filter_value(floor: datetime, offsets: Iterable[timedelta], spelling: timedelta) -> str:
    """The value for ``updated_at: {modifier: GREATER_THAN}`` that lets every stamp at or after
    ``floor`` through Stash's text comparison.

    A stamp's text is its wall time followed by its offset, and wall time = instant + offset. For
    every offset the server may use from ``floor`` on (the ``offsets`` seen, and any up to
    :data:`FOLD_ALLOWANCE` below the lowest of them), a stamp of an instant >= ``floor`` has a
    wall time above the value's by at least a second, so it sorts above the value whatever its
    offset. The value is spelled with the server's offset (``spelling``), so it looks like one of
    Stash's own stamps. The price is re-listing up to an hour (plus any offset spread) of stamps
    before ``floor``, which :func:`at_or_after` drops: an id-and-stamp listing, not a read.
    """
    lowest = min([spelling, *offsets]) - FOLD_ALLOWANCE
    return spell(floor - _ONE_SECOND - (spelling - lowest), spelling)


def at_or_after(
    rows: Iterable[Mapping[str, Any]],
    floor: datetime,
    baseline: Mapping[str, str] | None = None,
) -> list[str]:
    """Ids of the listed scenes stamped at or after ``floor``, as instants.

    A scene the ``baseline`` names with the same instant is left out: it was already stamped so
    when the cursor was started, and belongs to the first full sync (see :func:`start_baseline`).
    """
    kept: list[str] = []
    for row in rows:
        moment = instant(row.get("updated_at"))
        scene_id = str(row.get("id"))
        if moment is None or moment < floor:
            continue
        if baseline and instant(baseline.get(scene_id)) == moment:
            continue
        kept.append(scene_id)
    return kept


def server_time_floor(
    newest_stamp: str | None,
    anchor: tuple[str, float] | None,
    monotonic_now: float,
) -> datetime | None:
    """The latest instant the server's clock has surely reached, by Stash's own stamps.

    ``newest_stamp`` exists, so the server has lived past it. ``anchor`` is an earlier newest
    stamp and our monotonic clock when it arrived: the server's clock has run at least as long
    since (a monotonic clock does not jump with NTP; after a restart there is no anchor). That
    second bound is what moves the cursor on while nothing is edited, so a quiet library is not
    re-read pass after pass; it never exceeds the server's real time unless its clock stood still
    or was set back.
    """
    bounds = [moment for moment in [instant(newest_stamp)] if moment is not None]
    if anchor is not None:
        anchored = instant(anchor[0])
        if anchored is not None:
            bounds.append(anchored + timedelta(seconds=max(0.0, monotonic_now - anchor[1])))
    return max(bounds) if bounds else None


def next_cursor(
    cursor: str, started: datetime | None, margin: timedelta, spelling: timedelta
) -> str:
    """Where the catch-up cursor goes after a pass that started at ``started`` (server time).

    Every scene stamped at or after the old cursor was listed by the pass, unless it changed
    again while the pass ran, and then its new stamp is no older than the pass's start (less
    the ``margin`` a transaction may commit after it took its stamp: Stash takes ``updated_at``
    before its transaction, pkg/models/model_scene.go ``NewScenePartial``). So the cursor may go
    to that start, less the margin, and never further: not to the newest stamp the pass saw,
    which a higher-id scene edited late in the walk would push past a lower-id scene edited
    just behind the walk. The cursor never moves back.
    """
    floor = instant(cursor)
    if started is None or floor is None:
        return cursor
    moved = started - margin
    return spell(moved, spelling) if moved > floor else cursor


def start_baseline(sample: Iterable[Mapping[str, Any]], floor: datetime) -> dict[str, str]:
    """The scenes already stamped at or after the first cursor when it was set: ``{id: stamp}``.

    The first cursor sits a margin before Stash's newest stamp, so the first pass re-lists those
    scenes; unless their stamp moved since, they are the first full sync's business.
    """
    baseline: dict[str, str] = {}
    for row in sample:
        moment = instant(row.get("updated_at"))
        if moment is not None and moment >= floor:
            baseline[str(row.get("id"))] = str(row["updated_at"])
    return baseline


def baseline_spent(baseline: Mapping[str, str], cursor: str) -> bool:
    """Once the cursor has passed every baseline stamp, no pass can list those scenes again."""
    floor = instant(cursor)
    if floor is None:
        return False
    moments = [instant(stamp) for stamp in baseline.values()]
    return all(moment is None or moment < floor for moment in moments)
