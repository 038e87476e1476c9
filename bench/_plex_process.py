"""The Plex emulator in a process of its own, for figures that time a client (or a hook) that
must not share the benchmark process's GIL with a busy emulated Plex."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from _common import REPO

TOKEN = "bench-plex-token-0123"


class EmulatorProcess:
    """A seeded Plex emulator in its own process, so a client timed here has the GIL to itself."""

    def __init__(self, items: int = 0, *, stash_world: int = 0, seed: int = 1) -> None:
        """``items`` synthetic items, or (``stash_world``) the Plex side of ``seed_world`` for a
        Stash emulator seeded with that many scenes and ``seed``."""
        started = time.perf_counter()
        command = [sys.executable, "-m", "stashplex.sandbox.plex", "--port", "0"]
        seeding = ["--stash-world", str(stash_world)] if stash_world else ["--items", str(items)]
        self.process = subprocess.Popen(
            [*command, "--token", TOKEN, "--seed", str(seed), *seeding],
            stdout=subprocess.PIPE,
            text=True,
            cwd=REPO,
            env={**os.environ, "PYTHONPATH": str(REPO)},
        )
        banner = self.process.stdout.readline() if self.process.stdout else ""
        if " at " not in banner:
            self.process.kill()
            raise RuntimeError(f"the Plex emulator did not start: {banner!r}")
        self.url = banner.split(" at ", 1)[1].split(" ", 1)[0]
        self.start_seconds = time.perf_counter() - started

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
