"""PlexGateway's write step: read a batch's items, write each job's items, upload covers.

Throughput against a Plex that takes tens of milliseconds per request comes from keeping its
``plex_concurrency`` slots busy (issue 19):

- Slots, not threads, bound Plex: :class:`~stashplex.plex.guarded.GuardedCalls` lets at most
  ``plex_concurrency`` calls into Plex at once, and the write pool has
  :data:`WORKERS_PER_SLOT` threads per slot, so while one thread downloads a cover from Stash or
  commits its journal, another holds the slot with its own request.
- Detail reads are batched (``/library/metadata/a,b,c``, up to :data:`DETAIL_CHUNK` items per
  request) and pipelined: a batch is read group by group (the first small, :data:`FIRST_READ`),
  and each group's writes start as soon as its read is answered, while the next is being read.
  A batch of 100 writes is two reads, as 50 were one before.
- Per item, order is kept: a job writes its own items, edit before upload, and latest wins
  leaves one job per scene in a batch; a batch's writes all end before the next batch starts.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from concurrent.futures import Future
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

from actors.addresses import INTAKE, PLEX_GATEWAY
from actors.messages import SYNC_DONE, SyncDone, SyncJob, job_ended_envelope
from stashplex.plex.connection import ErrorClass
from stashplex.plex.covers import cover_download, sync_covers
from stashplex.plex.guarded import BreakerOpenError, GuardedCalls, PlexCallError
from stashplex.plex.index import PathIndex
from stashplex.plex.items import target_problem
from stashplex.plex.state import GatewayState, Written
from stashplex.plex.writer import ItemPlan, plan_item
from stashplex.runtime.envelope import Envelope
from stashplex.runtime.memory import give_back_memory
from stashplex.runtime.quiet_pool import QuietPool
from stashplex.sync.fieldmap import FieldToggles
from stashplex.sync.gateway_rules import JobKey, fetch_groups, newest_jobs
from stashplex.sync.ownership import OwnershipPolicy
from stashplex.sync.pathmap import PathMap
from stashplex.sync.request_size import split_edit
from stashplex.sync.scene import StashScene

log = logging.getLogger(__name__)

#: Items per detail request (``/library/metadata/1,2,...``) when many are read at once.
DETAIL_CHUNK = 100
#: Items in the first detail read of a write batch: small, so the writes start early.
FIRST_READ = 25
#: Write threads per Plex slot: the second does its Stash download and SQLite commits while the
#: first holds the slot with a request.
WORKERS_PER_SLOT = 2

Job = tuple[Envelope, SyncJob]
T = TypeVar("T")


def write_pool(concurrency: int) -> QuietPool:
    """The write threads; :class:`GuardedCalls` keeps their Plex calls to ``concurrency``. They
    leave a few seconds after the last write, and the host gives their memory back."""
    return QuietPool(concurrency * WORKERS_PER_SLOT, "plex-write", on_quiet=give_back_memory)


class WriteSteps:
    """Mixed into PlexGateway, whose setup provides these."""

    settings: Any
    state: GatewayState
    pathmap: PathMap
    toggles: FieldToggles
    policy: OwnershipPolicy
    ctx: Any
    _index: PathIndex
    _index_lock: Any
    _call: GuardedCalls
    _pool: QuietPool

    if TYPE_CHECKING:  # provided by PlexGateway and MailboxActor; stubs here would shadow them

        def send(self, to: str, envelope: Envelope) -> None: ...
        def _server(self) -> Any: ...
        def _guarded(self, envelope: Envelope, work: Callable[[], Any]) -> None: ...
        def _defer(
            self, envelope: Envelope, reason: Any, error: str, due_at: float | None = None
        ) -> None: ...
        def _route_failure(self, envelope: Envelope, failure: Any) -> None: ...

    # -- a batch -------------------------------------------------------------------------------

    def _write_batch(self, envelopes: list[Envelope]) -> None:
        candidates = []
        for envelope in envelopes:
            job = SyncJob.model_validate(envelope.payload)
            key = JobKey(envelope.scene_id or "", job.revision, job.dry_run)
            candidates.append(((envelope, job), key))
        jobs, dropped = newest_jobs(candidates, self.state.latest_revision)
        for (envelope, job), newer in dropped:
            self._superseded(envelope, job, newer)
        groups = [
            [jobs[i] for i in group]
            for group in fetch_groups(
                [job.targets for _, job in jobs], limit=DETAIL_CHUNK, first=FIRST_READ
            )
        ]
        if not jobs or self._or_routed(jobs, self._server) is None:
            return  # connected here, on the gateway's thread, before any read is queued
        # Every group's read is queued first: the pool runs the next read while the writes of
        # the group before it hold the slots.
        reads = [(group, self._pool.submit(self._fetch_items, _keys(group))) for group in groups]
        writes: list[Future[None]] = []
        finished: list[Envelope] = []
        try:
            for group, read in reads:
                items = self._or_routed(group, read.result)
                if items is None:
                    continue
                written = self.state.written(_keys(group))
                writes += [
                    self._pool.submit(
                        self._guarded,
                        envelope,
                        partial(self._write, envelope, job, items, written, finished.append),
                    )
                    for envelope, job in group
                ]
        finally:
            for future in [read for _, read in reads] + writes:
                future.exception()  # a batch ends only when all its Plex I/O has
        for future in writes:
            future.result()  # a bug in one write fails the batch (handled one by one after)
        for done in finished:  # committed with the batch's ack, as the gateway's other sends
            self.send(INTAKE, done)

    def _or_routed(self, group: list[Job], plex_io: Callable[[], T]) -> T | None:
        """What ``plex_io`` returns, or None once its failure has sent the jobs where they go."""
        try:
            return plex_io()
        except BreakerOpenError as exc:
            for envelope, _ in group:
                self._defer(envelope, "breaker_open", "Plex circuit breaker is open", exc.trial_at)
        except PlexCallError as exc:
            for envelope, _ in group:
                self._route_failure(envelope, exc.failure)
        return None

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

    # -- one job ----------------------------------------------------------------------------------

    def _write(
        self,
        envelope: Envelope,
        job: SyncJob,
        items: dict[int, Any],
        written: dict[int, Written],
        finished: Callable[[Envelope], None],
    ) -> None:
        """Write one job's items; its ``sync.done`` goes to ``finished`` (sent by the batch)."""
        scene = StashScene.model_validate(job.scene)
        dry_run = job.dry_run or self.settings.dry_run
        batch = uuid.uuid4().hex
        changes = 0
        diff: list[dict[str, Any]] = []
        paths = {self._index.key(self.pathmap.map(file.path)) for file in scene.files}
        for key in job.targets:
            item = items.get(key)
            problem = target_problem(key, item, paths, self._index.key)
            if problem is not None:
                if item is None:
                    with self._index_lock:
                        self._index.remove_item(key)
                raise PlexCallError(problem)
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
        finished(envelope.derive(SYNC_DONE, done.model_dump(mode="json"), sender=PLEX_GATEWAY))

    def _sync_images(
        self, item: Any, plan: ItemPlan, prior: Written | None, job: SyncJob, batch: str
    ) -> tuple[str | None, str | None]:
        scene = StashScene.model_validate(job.scene)

        def journal(rows: list[tuple[str, Any, Any]]) -> None:
            self.state.journal(batch, plan.rating_key, scene.id, "write", rows, job_id=job.job_id)

        return sync_covers(
            item,
            plan,
            prior,
            has_cover=job.has_cover,
            download=cover_download(self.ctx.service("stash"), scene),
            call=self._call,
            journal=journal,
            uploaded_before=partial(self.state.uploaded_before, plan.rating_key),
        )


def _keys(group: list[Job]) -> list[int]:
    return sorted({key for _, job in group for key in job.targets})
