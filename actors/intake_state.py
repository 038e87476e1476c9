"""Intake's durable state: pending events, what was last synced, sync-job progress, the cursor.

``pending`` is where coalescing happens: many hook events for one scene collapse into one row
(latest wins) until Intake turns the pending set into jobs. ``synced`` holds the fingerprint of
each scene's last successful sync (so an unchanged scene is not sent to Plex again) and when we
last fetched it (so an event older than that fetch is already reflected and can be dropped).
``jobs`` is what ``stashplex sync`` and the Stash tasks follow. ``scene_links`` is what each
scene linked to at its last read, for the merges and deletes Stash can no longer answer for.
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass
from typing import Any

from stashplex.runtime.datadir import DataDir
from stashplex.runtime.store import KeyValue, Store, dumps, loads

#: A scene's dry-run diff: its id and the field changes a write would make.
SceneDiff = tuple[str, list[dict[str, Any]]]

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS pending (
        scene_id TEXT PRIMARY KEY, received_at REAL NOT NULL, job_id TEXT,
        dry_run INTEGER NOT NULL DEFAULT 0, force INTEGER NOT NULL DEFAULT 0,
        events INTEGER NOT NULL DEFAULT 1)""",
    """CREATE TABLE IF NOT EXISTS synced (
        scene_id TEXT PRIMARY KEY, fingerprint TEXT, revision INTEGER, fetched_at REAL,
        synced_at REAL, status TEXT, rating_keys TEXT, emitted_fingerprint TEXT,
        failed_fingerprint TEXT)""",
    """CREATE TABLE IF NOT EXISTS jobs (
        job_id TEXT PRIMARY KEY, mode TEXT NOT NULL, created_at REAL NOT NULL,
        dry_run INTEGER NOT NULL, total INTEGER NOT NULL DEFAULT 0,
        queued INTEGER NOT NULL DEFAULT 0, skipped INTEGER NOT NULL DEFAULT 0,
        done INTEGER NOT NULL DEFAULT 0, failed INTEGER NOT NULL DEFAULT 0,
        changes INTEGER NOT NULL DEFAULT 0, enumerated INTEGER NOT NULL DEFAULT 0,
        error TEXT, finished_at REAL, superseded INTEGER NOT NULL DEFAULT 0)""",
    "CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL)",
    """CREATE TABLE IF NOT EXISTS job_diffs (
        job_id TEXT NOT NULL, scene_id TEXT NOT NULL, diff TEXT NOT NULL)""",
    # Which performers, studio, tags and groups each scene had at its last read: after a
    # destroy, Stash no longer knows (see stashplex.sync.related).
    """CREATE TABLE IF NOT EXISTS scene_links (
        kind TEXT NOT NULL, object_id TEXT NOT NULL, scene_id TEXT NOT NULL,
        PRIMARY KEY (kind, object_id, scene_id))""",
    "CREATE INDEX IF NOT EXISTS scene_links_scene ON scene_links(scene_id)",
    *KeyValue.SCHEMA,
)


@dataclass(frozen=True)
class Pending:
    scene_id: str
    received_at: float
    job_id: str | None
    dry_run: bool
    force: bool


#: Columns added since the first release: (table, column, declaration).
_ADDED_COLUMNS = (
    ("jobs", "written", "INTEGER NOT NULL DEFAULT 0"),
    ("jobs", "superseded", "INTEGER NOT NULL DEFAULT 0"),
    # A cancelled job: when, and how many of its jobs in flight were dropped before Plex.
    ("jobs", "cancelled_at", "REAL"),
    ("jobs", "cancelled", "INTEGER NOT NULL DEFAULT 0"),
    # The last scene id a walk has counted: a walk served again (the host died mid-walk)
    # goes on after it instead of counting the library twice.
    ("jobs", "walked_to", "INTEGER"),
    # The sync job that last sent the scene (what a cancel of that job takes back).
    ("synced", "job_id", "TEXT"),
)


