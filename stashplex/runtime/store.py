"""Small SQLite stores that actors keep their durable state in (timers, dead letters, sync state).

Mailboxes are queues; these are tables an actor looks things up in. Each actor owns its own
file and is its only writer; other threads (the control socket answering ``status`` or
``dlq list``) read through their own connection, which WAL makes safe without blocking the
writer. Values are JSON text, never pickle.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from stashplex.runtime.corruption import is_corruption, set_aside
from stashplex.runtime.private_files import prepare_dir, prepare_sqlite

log = logging.getLogger(__name__)


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def loads(text: str | None) -> Any:
    return None if text is None else json.loads(text)


class Store:
    """A SQLite file with a schema, one connection per thread, and corruption handling."""

    def __init__(
        self, path: Path, schema: Sequence[str], *, sync: str = "normal", busy_s: float = 30.0
    ) -> None:
        self.path = path
        self._busy_s = busy_s
        self._schema = schema
        self._sync = sync
        self._local = threading.local()
        self._lock = threading.Lock()
        #: Where a damaged file was moved on open, so its owner can rebuild what it held.
        self.set_aside_to: Path | None = None
        prepare_dir(path.parent)
        prepare_sqlite(path)  # a link or folder there is set aside, never followed
        try:
            self._init_schema()
        except sqlite3.DatabaseError as exc:
            if not is_corruption(exc):
                raise
            self._forget_connection()
            moved = set_aside(path, exc)
            self.set_aside_to = moved
            log.error("store %s was unreadable (%s); moved it aside to %s", path, exc, moved)
            self._init_schema()

    def _init_schema(self) -> None:
        conn = self.connection()
        if conn.execute("PRAGMA quick_check").fetchone()[0] != "ok":
            raise sqlite3.DatabaseError("integrity check failed")
        with conn:
            for statement in self._schema:
                conn.execute(statement)

    def _forget_connection(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
        self._local = threading.local()

    def connection(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=self._busy_s, isolation_level=None)
            conn.row_factory = sqlite3.Row
            self._enter_wal(conn)
            conn.execute(f"PRAGMA synchronous={self._sync.upper()}")
            conn.execute("PRAGMA cache_size=-512")  # KiB; actor state is small and hot
            self._local.conn = conn
        return conn

    def _enter_wal(self, conn: sqlite3.Connection) -> None:
        """Switch to WAL, waiting out a peer that holds the file during its own WAL recovery.

        SQLite answers this pragma "database is locked" at once, without its busy handler,
        while another connection is opening the same WAL; that is a wait, not a failure.
        """
        deadline = time.monotonic() + self._busy_s
        while True:
            try:
                conn.execute("PRAGMA journal_mode=WAL")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.01)

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        conn = self.connection()
        with self._lock:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        return self.connection().execute(sql, params).fetchall()

    def scalar(self, sql: str, params: Sequence[Any] = ()) -> Any:
        row = self.connection().execute(sql, params).fetchone()
        return None if row is None else row[0]

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None


class KeyValue:
    """A JSON key-value table inside a :class:`Store` (cursors, snapshots, small state)."""

    SCHEMA = ("CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT NOT NULL)",)

    def __init__(self, store: Store) -> None:
        self.store = store

    def get(self, key: str, default: Any = None) -> Any:
        value = self.store.scalar("SELECT value FROM kv WHERE key = ?", (key,))
        return default if value is None else loads(value)

    def set(self, key: str, value: Any) -> None:
        with self.store.transaction() as conn:
            conn.execute(
                "INSERT INTO kv(key, value) VALUES(?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (key, dumps(value)),
            )
