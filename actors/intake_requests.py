"""Intake's explicit syncs: a ``sync.request`` becomes a job, a ``sync.cancel`` ends one.

A request can be served twice: the host dies while Intake handles it, and the mailbox gives it
again. The job is then not started over: a walk goes on after the last page it counted
(:meth:`actors.intake_jobs.JobEmitter.walk`), and a request of given scenes that already reached
the pending table (or finished) is not added again, so no job counts its scenes twice.

A cancel drops from the job what has not reached Plex: the rest of its walk, its pending
scenes, and its jobs on their way (superseded in the Scheduler and PlexGateway, and dropped by
PlexGateway before a batch through :mod:`actors.job_cancels`); what is in flight finishes.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from actors.addresses import PLEX_GATEWAY, SCHEDULER
from actors.intake_catchup import CatchUp
from actors.intake_jobs import JobEmitter
from actors.intake_state import SyncState
from actors.job_cancels import JobCancels
from actors.messages import TIMER_SUPERSEDE, SyncCancel, SyncRequest
from stashplex.runtime.envelope import Envelope
from stashplex.stash import StashClient, StashError

log = logging.getLogger(__name__)


class SyncRequests:
    """Starts, and cancels, the jobs of ``stashplex sync``, the Stash tasks and reconciliations."""

    def __init__(
        self,
        state: SyncState,
        stash: StashClient,
        jobs: JobEmitter,
        catchup: CatchUp,
        *,
        cancels: JobCancels,
        send: Callable[[str, Envelope], None],
        flush: Callable[[], None],
        finished: Callable[[str | None, bool], None],
    ) -> None:
        self.state = state
        self.stash = stash
        self.jobs = jobs
        self.catchup = catchup
        self.cancels = cancels
        self._send = send
        self._flush = flush
        self._finished = finished

    def start(self, envelope: Envelope, request: SyncRequest) -> None:
        job_id = request.job_id
        before = self.state.job_row(job_id)
        if job_id:
            mode = "reconcile" if request.reconcile else request.mode
            self.state.create_job(job_id, mode, dry_run=request.dry_run)
        if before and (before["enumerated"] or before["cancelled_at"]):
            log.info("sync %s was served before and has all its scenes; not again", job_id)
            return
        if job_id and job_id in self.cancels:  # cancelled before Intake took it
            self._cancel_now(job_id, "its cancel request")
            return
        if request.mode == "scenes" and request.dry_run:
            self.state.bump_job(job_id, total=len(request.scene_ids) - _total(before))
            self._dry_run(request.scene_ids, job_id=job_id, force=request.force)
            return
        if request.mode == "scenes":
            for scene_id in request.scene_ids:
                self.state.add_pending(
                    scene_id,
                    envelope.created_at,
                    job_id=job_id,
                    dry_run=request.dry_run,
                    force=request.force,
                )
            self.state.bump_job(job_id, total=len(request.scene_ids) - _total(before))
            self._flush()
            return
        try:
            if request.mode == "since" and request.since:
                self.catchup.since(
                    request.since, job_id=job_id, dry_run=request.dry_run, force=request.force
                )
            else:
                self.jobs.walk(
                    self.stash.scene_pages(),
                    job_id=job_id,
                    dry_run=request.dry_run,
                    force=request.force,
                    reconcile=request.reconcile,
                )
        except StashError as exc:
            log.error("sync %s stopped: Stash could not be read (%s)", job_id or "", exc)
            self._finished(job_id, self.state.job_enumerated(job_id, error=str(exc)))
            return
        if job_id and job_id in self.cancels:  # the walk stopped for it: the rest is dropped
            self._cancel_now(job_id, "its cancel request")
            return
        self._finished(job_id, self.state.job_enumerated(job_id))

    def _dry_run(self, scene_ids: list[str], *, job_id: str | None, force: bool) -> None:
        """Dry runs skip the pending table: coalesced with a real edit, one would hide the other."""
        sent_at = time.time()
        try:
            scenes = self.stash.scenes_by_ids(scene_ids)
        except StashError as exc:
            log.error("dry run %s stopped: Stash could not be read (%s)", job_id or "", exc)
            self.state.job_enumerated(job_id, error=str(exc))
            return
        found = {str(s.get("id")) for s in scenes}
        self.state.bump_job(job_id, failed=len(set(scene_ids) - found))
        self.jobs.consider(scenes, job_id=job_id, dry_run=True, force=force, sent_at=sent_at)
        self.state.job_enumerated(job_id)

    def cancel(self, cancel: SyncCancel) -> None:
        """End the job: nothing more of it goes to Plex; what is in flight finishes."""
        job = self.state.job_row(cancel.job_id)
        if job is None:
            log.warning("sync %s: cancel asked by %s, but no such job", cancel.job_id, cancel.by)
            return
        self.cancels.add(cancel.job_id)
        if job["finished_at"] is None and job["cancelled_at"] is None:
            self._cancel_now(cancel.job_id, cancel.by)

    def _cancel_now(self, job_id: str, by: str) -> None:
        revisions, dropped = self.state.cancel_job(job_id)
        if revisions:  # their retries and waits for a scan end now, reported back as cancelled
            for to in (SCHEDULER, PLEX_GATEWAY):
                self._send(to, Envelope(kind=TIMER_SUPERSEDE, payload={"revisions": revisions}))
        job = self.state.job_row(job_id) or {}
        unread = job.get("total", 0) - job.get("queued", 0) - job.get("skipped", 0)
        log.info(
            "sync %s cancelled by %s: %d scenes not yet read or queued dropped, %d on their way "
            "to Plex taken back; writes in flight finish",
            job_id,
            by,
            max(unread - job.get("failed", 0), dropped),
            len(revisions),
        )


def _total(job: dict[str, Any] | None) -> int:
    """What an earlier serving of the request already counted."""
    return int(job["total"]) if job else 0


def reconcile_summary(job: dict[str, Any]) -> str:
    """What a reconciliation did, in one log line: the counts of what it read and fixed."""
    took = (job.get("finished_at") or time.time()) - job["created_at"]
    line = (
        f"reconciliation {job['job_id']} finished in {took:.0f} s: {job['total']} scenes read, "
        f"{job['queued']} compared with Plex, {job['written']} fixed "
        f"({job['changes']} field changes), {job['skipped']} skipped, {job['failed']} failed"
    )
    return line + (f"; stopped early: {job['error']}" if job.get("error") else "")
