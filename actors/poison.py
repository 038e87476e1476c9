"""What the actor shell sends DeadLetter about a message it could not handle, and why.

Three ways a message ends here without its handler succeeding: it crashed its handler
``max_attempts`` times (poison, with the last traceback); the host died that many times while
it was in flight (poison, charged by the mailbox at each restart, see
:mod:`stashplex.runtime.mailbox`); or no handler knows its kind (unknown).
"""

from __future__ import annotations

import time

from stashplex.runtime.envelope import Envelope

#: Kind of the envelope that carries a poison message to DeadLetter.
POISON_KIND = "dead_letter.poison"

#: Kind of the envelope that carries a message no handler understands.
UNKNOWN_KIND = "dead_letter.unknown"


def failure_envelope(
    kind: str, mailbox: str, envelope: Envelope, error: str, traceback: str | None = None
) -> Envelope:
    """The DeadLetter message about ``envelope``, taken from ``mailbox``."""
    payload = {
        "mailbox": mailbox,
        "envelope": envelope.to_json(),
        "error": error,
        "failed_at": time.time(),
    }
    if traceback is not None:
        payload["traceback"] = traceback
    return Envelope(kind=kind, scene_id=envelope.scene_id, payload=payload)


def host_deaths_error(attempts: int) -> str:
    return (
        f"the host died {attempts} times while this message was in flight (killed by the "
        "watchdog for memory or a stale heartbeat, or crashed); it is not tried again"
    )
