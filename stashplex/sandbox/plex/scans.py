"""The emulator's "disk" and asynchronous section scans.

A scan answers at once and adds matching disk files after `delay` seconds; meanwhile the section
reports refreshing="1" and an Activity, so client wait loops run for real.
"""

from __future__ import annotations

import re
import threading
import time
import uuid
from collections.abc import Iterable

from stashplex.sandbox.plex.edits import refresh_from_agent
from stashplex.sandbox.plex.library import Library, title_from_file, under
from stashplex.sandbox.plex.model import MOVIE, DiskFile, PlexError, Scan

_EPISODE_MARK = re.compile(r"[Ss](?P<season>\d{1,3})[Ee](?P<episode>\d{1,4})")


class Scanner:
    """Owns the disk view and the timers of pending scans."""

    def __init__(self, library: Library, delay: float) -> None:
        if delay < 0:
            raise ValueError("scan delay must not be negative")
        self.library = library
        self.delay = delay
        self.disk: dict[str, DiskFile] = {}
        self._timers: dict[str, threading.Timer] = {}

    def put_on_disk(
        self,
        file: str,
        title: str | None = None,
        *,
        size: int = 1_000_000,
        duration_ms: int = 5_400_000,
        show_title: str | None = None,
        season: int | None = None,
        episode: int | None = None,
    ) -> int:
        """Make a file exist on disk; returns the section whose Location contains it."""
        lib = self.library
        with lib.lock:
            section = lib.section_for_file(file)
            if section is None:
                raise ValueError(f"{file!r} is under no section location")
            derived_title, year = title_from_file(file)
            if section.type != MOVIE:
                show_title, season, episode = self._episode_identity(
                    file, section.locations, show_title, season, episode
                )
            self.disk[file] = DiskFile(
                file=file,
                section_key=section.key,
                title=title if title is not None else derived_title,
                size=size,
                duration_ms=duration_ms,
                show_title=show_title,
                season=season,
                episode=episode,
                year=year if title is None else None,
            )
            return section.key

    @staticmethod
    def _episode_identity(
        file: str,
        locations: Iterable[str],
        show_title: str | None,
        season: int | None,
        episode: int | None,
    ) -> tuple[str, int, int]:
        """Fill what the TV scanner would read from the path: Show/…/Show - S01E02.mkv."""
        if show_title is None:
            location = next(loc for loc in locations if under(file, loc))
            relative = file[len(location) :].lstrip("/")
            if "/" not in relative:
                raise ValueError(f"{file!r} needs a show folder or an explicit show_title")
            show_title = relative.split("/", 1)[0]
        if season is None or episode is None:
            mark = _EPISODE_MARK.search(file.rsplit("/", 1)[-1])
            if mark is None:
                raise ValueError(f"{file!r} has no SxxEyy mark; pass season and episode")
            season = int(mark["season"]) if season is None else season
            episode = int(mark["episode"]) if episode is None else episode
        return show_title, season, episode

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
            try:
                self._add_found(scan)
            except (PlexError, ValueError):
                return  # a section deleted or changed meanwhile: the scan finds nothing
            section = lib.sections[scan.section_key]
            section.scanned_at = section.updated_at = lib.now()

    def _add_found(self, scan: Scan) -> None:
        lib = self.library
        for disk_file in list(self.disk.values()):
            if disk_file.section_key != scan.section_key or disk_file.file in lib.by_file:
                continue
            if scan.path is not None and not under(disk_file.file, scan.path):
                continue
            if lib.sections[scan.section_key].type == MOVIE:
                lib.add_movie(
                    scan.section_key,
                    disk_file.file,
                    title=disk_file.title,
                    size=disk_file.size,
                    duration_ms=disk_file.duration_ms,
                    year=disk_file.year,
                )
            else:
                lib.add_episode(
                    scan.section_key,
                    disk_file.file,
                    show_title=disk_file.show_title or "",
                    season=disk_file.season or 0,
                    episode=disk_file.episode or 0,
                    title=disk_file.title,
                    size=disk_file.size,
                    duration_ms=disk_file.duration_ms,
                )
        if scan.force:
            now = lib.now()
            for item in lib.items.values():
                in_scope = scan.path is None or any(under(p.file, scan.path) for p in item.parts)
                if item.section_key == scan.section_key and in_scope:
                    refresh_from_agent(item, now)
            lib.changed()
