"""PlexGateway: all Plex I/O, behind one circuit breaker.

Contract (consumes, in batches so detail reads are amortised):
  ``sync.locate`` (:class:`~actors.messages.SyncJob`): look up Plex candidates for the scene's
      files in the path index (refreshing it, at most once per interval, on a miss; optionally
      asking Plex to scan the file's folder) -> ``match.score`` to Matcher.
  ``sync.write`` (SyncJob with ``targets``): reload the items in one request, plan each by the
      ownership rules, send one edit per item, upload the poster if its bytes changed ->
      ``sync.done`` to Intake.
  ``journal.undo`` (:class:`~actors.messages.JournalUndo`): put back what journaled writes
      replaced (values, locks, ownership); ``fields.release``
      (:class:`~actors.messages.FieldsRelease`): forget owned fields; ``index.rebuild``.
Failures become messages: transient -> ``retry.schedule`` (transient); breaker open ->
``retry.schedule`` (breaker_open, due at the trial time, no retry spent); item gone ->
``retry.schedule`` (not_found, re-locate); 401 / 400 -> ``dead_letter.job``.
"""

from __future__ import annotations

import dataclasses
import logging
import time
import uuid
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any, ClassVar

from actors.addresses import DEAD_LETTER, INTAKE, MATCHER, PLEX_GATEWAY, SCHEDULER
from actors.base import MailboxActor
from actors.messages import (
    FIELDS_RELEASE,
    INDEX_REBUILD,
    JOURNAL_UNDO,
    MATCH_SCORE,
    SYNC_DONE,
    SYNC_LOCATE,
    SYNC_WRITE,
    FieldsRelease,
    JobRef,
    JournalUndo,
    SyncDone,
    SyncJob,
    dead_letter_envelope,
    job_ended_envelope,
    retry_envelope,
)
from actors.problem_reports import GatewayReports
from stashplex.plex.connection import ErrorClass, PlexFailure, connect
from stashplex.plex.covers import CoverUnavailableError, sync_covers
from stashplex.plex.guarded import BreakerOpenError, GuardedCalls, PlexCallError
from stashplex.plex.handback import apply_undo, release, select_undo
from stashplex.plex.index import IndexBuilder, PathIndex
from stashplex.plex.state import GatewayState, Written
from stashplex.plex.writer import ItemPlan, plan_item
from stashplex.runtime.envelope import Envelope
from stashplex.stash import StashError
from stashplex.sync.breaker import BreakerState, CircuitBreaker
from stashplex.sync.fieldmap import FieldToggles
from stashplex.sync.gateway_rules import JobKey, folders_due_for_scan, newest_jobs
from stashplex.sync.matching import PlexCandidate
from stashplex.sync.ownership import OwnershipPolicy
from stashplex.sync.pathmap import PathMap, path_basename
from stashplex.sync.request_size import split_edit
from stashplex.sync.scene import StashScene

log = logging.getLogger(__name__)

#: Items per detail request (``/library/metadata/1,2,...``).
DETAIL_CHUNK = 100


