"""Sync jobs being cancelled, as the actors of one host see them at once.

A cancel is a ``sync.cancel`` message to Intake (durable: it survives a crash, and Intake's
bookkeeping is the record). But a message waits its turn: Intake may be in the middle of the
very walk to stop, and PlexGateway's mailbox may hold thousands of the job's scenes ahead of
any message. So the operator surface also puts the job here, in memory, and Intake's walk (page
by page) and PlexGateway (before each batch) look here: what is not yet sent to Plex is dropped
from the job, what is in flight finishes. A new host starts with the cancelled jobs Intake has
recorded and not yet seen finish.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

from actors.addresses import INTAKE
from actors.messages import SYNC_LOCATE, SYNC_WRITE, job_ended_envelope
from stashplex.runtime.envelope import Envelope

SERVICE = "job_cancels"
_create_lock = threading.Lock()


class JobCancels:
    """A set of job ids, safe to share between threads."""

    def __init__(self, ids: set[str] | None = None) -> None:
        self._ids = set(ids or ())
        self._lock = threading.Lock()

    def add(self, job_id: str) -> None:
        with self._lock:
            self._ids.add(job_id)

    def __contains__(self, job_id: object) -> bool:
        return job_id in self._ids  # a set lookup is atomic under the GIL

    def __bool__(self) -> bool:
        return bool(self._ids)

    def drop_cancelled(
        self, envelopes: Sequence[Envelope], send: Callable[[str, Envelope], None]
    ) -> list[Envelope]:
        """The envelopes to handle: a cancelled job's locate or write ends here, reported to
        Intake as skipped (Intake counts it as cancelled), and never reaches Plex."""
        if not self._ids:
            return list(envelopes)
        kept: list[Envelope] = []
        for envelope in envelopes:
            job_id = envelope.payload.get("job_id") if isinstance(envelope.payload, dict) else None
            if envelope.kind in (SYNC_LOCATE, SYNC_WRITE) and job_id and job_id in self:
                ended = job_ended_envelope(envelope.scene_id, envelope.payload, "skipped")
                if ended is not None:
                    send(INTAKE, ended)
                continue
            kept.append(envelope)
        return kept


def job_cancels(services: dict[str, Any]) -> JobCancels:
    """The host's registry, made on first use from the cancels Intake has recorded."""
    with _create_lock:
        found = services.get(SERVICE)
        if found is None:
            found = services[SERVICE] = JobCancels(_recorded(services.get("data_dir")))
        return found


def _recorded(data_dir: Any) -> set[str]:
    if data_dir is None:
        return set()
    from actors.intake_state import SyncState

    state = SyncState(data_dir)
    try:
        return state.cancelled_jobs()
    finally:
        state.store.close()
