"""PlexGateway's locate step: the Plex items that may hold a scene's files, or wait for Plex.

A scene's files are looked up in the path index (refreshed, at most once per
``index_refresh_seconds``, on a miss; a scene written before first re-reads the items it was
written to, since Plex keeps an item when its file moves). Candidates go to the Matcher. A job
with no candidate at all is parked (:mod:`actors.plex_awaiting`) rather than sent on a retry of
its own. The first to park asks Plex at once to scan its folder; while others wait, each
``plex.recheck`` refreshes the index once for every parked job, releases those whose files
appeared, and asks Plex to scan the folders still missing files: at most
:data:`MAX_FOLDER_SCANS` requests per refresh interval, collapsed to parent folders when more are
due (:func:`stashplex.sync.gateway_rules.collapse_folders`).
"""

from __future__ import annotations

import dataclasses
import logging
import time
from typing import TYPE_CHECKING, Any

from actors.addresses import MATCHER, PLEX_GATEWAY
from actors.messages import MATCH_SCORE, SyncJob
from actors.plex_awaiting import AwaitingPlex
from actors.problem_reports import GatewayReports
from stashplex.plex.guarded import BreakerOpenError, GuardedCalls, PlexCallError
from stashplex.plex.index import IndexBuilder, PathIndex
from stashplex.plex.state import GatewayState
from stashplex.runtime.envelope import Envelope
from stashplex.sync.gateway_rules import collapse_folders, folders_due_for_scan, path_separator
from stashplex.sync.matching import PlexCandidate
from stashplex.sync.pathmap import PathMap, in_server_spelling
from stashplex.sync.scene import StashScene

log = logging.getLogger(__name__)

#: Scan requests per index refresh interval, however many folders are missing files.
MAX_FOLDER_SCANS = 10


