"""Intake's catch-up: following Stash's ``updated_at`` to the changes no hook announced.

Auto Tag, cover generation, scene merges and edits made while Stash could not reach us move a
scene's ``updated_at`` without a hook. A pass, run on start and every
``catchup_interval_seconds``:

1. reads Stash's newest stamps (one small request): the newest *instant* among them bounds how
   far the server's clock has got, and their offsets are the ones the server spells;
2. lists ``{id, updated_at}`` of the scenes whose stamp sorts above a value spelled so that no
   stamp at or after the cursor can sort below it, however the zone moved its offset
   (:func:`stashplex.sync.stamps.filter_value`), keyset-paged by id;
3. reads in full, in batches, only the listed scenes stamped at or after the cursor as instants,
   and hands them to the usual job path (fingerprints drop what reaches no Plex field);
4. moves the cursor to the pass's start, less a margin (:func:`stashplex.sync.stamps.next_cursor`),
   never to the newest stamp the walk saw: a scene edited behind the id-ordered walk while a
   higher-id scene is edited later is still at or after the cursor on the next pass.

``mode=since`` syncs use steps 2-3 with the given time as the floor.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

from actors.intake_jobs import JobEmitter
from actors.intake_state import SyncState
from stashplex.stash import StashClient
from stashplex.stash.client import LINKED_IDS_PAGE_SIZE
from stashplex.sync import stamps

log = logging.getLogger(__name__)

#: How long after taking its stamp a Stash transaction may still commit. Stash stamps a save
#: before its transaction runs (a bulk edit stamps every scene with one time taken up front), so
#: a pass must not assume every stamp older than its start is already visible.
CURSOR_MARGIN = timedelta(seconds=60)


class StaleSettingsError(Exception):
    """The settings changed while a pass was reading: the host restarting to apply them runs
    the pass again, from the same cursor."""


Pages = Iterator[tuple[int | None, list[dict[str, Any]]]]


class CatchUp:
    """The cursor's passes and stamp-filtered walks; the cursor itself lives in Intake's store."""

    def __init__(
        self,
        state: SyncState,
        stash: StashClient,
        jobs: JobEmitter,
        *,
        page_size: int = LINKED_IDS_PAGE_SIZE,
        monotonic: Callable[[], float] = time.monotonic,
        settings_current: Callable[[], bool] = lambda: True,
    ) -> None:
        self.state = state
        self.stash = stash
        self.jobs = jobs
        self.page_size = page_size
        self._monotonic = monotonic
        self._settings_current = settings_current
        #: (a stamp the server's clock had reached, our monotonic clock then); see
        #: :func:`stashplex.sync.stamps.server_time_floor`. In memory: a restart starts afresh.
        self._anchor: tuple[str, float] | None = None

    def run(self) -> None:
        """One pass. A :class:`~stashplex.stash.StashError` or :class:`StaleSettingsError` leaves
        the cursor where it was."""
        sample = self.stash.newest_stamps()
        seen_at = self._monotonic()
        newest = stamps.newest(row.get("updated_at") for row in sample)
        started = stamps.server_time_floor(newest, self._anchor, seen_at)
        spelling = stamps.offset_of(newest)
        cursor = self.state.kv.get("cursor")
        if started is not None and spelling is not None:
            self._anchor = (stamps.spell(started, spelling), seen_at)
        if cursor is None or stamps.instant(cursor) is None:
            self._start(sample, newest)
            return
        floor = stamps.instant(cursor)
        assert floor is not None
        spelling = spelling if spelling is not None else stamps.offset_of(cursor)
        assert spelling is not None
        offsets = _offsets(sample) | {spelling}
        cursor_offset = stamps.offset_of(cursor)
        if cursor_offset is not None:
            offsets.add(cursor_offset)
        baseline = self._baseline()
        value = stamps.filter_value(floor, offsets, spelling)
        pages = self._changed(value, floor, baseline, confirm=True)
        self.jobs.walk(pages, job_id=None, catching_up=True)
        moved = stamps.next_cursor(cursor, started, CURSOR_MARGIN, spelling)
        if moved != cursor:
            self.state.kv.set("cursor", moved)
        if baseline and stamps.baseline_spent(baseline, moved):
            self.state.kv.set("cursor_baseline", None)

    def since(self, since: str, *, job_id: str | None, dry_run: bool, force: bool) -> None:
        """Sync every scene changed at or after ``since``; a time without a zone is Stash's
        local wall time and is compared as Stash compares it (as text)."""
        floor = stamps.instant(since)
        pages: Any
        if floor is None:
            pages = self.stash.scene_pages(updated_after=since)
        else:
            sample = self.stash.newest_stamps()
            offsets = _offsets(sample)
            spelling = stamps.offset_of(stamps.newest(r.get("updated_at") for r in sample))
            spelling = floor.utcoffset() if spelling is None else spelling
            assert spelling is not None
            value = stamps.filter_value(floor, offsets, spelling)
            pages = self._changed(value, floor, None)
        self.jobs.walk(pages, job_id=job_id, dry_run=dry_run, force=force)

    # -- helpers ------------------------------------------------------------------------------

    def _start(self, sample: list[dict[str, Any]], newest: str | None) -> None:
        """Catch-up covers changes from now on; what came before is the first full sync's job."""
        if newest is None:
            return  # an empty library: the next pass starts the cursor
        floor = stamps.instant(newest)
        spelling = stamps.offset_of(newest)
        assert floor is not None and spelling is not None
        floor -= CURSOR_MARGIN
        cursor = stamps.spell(floor, spelling)
        self.state.kv.set("cursor", cursor)
        self.state.kv.set("cursor_baseline", stamps.start_baseline(sample, floor))
        log.info("catch-up cursor starts at %s; run `stashplex sync` for a first full sync", cursor)

    def _baseline(self) -> dict[str, str]:
        stored = self.state.kv.get("cursor_baseline")
        if not isinstance(stored, dict):
            return {}
        if "ids" in stored:  # written by an older version: one stamp and the ids bearing it
            return {str(i): str(stored.get("stamp")) for i in stored.get("ids") or []}
        return {str(k): str(v) for k, v in stored.items()}

    def _changed(
        self, value: str, floor: Any, baseline: dict[str, str] | None, *, confirm: bool = False
    ) -> Pages:
        """Pages of full scenes stamped at or after ``floor``; the total is counted as read.

        With ``confirm``, each page is checked against the settings' sources *after* it was read:
        no hook announced these edits, so nothing else made the settings look again, and a user
        who changed a setting and then edited a scene must see the edit judged by the new one.
        """
        listing = self.stash.scene_stamp_pages(updated_after=value, page_size=self.page_size)
        for _total, rows in listing:
            ids = stamps.at_or_after(rows, floor, baseline)
            if ids:
                scenes = self.stash.scenes_by_ids(ids)
                if confirm and not self._settings_current():
                    raise StaleSettingsError
                yield None, scenes


def _offsets(sample: list[dict[str, Any]]) -> set[timedelta]:
    """The UTC offsets the server spelled these stamps with (zero included)."""
    found = (stamps.offset_of(row.get("updated_at")) for row in sample)
    return {offset for offset in found if offset is not None}
