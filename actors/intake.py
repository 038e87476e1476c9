"""Intake: turns Stash hook events and sync requests into sync jobs.

Contract (consumes, in batches):
  ``hook.event`` (see :class:`actors.messages.HookEvent`): dropped when its ``inputFields``
      touch nothing we sync, or when it is older than our last fetch of that scene; a destroy
      cancels the scene's pending job; anything else joins the pending set (latest wins). An
      edit, merge or delete of a performer, studio, tag or group that can change a name Plex
      shows puts every scene linked to it into the pending set the same way (Stash fires no
      scene hook for it and leaves the scenes' ``updated_at`` alone, so nothing else would
      notice; :mod:`actors.intake_related`); if Stash cannot list those scenes, the event is
      tried again through a Scheduler timer.
  ``sync.request`` (:class:`~actors.messages.SyncRequest`): all scenes, scenes changed since a
      time, or given scenes (optionally forced, optionally a dry run), tracked as a job.
  ``intake.flush``: turn the pending set into jobs now (set by a debounce timer).
  ``intake.catchup``: follow Stash's ``updated_at`` cursor to catch edits made while we were
      down or that Stash does not hook.
  ``intake.reconcile``: the scheduled whole-library pass (a forced, diff-based ``sync`` that
      logs what it fixed), for what neither a hook nor the cursor sees.
  ``sync.cancel`` (:class:`~actors.messages.SyncCancel`): end a job; what has not reached Plex
      is dropped from it (:mod:`actors.intake_requests`).
  ``sync.done`` (:class:`~actors.messages.SyncDone`): remember the fingerprint that reached Plex.
Emits: ``sync.locate`` jobs to PlexGateway, ``timer.supersede`` and ``timer.set`` (the flush
timer, and retries of related-object events) to the Scheduler, and ``timer.supersede`` to
PlexGateway for a deleted scene (a job of it may be waiting for Plex).

Scenes are fetched in batches (``findScenes(ids:)``, 500 per request), sanitized into
:class:`~stashplex.sync.scene.StashScene`, and fingerprinted; a scene whose synced fields have not
changed since its last successful sync is not sent again.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Sequence
from typing import ClassVar

from actors.addresses import INTAKE, PLEX_GATEWAY, SCHEDULER
from actors.base import MailboxActor
from actors.intake_catchup import CatchUp, StaleSettingsError
from actors.intake_jobs import JobEmitter
from actors.intake_related import STASH_RETRY_S, RelatedEvents
from actors.intake_requests import SyncRequests, reconcile_summary
from actors.intake_state import SyncState, job_progress
from actors.job_cancels import job_cancels
from actors.messages import (
    HOOK_EVENT,
    INTAKE_CATCHUP,
    INTAKE_FLUSH,
    INTAKE_RECONCILE,
    INTAKE_RECOVER,
    SYNC_CANCEL,
    SYNC_DONE,
    SYNC_REQUEST,
    TIMER_SUPERSEDE,
    HookEvent,
    SyncCancel,
    SyncDone,
    SyncRequest,
    timer_envelope,
)
from stashplex.runtime.envelope import Envelope
from stashplex.stash import StashClient, StashError
from stashplex.stash.client import LINKED_IDS_PAGE_SIZE
from stashplex.sync.changes import related_relevant_fields, relevant_fields
from stashplex.sync.fieldmap import FieldToggles
from stashplex.sync.intake_rules import (
    FlushStep,
    HookVerdict,
    changed_fields,
    flush_step,
    group_fetched,
    scene_hook_verdict,
)

log = logging.getLogger(__name__)

#: How long hook events may gather before they become jobs (coalescing window).
DEBOUNCE_S = 1.0
FLUSH_TIMER_ID = "intake-flush"
#: Job ids of scheduled reconciliations start with this.
RECONCILE_PREFIX = "reconcile-"


class Intake(MailboxActor):
    mailbox_name: ClassVar[str] = INTAKE
    batch_size: ClassVar[int] = 500

    def setup(self) -> None:
        self.settings = self.ctx.service("settings")
        self.toggles = FieldToggles.from_settings(self.settings)
        self.relevant = relevant_fields(self.settings)
        self.stash: StashClient = self.ctx.service("stash")
        self.state = SyncState(self.ctx.service("data_dir"))
        self.cancels = job_cancels(self.ctx.services)
        self.jobs = JobEmitter(
            self.state,
            self.stash,
            self.toggles,
            self.send,
            self.send_many,
            organized_only=self.settings.organized_only,
            cancels=self.cancels,
        )
        self.catchup = CatchUp(
            self.state,
            self.stash,
            self.jobs,
            page_size=int(self.ctx.services.get("stash_listing_page_size", LINKED_IDS_PAGE_SIZE)),
            settings_current=self._settings_confirmed,
        )
        self.related = RelatedEvents(
            self.state,
            self.stash,
            related_relevant_fields(self.settings),
            send=self.send,
            count=self._count,
        )
        self.requests = SyncRequests(
            self.state,
            self.stash,
            self.jobs,
            self.catchup,
            cancels=self.cancels,
            send=self.send,
            flush=self._flush,
            finished=self._finished,
        )
        self.debounce_s = float(self.ctx.services.get("intake_debounce_s", DEBOUNCE_S))
        lost = self.ctx.services.pop("mailboxes_lost", None)
        if self.state.store.set_aside_to is not None or lost:
            self._recover("Intake state" if lost is None else f"mailbox(es) {', '.join(lost)}")
        self.send(INTAKE, Envelope(kind=INTAKE_CATCHUP))
        self._flush_armed = False
        if self.state.pending_count():
            self._set_flush_timer(0)

    def teardown(self) -> None:
        self.state.store.close()

    def may_take(self) -> bool:
        """Take nothing judged by stale settings: if the settings' sources changed since the
        last hook (``dry_run`` toggled in Stash, say), the host restarts with the new ones and
        the new Intake takes these messages instead."""
        watch = self.ctx.services.get("settings_watch")
        return watch is None or watch.current()

    def _settings_confirmed(self) -> bool:
        watch = self.ctx.services.get("settings_watch")
        return watch is None or watch.confirm()

    # -- dispatch --------------------------------------------------------------------------

    def handle_batch(self, envelopes: Sequence[Envelope]) -> None:
        flush_now = False
        self.counts: dict[str, int] = {}
        for envelope in _first_catch_up_only(envelopes):
            kind = envelope.kind
            if kind == HOOK_EVENT:
                self._count("hook_events")
                self._hook(envelope)
            elif kind == SYNC_DONE:
                self._done(SyncDone.model_validate(envelope.payload))
            elif kind == SYNC_REQUEST:
                self.requests.start(envelope, SyncRequest.model_validate(envelope.payload))
            elif kind == SYNC_CANCEL:
                self.requests.cancel(SyncCancel.model_validate(envelope.payload))
            elif kind == INTAKE_FLUSH:
                flush_now = True
            elif kind == INTAKE_CATCHUP:
                self._catch_up()
            elif kind == INTAKE_RECONCILE:
                self._reconcile(envelope)
            elif kind == INTAKE_RECOVER:
                self._recover(f"mailbox(es) {', '.join(envelope.payload.get('mailboxes', []))}")
            else:
                super().handle(envelope)
        self.state.bump_counters(self.counts)
        step = flush_step(
            self.state.pending_count(),
            asked=flush_now,
            debounce_s=self.debounce_s,
            timer_armed=self._flush_armed,
        )
        if step is FlushStep.FLUSH:
            self._flush()
        elif step is FlushStep.ARM_TIMER:
            self._set_flush_timer(self.debounce_s)

    def _recover(self, what: str) -> None:
        """Lost state (the cursor, pending events, what was synced) or lost jobs in flight:
        only a full sync restores them. It is diff-based, so unchanged items get no write, and
        jobs that were in flight are no longer trusted to arrive."""
        log.warning("%s lost; running a full sync to catch everything up", what)
        self.state.forget_in_flight()
        request = SyncRequest(mode="all", job_id="recovery-" + new_job_id())
        self.send(INTAKE, Envelope(kind=SYNC_REQUEST, payload=request.model_dump(mode="json")))

    def _reconcile(self, envelope: Envelope) -> None:
        """The scheduled whole-library pass for what no hook or cursor sees (performer and scene
        merges, files reassigned, edits while Stash could not reach us, edits made in Plex).

        Every synced scene goes to Plex again, changed or not (``SyncRequest.reconcile``): the
        gateway diffs against a fresh read of each item, so unchanged items cost a batched read
        and no write. One pass at a time: a pass still running within its interval skips this.
        """
        running = self.state.kv.get("reconcile_job")
        job = job_progress(self.state.store, running) if running else None
        interval_s = self.settings.reconcile_interval_hours * 3600
        if job and not job["finished"] and time.time() - job["created_at"] < interval_s:
            log.info("reconciliation %s is still running; skipping this one", running)
            return
        job_id = RECONCILE_PREFIX + new_job_id()
        self.state.kv.set("reconcile_job", job_id)
        log.info("reconciliation %s: comparing every scene with Plex", job_id)
        self.requests.start(envelope, SyncRequest(mode="all", job_id=job_id, reconcile=True))

    def _finished(self, job_id: str | None, finished: bool) -> None:
        """A job just finished: a reconciliation says what it fixed."""
        if not (finished and job_id and job_id.startswith(RECONCILE_PREFIX)):
            return
        job = job_progress(self.state.store, job_id)
        if job is not None:
            log.info("%s", reconcile_summary(job))

    def _count(self, name: str, n: int = 1) -> None:
        self.counts[name] = self.counts.get(name, 0) + n

    # -- hook events -------------------------------------------------------------------------

    def _hook(self, envelope: Envelope) -> None:
        event = HookEvent.model_validate(envelope.payload)
        cookie = event.connection.get("session_cookie")
        if isinstance(cookie, str):
            self.stash.use_session_cookie(cookie)
        scene_id = event.scene_id
        if scene_id is None:  # HookEvent guarantees an object_id instead
            self.related.handle(event, envelope)
            return
        received = event.received_at or envelope.created_at
        verdict = scene_hook_verdict(
            event.trigger,
            event.input_fields,
            self.relevant,
            received_at=received,
            fetched_at=self.state.synced([scene_id]).get(scene_id, {}).get("fetched_at"),
        )
        if verdict is HookVerdict.DESTROY:
            self._count("destroyed")
            if self.state.cancel_pending(scene_id):
                log.info("scene %s destroyed: its pending job is cancelled", scene_id)
            self.state.forget_links([scene_id])
            # A newer revision than any job so far: the Scheduler drops the scene's retries,
            # PlexGateway a job of it still waiting for Plex to scan its file.
            revision = self.state.next_revisions(1)
            for to in (SCHEDULER, PLEX_GATEWAY):
                self.send(
                    to, Envelope(kind=TIMER_SUPERSEDE, payload={"revisions": {scene_id: revision}})
                )
            return
        if verdict is HookVerdict.IRRELEVANT:
            fields = changed_fields(event.input_fields)
            log.debug("scene %s: update touched nothing we sync (%s)", scene_id, fields)
            self._count("dropped_irrelevant")
        elif verdict is HookVerdict.STALE:
            log.debug("scene %s: event predates our last fetch, already reflected", scene_id)
            self._count("dropped_stale")
            self.state.ride([scene_id], None)  # the job of that fetch now carries this edit
        else:
            self.state.add_pending(scene_id, received)

    def _set_flush_timer(self, delay: float) -> None:
        self._flush_armed = True
        timer = timer_envelope(
            FLUSH_TIMER_ID, time.time() + delay, to=INTAKE, kind=INTAKE_FLUSH, payload={}
        )
        self.send(SCHEDULER, timer)

    def _flush(self) -> None:
        self._flush_armed = False
        pending = self.state.pending()
        by_id = {p.scene_id: p for p in pending}
        sent_at = time.time()
        try:
            scenes = self.stash.scenes_by_ids(list(by_id))
        except StashError as exc:
            log.warning("Stash could not be read (%s); %d pending scenes wait", exc, len(by_id))
            self._set_flush_timer(STASH_RETRY_S)
            return
        groups, missing = group_fetched(pending, scenes)
        for scene_id in missing:
            log.info("scene %s no longer exists in Stash; dropping its event", scene_id)
            self.state.bump_job(by_id[scene_id].job_id, failed=1)
        self.state.forget_links(missing)
        for (job_id, dry_run, force), raw in groups.items():
            self.jobs.consider(
                list(raw), job_id=job_id, dry_run=dry_run, force=force, sent_at=sent_at
            )
        self.state.clear_pending(list(by_id))
        for job_id in {p.job_id for p in pending if p.job_id}:
            self.state.job_enumerated(job_id)
        if self.state.pending_count():
            # More than one read's worth was pending (a tag on thousands of scenes): go on
            # with the rest at once rather than waiting for the next event to come along.
            self._set_flush_timer(0)

    # -- explicit syncs and catch-up ---------------------------------------------------------

    def _catch_up(self) -> None:
        try:
            self.catchup.run()
        except StaleSettingsError:
            log.info("catch-up pass stopped: the host restarts with the new settings and runs it")
        except StashError as exc:
            log.warning("catch-up skipped: Stash could not be read (%s)", exc)

    def _done(self, done: SyncDone) -> None:
        self._count("jobs_done")
        if not done.dry_run:
            self.state.mark_done(
                done.scene_id, done.fingerprint, done.revision, done.status, done.rating_keys
            )
        if done.job_id:
            diff = (done.scene_id, done.diff) if done.diff else None
            if done.status == "dead_letter":
                finished = self.state.bump_job(done.job_id, diff=diff, failed=1)
            elif done.status == "skipped" and done.job_id in self.cancels:
                # dropped before Plex
                finished = self.state.bump_job(done.job_id, diff=diff, cancelled=1)
                self._carried(done)
            elif done.status == "skipped":  # dropped for a newer job: not synced by this one
                finished = self.state.bump_job(done.job_id, diff=diff, superseded=1)
            else:
                # A dry run's "written" is what it would write; a job the ``dry_run`` setting
                # turned into one (nothing written) becomes a dry run in its summary too.
                would = done.status == "dry_run" and done.changes > 0
                written = int(done.status == "written" or would)
                extra = {"dry_run": 1} if done.status == "dry_run" and not done.dry_run else {}
                finished = self.state.bump_job(
                    done.job_id, diff=diff, done=1, changes=done.changes, written=written, **extra
                )
            self._finished(done.job_id, finished)

    def _carried(self, done: SyncDone) -> None:
        """A cancelled job's scene that others relied on (another sync left it to this job, or
        a hook came in before its read) goes on as hook work: the cancel is of the job only."""
        row = self.state.synced([done.scene_id]).get(done.scene_id)
        if row and row["revision"] == done.revision and row["job_id"] != done.job_id:
            log.info("scene %s: its cancelled job carried other edits; syncing it", done.scene_id)
            self.state.add_pending(done.scene_id, time.time())


def new_job_id() -> str:
    return uuid.uuid4().hex[:12]


def _first_catch_up_only(envelopes: Sequence[Envelope]) -> list[Envelope]:
    """One pass answers every catch-up ask of a batch: a host woken for the catch-up timer is
    asked twice at once (the overdue tick and Intake's own pass on start). The rest are acked
    with the batch."""
    first = next((e for e in envelopes if e.kind == INTAKE_CATCHUP), None)
    return [e for e in envelopes if e.kind != INTAKE_CATCHUP or e is first]
