"""An actor host whose Matcher, on a ``test.hog`` message, grows far past any memory cap.

Used by the test of issue 16, item 4: the watchdog kills the host for its memory each time the
message is in flight, and the message must end in the dead letters after ``max_attempts``
kills, while ``test.ok`` messages (recorded in ``ok.log``) go through.
"""

from __future__ import annotations

import sys
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from actors.matcher import Matcher
from stashplex.runtime.envelope import Envelope
from tests.support.faulty_host import run_host_with

HOG = "test.hog"
OK = "test.ok"
HOG_BYTES = 400 * 2**20


class HoggingMatcher(Matcher):
    def handle(self, envelope: Envelope) -> None:
        if envelope.kind == HOG:
            hoard = b"\x01" * HOG_BYTES  # touched pages: resident, unlike a calloc
            threading.Event().wait(600)  # held until the watchdog kills the host
            del hoard
            return
        if envelope.kind == OK:
            log = self.ctx.service("data_dir").root / "ok.log"
            with log.open("a") as handle:
                handle.write(f"{envelope.payload['n']}\n")
            return
        super().handle(envelope)


def main() -> int:
    return run_host_with(HoggingMatcher)


if __name__ == "__main__":
    raise SystemExit(main())
