"""Intake: turns Stash hook events and sync requests into sync jobs.

Contract (consumes, in batches):
  ``hook.event`` (see :class:`actors.messages.HookEvent`): dropped when its ``inputFields``
      touch nothing we sync, or when it is older than our last fetch of that scene; a destroy
      cancels the scene's pending job; anything else joins the pending set (latest wins). An
      edit of a performer, studio, tag or group that can change a name Plex shows puts every
      scene linked to it into the pending set the same way (Stash fires no scene hook for it
      and leaves the scenes' ``updated_at`` alone, so nothing else would notice); if Stash
      cannot list those scenes, the event is tried again through a Scheduler timer.
  ``sync.request`` (:class:`~actors.messages.SyncRequest`): all scenes, scenes changed since a
      time, or given scenes (optionally forced, optionally a dry run), tracked as a job.
  ``intake.flush``: turn the pending set into jobs now (set by a debounce timer).
  ``intake.catchup``: follow Stash's ``updated_at`` cursor to catch edits made while we were
      down or that Stash does not hook.
  ``sync.done`` (:class:`~actors.messages.SyncDone`): remember the fingerprint that reached Plex.
Emits: ``sync.locate`` jobs to PlexGateway, ``timer.supersede`` and ``timer.set`` (the flush
timer, and retries of related-object events) to the Scheduler.

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

from actors.addresses import INTAKE, SCHEDULER
from actors.base import MailboxActor
from actors.intake_jobs import JobEmitter
from actors.intake_state import SyncState
from actors.messages import (
    HOOK_EVENT,
    INTAKE_CATCHUP,
    INTAKE_FLUSH,
    INTAKE_RECOVER,
    SYNC_DONE,
    SYNC_REQUEST,
    TIMER_SUPERSEDE,
    HookEvent,
    SyncDone,
    SyncRequest,
    timer_envelope,
)
from stashplex.runtime.envelope import Envelope
from stashplex.stash import StashClient, StashError
from stashplex.sync.changes import (
    cursor_with_margin,
    related_edit_matters,
    related_relevant_fields,
    relevant_fields,
    without_baseline,
)
from stashplex.sync.fieldmap import FieldToggles
from stashplex.sync.intake_rules import (
    FlushStep,
    HookVerdict,
    changed_fields,
    cursor_after_walk,
    flush_step,
    group_fetched,
    scene_hook_verdict,
    without_cookie,
)

log = logging.getLogger(__name__)

#: How long hook events may gather before they become jobs (coalescing window).
DEBOUNCE_S = 1.0
#: Wait before trying Stash again after it failed.
STASH_RETRY_S = 15.0
FLUSH_TIMER_ID = "intake-flush"
#: Retries of one object's event share a timer, so a later edit of it replaces an earlier one.
RELATED_RETRY_TIMER_PREFIX = "intake-related:"


class Intake(MailboxActor):
    mailbox_name: ClassVar[str] = INTAKE
    batch_size: ClassVar[int] = 500

    def setup(self) -> None:
        self.settings = self.ctx.service("settings")
        self.toggles = FieldToggles.from_settings(self.settings)
        self.relevant = relevant_fields(self.settings)
        self.related_relevant = related_relevant_fields(self.settings)
        self.stash: StashClient = self.ctx.service("stash")
        self.state = SyncState(self.ctx.service("data_dir"))
        self.jobs = JobEmitter(
            self.state,
            self.stash,
            self.toggles,
            self.send,
            self.send_many,
            organized_only=self.settings.organized_only,
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

    # -- dispatch --------------------------------------------------------------------------

    def handle_batch(self, envelopes: Sequence[Envelope]) -> None:
        flush_now = False
        self.counts: dict[str, int] = {}
        for envelope in envelopes:
            kind = envelope.kind
            if kind == HOOK_EVENT:
                self._count("hook_events")
                self._hook(envelope)
            elif kind == SYNC_DONE:
                self._done(SyncDone.model_validate(envelope.payload))
            elif kind == SYNC_REQUEST:
                self._request(envelope, SyncRequest.model_validate(envelope.payload))
            elif kind == INTAKE_FLUSH:
                flush_now = True
            elif kind == INTAKE_CATCHUP:
                self._catch_up()
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
            self._related(event, envelope)
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
            # A newer revision than any job so far: the Scheduler drops the scene's retries.
            revision = self.state.next_revisions(1)
            self.send(
                SCHEDULER,
                Envelope(kind=TIMER_SUPERSEDE, payload={"revisions": {scene_id: revision}}),
            )
            return
        if verdict is HookVerdict.IRRELEVANT:
            fields = changed_fields(event.input_fields)
            log.debug("scene %s: update touched nothing we sync (%s)", scene_id, fields)
            self._count("dropped_irrelevant")
        elif verdict is HookVerdict.STALE:
            log.debug("scene %s: event predates our last fetch, already reflected", scene_id)
            self._count("dropped_stale")
        else:
            self.state.add_pending(scene_id, received)

    def _related(self, event: HookEvent, envelope: Envelope) -> None:
        """A performer, studio, tag or group was edited: re-read every scene linked to it.

        The scenes join the pending set as if each had been edited, so the flush reads them in
        batches and the fingerprint drops those whose Plex fields did not change (an edit form
        saved with the name as it was, a toggle switched off since). Unlike a scene's event,
        none is dropped as older than our last fetch: a fetch in flight during the rename may
        have read the old name yet be stamped after the hook, and no catch-up would ever
        notice, whereas a needless re-read costs one row of a batched read.
        """
        kind, object_id = event.object_kind, str(event.object_id)
        self._count("related_events")
        if not related_edit_matters(kind, event.input_fields, self.related_relevant):
            fields = changed_fields(event.input_fields)
            log.debug("%s %s: update touched nothing we sync (%s)", kind, object_id, fields)
            self._count("dropped_irrelevant")
            return
        try:
            scene_ids = self.stash.linked_scene_ids(kind, object_id)
        except StashError as exc:
            # Nothing else would ever notice this edit, so it must not be lost with the batch.
            log.warning(
                "Stash could not list the scenes of %s %s (%s); trying again in %.0f s",
                kind,
                object_id,
                exc,
                STASH_RETRY_S,
            )
            self._retry_related(envelope, f"{kind}:{object_id}")
            return
        log.info("%s %s was edited: %d linked scenes to re-read", kind, object_id, len(scene_ids))
        received = event.received_at or envelope.created_at
        for scene_id in scene_ids:
            self.state.add_pending(scene_id, received)
        self._count("related_scenes", len(scene_ids))

    def _retry_related(self, envelope: Envelope, key: str) -> None:
        # Without the session cookie: a retried event needs none, and timers are stored for as
        # long as Stash stays away.
        timer = timer_envelope(
            RELATED_RETRY_TIMER_PREFIX + key,
            time.time() + STASH_RETRY_S,
            to=INTAKE,
            kind=HOOK_EVENT,
            payload=without_cookie(envelope.payload),
        )
        self.send(SCHEDULER, timer)

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

    def _request(self, envelope: Envelope, request: SyncRequest) -> None:
        job_id = request.job_id
        if job_id:
            self.state.create_job(job_id, request.mode, dry_run=request.dry_run)
        if request.mode == "scenes" and request.dry_run:
            self.state.bump_job(job_id, total=len(request.scene_ids))
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
            self.state.bump_job(job_id, total=len(request.scene_ids))
            self._flush()
            return
        since = request.since if request.mode == "since" else None
        try:
            self.jobs.walk(
                self.stash.scene_pages(updated_after=since),
                job_id=job_id,
                dry_run=request.dry_run,
                force=request.force,
            )
        except StashError as exc:
            log.error("sync %s stopped: Stash could not be read (%s)", job_id or "", exc)
            self.state.job_enumerated(job_id, error=str(exc))
            return
        self.state.job_enumerated(job_id)

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

    def _catch_up(self) -> None:
        cursor = self.state.kv.get("cursor")
        try:
            if cursor is None:
                latest, at_latest = self.stash.latest_updated_at()
                # Catch-up covers changes from now on; what came before is the first full sync's
                # job. The next pass re-reads the margin before ``latest``, because Stash stamps
                # whole seconds and an edit in latest's own second may not have been seen yet;
                # the scenes already stamped with it are the baseline it leaves alone.
                self.state.kv.set("cursor", latest)
                self.state.kv.set("cursor_baseline", {"stamp": latest, "ids": at_latest})
                log.info(
                    "catch-up cursor starts at %s; run `stashplex sync` for a first full sync",
                    latest,
                )
                return
            pages = self.stash.scene_pages(updated_after=cursor_with_margin(cursor))
            baseline = self.state.kv.get("cursor_baseline")
            newest = self.jobs.walk(
                without_baseline(pages, baseline) if baseline else pages,
                job_id=None,
                catching_up=True,
            )
        except StashError as exc:
            log.warning("catch-up skipped: Stash could not be read (%s)", exc)
            return
        moved, baseline_spent = cursor_after_walk(cursor, newest, baseline)
        if moved != cursor:
            self.state.kv.set("cursor", moved)
        if baseline_spent:
            self.state.kv.set("cursor_baseline", None)

    def _done(self, done: SyncDone) -> None:
        self._count("jobs_done")
        if not done.dry_run:
            self.state.mark_done(
                done.scene_id, done.fingerprint, done.revision, done.status, done.rating_keys
            )
        if done.job_id:
            if done.status == "dead_letter":
                self.state.bump_job(done.job_id, failed=1)
            else:
                self.state.bump_job(done.job_id, done=1, changes=done.changes)
            if done.diff:
                self.state.add_job_diff(done.job_id, done.scene_id, done.diff)


def new_job_id() -> str:
    return uuid.uuid4().hex[:12]
