"""Intake's common path: scenes read from Stash become ``sync.locate`` jobs.

Shared by every way a scene is read (a hook's flush, ``stashplex sync``, the catch-up walk, a
dry run): :func:`~stashplex.sync.changes.select_changed` decides which scenes need a job, this
turns them into jobs with a revision each, sends them to PlexGateway in one commit per page,
and tells the Scheduler that older jobs of those scenes are superseded.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from actors.addresses import PLEX_GATEWAY, SCHEDULER
from actors.intake_state import SyncState
from actors.job_cancels import JobCancels
from actors.messages import SYNC_LOCATE, TIMER_SUPERSEDE, SyncJob
from stashplex.runtime.envelope import Envelope
from stashplex.stash import StashClient, StashError
from stashplex.sync.changes import select_changed
from stashplex.sync.fieldmap import FieldToggles
from stashplex.sync.related import scene_links
from stashplex.sync.scene import StashScene

log = logging.getLogger(__name__)


class JobEmitter:
    """Intake's hands for turning fetched scenes into jobs; it sends through Intake's mailbox."""

    def __init__(
        self,
        state: SyncState,
        stash: StashClient,
        toggles: FieldToggles,
        send: Callable[[str, Envelope], None],
        send_many: Callable[[str, Sequence[Envelope]], None],
        *,
        organized_only: bool = False,
        cancels: JobCancels | None = None,
    ) -> None:
        self.cancels = cancels if cancels is not None else JobCancels()
        self.state = state
        self.stash = stash
        self.toggles = toggles
        self.organized_only = organized_only
        self._send = send
        self._send_many = send_many

    def consider(
        self,
        raw_scenes: list[dict[str, Any]],
        *,
        job_id: str | None = None,
        dry_run: bool = False,
        force: bool = False,
        catching_up: bool = False,
        reconcile: bool = False,
        sent_at: float,
        walked_to: int | None = None,
    ) -> int:
        """Emit jobs for the scenes just read from Stash that need one; returns how many.

        ``sent_at`` is when the read was sent: a save that lands while Stash answers is newer
        than what we got, so its hook must not be dropped as already reflected. ``walked_to``:
        the page's last scene id, recorded with its counts (a walk served again goes on there).
        """
        ids = [str(s.get("id")) for s in raw_scenes]
        self.state.record_links({str(s.get("id")): scene_links(s) for s in raw_scenes})
        known = self.state.synced(ids)
        selection = select_changed(
            raw_scenes,
            known,
            self.toggles,
            force=force,
            catching_up=catching_up,
            reconcile=reconcile,
            organized_only=self.organized_only,
        )
        for level, note in selection.notes:
            log.log(level, "%s", note)
        if not dry_run:  # left to a job of another sync on its way: see SyncState.ride
            chosen = {scene.id for scene, _ in selection.jobs}
            riding = [
                i
                for i in ids
                if i not in chosen
                and known.get(i, {}).get("emitted_fingerprint")
                and known[i].get("job_id") not in (None, job_id)
            ]
            if riding:
                self.state.ride(riding, job_id)
        coverless = self._coverless([scene.id for scene, _ in selection.jobs])
        self._emit(
            selection.jobs,
            coverless,
            job_id=job_id,
            dry_run=dry_run,
            force=force,
            fetched_at=sent_at,
        )
        counts = {
            "queued": len(selection.jobs),
            "skipped": selection.skipped,
            "failed": selection.failed,
        }
        if walked_to is None:
            self.state.bump_job(job_id, **counts)
        else:
            self.state.walked(job_id, walked_to, **counts)
        return len(selection.jobs)

    def _coverless(self, ids: list[str]) -> set[str]:
        if not self.toggles.poster or not ids:
            return set()
        try:
            return self.stash.coverless_scene_ids(ids)
        except StashError as exc:
            log.warning("could not ask Stash which scenes lack a cover (%s)", exc)
            return set(ids)

    def _emit(
        self,
        jobs: list[tuple[StashScene, str]],
        coverless: set[str],
        *,
        job_id: str | None,
        dry_run: bool,
        force: bool,
        fetched_at: float,
    ) -> None:
        if not jobs:
            return
        first = self.state.next_revisions(len(jobs))
        revisions: dict[str, int] = {}
        emitted: dict[str, tuple[int, str]] = {}
        locates: list[Envelope] = []
        for offset, (scene, fp) in enumerate(jobs):
            revision = first + offset
            job = SyncJob(
                scene=scene.model_dump(mode="json"),
                fingerprint=fp,
                revision=revision,
                job_id=job_id,
                dry_run=dry_run,
                force=force,
                has_cover=scene.id not in coverless,
            )
            locates.append(
                Envelope(kind=SYNC_LOCATE, scene_id=scene.id, payload=job.model_dump(mode="json"))
            )
            revisions[scene.id] = revision
            emitted[scene.id] = (revision, fp)
        self._send_many(PLEX_GATEWAY, locates)  # one commit for the page, before the bookkeeping
        if dry_run:
            # A dry run writes nothing, so it must not supersede real jobs nor count as in flight.
            self.state.bump_counters({"jobs_emitted": len(jobs)})
            return
        self._send(SCHEDULER, Envelope(kind=TIMER_SUPERSEDE, payload={"revisions": revisions}))
        self.state.mark_fetched(emitted, fetched_at, job_id)
        self.state.bump_counters({"jobs_emitted": len(jobs)})

    def walk(
        self,
        pages: Iterable[tuple[int | None, list[dict[str, Any]]]],
        *,
        job_id: str | None,
        dry_run: bool = False,
        force: bool = False,
        catching_up: bool = False,
        reconcile: bool = False,
    ) -> bool:
        """Emit the jobs of every page; False if the job was cancelled before the walk ended.

        A page's total is the whole walk's count, given once by the first page; ``None`` means
        the walk is counted page by page as it is read. A job's walk that was served before (the
        host died mid-walk, so its request came again) skips the scenes it already counted and
        keeps the total it has: the library is counted once.
        """
        row = self.state.job_row(job_id)
        walked_to = row["walked_to"] if row else None
        total_known = bool(row and row["total"])
        iterator = iter(pages)
        while True:
            if job_id and job_id in self.cancels:
                log.info("sync %s cancelled: its walk stops here", job_id)
                return False
            sent_at = time.time()  # the next page is read by next()
            page = next(iterator, None)
            if page is None:
                return True
            total, scenes = page
            if walked_to is not None:
                scenes = [s for s in scenes if _id_number(s) > walked_to]
            if total is None:
                self.state.bump_job(job_id, total=len(scenes))
            elif not total_known:
                self.state.bump_job(job_id, total=total)
            total_known = True
            last = max((_id_number(s) for s in scenes), default=None)
            self.consider(
                scenes,
                job_id=job_id,
                dry_run=dry_run,
                force=force,
                catching_up=catching_up,
                reconcile=reconcile,
                sent_at=sent_at,
                walked_to=last if job_id and last is not None else None,
            )


def _id_number(scene: dict[str, Any]) -> int:
    """Stash's scene ids are numbers, and walks go in their order."""
    try:
        return int(scene.get("id"))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return -1
