"""Small actors and a post office for testing the runtime without the real pipeline."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import ClassVar

from actors.addresses import DEAD_LETTER
from actors.base import ActorContext, MailboxActor
from stashplex.runtime.envelope import Envelope
from stashplex.runtime.mailbox import PostOffice

WORK = "work"
NEXT = "next"


def make_post(tmp_path: Path, *names: str) -> PostOffice:
    return PostOffice(tmp_path / "mailboxes", names or (WORK, NEXT, DEAD_LETTER))


class Recorder:
    """Collects what actors saw, across restarts (actor instances do not survive them)."""

    def __init__(self) -> None:
        self.seen: list[Envelope] = []
        self.starts = 0
        self.lock = threading.Lock()

    def add(self, envelope: Envelope) -> None:
        with self.lock:
            self.seen.append(envelope)


class Forwarder(MailboxActor):
    """Records each message and forwards it to NEXT; ``explode`` in the payload raises."""

    mailbox_name: ClassVar[str] = WORK

    def setup(self) -> None:
        recorder: Recorder = self.ctx.service("recorder")
        recorder.starts += 1
        if recorder.starts <= self.ctx.services.get("fail_first_starts", 0):
            raise RuntimeError("on_start failure (injected)")

    def handle(self, envelope: Envelope) -> None:
        self.ctx.service("recorder").add(envelope)
        if envelope.payload.get("explode"):
            raise RuntimeError(f"boom {envelope.payload.get('n')}")
        if envelope.kind == "work":
            self.send(NEXT, envelope.derive("forwarded", dict(envelope.payload), sender=WORK))
            return
        super().handle(envelope)


class BatchRecorder(MailboxActor):
    mailbox_name: ClassVar[str] = WORK
    batch_size: ClassVar[int] = 10

    def handle_batch(self, envelopes) -> None:
        self.ctx.service("batches").append([e.payload["n"] for e in envelopes])


def context(post: PostOffice, **services) -> ActorContext:
    return ActorContext(post, max_attempts=services.pop("max_attempts", 3), services=services)


def work(n: int, **extra) -> Envelope:
    return Envelope(kind="work", scene_id=str(n), payload={"n": n, **extra})


def drain(post: PostOffice, name: str) -> list[Envelope]:
    box = post[name]
    deliveries = box.take(100_000)
    for delivery in deliveries:
        box.ack(delivery)
    return [d.envelope for d in deliveries]
