"""PlexGateway: all Plex I/O, behind one circuit breaker.

Contract (consumes, in batches so detail reads are amortised):
  ``sync.locate`` (:class:`~actors.messages.SyncJob`): look up Plex candidates for the scene's
      files in the path index (refreshing it, at most once per interval, on a miss; optionally
      asking Plex to scan the file's folder) -> ``match.score`` to Matcher.
  ``sync.write`` (SyncJob with ``targets``): reload the items in one request, diff, send one
      locked edit per item, upload the poster if its bytes changed -> ``sync.done`` to Intake.
  ``journal.undo`` (:class:`~actors.messages.JournalUndo`), ``index.rebuild``.
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
from typing import Any, ClassVar

from actors.addresses import DEAD_LETTER, INTAKE, MATCHER, PLEX_GATEWAY, SCHEDULER
from actors.base import MailboxActor
from actors.messages import (
    INDEX_REBUILD,
    JOURNAL_UNDO,
    MATCH_SCORE,
    SYNC_DONE,
    SYNC_LOCATE,
    SYNC_WRITE,
    JobRef,
    JournalUndo,
    SyncDone,
    SyncJob,
    dead_letter_envelope,
    job_ended_envelope,
    retry_envelope,
)
from stashplex.plex.connection import ErrorClass, PlexFailure, connect
from stashplex.plex.covers import CoverUnavailableError, sync_covers
from stashplex.plex.guarded import BreakerOpenError, GuardedCalls, PlexCallError
from stashplex.plex.index import IndexBuilder, PathIndex
from stashplex.plex.state import GatewayState, Written, last_write, undo_params
from stashplex.plex.trust import identity_file
from stashplex.plex.writer import ItemPlan, plan_item
from stashplex.runtime.envelope import Envelope
from stashplex.stash import StashAnswerRefusedError, StashError
from stashplex.sync.breaker import BreakerState, CircuitBreaker
from stashplex.sync.fieldmap import FieldToggles
from stashplex.sync.gateway_rules import JobKey, folders_due_for_scan, newest_jobs
from stashplex.sync.matching import PlexCandidate
from stashplex.sync.pathmap import PathMap, path_basename
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
        self.pathmap = PathMap.parse(
            self.settings.path_map, case_insensitive=self.settings.case_insensitive_paths
        )
        self.state = GatewayState(self.ctx.service("data_dir"))
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
        self._publish_status()

    def _publish_status(self) -> None:
        self.state.kv.set(
            "status",
            {
                "breaker": self.breaker.snapshot(),
                "index_items": len(self._index),
                "index_built_at": self._index.built_at or None,
                "at": time.time(),
            },
        )

    def _server(self) -> Any:
        if self._plex is None:
            record = identity_file(self.ctx.service("data_dir"))
            self._plex = self._call(connect, self.settings, identity_record=record)
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
            elif envelope.kind == INDEX_REBUILD:
                self._index = PathIndex(case_insensitive=self._index.case_insensitive)
                self._guarded(envelope, self._ensure_index)
            elif envelope.kind not in (SYNC_LOCATE, SYNC_WRITE):
                super().handle(envelope)
        for envelope in locates:
            self._guarded(envelope, lambda e=envelope: self._locate(e))
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
        self,
        envelope: Envelope,
        reason: Any,
        error: str,
        due_at: float | None = None,
        *,
        kind: str | None = None,
    ) -> None:
        job = JobRef(
            to=PLEX_GATEWAY,
            kind=kind or envelope.kind,
            scene_id=envelope.scene_id,
            payload=envelope.payload,
        )
        self.send(SCHEDULER, retry_envelope(reason, error, job, due_at=due_at))

    def _route_failure(self, envelope: Envelope, failure: PlexFailure) -> None:
        if failure.error_class is ErrorClass.TRANSIENT:
            self._defer(envelope, "transient", failure.message)
        elif failure.error_class is ErrorClass.NOT_FOUND:
            self._defer(envelope, "not_found", failure.message, kind=SYNC_LOCATE)
        else:
            self._dead_letter(envelope, failure.error_class.value, failure.message)

    def _dead_letter(self, envelope: Envelope, reason: Any, error: str) -> None:
        job = JobRef(
            to=PLEX_GATEWAY,
            kind=envelope.kind,
            scene_id=envelope.scene_id,
            payload=envelope.payload,
        )
        self.send(DEAD_LETTER, dead_letter_envelope(reason, error, job))

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
        fresh_enough = time.time() - index.refreshed_at < self.settings.index_refresh_seconds
        if not candidates and not fresh_enough:
            assert self._builder is not None
            added = self._call(self._builder.refresh, index)
            log.info("path index refreshed on a miss: %d new items", added)
            self._publish_status()
            candidates = self._lookup(scene)
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
        log.info(
            "scene %s: stale write of revision %d dropped (have %d)",
            envelope.scene_id,
            job.revision,
            newer,
        )
        ended = job_ended_envelope(envelope.scene_id, envelope.payload, "skipped")
        if ended is not None:
            self.send(INTAKE, ended)

    def _fetch_items(self, keys: list[int]) -> dict[int, Any]:
        plex = self._server()
        items: dict[int, Any] = {}
        for start in range(0, len(keys), DETAIL_CHUNK):
            chunk = keys[start : start + DETAIL_CHUNK]
            for item in self._call(plex.fetchItems, chunk):
                items[int(item.ratingKey)] = item
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
                preserve_plex_edits=self.settings.preserve_plex_edits,
            )
            if plan.journal_preserved:
                self.state.journal(batch, key, scene.id, "preserved", plan.journal_preserved)
            if dry_run:
                self.state.journal(batch, key, scene.id, "dry_run", plan.journal_writes)
                changes += len(plan.journal_writes)
                diff += [
                    {"rating_key": key, "field": f, "old": old, "new": new}
                    for f, old, new in plan.journal_writes
                ]
                continue
            if plan.params:
                self._call(item.edit, **plan.params)
                self.state.journal(batch, key, scene.id, "write", plan.journal_writes)
                changes += len(plan.journal_writes)
            poster_sha1, background_sha1 = self._sync_images(item, plan, prior, job, batch)
            self.state.record(
                key,
                Written(
                    scene.id,
                    job.revision,
                    plan.written_fields,
                    plan.poster_source if poster_sha1 else (prior.poster_source if prior else None),
                    poster_sha1,
                    plan.background_source
                    if background_sha1
                    else (prior.background_source if prior else None),
                    background_sha1,
                ),
            )
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
            except StashAnswerRefusedError as exc:  # too large or too slow: this job fails
                failure = PlexFailure(ErrorClass.PERMANENT, f"scene {scene.id}: {exc}")
                raise PlexCallError(failure) from exc
            except StashError as exc:
                log.warning("scene %s: cover not downloaded (%s); next sync tries", scene.id, exc)
                raise CoverUnavailableError(str(exc)) from exc

        def journal(rows: list[tuple[str, Any, Any]]) -> None:
            self.state.journal(batch, plan.rating_key, scene.id, "write", rows)

        return sync_covers(
            item,
            plan,
            prior,
            has_cover=job.has_cover,
            download=download,
            call=self._call,
            journal=journal,
        )

    # -- undo ------------------------------------------------------------------------------

    def _undo(self, envelope: Envelope) -> None:
        request = JournalUndo.model_validate(envelope.payload)
        entries = last_write(self.state.store, request.rating_key)
        params = undo_params(entries)
        if not params:
            log.info("journal undo: nothing to undo for item %d", request.rating_key)
            return
        (item,) = self._call(self._server().fetchItems, [request.rating_key])
        self._call(item.edit, **params)
        reverted = [(e["field"], e["new"], e["old"]) for e in entries if e["field"] != "poster"]
        self.state.journal(
            uuid.uuid4().hex, request.rating_key, entries[0]["scene_id"], "undo", reverted
        )
        log.info("journal undo: restored %d fields of item %d", len(reverted), request.rating_key)
