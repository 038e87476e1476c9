"""The emulator's "disk" and asynchronous section scans.

A scan answers at once and acts after `delay` seconds; meanwhile the section reports
refreshing="1" and an Activity, so client wait loops run for real. When it runs, a scan of a
section (or of one folder of it, `?path=`) does what PMS does with what it finds there:

* a file moved within the section keeps its item (`files.move_parts`);
* a file gone from disk takes its item with it (PMS "Empty trash automatically after every
  scan", on by default: Plex support "Library" settings);
* a new file becomes an item, unless the scanner skips it (`ignore.py`); a skipped file stays on
  disk and its reason is kept in `skipped`, the "scan finished, file not added" case;
* split movies (`- pt1`, `- pt2`) become one item; `S01E01-E02` becomes two episodes.
"""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass, field

from stashplex.sandbox.plex import adding, files, ignore
from stashplex.sandbox.plex.disk import Disk
from stashplex.sandbox.plex.edits import refill_date, refresh_from_agent
from stashplex.sandbox.plex.library import Library
from stashplex.sandbox.plex.model import MOVIE, DiskFile, PlexError, Scan


@dataclass
class ScanReport:
    """What one finished scan did."""

    section_key: int
    path: str | None
    added: list[int] = field(default_factory=list)
    moved: dict[str, str] = field(default_factory=dict)
    removed: list[int] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)

    def as_json(self) -> dict[str, object]:
        return {
            "section": self.section_key,
            "path": self.path,
            "added": self.added,
            "moved": self.moved,
            "removed": self.removed,
            "skipped": self.skipped,
        }


