"""Jobs whose files Plex has not scanned yet wait here together, on one shared timer.

A Stash library scan fires ``Scene.Create.Post`` for every new file, usually before Plex has
scanned any of them. Sent each on its own not-found retry, 5,000 new files are 5,000 retry
chains: tens of thousands of timers, locates and matcher messages, and a scan request for
every folder on every wave. Instead, a locate that finds no Plex candidate at all *parks* its
job in PlexGateway's store (``awaiting``), and one Scheduler timer (``plex-awaiting``) brings
``plex.recheck``: the gateway refreshes its path index once (newest items first, stopping at
the first it knows) and sends on, in one batch, every parked job whose file is now there.

The timer backs off like the not-found policy while Plex adds nothing, and comes back after
one index refresh interval when something new parks or Plex added files. A job parked longer
than the not-found policy's whole wait goes to the dead letters, as its retries would have.
One row per scene, the newest job: an older job a newer one replaces is reported as skipped,
so the sync it belongs to still finishes. Dry runs are never parked.

Rows are deleted only after what replaces them (the released job, the dead letter, the
"skipped" report) is committed on its mailbox (``send_many`` commits at once), so a crash in
between sends a job twice, never loses it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from actors.addresses import DEAD_LETTER, INTAKE, MATCHER, PLEX_GATEWAY, SCHEDULER
from actors.messages import (
    MATCH_SCORE,
    PLEX_RECHECK,
    SYNC_LOCATE,
    Attempt,
    JobRef,
    dead_letter_envelope,
    job_ended_envelope,
    timer_envelope,
)
from stashplex.runtime.envelope import Envelope
from stashplex.runtime.store import KeyValue, Store, dumps, loads
from stashplex.sync.gateway_rules import recheck_delay, wait_budget

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS awaiting (
        scene_id TEXT PRIMARY KEY, revision INTEGER NOT NULL, payload TEXT NOT NULL,
        paths TEXT NOT NULL, created_at REAL NOT NULL, parked_at REAL NOT NULL)""",
    *KeyValue.SCHEMA,
)
RECHECK_TIMER_ID = "plex-awaiting"


@dataclass(frozen=True)
class Parked:
    scene_id: str
    revision: int
    payload: dict[str, Any]
    #: The scene's file paths as Stash has them (the gateway maps them).
    paths: list[str]
    created_at: float
    parked_at: float


