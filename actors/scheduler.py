"""Scheduler: owns every timer — retries with backoff, breaker waits, recurring ticks.

Contract (consumes):
  ``retry.schedule`` (:class:`~actors.messages.RetrySchedule`): store the job with a due time.
      transient / not_found spend one retry of their policy; past it the job goes to
      DeadLetter with its whole history. breaker_open waits for the breaker's trial time and
      spends nothing.
  ``timer.supersede`` (:class:`~actors.messages.TimerSupersede`): newer jobs exist for these
      scenes; pending retries older than them are dropped, and so are late arrivals.
Emits: the stored job to its own mailbox when due; ``dead_letter.job``; recurring
``intake.catchup``, ``intake.reconcile`` (every ``reconcile_interval_hours``, none when 0) and
``dead_letter.cleanup``.

Timers live in SQLite, so they survive restarts: overdue ones fire at once on start, the rest
at their time. Waiting is a single ``threading.Timer`` armed for the earliest due time, which
only rings the actor; no polling loop, no nack hot-loop.
"""

from __future__ import annotations

import logging
import random
import threading
import time
import uuid
from typing import Any, ClassVar

import pykka

from actors.addresses import DEAD_LETTER, INTAKE, SCHEDULER
from actors.base import POISON_KIND, MailboxActor
from actors.messages import (
    DEAD_LETTER_CLEANUP,
    INTAKE_CATCHUP,
    INTAKE_RECONCILE,
    RETRY_SCHEDULE,
    TIMER_RELEASE,
    TIMER_SET,
    TIMER_SUPERSEDE,
    Attempt,
    JobRef,
    RetrySchedule,
    TimerSet,
    TimerSupersede,
    dead_letter_envelope,
    job_ended_envelope,
)
from stashplex.runtime.datadir import DataDir
from stashplex.runtime.envelope import Envelope
from stashplex.runtime.mailbox import MailboxError
from stashplex.runtime.store import Store, dumps, loads
from stashplex.sync.backoff import RetryPolicy, backoff_delay

log = logging.getLogger(__name__)

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS timers (
        id TEXT PRIMARY KEY, scene_id TEXT, revision INTEGER, due_at REAL NOT NULL,
        reason TEXT NOT NULL, job TEXT NOT NULL, every_s REAL, created_at REAL NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS timers_due ON timers(due_at)",
    "CREATE INDEX IF NOT EXISTS timers_scene ON timers(scene_id)",
    "CREATE TABLE IF NOT EXISTS revisions (scene_id TEXT PRIMARY KEY, revision INTEGER NOT NULL)",
)

#: The recurring timer of the whole-library reconciliation (``reconcile_interval_hours``).
RECONCILE_TIMER = "reconcile"
#: Timers fired per tick; the rest follow on the next tick right away.
FIRE_BATCH = 500
DAY_S = 86_400.0
_TICK = "tick"


def open_store(data_dir: DataDir) -> Store:
    return Store(data_dir.state / "scheduler.db", SCHEMA)


def timer_summary(store: Store) -> dict[str, Any]:
    """For ``status``: how many timers wait, for what, and when the next one fires."""
    rows = store.query("SELECT reason, COUNT(*) AS n FROM timers GROUP BY reason")
    next_due = store.scalar("SELECT MIN(due_at) FROM timers WHERE every_s IS NULL")
    return {
        "scheduled": sum(r["n"] for r in rows if r["reason"] != "recurring"),
        "by_reason": {r["reason"]: r["n"] for r in rows if r["reason"] != "recurring"},
        "next_retry_in_s": None if next_due is None else round(max(0.0, next_due - time.time()), 1),
    }


def next_due(store: Store) -> tuple[int, float | None, str]:
    """For the host's idle check: how many one-off timers wait (retries, breaker waits, Plex
    rechecks: work in progress), and when and for what the earliest recurring one fires."""
    pending = int(store.scalar("SELECT COUNT(*) FROM timers WHERE every_s IS NULL") or 0)
    rows = store.query(
        "SELECT id, due_at FROM timers WHERE every_s IS NOT NULL ORDER BY due_at LIMIT 1"
    )
    if not rows:
        return pending, None, ""
    return pending, float(rows[0]["due_at"]), str(rows[0]["id"]).removeprefix("recurring:")


