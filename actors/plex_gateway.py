"""PlexGateway: all Plex I/O, behind one circuit breaker.

Contract (consumes, in batches so detail reads are amortised):
  ``sync.locate`` (:class:`~actors.messages.SyncJob`): look up Plex candidates for the scene's
      files in the path index (refreshing it, at most once per interval, on a miss) ->
      ``match.score`` to Matcher; with no candidate at all the job waits for Plex with the others
      (:mod:`actors.plex_awaiting`, :mod:`actors.plex_locate`), and Plex is asked to scan the
      files' folders (a bounded number of requests per interval).
  ``plex.recheck`` (the shared timer of the jobs waiting for Plex): refresh the index once and
      send on those whose files appeared; past the not-found wait they go to the dead letters.
  ``timer.supersede``: newer jobs exist for these scenes (a scene was deleted): drop its waiting
      job.
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

import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

from actors.addresses import DEAD_LETTER, PLEX_GATEWAY, SCHEDULER
from actors.base import MailboxActor
from actors.job_cancels import job_cancels
from actors.messages import (
    FIELDS_RELEASE,
    INDEX_REBUILD,
    JOURNAL_UNDO,
    PLEX_PROBE,
    PLEX_RECHECK,
    SYNC_LOCATE,
    SYNC_WRITE,
    TIMER_RELEASE,
    TIMER_SUPERSEDE,
    FieldsRelease,
    JobRef,
    JournalUndo,
    TimerSupersede,
    dead_letter_envelope,
    retry_envelope,
    timer_envelope,
)
from actors.plex_awaiting import AwaitingPlex
from actors.plex_locate import LocateSteps
from actors.plex_write import WriteSteps, write_pool
from actors.problem_reports import GatewayReports
from stashplex.plex.connection import ErrorClass, PlexFailure, connect
from stashplex.plex.guarded import BreakerOpenError, GuardedCalls, PlexCallError
from stashplex.plex.handback import apply_undo, release, select_undo
from stashplex.plex.index import IndexBuilder, PathIndex
from stashplex.plex.state import GatewayState
from stashplex.plex.trust import identity_file
from stashplex.runtime.envelope import Envelope
from stashplex.sync.breaker import BreakerState, CircuitBreaker
from stashplex.sync.fieldmap import FieldToggles
from stashplex.sync.ownership import OwnershipPolicy
from stashplex.sync.pathmap import PathMap

log = logging.getLogger(__name__)

#: While the breaker is open, Plex is probed this often (one cheap request each time).
PROBE_EVERY_S = 1.0
PROBE_TIMER = "plex-probe"


class PlexGateway(WriteSteps, LocateSteps, MailboxActor):
    mailbox_name: ClassVar[str] = PLEX_GATEWAY
    #: Two detail reads per 100 writes (:mod:`actors.plex_write`); the fewer batch ends, the
    #: less time Plex's slots wait for the last write of a batch.
    batch_size: ClassVar[int] = 100
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
        concurrency = self.settings.plex_concurrency
        self._pool = write_pool(concurrency)
        self._index_lock = threading.Lock()
        self._call = GuardedCalls(self.breaker, self._identity, slots=concurrency)
        self._plex: Any = None
        self._builder: IndexBuilder | None = None
        self._index = PathIndex(case_insensitive=self.settings.case_insensitive_paths)
        self._scans: dict[str, float] = {}
        self._scan_window: tuple[float, int] = (0.0, 0)
        self.awaiting = AwaitingPlex(self.state.store, self.settings, send_many=self.send_many)
        if self.awaiting.count():
            self.awaiting.arm(self.awaiting.first_s)
        self._publish_status()

    def teardown(self) -> None:
        self._pool.shutdown(wait=True)
        self.state.store.close()

    # -- the breaker around every Plex request ----------------------------------------------

    def _breaker_moved(self, old: BreakerState, new: BreakerState) -> None:
        """Open: probe Plex every second, so the queue moves within a second of Plex answering
        rather than at the breaker's next trial. Closed again: release the jobs that waited."""
        log.warning("Plex circuit breaker %s -> %s", old, new)
        self.reports.breaker_moved(new)
        self._publish_status()
        if new is BreakerState.OPEN and old is BreakerState.CLOSED:
            self._arm_probe()
        elif new is BreakerState.CLOSED:
            self.send(SCHEDULER, Envelope(kind=TIMER_RELEASE, payload={"reason": "breaker_open"}))

    def _arm_probe(self) -> None:
        due = time.time() + PROBE_EVERY_S
        probe = timer_envelope(PROBE_TIMER, due, to=PLEX_GATEWAY, kind=PLEX_PROBE, payload={})
        self.send(SCHEDULER, probe)

    def _probe(self) -> None:
        if self.breaker.state is not BreakerState.CLOSED and not self._call.try_probe():
            self._arm_probe()

    def _identity(self) -> Any:
        """The breaker's probe: one cheap ``GET /identity``, never a job's request."""
        record = identity_file(self.ctx.service("data_dir"))
        return (self._plex or connect(self.settings, identity_record=record)).query("/identity")

    def _publish_status(self) -> None:
        self.state.kv.set(
            "status",
            {
                "breaker": self.breaker.snapshot(),
                "index_items": len(self._index),
                "index_built_at": self._index.built_at or None,
                "awaiting_plex": self.awaiting.count(),
                "at": time.time(),
            },
        )

    def _server(self) -> Any:
        if self._plex is None:
            record = identity_file(self.ctx.service("data_dir"))
            self._plex = self._call(connect, self.settings, identity_record=record)
            self.reports.plex_answered()
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
        envelopes = job_cancels(self.ctx.services).drop_cancelled(envelopes, self.send)
        locates = [e for e in envelopes if e.kind == SYNC_LOCATE]
        writes = [e for e in envelopes if e.kind == SYNC_WRITE]
        for envelope in envelopes:
            if envelope.kind == JOURNAL_UNDO:
                self._guarded(envelope, lambda e=envelope: self._undo(e))
            elif envelope.kind == FIELDS_RELEASE:
                self._release(FieldsRelease.model_validate(envelope.payload))
            elif envelope.kind == PLEX_PROBE:
                self._probe()
            elif envelope.kind == INDEX_REBUILD:
                self._index = PathIndex(case_insensitive=self._index.case_insensitive)
                self._guarded(envelope, self._ensure_index)
            elif envelope.kind == PLEX_RECHECK:
                self._recheck()
            elif envelope.kind == TIMER_SUPERSEDE:
                self.awaiting.drop_older(TimerSupersede.model_validate(envelope.payload).revisions)
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
