"""What PlexGateway remembers: the values it last wrote per item, poster hashes, the journal.

``written`` makes two promises possible: a person's edit in Plex is recognised (the item no
longer shows what we wrote), and a poster is uploaded only when its bytes changed. The journal
keeps the old and new value of every field each write replaced, so an operator can see, and
undo, what a sync did to an item.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from stashplex.runtime.datadir import DataDir
from stashplex.runtime.store import KeyValue, Store, dumps, loads

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS written (
        rating_key INTEGER PRIMARY KEY, scene_id TEXT NOT NULL, revision INTEGER NOT NULL,
        fields TEXT NOT NULL, poster_source TEXT, poster_sha1 TEXT, written_at REAL NOT NULL,
        background_source TEXT, background_sha1 TEXT)""",
    """CREATE TABLE IF NOT EXISTS journal (
        id INTEGER PRIMARY KEY AUTOINCREMENT, batch TEXT NOT NULL, at REAL NOT NULL,
        rating_key INTEGER NOT NULL, scene_id TEXT, action TEXT NOT NULL, field TEXT NOT NULL,
        old TEXT, new TEXT)""",
    "CREATE INDEX IF NOT EXISTS journal_item ON journal(rating_key, id)",
    # Latest-wins checks look up a scene's writes on every write: no scan that grows with it.
    "CREATE INDEX IF NOT EXISTS written_scene ON written(scene_id, revision)",
    *KeyValue.SCHEMA,
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


class GatewayState:
    def __init__(self, data_dir: DataDir) -> None:
        self.store = Store(data_dir.state / "plex_gateway.db", SCHEMA)
        self.kv = KeyValue(self.store)
        self._add_background_columns()

    def _add_background_columns(self) -> None:
        """State written before backgrounds were synced lacks their columns; add them."""
        columns = {r["name"] for r in self.store.query("PRAGMA table_info(written)")}
        with self.store.transaction() as conn:
            for name in ("background_source", "background_sha1"):
                if name not in columns:
                    conn.execute(f"ALTER TABLE written ADD COLUMN {name} TEXT")

    def written(self, rating_keys: Iterable[int]) -> dict[int, Written]:
        keys = list(rating_keys)
        if not keys:
            return {}
        marks = ",".join("?" * len(keys))
        rows = self.store.query(
            f"SELECT * FROM written WHERE rating_key IN ({marks})",  # noqa: S608 - placeholders only
            keys,
        )
        return {
            r["rating_key"]: Written(
                r["scene_id"],
                r["revision"],
                loads(r["fields"]),
                r["poster_source"],
                r["poster_sha1"],
                r["background_source"],
                r["background_sha1"],
            )
            for r in rows
        }

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
                " poster_source, poster_sha1, written_at, background_source, background_sha1)"
                " VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
                ),
            )

    def journal(
        self,
        batch: str,
        rating_key: int,
        scene_id: str | None,
        action: str,
        entries: Iterable[tuple[str, Any, Any]],
    ) -> None:
        now = time.time()
        with self.store.transaction() as conn:
            conn.executemany(
                "INSERT INTO journal(batch, at, rating_key, scene_id, action, field, old, new)"
                " VALUES(?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (batch, now, rating_key, scene_id, action, f, dumps(old), dumps(new))
                    for f, old, new in entries
                ],
            )


def journal_entries(store: Store, rating_key: int, limit: int = 200) -> list[dict[str, Any]]:
    rows = store.query(
        "SELECT * FROM journal WHERE rating_key = ? ORDER BY id DESC LIMIT ?", (rating_key, limit)
    )
    return [
        {
            "id": r["id"],
            "batch": r["batch"],
            "at": r["at"],
            "scene_id": r["scene_id"],
            "action": r["action"],
            "field": r["field"],
            "old": loads(r["old"]),
            "new": loads(r["new"]),
        }
        for r in rows
    ]


def last_write(store: Store, rating_key: int) -> list[dict[str, Any]]:
    """The entries of the most recent real write to an item (what ``journal undo`` reverts)."""
    batch = store.scalar(
        "SELECT batch FROM journal WHERE rating_key = ? AND action IN ('write', 'undo')"
        " ORDER BY id DESC LIMIT 1",
        (rating_key,),
    )
    if batch is None:
        return []
    return [e for e in journal_entries(store, rating_key, 10_000) if e["batch"] == batch]


def undo_params(entries: list[dict[str, Any]]) -> dict[str, str]:
    """The edit that puts back what a journaled write replaced (posters are not reverted).

    The restored values are locked too: an undo is a deliberate edit that an agent refresh
    should not overwrite.
    """
    from stashplex.sync.fieldmap import FieldChange
    from stashplex.sync.plexedit import edit_params

    def form(value: Any) -> Any:
        return tuple(value) if isinstance(value, list) else value

    fields = [e for e in entries if e["field"] != "poster"]
    if not fields:
        return {}
    changes = [
        FieldChange(field=e["field"], old=form(e["new"]), new=form(e["old"])) for e in fields
    ]
    return edit_params(changes, {e["field"]: form(e["new"]) for e in fields})
