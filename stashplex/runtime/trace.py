"""Trace messages: a probe that walks a route of mailboxes and records each hop.

The runtime uses them to prove the wiring end to end (``stashplex selftest``), the crash test
uses them to count what was handled, and ``bench/mailbox.py`` uses the hop stamps for per-hop
latency. The sink is an append-only JSON-lines file: a line written before the ack survives a
SIGKILL of the process (it sits in the page cache), which is all at-least-once needs.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from stashplex.runtime.envelope import Envelope
from stashplex.runtime.private_files import open_private

TRACE_KIND = "trace"


def trace_envelope(route: Sequence[str], *, tag: str = "") -> Envelope:
    """A probe addressed to ``route[0]`` that will visit every mailbox of ``route`` in order."""
    if not route:
        raise ValueError("a trace needs at least one mailbox in its route")
    return Envelope(kind=TRACE_KIND, payload={"route": list(route), "hops": [], "tag": tag})


def next_hop(envelope: Envelope, here: str) -> tuple[str | None, Envelope]:
    """Stamp this hop and return (next mailbox or None at the end, the stamped envelope)."""
    payload = dict(envelope.payload)
    hops = [*payload.get("hops", []), [here, time.time()]]
    payload["hops"] = hops
    route = payload.get("route", [])
    following = route[len(hops)] if len(hops) < len(route) else None
    return following, envelope.model_copy(update={"payload": payload, "attempt": 0})


class TraceSink:
    """Where finished traces are written, one JSON object per line.

    Each line is one ``write`` on an ``O_APPEND`` descriptor, so a reader never sees two records
    interleaved; a process killed mid-write can leave a torn last line, which the next sink ends
    with a newline so that it never swallows the next record (the probe itself was not acked,
    so it is recorded again).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = open_private(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
        if self.path.stat().st_size and not self.path.read_bytes().endswith(b"\n"):
            os.write(self._fd, b"\n")

    def record(self, envelope: Envelope) -> None:
        line = json.dumps(
            {"id": envelope.id, "created_at": envelope.created_at, **envelope.payload}
        )
        with self._lock:
            os.write(self._fd, (line + "\n").encode("utf-8"))

    def close(self) -> None:
        with self._lock:
            os.close(self._fd)


def read_traces(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            rows.append(json.loads(line))
        except ValueError:
            continue  # blank, torn by a kill, or still being written
    return rows
