"""The one message shape that crosses every mailbox.

Envelopes are stored as JSON in SQLite, so everything in them must survive a JSON round trip:
ids and ISO strings rather than objects, never pickled bytes. The payload stays a plain dict
because each actor documents its own message contract (see ``actors/``); the envelope only
carries what the runtime itself needs to deliver, retry and trace a message.
"""

from __future__ import annotations

import itertools
import os
import time
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

#: Ids are a random per-process prefix and a counter: unique like a uuid4, without a urandom read
#: per message, which was a measurable share of a hop.
_ID_PREFIX = os.urandom(8).hex()
_ID_COUNTER = itertools.count(1)


def _reseed_ids() -> None:
    global _ID_PREFIX, _ID_COUNTER  # a forked child must not repeat its parent's ids
    _ID_PREFIX, _ID_COUNTER = os.urandom(8).hex(), itertools.count(1)


os.register_at_fork(after_in_child=_reseed_ids)


def _new_id() -> str:
    return f"{_ID_PREFIX}{next(_ID_COUNTER):016x}"


class Envelope(BaseModel):
    """A durable message.

    ``attempt`` counts failed deliveries of *this* message to one handler (the runtime's poison
    guard); retries the Scheduler makes after a classified Plex error are new messages whose
    history lives in the payload, so the two counters never mix.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(default_factory=_new_id)
    kind: str = Field(min_length=1, max_length=100)
    scene_id: str | None = None
    attempt: int = Field(default=0, ge=0)
    created_at: float = Field(default_factory=time.time)
    available_at: float = Field(default_factory=time.time)
    payload: dict[str, Any] = Field(default_factory=dict)
    sender: str | None = None

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

    @classmethod
    def from_json(cls, data: Any) -> Envelope:
        return cls.model_validate(data)

    def next_attempt(self) -> Envelope:
        """The same message, queued again after its handler failed."""
        return self.model_copy(update={"attempt": self.attempt + 1, "available_at": time.time()})

    def derive(self, kind: str, payload: dict[str, Any], *, sender: str) -> Envelope:
        """A follow-up message that keeps the scene and the creation time for end-to-end latency."""
        return Envelope(
            kind=kind,
            scene_id=self.scene_id,
            created_at=self.created_at,
            payload=payload,
            sender=sender,
        )
