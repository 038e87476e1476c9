"""What operators ask the running supervisor: status, syncs, dead letters, the journal.

Reads come straight from the actors' stores (SQLite in WAL mode lets this thread read while the
actor writes); anything that changes state is a message to the owning actor's mailbox, so the
actors stay the only writers.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psutil

from actors.addresses import DEAD_LETTER, INTAKE, MATCHER, PLEX_GATEWAY
from actors.dead_letter import counts_by_reason, list_dead_letters, show_dead_letter
from actors.dead_letter import open_store as open_dead_letters
from actors.intake_state import SyncState, counters, job_progress, last_sync_at
from actors.messages import (
    DEAD_LETTER_PURGE,
    DEAD_LETTER_RETRY,
    FIELDS_RELEASE,
    JOURNAL_UNDO,
    SYNC_CANCEL,
    SYNC_REQUEST,
    DeadLetterPurge,
    DeadLetterRetry,
    DeadLetterShow,
    FieldsRelease,
    JournalUndo,
    SyncCancel,
    SyncRequest,
)
from actors.scheduler import next_due, timer_summary
from actors.scheduler import open_store as open_timers
from stashplex.plex.handback import release_targets, select_undo
from stashplex.plex.journal import journal_entries
from stashplex.plex.state import GatewayState
from stashplex.runtime.envelope import Envelope
from stashplex.runtime.store import KeyValue, Store
from stashplex.sync.ownership import plex_field_names

if TYPE_CHECKING:
    from stashplex.ops.host_view import HostView

log = logging.getLogger(__name__)

DAY_S = 86_400.0


class Operations:
    """One instance per host; opens read connections lazily, per thread."""

    def __init__(self, host: HostView) -> None:
        self.host = host
        self._stores: dict[str, Store] = {}
        self._gateway: GatewayState | None = None
        self._started: StartedJobs | None = None

    @property
    def started(self) -> StartedJobs:
        """The sync jobs started here (made on first use: a host still starting has no data)."""
        if self._started is None:
            self._started = StartedJobs(self.host.data.state / "started_jobs")
        return self._started

    def _store(self, name: str) -> Store:
        if name not in self._stores:
            data = self.host.data
            self._stores[name] = {
                "dead_letters": lambda: open_dead_letters(data),
                "timers": lambda: open_timers(data),
                "gateway": lambda: self._gateway_state().store,
                "intake": lambda: SyncState(data).store,
            }[name]()
        return self._stores[name]

    def _gateway_state(self) -> GatewayState:
        """A reader of the gateway's state (the gateway stays its only writer)."""
        if self._gateway is None:
            self._gateway = GatewayState(self.host.data)
        return self._gateway

    def _send(self, to: str, kind: str, payload: dict[str, Any]) -> None:
        assert self.host.post is not None
        self.host.post.send(to, Envelope(kind=kind, payload=payload, sender="operator"))

    # -- status -----------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        assert self.host.post is not None
        gateway = KeyValue(self._store("gateway")).get("status") or {}
        intake = self._store("intake")
        supervisor = self.host.supervisor
        rss = psutil.Process(os.getpid()).memory_info().rss
        from stashplex.runtime.problems import ProblemLog

        problems = ProblemLog(self.host.data.root).active().values()
        return {
            "pid": os.getpid(),
            "host_pid": os.getpid(),
            # The watchdog: the process `stashplex start` started and `stashplex stop` stops.
            "supervisor_pid": getattr(self.host, "supervisor_pid", None),
            "problems": [
                {"key": p.key, "message": p.message, "fix": p.fix, "since": p.since}
                for p in sorted(problems, key=lambda p: p.rev)
            ],
            "uptime_s": round(time.time() - self.host.started_at, 1),
            "mailboxes": self.host.post.depths(),
            "pending_events": int(intake.scalar("SELECT COUNT(*) FROM pending") or 0),
            "timers": timer_summary(self._store("timers")),
            "dead_letters": counts_by_reason(self._store("dead_letters")),
            "breaker": gateway.get("breaker", {}),
            "index_items": gateway.get("index_items", 0),
            "restarts": dict(supervisor.restart_counts) if supervisor else {},
            "last_sync_at": last_sync_at(intake),
            "counters": counters(intake),
            "rss_mb": round(rss / 2**20, 1),
        }

    def busy_with(self) -> tuple[str | None, float | None, str]:
        """Why this host cannot stop for being idle (None: it may), and when and for which of
        its own recurring timers it must run again (None: nothing it schedules itself)."""
        assert self.host.post is not None
        pending, wake_at, wake_for = next_due(self._store("timers"))
        depths = {name: depth for name, depth in self.host.post.depths().items() if depth}
        intake = self._store("intake")
        events = int(intake.scalar("SELECT COUNT(*) FROM pending") or 0)
        jobs = int(
            intake.scalar("SELECT COUNT(*) FROM jobs WHERE finished_at IS NULL AND superseded = 0")
            or 0
        )
        busy = (
            (depths and f"messages queued in {', '.join(sorted(depths))}")
            or (events and f"{events} hook event(s) pending")
            or (jobs and f"{jobs} sync job(s) not finished")
            or (pending and f"{pending} timer(s) pending")
            or None
        )
        return busy, wake_at, wake_for

    # -- syncs ------------------------------------------------------------------------------

    def start_sync(self, request: dict[str, Any]) -> dict[str, Any]:
        job_id = os.urandom(6).hex()
        sync = SyncRequest.model_validate({**request, "job_id": job_id})
        if sync.mode == "scenes" and not sync.scene_ids:
            raise ValueError("a sync of given scenes needs at least one scene id")
        if sync.mode == "since" and not sync.since:
            raise ValueError("a sync since a time needs --since")
        self.started.add(job_id)  # before the send: a follower may ask before Intake sees it
        self._send(INTAKE, SYNC_REQUEST, sync.model_dump(mode="json"))
        return {"job": job_id}

    def job(self, job_id: str, *, with_diffs: bool = False) -> dict[str, Any]:
        progress = job_progress(self._store("intake"), job_id, with_diffs=with_diffs)
        if progress is None:
            if job_id not in self.started:
                raise LookupError(f"no sync job {job_id!r}; `stashplex status` shows recent ones")
            # Intake has not picked the request up yet.
            return {"job": job_id, "progress": 0.0, "finished": False, "queued_in_intake": True}
        waits = self._waits(progress)
        progress["waiting_for_retry"] = waits is not None
        progress.update(waits or {})
        # "done" in a reply means the job is over (the plugin's task script relies on it).
        progress["synced"] = progress.pop("done")
        return progress

    def cancel_sync(self, job_id: str, *, by: str = "an operator") -> dict[str, Any]:
        """Cancel a running sync job: what has not reached Plex is dropped from it at once
        (Intake's walk and PlexGateway look at the host's cancel registry), and Intake settles
        the job's bookkeeping from the durable ``sync.cancel``. A finished or already cancelled
        job is left as it is, and the reply says so."""
        progress = self.job(job_id)  # LookupError for a job nobody started
        if progress.get("finished") and not progress.get("cancelled_at"):
            return {"job": job_id, "already": "finished"}
        if progress.get("cancelled_at"):
            return {"job": job_id, "already": "cancelled"}
        from actors.job_cancels import job_cancels

        ctx = getattr(self.host, "ctx", None)
        if ctx is not None:
            job_cancels(ctx.services).add(job_id)
        self._send(INTAKE, SYNC_CANCEL, SyncCancel(job_id=job_id, by=by).model_dump(mode="json"))
        return {"job": job_id, "cancelling": True}

    def _waits(self, progress: dict[str, Any]) -> dict[str, int] | None:
        """When all that is left of the job sits in Scheduler timers or is parked by the
        gateway: how many of those scenes wait for Plex to scan their files (parked, or a
        not-found retry) and how many wait to retry a Plex error. Else None.

        Counted, not inferred from quiet mailboxes: a scene on its way to the dead letters (or
        to a timer) is in no timer yet, and a job called over then would name a scene about to
        fail "waiting to retry" (seen under load: a Stash task ended at a third of its job).
        """
        assert self.host.post is not None
        busy = any(
            self.host.post[name].has_work() for name in (INTAKE, PLEX_GATEWAY, MATCHER, DEAD_LETTER)
        )
        ended = progress["done"] + progress["failed"] + progress["superseded"]
        left = progress["queued"] - ended - progress["cancelled"]
        if not (progress["enumerated"] and left > 0 and not busy):
            return None
        job_id = progress["job_id"]
        # Scenes of the job Intake still holds for its flush are on their way, not in timers.
        if self._store("intake").scalar("SELECT COUNT(*) FROM pending WHERE job_id = ?", (job_id,)):
            return None
        timed, not_found = self._store("timers").query(
            "SELECT COUNT(*), COALESCE(SUM(reason = 'not_found'), 0) FROM timers "
            "WHERE every_s IS NULL AND json_extract(job, '$.payload.job_id') = ?",
            (job_id,),
        )[0]
        parked = self._parked(job_id)
        if timed + parked < left:
            return None
        scan = min(parked + not_found, left)
        return {"waiting_for_scan": scan, "waiting_to_retry": left - scan}

    def _parked(self, job_id: str) -> int:
        """The job's scenes the gateway keeps until Plex has scanned their files (none before
        the gateway first ran: it makes that table)."""
        try:
            parked = self._store("gateway").scalar(
                "SELECT COUNT(*) FROM awaiting WHERE json_extract(payload, '$.job_id') = ?",
                (job_id,),
            )
        except sqlite3.OperationalError as exc:
            if "no such table" not in str(exc):
                raise
            return 0
        return int(parked or 0)

    # -- dead letters -----------------------------------------------------------------------

    def dead_letters(self, request: dict[str, Any]) -> dict[str, Any]:
        action = request.get("action", "list")
        store = self._store("dead_letters")
        if action == "list":
            days = request.get("older_than_days")
            return {
                "items": list_dead_letters(
                    store,
                    reason=request.get("reason"),
                    older_than_s=None if days is None else float(days) * DAY_S,
                    limit=_limit(request.get("limit", 100)),
                )
            }
        if action == "show":
            item = show_dead_letter(store, DeadLetterShow.model_validate(request).id)
            if item is None:
                raise LookupError(f"no dead letter with id {request['id']}")
            return {"item": item}
        if action == "retry":
            retry = DeadLetterRetry.model_validate(request)
            if not (retry.ids or retry.reason or retry.all):
                raise ValueError("say which dead letters to retry: ids, a reason, or all")
            unknown = [i for i in retry.ids or [] if show_dead_letter(store, i) is None]
            if unknown:
                raise LookupError(f"no dead letter with id {', '.join(map(str, unknown))}")
            self._send(DEAD_LETTER, DEAD_LETTER_RETRY, retry.model_dump(mode="json"))
            return {"requested": True}
        if action == "purge":
            purge = DeadLetterPurge.model_validate(request)
            self._send(DEAD_LETTER, DEAD_LETTER_PURGE, purge.model_dump(mode="json"))
            return {"requested": True}
        raise ValueError(f"unknown dead-letter action {action!r} (list, show, retry, purge)")

    # -- journal and handing fields back --------------------------------------------------

    def journal(self, request: dict[str, Any]) -> dict[str, Any]:
        action = request.get("action", "show")
        if action == "show":
            return self._journal_show(request)
        if action == "undo":
            return self._journal_undo(request)
        raise ValueError(f"unknown journal action {action!r} (show, undo)")

    def _journal_show(self, request: dict[str, Any]) -> dict[str, Any]:
        key, scene = request.get("rating_key"), request.get("scene_id")
        limit = _limit(request.get("limit", 200))
        store = self._store("gateway")
        if scene is not None:
            entries = journal_entries(store, scene_id=str(scene), limit=limit)
            what = f"Stash scene {scene}"
        else:
            key = JournalUndo.model_validate({"rating_key": key}).rating_key
            entries = journal_entries(store, key, limit)
            what = f"Plex item {key}"
        if not entries:
            raise LookupError(f"the journal has nothing for {what}")
        return {"entries": entries}

    def _journal_undo(self, request: dict[str, Any]) -> dict[str, Any]:
        """Undo one item's last change, a sync job, or everything since a time; refused when
        the journal holds nothing of the kind, only planned with ``dry_run``."""
        undo = JournalUndo.model_validate(request)
        restores, skipped = select_undo(
            self._store("gateway"),
            rating_key=undo.rating_key,
            job_id=undo.job_id,
            since=undo.since,
        )
        if not restores and not skipped:
            if undo.rating_key is not None:
                raise LookupError(f"the journal has no write to Plex item {undo.rating_key}")
            if undo.job_id is not None:
                raise LookupError(f"the journal has no write of sync job {undo.job_id}")
            raise LookupError("the journal has no write since that time")
        reply: dict[str, Any] = {
            "restores": [r._asdict() for r in restores],
            "skipped": [s._asdict() for s in skipped],
        }
        if not request.get("dry_run") and restores:
            self._send(PLEX_GATEWAY, JOURNAL_UNDO, undo.model_dump(mode="json"))
            reply["requested"] = True
        return reply

    def release(self, request: dict[str, Any]) -> dict[str, Any]:
        """Hand fields back to Stash: forget them as ours (the gateway does), then re-sync the
        scenes forced, so Stash's values are filled in again. Refused for an unknown item or
        scene; with nothing to release, says so and does nothing."""
        release = FieldsRelease.model_validate(
            {**request, "fields": plex_field_names(request.get("fields") or ())}
        )
        if not (release.rating_key is not None or release.scene_id or request.get("all")):
            raise ValueError("say where to release: a Plex item, a scene, or all")
        state = self._gateway_state()
        if release.rating_key is not None and not state.written([release.rating_key]):
            raise LookupError(f"stashplex has written nothing to Plex item {release.rating_key}")
        if release.scene_id and not state.written_where(scene_id=release.scene_id):
            raise LookupError(f"stashplex has written nothing for Stash scene {release.scene_id}")
        targets = release_targets(
            state, release.fields, rating_key=release.rating_key, scene_id=release.scene_id
        )
        fields = sum(len(names) for _scene, names in targets.values())
        if not targets:
            return {"summary": "nothing to release: no such field is stashplex's there"}
        self._send(PLEX_GATEWAY, FIELDS_RELEASE, release.model_dump(mode="json"))
        scenes = sorted({scene for scene, _names in targets.values()})
        job = self.start_sync({"mode": "scenes", "scene_ids": scenes, "force": True})
        return {
            **job,
            "items": len(targets),
            "fields": fields,
            "summary": f"released {fields} field(s) of {len(targets)} item(s); "
            f"re-syncing {len(scenes)} scene(s)",
        }


class StartedJobs:
    """The ids of sync jobs started here, one a line: a job is known from the moment its id is
    handed out, before Intake takes its request, and across a restart of the host (a settings
    reload) that came in between. Anything else is an id nobody started."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._ids: set[str] | None = None
        self._lock = threading.Lock()

    def add(self, job_id: str) -> None:
        with self._lock:
            self._load().add(job_id)
            with self.path.open("a", encoding="ascii") as handle:
                handle.write(job_id + "\n")

    def __contains__(self, job_id: object) -> bool:
        with self._lock:
            return job_id in self._load()

    def _load(self) -> set[str]:
        if self._ids is None:
            try:
                self._ids = set(self.path.read_text(encoding="ascii").split())
            except (OSError, ValueError):
                self._ids = set()
        return self._ids


def _limit(value: object) -> int:
    """How many rows a listing may return: a whole number from 1 to 100,000."""
    if type(value) is not int or not 1 <= value <= 100_000:
        raise ValueError("limit must be a whole number from 1 to 100000")
    return value