class PlexGateway(MailboxActor):
    mailbox_name: ClassVar[str] = PLEX_GATEWAY
    batch_size: ClassVar[int] = 50
    #: Every send here follows from a Plex call; none is followed by deleting durable state.
    buffered_sends: ClassVar[bool] = True

    def setup(self) -> None:
        self.settings = self.ctx.service("settings")
        self.toggles = FieldToggles.from_settings(self.settings)
        self.policy = OwnershipPolicy.from_settings(self.settings)
        self.pathmap = PathMap.parse(
            self.settings.path_map, case_insensitive=self.settings.case_insensitive_paths
        )
        self.state = GatewayState(self.ctx.service("data_dir"))
        self.reports = GatewayReports(self.ctx.service("data_dir").root, self.settings)
        self.breaker = CircuitBreaker(
            self.settings.breaker_failures,
            self.settings.breaker_reset_seconds,
            on_transition=self._breaker_moved,
        )
        self._call = GuardedCalls(self.breaker)
        self._plex: Any = None
        self._builder: IndexBuilder | None = None
        self._index = PathIndex(case_insensitive=self.settings.case_insensitive_paths)
        self._scans: dict[str, float] = {}
        self._publish_status()

    def teardown(self) -> None:
        self.state.store.close()

    # -- the breaker around every Plex request ----------------------------------------------

    def _breaker_moved(self, old: BreakerState, new: BreakerState) -> None:
        log.warning("Plex circuit breaker %s -> %s", old, new)
        self.reports.breaker_moved(new)
        self._publish_status()

    def _publish_status(self) -> None:
        index, breaker = self._index, self.breaker.snapshot()
        self.state.kv.set("status", {
            "breaker": breaker, "index_items": len(index),
            "index_built_at": index.built_at or None, "at": time.time(),
        })  # fmt: skip

    def _server(self) -> Any:
        if self._plex is None:
            self._plex = self._call(connect, self.settings)
            self.reports.plex_answered()
            self._call.probe = lambda plex=self._plex: plex.query("/identity")
            self._builder = IndexBuilder(self._plex, self.settings.plex_libraries)
        return self._plex

    def _ensure_index(self) -> PathIndex:
        self._server()
        if not self._index.built_at:
            assert self._builder is not None
            self._index = self._call(self._builder.build, self._index)
            self._publish_status()
        return self._index

    # -- dispatch ------------------------------------------------------------------------

    def handle_batch(self, envelopes: Sequence[Envelope]) -> None:
        locates = [e for e in envelopes if e.kind == SYNC_LOCATE]
        writes = [e for e in envelopes if e.kind == SYNC_WRITE]
        for envelope in envelopes:
            if envelope.kind == JOURNAL_UNDO:
                self._guarded(envelope, lambda e=envelope: self._undo(e))
            elif envelope.kind == FIELDS_RELEASE:
                self._release(FieldsRelease.model_validate(envelope.payload))
            elif envelope.kind == INDEX_REBUILD:
                self._index = PathIndex(case_insensitive=self._index.case_insensitive)
                self._guarded(envelope, self._ensure_index)
            elif envelope.kind not in (SYNC_LOCATE, SYNC_WRITE):
                super().handle(envelope)
        for envelope in locates:
            self._guarded(envelope, lambda e=envelope: self._locate(e))
        self.reports.batch_located(self._index)
        if writes:
            self._write_batch(writes)

    def _guarded(self, envelope: Envelope, work: Callable[[], Any]) -> None:
        try:
            work()
        except BreakerOpenError as exc:
            self._defer(envelope, "breaker_open", "Plex circuit breaker is open", exc.trial_at)
        except PlexCallError as exc:
            self._route_failure(envelope, exc.failure)

    def _defer(
        self, envelope: Envelope, reason: Any, error: str, due_at: float | None = None, *,
        kind: str | None = None,
    ) -> None:  # fmt: skip
        job = _job_ref(envelope, kind or envelope.kind)
        self.send(SCHEDULER, retry_envelope(reason, error, job, due_at=due_at))
        if reason == "breaker_open":
            self.reports.breaker_waits()

    def _route_failure(self, envelope: Envelope, failure: PlexFailure) -> None:
        if failure.error_class is ErrorClass.TRANSIENT:
            self._defer(envelope, "transient", failure.message)
        elif failure.error_class is ErrorClass.NOT_FOUND:
            self._defer(envelope, "not_found", failure.message, kind=SYNC_LOCATE)
        else:
            if failure.error_class is ErrorClass.UNAUTHORIZED:
                self.reports.token_rejected()
            job = _job_ref(envelope, envelope.kind)
            reason: Any = failure.error_class.value
            self.send(DEAD_LETTER, dead_letter_envelope(reason, failure.message, job))

    # -- locate ----------------------------------------------------------------------------

    def _lookup(self, scene: StashScene) -> list[PlexCandidate]:
        found: dict[tuple[int, str], PlexCandidate] = {}
        for file in scene.files:
            key = self._index.key(self.pathmap.map(file.path))
            for candidate in [
                *self._index.by_path(key),
                *self._index.by_basename(path_basename(key)),
            ]:
                found[(candidate.rating_key, candidate.file)] = candidate
        return list(found.values())

    def _locate(self, envelope: Envelope) -> None:
        job = SyncJob.model_validate(envelope.payload)
        scene = StashScene.model_validate(job.scene)
        index = self._ensure_index()
        candidates = self._lookup(scene)
        known = [] if candidates else self.state.keys_of_scene(scene.id)
        if known:  # written before: its file may have moved under the same item
            assert self._builder is not None
            self._call(self._builder.reindex_items, index, known)
            candidates = self._lookup(scene)
        fresh_enough = time.time() - index.refreshed_at < self.settings.index_refresh_seconds
        if not candidates and not fresh_enough:
            assert self._builder is not None
            added = self._call(self._builder.refresh, index)
            log.info("path index refreshed on a miss: %d new items", added)
            self._publish_status()
            candidates = self._lookup(scene)
        self.reports.located([f.path for f in scene.files], self.pathmap, index)
        if not candidates and self.settings.scan_on_miss:
            self._scan_folders(scene)
        job = job.model_copy(update={"candidates": [dataclasses.asdict(c) for c in candidates]})
        self.send(
            MATCHER, envelope.derive(MATCH_SCORE, job.model_dump(mode="json"), sender=PLEX_GATEWAY)
        )

    def _scan_folders(self, scene: StashScene) -> None:
        """Ask Plex to scan each missing file's folder, at most once per folder per interval."""
        now = time.time()
        in_sections = [
            path
            for path in (self.pathmap.map(file.path) for file in scene.files)
            if self._index.section_for(path) is not None
        ]
        due = folders_due_for_scan(
            in_sections, self._scans, now=now, interval_s=self.settings.index_refresh_seconds
        )
        for folder in due:
            section = self._index.section_for(folder + "/")
            if section is None:
                continue
            self._scans[folder] = now
            section_obj = self._call(self._library_section, section.key)
            self._call(section_obj.update, path=folder)
            log.info("asked Plex to scan %s for scene %s", folder, scene.id)

    def _library_section(self, key: int) -> Any:
        """plexapi's section object (its first use lists the libraries: a Plex request)."""
        return self._server().library.sectionByID(key)

    # -- write -----------------------------------------------------------------------------

    def _write_batch(self, envelopes: list[Envelope]) -> None:
        candidates = []
        for envelope in envelopes:
            job = SyncJob.model_validate(envelope.payload)
            key = JobKey(envelope.scene_id or "", job.revision, job.dry_run)
            candidates.append(((envelope, job), key))
        jobs, dropped = newest_jobs(candidates, self.state.latest_revision)
        for (envelope, job), newer in dropped:
            self._superseded(envelope, job, newer)
        keys = sorted({key for _, job in jobs for key in job.targets})
        try:
            items = self._fetch_items(keys)
        except BreakerOpenError as exc:
            for envelope, _ in jobs:
                self._defer(envelope, "breaker_open", "Plex circuit breaker is open", exc.trial_at)
            return
        except PlexCallError as exc:
            for envelope, _ in jobs:
                self._route_failure(envelope, exc.failure)
            return
        written = self.state.written(keys)
        for envelope, job in jobs:
            self._guarded(envelope, lambda e=envelope, j=job: self._write(e, j, items, written))

    def _superseded(self, envelope: Envelope, job: SyncJob, newer: int) -> None:
        """Latest wins: a write older than one already done or in this batch is dropped."""
        log.info("scene %s: stale write of revision %d dropped (have %d)", *(
            envelope.scene_id, job.revision, newer,
        ))  # fmt: skip
        ended = job_ended_envelope(envelope.scene_id, envelope.payload, "skipped")
        if ended is not None:
            self.send(INTAKE, ended)

    def _fetch_items(self, keys: list[int], *, missing_ok: bool = False) -> dict[int, Any]:
        """Detail reads in chunks; ``missing_ok``: a chunk Plex has none of is just absent."""
        plex = self._server()
        items: dict[int, Any] = {}
        for start in range(0, len(keys), DETAIL_CHUNK):
            chunk = keys[start : start + DETAIL_CHUNK]
            try:
                found = self._call(plex.fetchItems, chunk)
            except PlexCallError as exc:
                if not (missing_ok and exc.failure.error_class is ErrorClass.NOT_FOUND):
                    raise
                found = []
            items.update({int(item.ratingKey): item for item in found})
        return items

    def _write(
        self, envelope: Envelope, job: SyncJob, items: dict[int, Any], written: dict[int, Written]
    ) -> None:
        scene = StashScene.model_validate(job.scene)
        dry_run = job.dry_run or self.settings.dry_run
        batch = uuid.uuid4().hex
        changes = 0
        diff: list[dict[str, Any]] = []
        for key in job.targets:
            item = items.get(key)
            if item is None:
                self._index.remove_item(key)
                raise PlexCallError(
                    PlexFailure(ErrorClass.NOT_FOUND, f"Plex item {key} no longer exists")
                )
            prior = written.get(key)
            plan = plan_item(
                scene,
                item,
                self.toggles,
                prior,
                policy=self.policy,
                max_request_bytes=self.settings.plex_max_request_bytes,
            )
            journal = partial(self.state.journal, batch, key, scene.id, job_id=job.job_id)
            if plan.journal_preserved:
                journal("preserved", plan.journal_preserved)
            changes += plan.value_changes
            if dry_run:
                journal("dry_run", plan.journal_writes)
                diff += plan.dry_run_diff()
                continue
            if plan.params:
                for part in split_edit(plan.params, self.settings.plex_max_request_bytes):
                    self._call(item.edit, **part)
                journal("write", plan.journal_writes)
            images = self._sync_images(item, plan, prior, job, batch)
            self.state.record(key, plan.written_state(scene.id, job.revision, prior, *images))
        status = "dry_run" if dry_run else ("written" if changes else "unchanged")
        done = SyncDone(
            scene_id=scene.id,
            fingerprint=job.fingerprint,
            revision=job.revision,
            status=status,
            rating_keys=list(job.targets),
            job_id=job.job_id,
            changes=changes,
            diff=diff,
            dry_run=job.dry_run,
        )
        self.send(
            INTAKE, envelope.derive(SYNC_DONE, done.model_dump(mode="json"), sender=PLEX_GATEWAY)
        )

    def _sync_images(
        self, item: Any, plan: ItemPlan, prior: Written | None, job: SyncJob, batch: str
    ) -> tuple[str | None, str | None]:
        scene = StashScene.model_validate(job.scene)

        def download() -> bytes:
            try:
                return bytes(self.ctx.service("stash").fetch_image(scene.screenshot_url or ""))
            except StashError as exc:
                log.warning("scene %s: cover not downloaded (%s); next sync tries", scene.id, exc)
                raise CoverUnavailableError(str(exc)) from exc

        def journal(rows: list[tuple[str, Any, Any]]) -> None:
            self.state.journal(batch, plan.rating_key, scene.id, "write", rows, job_id=job.job_id)

        return sync_covers(
            item,
            plan,
            prior,
            has_cover=job.has_cover,
            download=download,
            call=self._call,
            journal=journal,
            uploaded_before=lambda name, digest: self.state.uploaded_before(
                plan.rating_key, name, digest
            ),
        )

    # -- handing fields back -----------------------------------------------------------------

    def _undo(self, envelope: Envelope) -> None:
        request = JournalUndo.model_validate(envelope.payload)
        restores, skipped = select_undo(self.state.store, **request.model_dump())
        items = self._fetch_items(sorted({r.rating_key for r in restores}), missing_ok=True)
        report = apply_undo(restores, items, self.state, self._call)
        skipped_count = len(report.skipped) + len(skipped)
        log.info("journal undo: restored %d fields of %d items, %d skipped", *(
            report.fields, report.items, skipped_count,
        ))  # fmt: skip

    def _release(self, request: FieldsRelease) -> None:
        where = {"rating_key": request.rating_key, "scene_id": request.scene_id}
        targets = release(self.state, request.fields, **where)
        released = sum(len(names) for _scene, names in targets.values())
        log.info("released %d fields of %d items to Stash", released, len(targets))


def _job_ref(envelope: Envelope, kind: str) -> JobRef:
    """The job to run again (or keep as a dead letter): this gateway, this payload."""
    return JobRef(to=PLEX_GATEWAY, kind=kind, scene_id=envelope.scene_id, payload=envelope.payload)
