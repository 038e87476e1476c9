"""What PlexGateway remembers: what it owns on each item, poster hashes, the journal.

``written`` holds, per item, the fields stashplex owns and the value it last wrote to each
(:mod:`stashplex.sync.ownership`; collections: the names it added), which makes the ownership
rules possible: a person's edit in Plex is recognised (the item no longer shows what we wrote),
and a field we never wrote is never cleared. ``preserved`` lists the fields left alone for a
person's edit, until released. The journal (:mod:`stashplex.plex.journal`) keeps the old and new
value, the old lock and the old ownership of every field each write changed, so an operator
can see, and undo, what a sync did.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from stashplex.plex.journal import JournalRow
from stashplex.runtime.datadir import DataDir
from stashplex.runtime.store import KeyValue, Store, dumps, loads

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS written (
        rating_key INTEGER PRIMARY KEY, scene_id TEXT NOT NULL, revision INTEGER NOT NULL,
        fields TEXT NOT NULL, poster_source TEXT, poster_sha1 TEXT, written_at REAL NOT NULL,
        background_source TEXT, background_sha1 TEXT, preserved TEXT)""",
    """CREATE TABLE IF NOT EXISTS journal (
        id INTEGER PRIMARY KEY AUTOINCREMENT, batch TEXT NOT NULL, at REAL NOT NULL,
        rating_key INTEGER NOT NULL, scene_id TEXT, action TEXT NOT NULL, field TEXT NOT NULL,
        old TEXT, new TEXT, job_id TEXT, old_locked INTEGER, owned_before TEXT)""",
    "CREATE INDEX IF NOT EXISTS journal_item ON journal(rating_key, id)",
    # Latest-wins checks look up a scene's writes on every write: no scan that grows with it.
    "CREATE INDEX IF NOT EXISTS written_scene ON written(scene_id, revision)",
    *KeyValue.SCHEMA,
)
#: Columns added since the first release: (table, column, type). Older state files get them on
#: open; their rows keep NULL, which every reader takes as "not recorded".
_ADDED_COLUMNS = (
    ("written", "background_source", "TEXT"),
    ("written", "background_sha1", "TEXT"),
    ("written", "preserved", "TEXT"),
    ("journal", "job_id", "TEXT"),
    ("journal", "old_locked", "INTEGER"),
    ("journal", "owned_before", "TEXT"),
)
#: Indexes on added columns, created once the columns exist.
_LATE_INDEXES = (
    "CREATE INDEX IF NOT EXISTS journal_scene ON journal(scene_id, id)",
    "CREATE INDEX IF NOT EXISTS journal_job ON journal(job_id)",
    "CREATE INDEX IF NOT EXISTS journal_at ON journal(at)",
)


@dataclass
class Written:
    scene_id: str
    revision: int
    fields: dict[str, Any] = field(default_factory=dict)
    poster_source: str | None = None
    poster_sha1: str | None = None
    background_source: str | None = None
    background_sha1: str | None = None
    preserved: tuple[str, ...] = ()


