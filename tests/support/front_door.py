"""A stand-in actor host for front-door tests: the host's ends of the hand-over channel."""

from __future__ import annotations

import os
import threading
from pathlib import Path

from stashplex.link import handover
from stashplex.link.frontdoor import FrontDoor
from stashplex.link.ipc import LocalServer


class FakeHost:
    """The host's ends of the channel: adopts connections into a server of its own."""

    def __init__(self, data_dir: Path, value: str) -> None:
        self.requests: list[dict] = []
        self.wakes = threading.Event()
        self.server = LocalServer(data_dir, self.answer)
        ends = handover.host_ends(value)
        assert ends is not None
        channel, wake_fd = ends
        for target, args in (
            (handover.receive, (channel, self.server.adopt)),
            (handover.watch_wakes, (wake_fd, self.wakes.set)),
        ):
            threading.Thread(target=target, args=args, daemon=True).start()

    def answer(self, request: dict) -> dict:
        self.requests.append(request)
        return {"ok": True, "answered_by": "host", "type": request.get("type")}


def attach_fake_host(door: FrontDoor, data_dir: Path) -> FakeHost:
    """Open a channel and attach ``door`` to a host in this process, with its own copies of the
    host's ends, as a started host inherits them."""
    sender, _value, fds, close_host_ends = handover.open_channel()
    copies = ",".join(str(os.dup(fd)) for fd in fds)
    close_host_ends()
    host = FakeHost(data_dir, copies)
    door.attach(sender)
    return host