class Scheduler(MailboxActor):
    mailbox_name: ClassVar[str] = SCHEDULER
    batch_size: ClassVar[int] = 1

    def setup(self) -> None:
        settings = self.ctx.service("settings")
        self.store = open_store(self.ctx.service("data_dir"))
        self.policies = {
            "transient": RetryPolicy(
                settings.transient_base_seconds,
                settings.transient_cap_seconds,
                settings.transient_retries,
            ),
            "not_found": RetryPolicy(
                settings.not_found_base_seconds,
                settings.not_found_cap_seconds,
                settings.not_found_retries,
            ),
        }
        self.rng = random.Random(self.ctx.services.get("rng_seed"))  # noqa: S311 - jitter
        self._timer: threading.Timer | None = None
        # Intake runs a catch-up pass and DeadLetter a clean-up when they start, so the first
        # ticks are one interval away: a second pass at once would only race the first.
        catchup_s = settings.catchup_interval_seconds
        self._ensure_recurring("catchup", INTAKE, INTAKE_CATCHUP, catchup_s, first_in=catchup_s)
        self._ensure_recurring(
            "dead-letter-retention", DEAD_LETTER, DEAD_LETTER_CLEANUP, DAY_S, first_in=DAY_S
        )
        reconcile_s = settings.reconcile_interval_hours * 3600
        if reconcile_s:
            # Its first run is one interval away, not now: a restart is no reason for a full pass.
            self._ensure_recurring(
                RECONCILE_TIMER, INTAKE, INTAKE_RECONCILE, reconcile_s, first_in=reconcile_s
            )
        else:
            self._drop_recurring(RECONCILE_TIMER)
        overdue = self.store.scalar("SELECT COUNT(*) FROM timers WHERE due_at <= ?", (time.time(),))
        total = self.store.scalar("SELECT COUNT(*) FROM timers")
        log.info("scheduler: %d timers stored, %d overdue fire now", total, overdue)
        self._fire_due()

    def teardown(self) -> None:
        self._cancel_timer()
        self.store.close()

    def on_failure(self, exc_type: Any, exc_value: Any, tb: Any) -> None:
        self._cancel_timer()
        super().on_failure(exc_type, exc_value, tb)

    # -- messages --------------------------------------------------------------------------

    def handle(self, envelope: Envelope) -> None:
        if envelope.kind == RETRY_SCHEDULE:
            self._schedule(RetrySchedule.model_validate(envelope.payload))
        elif envelope.kind == TIMER_SUPERSEDE:
            self._supersede(TimerSupersede.model_validate(envelope.payload))
        elif envelope.kind == TIMER_RELEASE:
            self._release(str(envelope.payload.get("reason", "")))
        elif envelope.kind == TIMER_SET:
            timer = TimerSet.model_validate(envelope.payload)
            self._insert(timer.job, timer.due_at, "timer", None, timer_id=timer.timer_id)
        else:
            super().handle(envelope)
        self._arm()

    def on_control(self, message: Any) -> Any:
        if message == _TICK:
            self._fire_due()
            return None
        return super().on_control(message)

    def _release(self, reason: str) -> None:
        """Plex answers again: the jobs that waited for the breaker go now, not at its trial."""
        now = time.time()
        with self.store.transaction() as conn:
            released = conn.execute(
                "UPDATE timers SET due_at = ? WHERE reason = ? AND due_at > ?", (now, reason, now)
            ).rowcount
        log.info("%d jobs waiting on %s released", released, reason)

    def _schedule(self, request: RetrySchedule) -> None:
        job = request.job
        payload = dict(job.payload)
        revision = payload.get("revision")
        if self._is_stale(job.scene_id, revision):
            log.info(
                "scene %s: retry of revision %s dropped, a newer job exists", job.scene_id, revision
            )
            self._report_superseded(job)
            return
        now = time.time()
        history = [Attempt.model_validate(a) for a in payload.get("history", [])]
        history.append(Attempt(at=now, reason=request.reason, error=request.error))
        payload["history"] = [a.model_dump() for a in history]
        if request.reason == "breaker_open":
            due = max(now, request.due_at or now)
        else:
            policy = self.policies[request.reason]
            retries_done = sum(1 for a in history if a.reason == request.reason)
            if retries_done > policy.max_retries:
                self._give_up(job, payload, history, request)
                return
            due = now + backoff_delay(policy, retries_done, self.rng)
        self._insert(job.model_copy(update={"payload": payload}), due, request.reason, revision)
        log.debug("scene %s: %s retry due in %.1f s", job.scene_id, request.reason, due - now)

    def _give_up(
        self, job: JobRef, payload: dict[str, Any], history: list[Attempt], request: RetrySchedule
    ) -> None:
        retries = sum(1 for a in history if a.reason == request.reason) - 1
        error = f"gave up after {retries} {request.reason} retries: {request.error}"
        job = job.model_copy(update={"payload": payload})
        self.send(DEAD_LETTER, dead_letter_envelope(request.reason, error, job))

    def _report_superseded(self, job: JobRef) -> None:
        """A dropped retry still ends its sync job; the newer job for the scene carries on."""
        ended = job_ended_envelope(job.scene_id, job.payload, "skipped")
        if ended is not None:
            self.send(INTAKE, ended)

    def _supersede(self, notice: TimerSupersede) -> None:
        for scene_id, revision in notice.revisions.items():
            # Reported before the timers are deleted: a crash in between re-reports, never loses.
            for row in self.store.query(
                "SELECT job FROM timers WHERE scene_id = ? AND revision < ? AND every_s IS NULL",
                (scene_id, revision),
            ):
                try:
                    self._report_superseded(JobRef.model_validate(loads(row["job"])))
                except ValueError as exc:
                    log.error("scene %s: unreadable superseded timer dropped (%s)", scene_id, exc)
        with self.store.transaction() as conn:
            for scene_id, revision in notice.revisions.items():
                conn.execute(
                    "INSERT INTO revisions(scene_id, revision) VALUES(?, ?) ON CONFLICT(scene_id) "
                    "DO UPDATE SET revision = MAX(revision, excluded.revision)",
                    (scene_id, revision),
                )
                dropped = conn.execute(
                    "DELETE FROM timers WHERE scene_id = ? AND revision < ? AND every_s IS NULL",
                    (scene_id, revision),
                ).rowcount
                if dropped:
                    log.info(
                        "scene %s: %d pending retry superseded by revision %d",
                        scene_id,
                        dropped,
                        revision,
                    )

    def _is_stale(self, scene_id: str | None, revision: Any) -> bool:
        if scene_id is None or not isinstance(revision, int):
            return False
        latest = self.store.scalar("SELECT revision FROM revisions WHERE scene_id = ?", (scene_id,))
        return latest is not None and revision < latest

    # -- timers ----------------------------------------------------------------------------

    def _insert(
        self,
        job: JobRef,
        due: float,
        reason: str,
        revision: Any,
        *,
        timer_id: str | None = None,
        every_s: float | None = None,
    ) -> None:
        with self.store.transaction() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO timers(id, scene_id, revision, due_at, reason, job,"
                " every_s, created_at) VALUES(?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    timer_id or uuid.uuid4().hex,
                    job.scene_id,
                    revision if isinstance(revision, int) else None,
                    due,
                    reason,
                    dumps(job.model_dump(mode="json")),
                    every_s,
                    time.time(),
                ),
            )

    def _ensure_recurring(
        self, name: str, to: str, kind: str, every_s: float, *, first_in: float = 0.0
    ) -> None:
        """Keep one recurring timer per name; a stored one with the same interval keeps its
        due time (so restarts neither skip nor repeat a run)."""
        timer_id = f"recurring:{name}"
        row = self.store.query("SELECT every_s FROM timers WHERE id = ?", (timer_id,))
        if row and row[0]["every_s"] == every_s:
            return
        self._insert(
            JobRef(to=to, kind=kind, payload={}),
            time.time() + first_in,
            "recurring",
            None,
            timer_id=timer_id,
            every_s=every_s,
        )

    def _drop_recurring(self, name: str) -> None:
        with self.store.transaction() as conn:
            conn.execute("DELETE FROM timers WHERE id = ?", (f"recurring:{name}",))

    def _fire_due(self) -> None:
        now = time.time()
        rows = self.store.query(
            "SELECT id, job, every_s FROM timers WHERE due_at <= ? ORDER BY due_at LIMIT ?",
            (now, FIRE_BATCH),
        )
        due: dict[str, list[tuple[Any, Envelope]]] = {}
        for row in rows:
            try:
                job = JobRef.model_validate(loads(row["job"]))
                if job.to not in self.ctx.post:
                    raise MailboxError(f"no mailbox named {job.to!r}")
            except (ValueError, MailboxError) as exc:
                # Runs in on_start too: one unreadable row must not crash every start for good.
                self._set_aside(row["id"], row["job"], exc)
                continue
            fired = Envelope(kind=job.kind, scene_id=job.scene_id, payload=job.payload)
            due.setdefault(job.to, []).append((row, fired))
        # Sent before the rows go: a crash in between fires a timer twice, never not at all.
        for to, pairs in due.items():
            self.send_many(to, [fired for _, fired in pairs])
        with self.store.transaction() as conn:
            for row, _ in (pair for pairs in due.values() for pair in pairs):
                if row["every_s"] is not None:
                    conn.execute(
                        "UPDATE timers SET due_at = ? WHERE id = ?",
                        (now + row["every_s"], row["id"]),
                    )
                else:
                    conn.execute("DELETE FROM timers WHERE id = ?", (row["id"],))
        self._arm()

    def _set_aside(self, timer_id: str, job_text: str, exc: Exception) -> None:
        log.error("scheduler: timer %s cannot be fired (%s); moved to dead letters", timer_id, exc)
        self.send(
            DEAD_LETTER,
            Envelope(
                kind=POISON_KIND,
                payload={
                    "mailbox": SCHEDULER,
                    "envelope": None,
                    "error": f"timer {timer_id} holds an unusable job {job_text!r}: {exc}",
                    "failed_at": time.time(),
                },
            ),
        )
        with self.store.transaction() as conn:
            conn.execute("DELETE FROM timers WHERE id = ?", (timer_id,))

    def _arm(self) -> None:
        """(Re)arm one timer for the earliest due time; it only rings the actor."""
        self._cancel_timer()
        due = self.store.scalar("SELECT MIN(due_at) FROM timers")
        if due is None or self._stopping:
            return
        delay = max(0.0, due - time.time())
        self._timer = threading.Timer(delay, self._tick)
        self._timer.daemon = True
        self._timer.start()

    def _tick(self) -> None:
        try:
            self.actor_ref.tell(_TICK)
        except pykka.ActorDeadError:  # its successor re-arms on start
            log.debug("scheduler tick after stop ignored")

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