class AwaitingPlex:
    """The parked jobs and the shared recheck timer; PlexGateway does the Plex I/O."""

    def __init__(
        self,
        store: Store,
        settings: Any,
        *,
        send_many: Callable[[str, Sequence[Envelope]], None],
    ) -> None:
        with store.transaction() as conn:
            for statement in SCHEMA:
                conn.execute(statement)
        self.store = store
        self.kv = KeyValue(store)
        self._send_many = send_many
        self.first_s = float(settings.index_refresh_seconds)
        self.base_s = float(settings.not_found_base_seconds)
        self.cap_s = float(settings.not_found_cap_seconds)
        self.retries = int(settings.not_found_retries)
        self.budget_s = wait_budget(base_s=self.base_s, cap_s=self.cap_s, retries=self.retries)
        #: When the shared timer is due (in memory: a new gateway arms it again on start).
        self._due: float | None = None
        self._wave = int(self.kv.get("wave") or 0)

    # -- parking ----------------------------------------------------------------------------

    def park(self, envelope: Envelope, revision: int, paths: list[str]) -> bool:
        """Park a job; False if a newer job of the scene waits already (this one is stale)."""
        scene_id = envelope.scene_id or ""
        older = self._row(scene_id)
        if older is not None and older.revision > revision:
            self._skipped([(scene_id, envelope.payload)])
            return False
        now = time.time()
        if older is not None and older.revision < revision:
            self._skipped([(older.scene_id, older.payload)])
        with self.store.transaction() as conn:
            conn.execute(
                "INSERT INTO awaiting(scene_id, revision, payload, paths, created_at, parked_at)"
                " VALUES(?, ?, ?, ?, ?, ?) ON CONFLICT(scene_id) DO UPDATE SET"
                " revision = excluded.revision, payload = excluded.payload,"
                " paths = excluded.paths, created_at = excluded.created_at,"
                " parked_at = excluded.parked_at",
                (scene_id, revision, dumps(envelope.payload), dumps(paths),
                 envelope.created_at, now),
            )  # fmt: skip
        self._set_wave(0)
        if self._due is None or self._due > now + self.first_s:
            self.arm(self.first_s)
        return True

    def drop_older(self, revisions: dict[str, int], *, found: bool = False) -> None:
        """Newer jobs exist for these scenes (the scene is gone, or a newer job of it found its
        files); older ones waiting are reported skipped. ``found``: the job of that very
        revision found its files on its own, and goes on from there, so its row just goes."""
        rows = [row for row in map(self._row, revisions) if row is not None]
        stale = [row for row in rows if row.revision < revisions[row.scene_id]]
        same = [row for row in rows if found and row.revision == revisions[row.scene_id]]
        if stale:
            self._skipped([(row.scene_id, row.payload) for row in stale])
        if stale or same:
            self._delete([row.scene_id for row in [*stale, *same]])

    def rows(self) -> list[Parked]:
        return [_parked(r) for r in self.store.query("SELECT * FROM awaiting ORDER BY parked_at")]

    def count(self) -> int:
        return int(self.store.scalar("SELECT COUNT(*) FROM awaiting") or 0)

    # -- a recheck's outcome ------------------------------------------------------------------

    def release(self, found: list[tuple[Parked, list[dict[str, Any]]]]) -> None:
        """Send these jobs on to the Matcher with the candidates now found, in one commit."""
        if not found:
            return
        envelopes = [
            Envelope(
                kind=MATCH_SCORE,
                scene_id=row.scene_id,
                created_at=row.created_at,
                payload={**row.payload, "candidates": candidates},
                sender=PLEX_GATEWAY,
            )
            for row, candidates in found
        ]
        self._send_many(MATCHER, envelopes)
        self._delete([row.scene_id for row, _ in found])

    def expire(self, missing: list[Parked], now: float) -> list[Parked]:
        """Jobs that waited the not-found policy's whole wait go to the dead letters."""
        expired = [row for row in missing if now - row.parked_at >= self.budget_s]
        if not expired:
            return []
        letters = []
        for row in expired:
            waited = now - row.parked_at
            took = f"{waited:.0f} s" if waited < 120 else f"{waited / 60:.0f} min"
            history = [*row.payload.get("history", [])]
            history.append(Attempt(at=row.parked_at, reason="not_found").model_dump())
            job = JobRef(
                to=PLEX_GATEWAY,
                kind=SYNC_LOCATE,
                scene_id=row.scene_id,
                payload={**row.payload, "history": history},
            )
            error = (
                f"gave up waiting {took} for Plex to list the scene's files (the window of "
                f"{self.retries} not_found retries)"
            )
            letters.append(dead_letter_envelope("not_found", error, job))
        self._send_many(DEAD_LETTER, letters)
        self._delete([row.scene_id for row in expired])
        return expired

    def next_wave(self, *, progress: bool) -> None:
        """Arm the shared timer for the next recheck, if anything still waits."""
        if not self.count():
            self._set_wave(0)
            self._due = None
            return
        wave = 0 if progress else self._wave + 1
        self._set_wave(wave)
        self.arm(recheck_delay(wave, first_s=self.first_s, base_s=self.base_s, cap_s=self.cap_s))

    def arm(self, delay: float) -> None:
        self._due = time.time() + delay
        timer = timer_envelope(
            RECHECK_TIMER_ID, self._due, to=PLEX_GATEWAY, kind=PLEX_RECHECK, payload={}
        )
        self._send_many(SCHEDULER, [timer])

    # -- helpers ------------------------------------------------------------------------------

    def _set_wave(self, wave: int) -> None:
        if wave != self._wave:
            self._wave = wave
            self.kv.set("wave", wave)

    def _row(self, scene_id: str) -> Parked | None:
        rows = self.store.query("SELECT * FROM awaiting WHERE scene_id = ?", (scene_id,))
        return _parked(rows[0]) if rows else None

    def _skipped(self, jobs: list[tuple[str, dict[str, Any]]]) -> None:
        ended = [job_ended_envelope(scene_id, payload, "skipped") for scene_id, payload in jobs]
        reports = [e for e in ended if e is not None]
        if reports:
            self._send_many(INTAKE, reports)

    def _delete(self, scene_ids: list[str]) -> None:
        with self.store.transaction() as conn:
            conn.executemany("DELETE FROM awaiting WHERE scene_id = ?", [(s,) for s in scene_ids])


def _parked(row: Any) -> Parked:
    return Parked(
        scene_id=row["scene_id"],
        revision=int(row["revision"]),
        payload=loads(row["payload"]),
        paths=list(loads(row["paths"])),
        created_at=float(row["created_at"]),
        parked_at=float(row["parked_at"]),
    )