class GatewayState:
    def __init__(self, data_dir: DataDir) -> None:
        self.store = Store(data_dir.state / "plex_gateway.db", SCHEMA)
        self.kv = KeyValue(self.store)
        self._add_columns()

    def _add_columns(self) -> None:
        """State written by an older version lacks some columns; add them."""
        tables = {
            table: {r["name"] for r in self.store.query(f"PRAGMA table_info({table})")}
            for table in ("written", "journal")
        }
        with self.store.transaction() as conn:
            for table, name, kind in _ADDED_COLUMNS:
                if name not in tables[table]:
                    conn.execute(f"ALTER TABLE {table} ADD COLUMN {name} {kind}")
            for statement in _LATE_INDEXES:
                conn.execute(statement)

    def written(self, rating_keys: Iterable[int]) -> dict[int, Written]:
        keys = list(rating_keys)
        if not keys:
            return {}
        marks = ",".join("?" * len(keys))
        rows = self.store.query(
            f"SELECT * FROM written WHERE rating_key IN ({marks})",  # noqa: S608 - placeholders only
            keys,
        )
        return {r["rating_key"]: _written(r) for r in rows}

    def written_where(self, *, scene_id: str | None = None) -> dict[int, Written]:
        """Every item stashplex wrote, or those of one scene."""
        if scene_id is None:
            rows = self.store.query("SELECT * FROM written")
        else:
            rows = self.store.query("SELECT * FROM written WHERE scene_id = ?", (scene_id,))
        return {r["rating_key"]: _written(r) for r in rows}

    def latest_revision(self, scene_id: str) -> int | None:
        return self.store.scalar(
            "SELECT MAX(revision) FROM written WHERE scene_id = ?", (scene_id,)
        )

    def uploaded_before(self, rating_key: int, field: str, digest: str) -> bool:
        """Whether the journal shows these image bytes uploaded to this item before."""
        return bool(
            self.store.scalar(
                "SELECT 1 FROM journal WHERE rating_key = ? AND field = ? AND new = ? LIMIT 1",
                (rating_key, field, dumps(digest)),
            )
        )

    def keys_of_scene(self, scene_id: str) -> list[int]:
        """The Plex items we last wrote this scene to (where to look when its file moved)."""
        rows = self.store.query("SELECT rating_key FROM written WHERE scene_id = ?", (scene_id,))
        return [int(row["rating_key"]) for row in rows]

    def record(self, rating_key: int, state: Written) -> None:
        with self.store.transaction() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO written(rating_key, scene_id, revision, fields,"
                " poster_source, poster_sha1, written_at, background_source, background_sha1,"
                " preserved) VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    rating_key,
                    state.scene_id,
                    state.revision,
                    dumps(state.fields),
                    state.poster_source,
                    state.poster_sha1,
                    time.time(),
                    state.background_source,
                    state.background_sha1,
                    dumps(list(state.preserved)),
                ),
            )

    def set_owned(self, rating_key: int, owned: dict[str, Any]) -> None:
        """Change what we own on an item (an undo, a release): ``None`` forgets a field."""
        with self.store.transaction() as conn:
            row = conn.execute(
                "SELECT fields, preserved FROM written WHERE rating_key = ?", (rating_key,)
            ).fetchone()
            if row is None:
                return
            fields, preserved = loads(row["fields"]), loads(row["preserved"]) or []
            for name, value in owned.items():
                if value is None:
                    fields.pop(name, None)
                    preserved = [p for p in preserved if p != name]
                else:
                    fields[name] = value
            conn.execute(
                "UPDATE written SET fields = ?, preserved = ? WHERE rating_key = ?",
                (dumps(fields), dumps(preserved), rating_key),
            )

    def journal(
        self,
        batch: str,
        rating_key: int,
        scene_id: str | None,
        action: str,
        entries: Iterable[JournalRow | tuple[str, Any, Any]],
        *,
        job_id: str | None = None,
    ) -> None:
        now = time.time()
        rows = []
        for entry in entries:
            row = entry if isinstance(entry, JournalRow) else JournalRow(*entry)
            locked = None if row.old_locked is None else int(row.old_locked)
            owned = None if row.owned_before is None else dumps(row.owned_before)
            rows.append(
                (batch, now, rating_key, scene_id, action, row.field, dumps(row.old),
                 dumps(row.new), job_id, locked, owned)
            )  # fmt: skip
        with self.store.transaction() as conn:
            conn.executemany(
                "INSERT INTO journal(batch, at, rating_key, scene_id, action, field, old, new,"
                " job_id, old_locked, owned_before) VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )


def _written(row: Any) -> Written:
    return Written(
        row["scene_id"],
        row["revision"],
        loads(row["fields"]),
        row["poster_source"],
        row["poster_sha1"],
        row["background_source"],
        row["background_sha1"],
        tuple(loads(row["preserved"]) or ()),
    )