class LocateSteps:
    """Mixed into PlexGateway, whose setup provides these."""

    settings: Any
    state: GatewayState
    pathmap: PathMap
    awaiting: AwaitingPlex
    reports: GatewayReports
    _index: PathIndex
    _builder: IndexBuilder | None
    _call: GuardedCalls
    _scans: dict[str, float]
    _scan_window: tuple[float, int]

    if TYPE_CHECKING:  # provided by PlexGateway and MailboxActor; stubs here would shadow them

        def send(self, to: str, envelope: Envelope) -> None: ...
        def _server(self) -> Any: ...
        def _ensure_index(self) -> PathIndex: ...
        def _publish_status(self) -> None: ...

    # -- lookups -----------------------------------------------------------------------------

    def _lookup(self, paths: list[str]) -> list[PlexCandidate]:
        return self._index.candidates(self.pathmap.map(path) for path in paths)

    def _locate(self, envelope: Envelope) -> None:
        job = SyncJob.model_validate(envelope.payload)
        scene = StashScene.model_validate(job.scene)
        paths = [file.path for file in scene.files]
        index = self._ensure_index()
        candidates = self._lookup(paths)
        known = [] if candidates else self.state.keys_of_scene(scene.id)
        if known:  # written before: its file may have moved under the same item
            assert self._builder is not None
            self._call(self._builder.reindex_items, index, known)
            candidates = self._lookup(paths)
        fresh_enough = time.time() - index.refreshed_at < self.settings.index_refresh_seconds
        if not candidates and not fresh_enough:
            assert self._builder is not None
            added = self._call(self._builder.refresh, index)
            log.info("path index refreshed on a miss: %d new items", added)
            self._publish_status()
            candidates = self._lookup(paths)
        self.reports.located(paths, self.pathmap, index)
        if not candidates and not job.dry_run:
            alone = not self.awaiting.count()
            if self.awaiting.park(envelope, job.revision, paths):
                log.info("scene %s: no Plex item has its files yet; waiting for Plex", scene.id)
                if alone:  # a lone new file: ask at once; many: the recheck asks for them all
                    self._scan_quietly(paths)
            return
        if candidates:
            self.awaiting.drop_older({scene.id: job.revision}, found=True)
        else:
            self._scan_missing(paths)
        job = job.model_copy(update={"candidates": [dataclasses.asdict(c) for c in candidates]})
        self.send(
            MATCHER, envelope.derive(MATCH_SCORE, job.model_dump(mode="json"), sender=PLEX_GATEWAY)
        )

    # -- the jobs waiting for Plex ---------------------------------------------------------------

    def _recheck(self) -> None:
        """The shared timer rang: refresh the index once, release what Plex has now."""
        parked = self.awaiting.rows()
        if not parked:
            self.awaiting.next_wave(progress=False)
            return
        added = 0
        try:
            index = self._ensure_index()
            if time.time() - index.refreshed_at >= self.settings.index_refresh_seconds:
                assert self._builder is not None
                added = self._call(self._builder.refresh, index)
                self._publish_status()
        except BreakerOpenError as exc:
            self.awaiting.arm(max(0.0, exc.trial_at - time.time()))
            return
        except PlexCallError as exc:
            log.warning("jobs waiting for Plex not rechecked: %s", exc.failure.message)
            self.awaiting.next_wave(progress=False)
            return
        found, missing = [], []
        for row in parked:
            candidates = self._lookup(row.paths)
            if candidates:
                found.append((row, [dataclasses.asdict(c) for c in candidates]))
            else:
                missing.append(row)
        self.awaiting.release(found)
        gone = {row.scene_id for row in self.awaiting.expire(missing, time.time())}
        waiting = [row for row in missing if row.scene_id not in gone]
        log.info(
            "waiting for Plex: %d found, %d still waiting, %d given up (%d new items in Plex)",
            len(found),
            len(waiting),
            len(gone),
            added,
        )
        self._scan_quietly([path for row in waiting for path in row.paths])
        self.awaiting.next_wave(progress=bool(found) or added > 0)

    # -- asking Plex to scan -------------------------------------------------------------------

    def _scan_quietly(self, stash_paths: list[str]) -> None:
        """Scans for jobs that wait anyway: a failed request is asked again at the next recheck,
        and must not send the parked job on a retry of its own as well."""
        try:
            self._scan_missing(stash_paths)
        except (BreakerOpenError, PlexCallError) as exc:
            log.warning("folder scans not asked for now: %s", exc)

    def _scan_missing(self, stash_paths: list[str]) -> None:
        """Ask Plex to scan the folders of files it lacks: each folder at most once per
        refresh interval, and at most :data:`MAX_FOLDER_SCANS` requests in one interval."""
        if not self.settings.scan_on_miss or not stash_paths:
            return
        now = time.time()
        interval = self.settings.index_refresh_seconds
        mapped = [self.pathmap.map(path) for path in stash_paths]
        in_sections = [path for path in mapped if self._index.section_for(path) is not None]
        if not in_sections:
            return
        separator = path_separator(in_sections[0])
        due = folders_due_for_scan(
            in_sections, self._scans, now=now, interval_s=interval, separator=separator
        )
        started, used = self._scan_window
        if now - started >= interval:
            started, used = now, 0
        if not due or used >= MAX_FOLDER_SCANS:
            return
        chosen = collapse_folders(
            due,
            limit=MAX_FOLDER_SCANS - used,
            floor=lambda folder: self._location_of(folder, separator),
            separator=separator,
        )
        self._scan_window = (started, used + len(chosen))
        for folder in due:
            if any(folder == c or folder.startswith(c + separator) for c in chosen):
                self._scans[folder] = now
        for folder in chosen:
            section = self._index.section_for(folder + separator)
            if section is None:
                continue
            self._scans[folder] = now
            section_obj = self._call(self._library_section, section.key)
            spelled = in_server_spelling(folder, section.locations[0] if section.locations else "")
            self._call(section_obj.update, path=spelled)
            log.info("asked Plex to scan %s", spelled)

    def _location_of(self, folder: str, separator: str) -> str | None:
        """The library location (Plex's Location) holding ``folder``."""
        section = self._index.section_for(folder + separator)
        if section is None:
            return None
        key = self._index.key(folder)  # normalized keys always use "/"
        inside = [
            loc
            for loc in section.locations
            if key == self._index.key(loc) or key.startswith(self._index.key(loc).rstrip("/") + "/")
        ]
        return max(inside, key=len) if inside else None

    def _library_section(self, key: int) -> Any:
        """plexapi's section object (its first use lists the libraries: a Plex request)."""
        return self._server().library.sectionByID(key)
