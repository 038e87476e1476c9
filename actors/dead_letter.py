"""DeadLetter: keeps every job that could not be done, for an operator to inspect and retry.

Contract (consumes):
  ``dead_letter.job`` (:class:`~actors.messages.DeadLetterJob`): a classified failure (retries
      exhausted, ambiguous match, permanent Plex error such as 401).
  ``dead_letter.poison`` / ``dead_letter.unknown``: a message that crashed its handler too often,
      or that no handler understands (sent by the actor shell, with the traceback).
  ``dead_letter.retry`` (:class:`~actors.messages.DeadLetterRetry`): by ids, by reason, or all.
  ``dead_letter.purge`` (:class:`~actors.messages.DeadLetterPurge`) and the scheduled
      ``dead_letter.cleanup`` (retention, default 30 days).
Emits: ``sync.request`` to Intake for a retried scene (fresh Stash data, fresh retry budget);
the original envelope back to its mailbox for a retried poison message; ``sync.done`` with
status ``dead_letter`` so a running sync's progress counts the failure.

Reads (list, show, counts) happen straight from the store on the control thread.
"""

from __future__ import annotations

import logging
import time
from typing import Any, ClassVar

from actors.addresses import DEAD_LETTER, INTAKE
from actors.base import POISON_KIND, UNKNOWN_KIND, MailboxActor
from actors.messages import (
    DEAD_LETTER_CLEANUP,
    DEAD_LETTER_JOB,
    DEAD_LETTER_PURGE,
    DEAD_LETTER_RETRY,
    MATCH_SCORE,
    SYNC_LOCATE,
    SYNC_REQUEST,
    SYNC_WRITE,
    DeadLetterJob,
    DeadLetterPurge,
    DeadLetterRetry,
    JobRef,
    SyncRequest,
    job_ended_envelope,
)
from actors.problem_reports import report_dead_letter
from stashplex.runtime.datadir import DataDir
from stashplex.runtime.envelope import Envelope
from stashplex.runtime.problems import DEAD_LETTERS, ProblemLog
from stashplex.runtime.store import Store, dumps, loads