class Scanner(Disk):
    """Runs scans over the disk (see disk.py) and owns the timers of pending scans."""

    def __init__(self, library: Library, delay: float) -> None:
        if delay < 0:
            raise ValueError("scan delay must not be negative")
        super().__init__(library)
        self.delay = delay
        self.reports: list[ScanReport] = []
        self._timers: dict[str, threading.Timer] = {}

    # -- scans --------------------------------------------------------------------------------

    def start(self, section_key: int | None, path: str | None, force: bool) -> list[Scan]:
        """Queue a scan of one section (or all, for None); answers immediately."""
        lib = self.library
        with lib.lock:
            keys = list(lib.sections) if section_key is None else [lib.section(section_key).key]
            started = []
            for key in keys:
                scan = Scan(str(uuid.uuid4()), key, path, force, time.monotonic())
                lib.scans[scan.uuid] = scan
                timer = threading.Timer(self.delay, self._finish, args=(scan.uuid,))
                timer.daemon = True
                self._timers[scan.uuid] = timer
                started.append(scan)
            for scan in started:
                self._timers[scan.uuid].start()
            return started

    def scan_now(
        self, section_key: int | None = None, path: str | None = None, force: bool = False
    ) -> list[ScanReport]:
        """Run a scan at once, synchronously (staging helper; no Activity is shown)."""
        lib = self.library
        with lib.lock:
            keys = list(lib.sections) if section_key is None else [lib.section(section_key).key]
            reports = []
            for key in keys:
                scan = Scan(str(uuid.uuid4()), key, path, force, time.monotonic())
                reports.append(self._run(scan))
            return reports

    def cancel(self, section_key: int) -> int:
        lib = self.library
        with lib.lock:
            lib.section(section_key)
            doomed = [s.uuid for s in lib.scans.values() if s.section_key == section_key]
            for scan_id in doomed:
                self._drop(scan_id)
            return len(doomed)

    def _drop(self, scan_id: str) -> None:
        self.library.scans.pop(scan_id, None)
        timer = self._timers.pop(scan_id, None)
        if timer is not None:
            timer.cancel()

    def stop(self) -> None:
        with self.library.lock:
            for scan_id in list(self._timers):
                self._drop(scan_id)

    def _finish(self, scan_id: str) -> None:
        lib = self.library
        with lib.lock:
            scan = lib.scans.get(scan_id)
            if scan is None:
                return
            self._drop(scan_id)
            self._run(scan)

    def _run(self, scan: Scan) -> ScanReport:
        lib = self.library
        report = ScanReport(scan.section_key, scan.path)
        try:
            self._apply_moves(scan, report)
            self._remove_gone(scan, report)
            self._add_found(scan, report)
            if scan.force:
                self._refresh(scan)
        except (PlexError, ValueError, KeyError):
            return report  # a section deleted or changed meanwhile: the scan finds nothing
        section = lib.sections[scan.section_key]
        section.scanned_at = section.updated_at = lib.now()
        lib.changed()
        self.reports = [*self.reports[-99:], report]
        return report

    def _in_scope(self, scan: Scan, file: str) -> bool:
        lib = self.library
        found = lib.location_of(file)
        if found is None or found[0].key != scan.section_key:
            return False
        return scan.path is None or lib.paths.under(file, scan.path)

    def _apply_moves(self, scan: Scan, report: ScanReport) -> None:
        lib = self.library
        for key, disk_file in list(self.disk.items()):
            old = disk_file.moved_from
            if old is None or not self._in_scope(scan, disk_file.file):
                continue
            holders = lib.files_of(old)
            if not holders or any(lib.items[k].section_key != scan.section_key for k in holders):
                continue  # moved to another section: a new item here, a removal there
            files.move_parts(lib, old, disk_file.file, bump=lib.realism.move_bumps_updated_at)
            del self.disk[key]
            self.gone.pop(lib.paths.key(old), None)
            report.moved[old] = disk_file.file

    def _remove_gone(self, scan: Scan, report: ScanReport) -> None:
        lib = self.library
        for key, path in list(self.gone.items()):
            if not self._in_scope(scan, path):
                continue
            for rating_key in lib.files_of(path):
                if rating_key in lib.items:
                    files.remove_item(lib, rating_key)
                    report.removed.append(rating_key)
            del self.gone[key]

    def _add_found(self, scan: Scan, report: ScanReport) -> None:
        lib = self.library
        section = lib.sections[scan.section_key]
        candidates = []
        for key, disk_file in self.disk.items():
            found = lib.location_of(disk_file.file)
            if not self._in_scope(scan, disk_file.file) or lib.files_of(disk_file.file):
                continue
            episode_known = disk_file.episode is not None
            reason = None
            if lib.realism.scanner_ignores and found is not None:
                seen = ignore.Seen(
                    disk_file.file,
                    disk_file.size,
                    found[1],
                    section.type,
                    lib.paths,
                    self.plexignores,
                    episode_known,
                )
                reason = ignore.skip_reason(seen)
            elif section.type != MOVIE and not episode_known:
                reason = "no episode mark (series scanner)"
            if reason is not None:
                self.skipped[disk_file.file] = report.skipped[disk_file.file] = reason
                continue
            self.skipped.pop(disk_file.file, None)
            candidates.append((key, disk_file))
        if section.type == MOVIE:
            self._add_movies(candidates, report)
        else:
            self._add_episodes(candidates, report)

    def _add_movies(self, candidates: list[tuple[str, DiskFile]], report: ScanReport) -> None:
        lib = self.library
        stacks: dict[tuple[str, str], list[tuple[int, str, DiskFile]]] = {}
        singles: list[tuple[str, DiskFile]] = []
        for key, disk_file in candidates:
            mark = ignore.stack_key(disk_file.file, lib.paths) if lib.realism.stacking else None
            if mark is None:
                singles.append((key, disk_file))
            else:
                stacks.setdefault(mark[:2], []).append((mark[2], key, disk_file))
        for stack, members in stacks.items():
            held = self._stacked_item(stack)
            if held is not None:  # a later part of a movie already in the library
                for _, key, disk_file in members:
                    adding.add_file(
                        lib,
                        held,
                        disk_file.file,
                        size=disk_file.size,
                        duration_ms=disk_file.duration_ms,
                    )
                    del self.disk[key]
                continue
            if len(members) == 1:
                singles.append(members[0][1:])
                continue
            members.sort(key=lambda member: member[0])
            first = members[0][2]
            title = ignore.stacked_title(first.file, lib.paths)
            rating_key = self._add_movie(first, *adding.title_from_file(title))
            for _, key, disk_file in members[1:]:
                adding.add_file(
                    lib,
                    rating_key,
                    disk_file.file,
                    size=disk_file.size,
                    duration_ms=disk_file.duration_ms,
                )
                del self.disk[key]
            del self.disk[members[0][1]]
            report.added.append(rating_key)
        for key, disk_file in singles:
            report.added.append(self._add_movie(disk_file, disk_file.title, disk_file.year))
            del self.disk[key]

    def _stacked_item(self, stack: tuple[str, str]) -> int | None:
        """The movie already holding a part of this stack (same folder, same name but the mark)."""
        lib = self.library
        for file_key, holders in lib.by_file.items():
            part = ignore.stack_key(file_key, lib.paths)
            if part is not None and part[:2] == stack and lib.items[holders[0]].type == MOVIE:
                return holders[0]
        return None

    def _add_movie(self, disk_file: DiskFile, title: str, year: int | None) -> int:
        lib = self.library
        rating_key = adding.add_movie(
            lib,
            disk_file.section_key,
            disk_file.file,
            title=title,
            size=disk_file.size,
            duration_ms=disk_file.duration_ms,
            year=year,
        )
        self._agent_date(rating_key)
        return rating_key

    def _agent_date(self, rating_key: int) -> None:
        """An agent that obtains no date fills in the added date (PlexKodiConnect #1395)."""
        item = self.library.items[rating_key]
        refill_date(item, self.library.realism.date_refill)
        if "originallyAvailableAt" in item.fields:
            item.agent_fields["originallyAvailableAt"] = item.fields["originallyAvailableAt"]

    def _add_episodes(self, candidates: list[tuple[str, DiskFile]], report: ScanReport) -> None:
        lib = self.library
        for key, disk_file in candidates:
            first = disk_file.episode or 0
            last = disk_file.last_episode or first
            keys = adding.add_episodes(
                lib,
                disk_file.section_key,
                disk_file.file,
                show_title=disk_file.show_title or "",
                season=disk_file.season or 0,
                episodes=list(range(first, last + 1)),
                titles=[disk_file.title],
                size=disk_file.size,
                duration_ms=disk_file.duration_ms,
            )
            for rating_key in keys:
                self._agent_date(rating_key)
            report.added.extend(keys)
            del self.disk[key]

    def _refresh(self, scan: Scan) -> None:
        lib = self.library
        now = lib.now()
        for item in lib.items.values():
            if item.section_key != scan.section_key:
                continue
            if scan.path is None or any(lib.paths.under(p.file, scan.path) for p in item.parts):
                refresh_from_agent(item, now, lib.realism)
