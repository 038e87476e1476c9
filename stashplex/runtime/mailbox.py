"""Durable, named mailboxes over persist-queue's ``SQLiteAckQueue``.

Why it looks the way it does (see docs/architecture.md for the whole picture):

* One queue instance per mailbox per process, shared by every producer and the one consumer:
  a second instance on the same file would re-deliver the first one's in-flight rows and miss
  its wake-ups. :class:`PostOffice` is that single owner.
* One SQLite file per mailbox, so mailboxes never wait on each other's write lock.
* JSON serializer only. Nothing in a mailbox is ever unpickled.
* Acked rows are purged as we go; persist-queue keeps them forever otherwise and every ``get``
  scans past them, which is how throughput decays over weeks.
* ``nack`` would put a failing row back at the head and hot-loop a poison message, so a failed
  message is re-queued at the tail as a new row with ``attempt + 1`` and the old row is acked.
* Consumers are woken by a doorbell callback instead of persist-queue's blocking ``get``, whose
  wake-up only works on the same instance and otherwise ticks every 10 s.
* Rows in flight at open were held by a process that died (killed by the watchdog, or crashed),
  maybe because of one of them: each is served again in place with ``attempt + 1``, so a message
  that keeps killing the host reaches ``max_attempts``; ``take(alone=...)`` serves such a
  message by itself, so a kill it causes again charges no batch mate.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import persistqueue
from persistqueue.serializers import json as json_serializer
from persistqueue.sqlackqueue import AckStatus

from stashplex.runtime.corruption import is_corruption, set_aside
from stashplex.runtime.envelope import Envelope
from stashplex.runtime.private_files import prepare_dir, prepare_sqlite

log = logging.getLogger(__name__)

SyncMode = Literal["full", "normal"]

#: Acks between purges of acked rows. Small enough that the scan stays short, large enough that
#: the DELETE is amortised.
PURGE_EVERY_ACKS = 200

#: SQLite page cache per connection. A mailbox is a short queue; SQLite's 2 MB default,
#: times two connections per mailbox, would be most of an idle supervisor's memory.
CACHE_KIB = 256

#: persist-queue's row states, which the batch operations below set directly.
_READY = int(AckStatus.ready)
_UNACK = int(AckStatus.unack)
_ACKED = int(AckStatus.acked)

#: SQLite busy timeout. A healthy mailbox never waits this long; a slow disk might.
BUSY_TIMEOUT_S = 30.0


class MailboxError(RuntimeError):
    """A mailbox cannot be used; the message says which and why."""


@dataclass(frozen=True, slots=True)
class Delivery:
    """An envelope taken from a mailbox, not yet acknowledged."""

    envelope: Envelope
    row_id: int
    #: Which file it came from: a row id means nothing in the fresh file that replaced it.
    generation: int = 0


class Mailbox:
    """One durable queue of :class:`Envelope` with at-least-once delivery."""

    def __init__(
        self,
        name: str,
        directory: Path,
        *,
        sync: SyncMode = "normal",
        on_lost: Callable[[str], None] | None = None,
    ) -> None:
        self.name = name
        self._on_lost = on_lost
        self._generation = 0
        self.directory = directory
        self._sync = sync
        self._lock = threading.RLock()
        self._doorbell: Callable[[], None] | None = None
        self._ring_pending = threading.Event()
        self._acks_since_purge = 0
        self._paused = False
        self.quarantined: list[Path] = []
        self._queue = self._open()

    # -- opening, corruption -------------------------------------------------------------

    def _open(self) -> persistqueue.SQLiteAckQueue:
        try:
            return self._open_queue()
        except sqlite3.DatabaseError as exc:
            if not is_corruption(exc):
                raise MailboxError(f"mailbox {self.name!r} cannot be opened: {exc}") from exc
            moved = self._quarantine(exc)
            why = "mailbox %r was unreadable (%s); moved it aside to %s and started a fresh one"
            log.error(why, self.name, exc, moved)
            return self._open_queue()

    def _open_queue(self) -> persistqueue.SQLiteAckQueue:
        prepare_dir(self.directory)  # no link followed, no wrong kind of file used
        prepare_sqlite(self.directory / "data.db")
        queue = persistqueue.SQLiteAckQueue(
            str(self.directory),
            multithreading=True,
            auto_resume=False,  # _charge_in_flight resumes them, one attempt dearer
            serializer=json_serializer,
            timeout=BUSY_TIMEOUT_S,
        )
        # persist-queue exposes no hook for pragmas; its two connections are the only way in.
        for conn in {id(c): c for c in (queue._putter, queue._getter)}.values():  # noqa: SLF001
            conn.execute(f"PRAGMA synchronous={self._sync.upper()}")
            conn.execute(f"PRAGMA cache_size=-{CACHE_KIB}")
            if conn.execute("PRAGMA quick_check").fetchone()[0] != "ok":
                queue.close()
                raise sqlite3.DatabaseError("integrity check failed")
        self.charged = self._charge_in_flight(queue)  # how many, for tests and status
        return queue

    def _charge_in_flight(self, queue: persistqueue.SQLiteAckQueue) -> int:
        """Serve again, in place and one attempt dearer, the rows a dead process held."""
        table = queue._table_name  # noqa: SLF001
        with queue.tran_lock, queue._putter as transaction:  # noqa: SLF001
            select = f"SELECT _id, data FROM {table} WHERE status = ?"  # noqa: S608
            rows = transaction.execute(select, (_UNACK,)).fetchall()
            updates = []
            for row_id, data in rows:
                envelope = self._read(row_id, data)
                if envelope is None:
                    updates.append((data, int(AckStatus.ack_failed), row_id))
                else:
                    again = json_serializer.dumps(envelope.next_attempt().to_json())
                    updates.append((again, _READY, row_id))
            update = f"UPDATE {table} SET data = ?, status = ? WHERE _id = ?"  # noqa: S608
            transaction.executemany(update, updates)
        if rows:
            what = "message(s) in flight when the last process died, each charged an attempt"
            log.warning("mailbox %r: %d %s", self.name, len(rows), what)
        return len(rows)

    def _quarantine(self, reason: Exception) -> Path:
        target = set_aside(self.directory, reason)
        self.quarantined.append(target)
        return target

    def _recover(self, exc: sqlite3.DatabaseError) -> None:
        """A mailbox that broke while running is moved aside too, so the process keeps going.

        Anything but a damaged file (a locked database, a full disk) is raised instead: the
        handler fails, its message is retried later, and nothing queued is thrown away.
        """
        if not is_corruption(exc):
            raise exc
        with self._lock:
            try:
                self._queue.close()
            except sqlite3.Error:
                log.debug("closing broken mailbox %r failed", self.name)
            moved = self._quarantine(exc)
            log.error(
                "mailbox %r failed (%s); moved it aside to %s and started a fresh one",
                self.name,
                exc,
                moved,
            )
            self._queue = self._open_queue()
            self._generation += 1
        if self._on_lost is not None:
            self._on_lost(self.name)

    # -- producing ------------------------------------------------------------------------

    def put(self, envelope: Envelope) -> None:
        """Store durably (committed on return), then wake the consumer."""
        self.put_many([envelope])

    def put_many(self, envelopes: Iterable[Envelope]) -> int:
        """Store many in one committed transaction (all or none), then wake the consumer."""
        rows = [(json_serializer.dumps(e.to_json()), time.time()) for e in envelopes]
        if not rows:
            return 0
        try:
            with self._lock:
                self._insert_rows(rows)
        except sqlite3.DatabaseError as exc:
            self._recover(exc)
            with self._lock:
                self._insert_rows(rows)
        self._ring()
        return len(rows)

    def _insert_rows(self, rows: list[tuple[bytes, float]]) -> None:
        queue = self._queue
        sql = f"INSERT INTO {queue._table_name} (data, timestamp, status) VALUES (?, ?, ?)"  # noqa: SLF001, S608
        with queue.tran_lock, queue._putter as transaction:  # noqa: SLF001
            transaction.executemany(sql, [(*row, int(AckStatus.inited)) for row in rows])

    # -- consuming ------------------------------------------------------------------------

    def subscribe(self, doorbell: Callable[[], None]) -> None:
        """Register the consumer's wake-up; replaces the previous one (a restarted actor)."""
        self._paused = False
        self._doorbell = doorbell
        self._ring_pending.clear()
        self._ring()

    def pause(self) -> None:
        """Serve no more takes: an orderly stop lets the consumer finish only what it holds."""
        self._paused = True

    def unsubscribe(self, doorbell: Callable[[], None]) -> None:
        if self._doorbell is doorbell:
            self._doorbell = None

    def _ring(self) -> None:
        doorbell = self._doorbell
        if doorbell is None or self._ring_pending.is_set():
            return
        self._ring_pending.set()
        doorbell()

    def clear_ring(self) -> None:
        """Called by the consumer before it drains, so a put during the drain rings again."""
        self._ring_pending.clear()

    def take(
        self, limit: int = 1, *, alone: Callable[[Envelope], bool] | None = None
    ) -> list[Delivery]:
        """Up to ``limit`` ready messages, oldest first, without waiting.

        One read and one write transaction for the whole batch: marking rows in flight one
        ``get`` at a time costs a commit per message, which is most of a hop's price. A message
        for which ``alone`` is true is taken by itself: the chunk stops before it, or is just it.
        """
        if self._paused:
            return []
        try:
            with self._lock:
                return self._take_rows(limit, alone)
        except sqlite3.DatabaseError as exc:
            self._recover(exc)
            return []

    def _take_rows(self, limit: int, alone: Callable[[Envelope], bool] | None) -> list[Delivery]:
        # The same statements persist-queue's get() runs, for many rows at once, under its locks.
        queue = self._queue
        table = queue._table_name  # noqa: SLF001
        with queue.action_lock:
            rows = queue._getter.execute(  # noqa: SLF001
                f"SELECT _id, data FROM {table} WHERE status < ? ORDER BY _id LIMIT ?",  # noqa: S608
                (_UNACK, limit),
            ).fetchall()
            deliveries: list[Delivery] = []
            unreadable: list[int] = []
            for row_id, data in rows:
                envelope = self._read(row_id, data)
                if envelope is None:
                    unreadable.append(row_id)
                    continue
                if alone is not None and alone(envelope):
                    if not deliveries:
                        deliveries.append(Delivery(envelope, row_id, self._generation))
                    break
                deliveries.append(Delivery(envelope, row_id, self._generation))
            if unreadable:  # kept for inspection (status ack_failed), never delivered
                self._set_status(unreadable, int(AckStatus.ack_failed))
            if deliveries:
                self._set_status([d.row_id for d in deliveries], _UNACK)
        return deliveries

    def _set_status(self, row_ids: list[int], status: int) -> None:
        """One committed transaction for every row, as persist-queue's ack does for one."""
        queue = self._queue
        sql = f"UPDATE {queue._table_name} SET status = ? WHERE _id = ?"  # noqa: SLF001, S608
        with queue.tran_lock, queue._putter as transaction:  # noqa: SLF001
            transaction.executemany(sql, [(status, row_id) for row_id in row_ids])

    def _read(self, row_id: int, data: bytes) -> Envelope | None:
        try:
            return Envelope.from_json(json_serializer.loads(data))
        except ValueError as exc:
            log.error("mailbox %r row %d is not a valid envelope: %s", self.name, row_id, exc)
            return None

    def ack(self, delivery: Delivery) -> None:
        self.ack_many([delivery])

    def ack_many(self, deliveries: Sequence[Delivery]) -> None:
        """Acknowledge handled messages in one transaction; they are never delivered again."""
        with self._lock:
            rows = self._current(deliveries)
            if not rows:
                return
            self._set_status(rows, _ACKED)
            self._acks_since_purge += len(rows)
            if self._acks_since_purge >= PURGE_EVERY_ACKS:
                self.purge_acked()

    def _current(self, deliveries: Sequence[Delivery]) -> list[int]:
        """Row ids of deliveries from the file in use; those of a file set aside are void."""
        return [d.row_id for d in deliveries if d.generation == self._generation]

    def reject(self, delivery: Delivery) -> None:
        """Keep a message that can never be handled in the file (status ack_failed), unserved."""
        with self._lock:
            if self._current([delivery]):
                self._queue.ack_failed(id=delivery.row_id)

    def release(self, deliveries: Sequence[Delivery]) -> None:
        """Hand back messages that were taken but not handled (shutdown, a failed batch peer)."""
        with self._lock:
            rows = self._current(deliveries)
            if not rows:
                return
            self._set_status(rows, _READY)
        self._ring()

    def requeue(self, delivery: Delivery, envelope: Envelope) -> None:
        """Replace a taken message with ``envelope`` at the tail (put first, then ack)."""
        self.put(envelope)
        self.ack(delivery)

    def purge_acked(self) -> None:
        with self._lock:
            self._queue.clear_acked_data(max_delete=None, keep_latest=None)
            self._acks_since_purge = 0

    # -- introspection --------------------------------------------------------------------

    def depth(self) -> int:
        """Messages waiting or in flight (SQL count, correct across restarts)."""
        # persist-queue's counters miss fresh rows (status "inited") or live in memory only.
        return int(self._unfinished("COUNT(*)")[0])

    def has_work(self) -> bool:
        """:meth:`depth` > 0 without counting every row (a job's progress asks it often)."""
        return self._unfinished("1", " LIMIT 1") is not None

    def _unfinished(self, what: str, tail: str = "") -> tuple[int] | None:
        sql = f"SELECT {what} FROM {self._queue._table_name} WHERE status <= 2{tail}"  # noqa: SLF001, S608
        with self._lock:
            return self._queue._getter.execute(sql).fetchone()  # noqa: SLF001

    def close(self) -> None:
        with self._lock:
            self._doorbell = None
            self._queue.close()


class PostOffice:
    """The process-wide owner of every mailbox: addresses are names, never actor refs."""

    def __init__(
        self,
        root: Path,
        names: Iterable[str],
        *,
        sync: SyncMode = "normal",
        on_lost: Callable[[str], None] | None = None,
    ) -> None:
        self.root = root
        self._boxes = {
            name: Mailbox(name, root / name, sync=sync, on_lost=on_lost) for name in names
        }

    def __getitem__(self, name: str) -> Mailbox:
        try:
            return self._boxes[name]
        except KeyError:
            raise MailboxError(f"no mailbox named {name!r}; known: {sorted(self._boxes)}") from None

    def __contains__(self, name: str) -> bool:
        return name in self._boxes

    def send(self, to: str, envelope: Envelope) -> None:
        self[to].put(envelope)

    def names(self) -> list[str]:
        return list(self._boxes)

    def depths(self) -> dict[str, int]:
        return {name: box.depth() for name, box in self._boxes.items()}

    def close(self) -> None:
        for box in self._boxes.values():
            box.close()