log = logging.getLogger(__name__)

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS dead_letters (
        id INTEGER PRIMARY KEY AUTOINCREMENT, scene_id TEXT, reason TEXT NOT NULL,
        error TEXT NOT NULL, created_at REAL NOT NULL, history TEXT NOT NULL,
        candidates TEXT NOT NULL, job TEXT, envelope TEXT, job_id TEXT)""",
    "CREATE INDEX IF NOT EXISTS dead_letters_reason ON dead_letters(reason)",
    "CREATE INDEX IF NOT EXISTS dead_letters_created ON dead_letters(created_at)",
)
DAY_S = 86_400.0


#: Keys whose values are credentials: never kept in a dead letter, where `dlq show` prints them.
SECRET_KEYS = frozenset({"session_cookie", "api_key", "apikey", "plex_token", "token", "password"})


def without_secrets(value: Any) -> Any:
    """A copy with every credential set to None (a retried hook event simply has no cookie)."""
    if isinstance(value, dict):
        return {
            k: None if k.lower() in SECRET_KEYS else without_secrets(v) for k, v in value.items()
        }
    if isinstance(value, list):
        return [without_secrets(v) for v in value]
    return value


#: Kinds whose payload is a scene's sync job: a poisoned one still ends its sync job. Not
#: ``sync.done``: reporting a poisoned report would feed Intake the same message again.
JOB_KINDS = frozenset({SYNC_LOCATE, MATCH_SCORE, SYNC_WRITE})
#: Error texts quote the input they choke on (pydantic cuts it to its start and end), so any
#: start or end of a credential this long is taken out of them.
_SCRUB_MIN = 6


def secret_values_in(value: Any) -> list[str]:
    if isinstance(value, dict):
        found = []
        for k, v in value.items():
            if k.lower() in SECRET_KEYS and isinstance(v, str) and v:
                found.append(v)
            else:
                found += secret_values_in(v)
        return found
    if isinstance(value, list):
        return [s for v in value for s in secret_values_in(v)]
    return []


def scrub(text: str, secrets: list[str]) -> str:
    """``text`` without any credential, nor any start or end of one that a repr cut short."""
    for secret in secrets:
        pieces = {secret[:n] for n in range(_SCRUB_MIN, len(secret) + 1)}
        pieces |= {secret[-n:] for n in range(_SCRUB_MIN, len(secret) + 1)}
        for piece in sorted(pieces, key=len, reverse=True):
            text = text.replace(piece, "[redacted]")
    return text


def open_store(data_dir: DataDir) -> Store:
    return Store(data_dir.state / "dead_letters.db", SCHEMA)


def _row(row: Any, *, full: bool) -> dict[str, Any]:
    item = {
        "id": row["id"],
        "scene_id": row["scene_id"],
        "reason": row["reason"],
        "error": row["error"],
        "created_at": row["created_at"],
        "attempts": len(loads(row["history"])),
    }
    if full:
        item.update(
            history=loads(row["history"]),
            candidates=loads(row["candidates"]),
            job=loads(row["job"]),
            envelope=loads(row["envelope"]),
            job_id=row["job_id"],
        )
    return item


def list_dead_letters(
    store: Store,
    *,
    reason: str | None = None,
    older_than_s: float | None = None,
    newer_than_s: float | None = None,
    limit: int = 100,
) -> list[dict[str, Any]]:
    clauses, params = [], []
    now = time.time()
    if reason:
        clauses.append("reason = ?")
        params.append(reason)
    if older_than_s is not None:
        clauses.append("created_at <= ?")
        params.append(now - older_than_s)
    if newer_than_s is not None:
        clauses.append("created_at >= ?")
        params.append(now - newer_than_s)
    where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
    rows = store.query(
        f"SELECT * FROM dead_letters {where} ORDER BY id DESC LIMIT ?",  # noqa: S608
        [*params, limit],
    )
    return [_row(r, full=False) for r in rows]


def show_dead_letter(store: Store, item_id: int) -> dict[str, Any] | None:
    rows = store.query("SELECT * FROM dead_letters WHERE id = ?", (item_id,))
    return _row(rows[0], full=True) if rows else None


def counts_by_reason(store: Store) -> dict[str, int]:
    rows = store.query("SELECT reason, COUNT(*) AS n FROM dead_letters GROUP BY reason")
    return {r["reason"]: r["n"] for r in rows}


class DeadLetter(MailboxActor):
    mailbox_name: ClassVar[str] = DEAD_LETTER

    def setup(self) -> None:
        self.store = open_store(self.ctx.service("data_dir"))
        self.problems = ProblemLog(self.ctx.service("data_dir").root)
        self._cleanup()

    def teardown(self) -> None:
        self.store.close()

    def handle(self, envelope: Envelope) -> None:
        kind = envelope.kind
        if kind == DEAD_LETTER_JOB:
            self._store_job(envelope, DeadLetterJob.model_validate(envelope.payload))
        elif kind in (POISON_KIND, UNKNOWN_KIND):
            self._store_poison(envelope)
        elif kind == DEAD_LETTER_RETRY:
            self._retry(DeadLetterRetry.model_validate(envelope.payload))
        elif kind == DEAD_LETTER_PURGE:
            self._purge(DeadLetterPurge.model_validate(envelope.payload).older_than_days)
        elif kind == DEAD_LETTER_CLEANUP:
            self._cleanup()
        else:
            super().handle(envelope)

    def _insert(self, **values: Any) -> None:
        """One entry per scene: a scene that fails again replaces its older entry. Each is
        counted for Stash's log too (the problems record), until the hook reports them; a
        scene that fails again for the reason it is already a dead letter for is not news,
        and is not counted again (its edit came in twice, say, or a catch-up pass and a
        hook both sent it)."""
        known = False
        with self.store.transaction() as conn:
            if values.get("scene_id") and values.get("job") is not None:
                known = (
                    conn.execute(
                        "SELECT 1 FROM dead_letters WHERE scene_id = ? AND reason = ? "
                        "AND job IS NOT NULL AND job != 'null'",
                        (values["scene_id"], values["reason"]),
                    ).fetchone()
                    is not None
                )
                conn.execute(
                    "DELETE FROM dead_letters WHERE scene_id = ? AND job IS NOT NULL"
                    " AND job != 'null'",
                    (values["scene_id"],),
                )
            conn.execute(
                "INSERT INTO dead_letters(scene_id, reason, error, created_at, history, "
                "candidates, job, envelope, job_id) VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    values.get("scene_id"),
                    values["reason"],
                    values["error"],
                    time.time(),
                    dumps(values.get("history", [])),
                    dumps(values.get("candidates", [])),
                    dumps(values.get("job")),
                    dumps(values.get("envelope")),
                    values.get("job_id"),
                ),
            )
        if not known:
            report_dead_letter(self.problems, values["reason"])

    def _store_job(self, envelope: Envelope, job: DeadLetterJob) -> None:
        log.warning("scene %s dead-lettered (%s): %s", envelope.scene_id, job.reason, job.error)
        self._insert(
            scene_id=envelope.scene_id,
            reason=job.reason,
            error=job.error,
            history=[a.model_dump() for a in job.history],
            candidates=job.candidates,
            job=job.job.model_dump(mode="json") if job.job else None,
            job_id=job.job_id,
        )
        self._report_failed(envelope.scene_id, job.job.payload if job.job else {}, job.job_id)

    def _report_failed(self, scene_id: str | None, payload: dict[str, Any], job_id: Any) -> None:
        """Tell Intake a scene's job ended here, so its sync finishes and a re-sync re-sends it."""
        ended = job_ended_envelope(scene_id, {**payload, "job_id": job_id}, "dead_letter")
        if ended is not None:
            self.send(INTAKE, ended)

    def _store_poison(self, envelope: Envelope) -> None:
        payload = envelope.payload
        reason = "poison" if envelope.kind == POISON_KIND else "unknown"
        history = [
            {
                "at": payload.get("failed_at", time.time()),
                "reason": reason,
                "error": payload.get("error", ""),
            }
        ]
        secrets = secret_values_in(payload.get("envelope"))
        self._insert(
            scene_id=envelope.scene_id,
            reason=reason,
            error=scrub(f"{payload.get('mailbox')}: {payload.get('error', '')}", secrets),
            history=[{**h, "error": scrub(h["error"], secrets)} for h in history],
            envelope={
                "mailbox": payload.get("mailbox"),
                "envelope": without_secrets(payload.get("envelope")),
                "traceback": scrub(payload.get("traceback") or "", secrets) or None,
            },
        )
        original = payload.get("envelope")
        if (
            isinstance(original, dict)
            and original.get("kind") in JOB_KINDS
            and isinstance(original.get("payload"), dict)
        ):
            job = original["payload"]
            self._report_failed(original.get("scene_id"), job, job.get("job_id"))

    def _retry(self, request: DeadLetterRetry) -> None:
        if request.all:
            rows = self.store.query("SELECT * FROM dead_letters ORDER BY id")
        elif request.reason:
            rows = self.store.query(
                "SELECT * FROM dead_letters WHERE reason = ? ORDER BY id", (request.reason,)
            )
        else:
            marks = ",".join("?" * len(request.ids))
            rows = self.store.query(
                f"SELECT * FROM dead_letters WHERE id IN ({marks}) ORDER BY id",  # noqa: S608
                request.ids,
            )
        retried = 0
        for row in rows:
            if not self._resend(row):
                log.warning("dead letter %s holds nothing to retry; it is kept", row["id"])
                continue
            with self.store.transaction() as conn:
                conn.execute("DELETE FROM dead_letters WHERE id = ?", (row["id"],))
            retried += 1
        log.info("retried %d of %d dead letters", retried, len(rows))
        self._resolve_when_empty()

    def _resend(self, row: Any) -> bool:
        """Send a dead letter's work again; False if it holds nothing that can be sent."""
        stored = loads(row["envelope"])
        job = loads(row["job"])
        if stored and stored.get("envelope") and stored.get("mailbox"):
            original = Envelope.from_json(stored["envelope"]).model_copy(update={"attempt": 0})
            self.send(stored["mailbox"], original)
        elif row["scene_id"]:
            # A scene is synced afresh from Stash, with a fresh retry budget.
            request = SyncRequest(mode="scenes", scene_ids=[row["scene_id"]], force=True)
            self.send(
                INTAKE,
                Envelope(
                    kind=SYNC_REQUEST,
                    scene_id=row["scene_id"],
                    payload=request.model_dump(mode="json"),
                ),
            )
        elif job:
            # Work that is not a scene (an index rebuild, an undo) goes back as it was.
            ref = JobRef.model_validate(job)
            self.send(ref.to, Envelope(kind=ref.kind, payload=ref.payload))
        else:
            return False
        return True

    def _purge(self, older_than_days: float) -> None:
        cutoff = time.time() - older_than_days * DAY_S
        with self.store.transaction() as conn:
            removed = conn.execute(
                "DELETE FROM dead_letters WHERE created_at <= ?", (cutoff,)
            ).rowcount
        log.info("purged %d dead letters older than %g days", removed, older_than_days)
        self._resolve_when_empty()

    def _resolve_when_empty(self) -> None:
        """No dead letter left (all retried or purged): nothing left to tell about them."""
        if not self.store.scalar("SELECT COUNT(*) FROM dead_letters"):
            self.problems.resolve(DEAD_LETTERS)

    def _cleanup(self) -> None:
        self._purge(self.ctx.service("settings").dead_letter_retention_days)