class SyncState:
    def __init__(self, data_dir: DataDir) -> None:
        self.store = Store(data_dir.state / "intake.db", SCHEMA)
        self.kv = KeyValue(self.store)
        self._add_columns()

    def _add_columns(self) -> None:
        """State written by an older version lacks some columns; add them."""
        for table, name, declaration in _ADDED_COLUMNS:
            have = {r["name"] for r in self.store.query(f"PRAGMA table_info({table})")}
            if name in have:
                continue
            try:
                with self.store.transaction() as conn:
                    conn.execute(f"ALTER TABLE {table} ADD COLUMN {name} {declaration}")
            except sqlite3.OperationalError as exc:  # another connection added it meanwhile
                if "duplicate column" not in str(exc):
                    raise

    # -- pending ---------------------------------------------------------------------------

    def add_pending(
        self,
        scene_id: str,
        received_at: float,
        *,
        job_id: str | None = None,
        dry_run: bool = False,
        force: bool = False,
    ) -> None:
        # Coalescing: the newest explicit job owns the scene, and a real change is never
        # turned into a dry run by a dry run that happens to arrive with it (nor hidden by one).
        with self.store.transaction() as conn:
            conn.execute(
                "INSERT INTO pending(scene_id, received_at, job_id, dry_run, force) "
                "VALUES(?, ?, ?, ?, ?) ON CONFLICT(scene_id) DO UPDATE SET "
                "received_at = MAX(received_at, excluded.received_at), "
                "job_id = COALESCE(excluded.job_id, job_id), "
                "dry_run = MIN(dry_run, excluded.dry_run), force = MAX(force, excluded.force), "
                "events = events + 1",
                (scene_id, received_at, job_id, int(dry_run), int(force)),
            )

    def cancel_pending(self, scene_id: str) -> bool:
        with self.store.transaction() as conn:
            return conn.execute("DELETE FROM pending WHERE scene_id = ?", (scene_id,)).rowcount > 0

    def pending(self, limit: int = 10_000) -> list[Pending]:
        rows = self.store.query("SELECT * FROM pending ORDER BY received_at LIMIT ?", (limit,))
        return [
            Pending(
                r["scene_id"], r["received_at"], r["job_id"], bool(r["dry_run"]), bool(r["force"])
            )
            for r in rows
        ]

    def pending_count(self) -> int:
        return int(self.store.scalar("SELECT COUNT(*) FROM pending") or 0)

    def clear_pending(self, scene_ids: list[str]) -> None:
        with self.store.transaction() as conn:
            conn.executemany("DELETE FROM pending WHERE scene_id = ?", [(s,) for s in scene_ids])

    # -- synced ----------------------------------------------------------------------------

    def synced(self, scene_ids: list[str]) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for start in range(0, len(scene_ids), 900):
            chunk = scene_ids[start : start + 900]
            marks = ",".join("?" * len(chunk))
            for row in self.store.query(
                f"SELECT * FROM synced WHERE scene_id IN ({marks})",  # noqa: S608 - placeholders only
                chunk,
            ):
                out[row["scene_id"]] = dict(row)
        return out

    def mark_fetched(
        self, fetched: dict[str, tuple[int, str]], at: float, job_id: str | None = None
    ) -> None:
        """Scenes were read from Stash at ``at`` and emitted as (revision, fingerprint)."""
        with self.store.transaction() as conn:
            conn.executemany(
                "INSERT INTO synced(scene_id, fetched_at, revision, emitted_fingerprint, job_id) "
                "VALUES(?, ?, ?, ?, ?) ON CONFLICT(scene_id) DO UPDATE SET "
                "fetched_at = excluded.fetched_at, revision = excluded.revision, "
                "emitted_fingerprint = excluded.emitted_fingerprint, job_id = excluded.job_id",
                [(scene_id, at, rev, fp, job_id) for scene_id, (rev, fp) in fetched.items()],
            )

    def ride(self, scene_ids: list[str], job_id: str | None) -> None:
        """These scenes were left to a job of another sync already on its way to Plex (or a
        hook was dropped as older than its read): that job no longer carries them alone, so a
        cancel of it does not take them back, and if it dropped them they are pended again."""
        with self.store.transaction() as conn:
            conn.executemany(
                "UPDATE synced SET job_id = NULL WHERE scene_id = ? AND job_id IS NOT ? "
                "AND emitted_fingerprint IS NOT NULL",
                [(scene_id, job_id) for scene_id in scene_ids],
            )

    def forget_in_flight(self) -> None:
        """Jobs thought to be in flight may be gone (a lost mailbox): let them be sent again."""
        with self.store.transaction() as conn:
            conn.execute("UPDATE synced SET emitted_fingerprint = NULL")

    def mark_done(
        self, scene_id: str, fingerprint: str, revision: int, status: str, rating_keys: list[int]
    ) -> None:
        """A job ended: success records what Plex now shows; failure remembers what failed.

        Either way the job is no longer in flight, unless a newer one for the scene is.
        """
        latest = self.store.scalar("SELECT revision FROM synced WHERE scene_id = ?", (scene_id,))
        ended_newest = latest is None or revision >= latest
        with self.store.transaction() as conn:
            if status in ("written", "unchanged"):
                conn.execute(
                    "INSERT INTO synced(scene_id, fingerprint, synced_at, status, rating_keys) "
                    "VALUES(?, ?, ?, ?, ?) ON CONFLICT(scene_id) DO UPDATE SET "
                    "fingerprint = excluded.fingerprint, synced_at = excluded.synced_at, "
                    "status = excluded.status, rating_keys = excluded.rating_keys, "
                    "failed_fingerprint = NULL",
                    (scene_id, fingerprint, time.time(), status, dumps(rating_keys)),
                )
            elif status == "dead_letter":
                conn.execute(
                    "UPDATE synced SET failed_fingerprint = ?, status = ? WHERE scene_id = ?",
                    (fingerprint, status, scene_id),
                )
            if ended_newest:
                conn.execute(
                    "UPDATE synced SET emitted_fingerprint = NULL WHERE scene_id = ?", (scene_id,)
                )

    def next_revisions(self, count: int) -> int:
        """Reserve ``count`` revisions; returns the first.

        Revisions must never go back, or PlexGateway and the Scheduler, which remember the
        newest revision per scene, drop every later write as stale. The counter alone would
        restart at 1 if this file were lost; so a revision is also at least the current time in
        microseconds, above anything any store saw before the loss (a sync reserving a million
        revisions runs one second ahead of the clock), while the counter keeps them growing
        should the clock stand still or step back.
        """
        floor = time.time_ns() // 1000
        with self.store.transaction() as conn:
            row = conn.execute("SELECT value FROM kv WHERE key = 'revision'").fetchone()
            first = max((loads(row[0]) if row else 0) + 1, floor)
            conn.execute(
                "INSERT INTO kv(key, value) VALUES('revision', ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (dumps(first + count - 1),),
            )
        return first

    # -- links to performers, studios, tags and groups ----------------------------------------

    def record_links(self, links: dict[str, set[tuple[str, str]]]) -> None:
        """These scenes were just read: their links replace what they had at the last read."""
        if not links:
            return
        with self.store.transaction() as conn:
            conn.executemany("DELETE FROM scene_links WHERE scene_id = ?", [(s,) for s in links])
            conn.executemany(
                "INSERT OR IGNORE INTO scene_links(kind, object_id, scene_id) VALUES(?, ?, ?)",
                [(kind, obj, scene) for scene, pairs in links.items() for kind, obj in pairs],
            )

    def scenes_linked_to(self, pairs: list[tuple[str, str]]) -> list[str]:
        """The scenes that carried any of these (kind, id) at their last read."""
        found: set[str] = set()
        for kind, object_id in pairs:
            found.update(
                r["scene_id"]
                for r in self.store.query(
                    "SELECT scene_id FROM scene_links WHERE kind = ? AND object_id = ?",
                    (kind, object_id),
                )
            )
        return sorted(found, key=lambda s: (len(s), s))

    def forget_links(self, scene_ids: list[str]) -> None:
        with self.store.transaction() as conn:
            conn.executemany(
                "DELETE FROM scene_links WHERE scene_id = ?", [(s,) for s in scene_ids]
            )

    # -- counters (for status and for tests that prove nothing was lost) -------------------

    def bump_counters(self, deltas: dict[str, int]) -> None:
        deltas = {k: v for k, v in deltas.items() if v}
        if not deltas:
            return
        with self.store.transaction() as conn:
            conn.executemany(
                "INSERT INTO counters(name, value) VALUES(?, ?) "
                "ON CONFLICT(name) DO UPDATE SET value = value + excluded.value",
                list(deltas.items()),
            )

    # -- jobs ------------------------------------------------------------------------------

    def create_job(self, job_id: str, mode: str, *, dry_run: bool) -> None:
        with self.store.transaction() as conn:
            conn.execute(
                "INSERT OR IGNORE INTO jobs(job_id, mode, created_at, dry_run) VALUES(?, ?, ?, ?)",
                (job_id, mode, time.time(), int(dry_run)),
            )

    def job_row(self, job_id: str | None) -> dict[str, Any] | None:
        rows = self.store.query("SELECT * FROM jobs WHERE job_id = ?", (job_id,)) if job_id else []
        return dict(rows[0]) if rows else None

    def walked(self, job_id: str | None, to_id: int, **counts: int) -> None:
        """A page of a walk is counted: its counts and the last scene id, in one commit."""
        if not job_id:
            return
        sets = "".join(f", {name} = {name} + ?" for name in counts)
        with self.store.transaction() as conn:
            conn.execute(
                f"UPDATE jobs SET walked_to = ?{sets} WHERE job_id = ?",  # noqa: S608
                (to_id, *counts.values(), job_id),
            )

    def cancel_job(self, job_id: str) -> tuple[dict[str, int], int]:
        """Mark the job cancelled and take back what has not left Intake. Returns the revisions
        to supersede (its scenes on their way to Plex that it alone carries, each one above the
        job's own, so no newer job is touched) and how many pending scenes were dropped. A
        pending scene a hook event joined stays pending: the cancel is of the job, not the edit.
        """
        with self.store.transaction() as conn:
            conn.execute(
                "UPDATE jobs SET cancelled_at = ?, enumerated = 1 "
                "WHERE job_id = ? AND cancelled_at IS NULL",
                (time.time(), job_id),
            )
            dropped = conn.execute(
                "DELETE FROM pending WHERE job_id = ? AND events <= 1", (job_id,)
            ).rowcount
            conn.execute("UPDATE pending SET job_id = NULL WHERE job_id = ?", (job_id,))
            rows = conn.execute(
                "SELECT scene_id, revision FROM synced WHERE job_id = ? "
                "AND emitted_fingerprint IS NOT NULL",
                (job_id,),
            ).fetchall()
            self._finish_if_done(conn, job_id)
        return {r[0]: int(r[1]) + 1 for r in rows}, dropped

    def cancelled_jobs(self) -> set[str]:
        """Cancelled jobs not yet seen to finish (what a new host must still drop)."""
        return {
            r["job_id"]
            for r in self.store.query(
                "SELECT job_id FROM jobs WHERE cancelled_at IS NOT NULL AND finished_at IS NULL"
            )
        }

    def bump_job(self, job_id: str | None, *, diff: SceneDiff | None = None, **counts: int) -> bool:
        """Add to a job's counters (and a scene's dry-run diff, in the same transaction: whoever
        sees the job finished must find the last scene's diff too); True when that finished it."""
        if not job_id or not counts:
            return False
        sets = ", ".join(f"{name} = {name} + ?" for name in counts)
        with self.store.transaction() as conn:
            conn.execute(
                f"UPDATE jobs SET {sets} WHERE job_id = ?",  # noqa: S608
                (*counts.values(), job_id),
            )
            if diff is not None:
                conn.execute(
                    "INSERT INTO job_diffs(job_id, scene_id, diff) VALUES(?, ?, ?)",
                    (job_id, diff[0], dumps(diff[1])),
                )
            return self._finish_if_done(conn, job_id)

    def job_enumerated(self, job_id: str | None, error: str | None = None) -> bool:
        """Every scene of the job was read; True when that finished the job."""
        if not job_id:
            return False
        with self.store.transaction() as conn:
            conn.execute(
                "UPDATE jobs SET enumerated = 1, error = ? WHERE job_id = ?", (error, job_id)
            )
            return self._finish_if_done(conn, job_id)

    @staticmethod
    def _finish_if_done(conn: Any, job_id: str) -> bool:
        return bool(
            conn.execute(
                "UPDATE jobs SET finished_at = ? WHERE job_id = ? AND finished_at IS NULL "
                "AND enumerated = 1 AND done + failed + superseded + cancelled >= queued",
                (time.time(), job_id),
            ).rowcount
        )


def job_progress(store: Store, job_id: str, *, with_diffs: bool = False) -> dict[str, Any] | None:
    rows = store.query("SELECT * FROM jobs WHERE job_id = ?", (job_id,))
    if not rows:
        return None
    job = dict(rows[0])
    handled = job["done"] + job["failed"] + job["skipped"] + job["superseded"] + job["cancelled"]
    job["progress"] = (
        1.0 if job["finished_at"] else (handled / job["total"] if job["total"] else 0.0)
    )
    job["finished"] = job["finished_at"] is not None
    if with_diffs:
        job["diffs"] = [
            {"scene_id": r["scene_id"], "changes": loads(r["diff"])}
            for r in store.query("SELECT * FROM job_diffs WHERE job_id = ?", (job_id,))
        ]
    return job


def counters(store: Store) -> dict[str, int]:
    return {r["name"]: r["value"] for r in store.query("SELECT name, value FROM counters")}


def last_sync_at(store: Store) -> float | None:
    return store.scalar(
        "SELECT MAX(synced_at) FROM synced WHERE status IN ('written', 'unchanged')"
    )
