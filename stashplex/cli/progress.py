"""How ``stashplex sync`` shows a job's progress: a live bar in a terminal, lines elsewhere.

In a terminal, rich draws one bar that fits the width (50 columns included) with the rate and
the time left. Piped or redirected (a log file, CI, the Stash task runner), a carriage return
would pile up as garbage, so a plain line is printed every few seconds instead.
"""

from __future__ import annotations

import sys
import time
from typing import Any, Protocol, TextIO

#: Seconds between plain progress lines when the output is not a terminal.
PLAIN_EVERY_S = 5.0


class ProgressView(Protocol):
    def update(self, job: dict[str, Any]) -> None: ...

    def close(self) -> None: ...


def handled(job: dict[str, Any]) -> int:
    return sum(
        int(job.get(k, 0)) for k in ("synced", "failed", "skipped", "superseded", "cancelled")
    )


def progress_view(stream: TextIO | None = None) -> ProgressView:
    """A live bar when ``stream`` (default stderr) is a terminal, plain lines otherwise."""
    stream = stream or sys.stderr
    if stream.isatty():
        return RichProgress(stream)
    return PlainProgress(stream)


class PlainProgress:
    """A line now and then, never a carriage return."""

    def __init__(self, stream: TextIO, every_s: float = PLAIN_EVERY_S) -> None:
        self.stream = stream
        self.every_s = every_s
        self.started = time.monotonic()
        self._last_line = float("-inf")
        self._last_text = ""

    def update(self, job: dict[str, Any]) -> None:
        now = time.monotonic()
        if not job.get("done") and (now - self._last_line < self.every_s or not job.get("total")):
            return
        elapsed = max(now - self.started, 1e-9)
        done, total = handled(job), int(job.get("total") or 0)
        text = f"progress: {done}/{total} scenes ({done / elapsed:.1f}/s)"
        if text != self._last_text:
            print(text, file=self.stream, flush=True)
            self._last_text = text
        self._last_line = now

    def close(self) -> None:
        """Nothing is left open: every line was complete."""


class RichProgress:
    """rich's bar: description, bar, count, rate and time left, shrinking to the width."""

    def __init__(self, stream: TextIO) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TaskProgressColumn,
            TimeRemainingColumn,
        )

        self._progress = Progress(
            BarColumn(bar_width=None),
            TaskProgressColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=Console(file=stream),
            expand=True,
            transient=False,
        )
        self._task = self._progress.add_task("sync", total=None)
        self._progress.start()

    def update(self, job: dict[str, Any]) -> None:
        total = job.get("total") or None
        self._progress.update(self._task, completed=handled(job), total=total)

    def close(self) -> None:
        self._progress.stop()
