"""Start one real actor with real mailboxes; its neighbours are just mailboxes we read."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from actors.addresses import START_ORDER
from actors.base import ActorContext
from stashplex.config.settings import Settings
from stashplex.runtime.datadir import DataDir
from stashplex.runtime.envelope import Envelope
from stashplex.runtime.mailbox import PostOffice


class Harness:
    def __init__(self, tmp_path: Path, **settings: Any) -> None:
        self.data = DataDir(tmp_path / "data").ensure()
        self.post = PostOffice(self.data.mailboxes, START_ORDER)
        self.settings = Settings(**settings)
        self.services: dict[str, Any] = {"settings": self.settings, "data_dir": self.data}

    def context(self, **services: Any) -> ActorContext:
        return ActorContext(self.post, services={**self.services, **services})

    def send(self, to: str, kind: str, payload: dict[str, Any], scene_id: str | None = None):
        envelope = Envelope(kind=kind, scene_id=scene_id, payload=payload)
        self.post.send(to, envelope)
        return envelope

    def drain(self, name: str) -> list[Envelope]:
        box = self.post[name]
        deliveries = box.take(100_000)
        for delivery in deliveries:
            box.ack(delivery)
        return [d.envelope for d in deliveries]

    def kinds(self, name: str) -> list[str]:
        return [e.kind for e in self.drain(name)]
