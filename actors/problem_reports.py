"""What the actors put in the problems record: failures a person must fix, each with its fix.

The hook shows each new problem in Stash's log at error level
(:mod:`stashplex.runtime.problems`). The actors report what only they see: scenes given up on
(DeadLetter), and, in PlexGateway, a token Plex rejects, Plex down through several breaker
trials, and files that lie in no Plex library at all, which is a path map problem that the
not-found retries (about 68-89 minutes) would otherwise only reveal as dead letters.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from actors.messages import REASON_WORDS
from stashplex.runtime.problems import (
    DEAD_LETTERS,
    PATH_MAP,
    PLEX_DOWN,
    PLEX_TOKEN,
    ProblemLog,
)
from stashplex.sync.breaker import BreakerState
from stashplex.sync.pathmap import PathMap

#: Plex counts as down, for Stash's log, once the breaker stayed open through this many trials
#: (``breaker_reset_seconds`` apart: five minutes by default). Shorter outages just wait.
PLEX_DOWN_TRIALS = 5
#: Where a setting saved in Stash is changed.
STASH_SETTINGS = "Stash (Settings > Plugins > Stash to Plex sync)"


def dead_letter_report(counts: dict[str, int]) -> tuple[str, str]:
    """(message, fix) for the scenes given up on since the last report."""
    total = sum(counts.values())
    reasons = ", ".join(
        f"{n} {REASON_WORDS.get(reason, reason)}" for reason, n in sorted(counts.items())
    )
    scenes = "scene" if total == 1 else "scenes"
    return (
        f"{total} {scenes} could not be synced ({reasons})",
        "`stashplex dlq list` shows each with its reason; `stashplex dlq retry --all` tries "
        "again once that is fixed",
    )


def report_dead_letter(problems: ProblemLog, reason: str) -> None:
    problems.tally(DEAD_LETTERS, reason, dead_letter_report)


class GatewayReports:
    """PlexGateway's problems. It knows which of them it has recorded, so a healthy gateway
    touches the record only when something changes."""

    def __init__(self, data_root: Path, settings: Any) -> None:
        self.problems = problems = ProblemLog(data_root)
        self.plex_url = settings.plex_url
        self.down_after_s = PLEX_DOWN_TRIALS * settings.breaker_reset_seconds
        active = problems.active()
        self._recorded = {key for key in (PLEX_TOKEN, PLEX_DOWN, PATH_MAP) if key in active}
        self._down_since: float | None = None
        self._located: list[tuple[bool, str]] = []

    # -- the token and the connection --------------------------------------------------------

    def token_rejected(self) -> None:
        self._report(
            PLEX_TOKEN,
            f"Plex at {self.plex_url} rejects the token (401), so nothing is written",
            f"set a valid Plex token (plex_token) in {STASH_SETTINGS}, config.toml or "
            "STASHPLEX_PLEX_TOKEN, then `stashplex dlq retry --reason unauthorized`",
        )

    def plex_answered(self) -> None:
        """A connection was made: the token works, Plex is up."""
        self._down_since = None
        self._resolve(PLEX_TOKEN, PLEX_DOWN)

    def breaker_moved(self, new: BreakerState) -> None:
        if new is BreakerState.CLOSED:
            self._down_since = None
            self._resolve(PLEX_DOWN)
        elif self._down_since is None:
            self._down_since = time.time()

    def breaker_waits(self) -> None:
        """A job waits for the breaker: say so once Plex has been down for long."""
        now = time.time()
        if self._down_since is None:
            self._down_since = now
        if now - self._down_since < self.down_after_s:
            return
        since = time.strftime("%Y-%m-%d %H:%M", time.localtime(self._down_since))
        self._report(
            PLEX_DOWN,
            f"Plex at {self.plex_url} has not answered since {since}; every sync waits for it",
            "start Plex, or correct plex_url if Plex moved; `stashplex doctor` checks the "
            "connection",
        )

    # -- files outside every library -----------------------------------------------------------

    def located(self, files: Sequence[str], pathmap: PathMap, index: Any) -> None:
        """One scene looked up: does any of its files map to a Plex item, or at least into a
        Plex library (not scanned yet)? Same-named files elsewhere do not count."""
        mapped = [(path, pathmap.map(path)) for path in files]
        inside = any(
            index.by_path(index.key(plex)) or index.section_for(plex) is not None
            for _, plex in mapped
        )
        example = ""
        if mapped and not inside:
            stash_path, plex_path = mapped[0]
            covered = pathmap.covers(stash_path)
            why = "no Plex library is there" if covered else "no path-map rule covers it"
            example = f"{stash_path} -> {plex_path} ({why})"
        self._located.append((inside, example))

    def batch_located(self, index: Any) -> None:
        """After a batch of lookups: if no file of any of its scenes lies in a Plex library,
        the path map is wrong, and waiting for Plex to scan them cannot help."""
        located, self._located = self._located, []
        if not located:
            return
        if any(inside for inside, _ in located):
            self._resolve(PATH_MAP)
            return
        libraries = "; ".join(
            location for section in index.sections.values() for location in section.locations
        )
        scenes = "scene" if len(located) == 1 else "scenes"
        self._report(
            PATH_MAP,
            f"no file of the {len(located)} {scenes} just synced lies in a Plex library: "
            f"{located[0][1]}; Plex's libraries are at {libraries or 'no location'}",
            f"set path_map (Stash prefix => Plex prefix, e.g. /data/ => /media/) in "
            f"{STASH_SETTINGS}; `stashplex unmatched` lists every scene that does not map",
        )

    # -- the record --------------------------------------------------------------------------

    def _report(self, key: str, message: str, fix: str) -> None:
        if key in self._recorded:
            return  # told once; the first words stay until it is fixed
        self._recorded.add(key)
        self.problems.report(key, message, fix)

    def _resolve(self, *keys: str) -> None:
        gone = [key for key in keys if key in self._recorded]
        if gone:
            self._recorded.difference_update(gone)
            self.problems.resolve(*gone)
