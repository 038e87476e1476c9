"""Asking Plex to scan the folder of a file it does not have yet, gently.

A scene saved in Stash usually reaches us before Plex has scanned its file. One scan of the
file's folder (not the library) is enough, and one per folder per interval: a season of new
files, or a scan storm of new scenes, asks Plex once per folder rather than once per file.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from typing import Any

from stashplex.plex.index import PathIndex
from stashplex.sync.gateway_rules import folders_due_for_scan
from stashplex.sync.pathmap import in_server_spelling

log = logging.getLogger(__name__)


class FolderScans:
    """Remembers when each folder was last scanned; all requests go through ``call``."""

    def __init__(
        self, call: Callable[..., Any], section_by_key: Callable[[int], Any], interval_s: float
    ) -> None:
        self._call = call
        self._section_by_key = section_by_key
        self.interval_s = interval_s
        self._scanned: dict[str, float] = {}

    def scan_missing(self, index: PathIndex, plex_paths: Iterable[str], why: str) -> list[str]:
        """Scan the folders of these (mapped) paths that are due; returns the folders asked for."""
        now = time.time()
        in_sections = [path for path in plex_paths if index.section_for(path) is not None]
        asked = []
        for folder in folders_due_for_scan(
            in_sections, self._scanned, now=now, interval_s=self.interval_s
        ):
            section = index.section_for(folder + "/")
            if section is None:
                continue
            self._scanned[folder] = now
            plex_section = self._call(self._section_by_key, section.key)
            spelled = in_server_spelling(folder, section.locations[0] if section.locations else "")
            self._call(plex_section.update, path=spelled)
            log.info("asked Plex to scan %s for %s", spelled, why)
            asked.append(spelled)
        return asked
