"""The emulated server's disk: files waiting for a scan, files gone, `.plexignore` files.

Staging the disk changes nothing in the library by itself; a scan (scans.py) acts on it, as on
a real server where moving a file does nothing until the section is scanned.
"""

from __future__ import annotations

from collections.abc import Iterable

from stashplex.sandbox.plex import adding, ignore
from stashplex.sandbox.plex.library import Library
from stashplex.sandbox.plex.model import MOVIE, DiskFile


class Disk:
    """Files on disk that no item holds yet, files items hold that are gone, ignore files."""

    def __init__(self, library: Library) -> None:
        self.library = library
        #: Files on disk that no item holds yet, by path key.
        self.disk: dict[str, DiskFile] = {}
        #: Files items still hold that are no longer on disk (moved away or deleted), by key.
        self.gone: dict[str, str] = {}
        #: Folder -> patterns of the `.plexignore` file in it.
        self.plexignores: dict[str, list[str]] = {}
        #: File -> why the last scan that saw it did not add it.
        self.skipped: dict[str, str] = {}

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
        moved_from: str | None = None,
    ) -> int:
        """Make a file exist on disk; returns the section whose Location contains it."""
        lib = self.library
        with lib.lock:
            found = lib.location_of(file)
            if found is None:
                raise ValueError(f"{file!r} is under no section location")
            section, location = found
            derived_title, year = adding.title_from_file(file, lib.paths)
            last_episode = None
            if section.type != MOVIE:
                show_title, season, episode, last_episode = self._episode_identity(
                    file, location, show_title, season, episode
                )
            self.disk[lib.paths.key(file)] = DiskFile(
                file=lib.paths.stored(file),
                section_key=section.key,
                title=title if title is not None else derived_title,
                size=size,
                duration_ms=duration_ms,
                show_title=show_title,
                season=season,
                episode=episode,
                year=year if title is None else None,
                last_episode=last_episode,
                moved_from=moved_from,
            )
            self.gone.pop(lib.paths.key(file), None)
            return section.key

    def _episode_identity(
        self,
        file: str,
        location: str,
        show_title: str | None,
        season: int | None,
        episode: int | None,
    ) -> tuple[str | None, int | None, int | None, int | None]:
        """What the TV scanner reads from the path: Show/…/Show - S01E02[-E03].mkv.

        A file without an episode mark is kept on disk as it is: the scan skips it.
        """
        paths = self.library.paths
        below = paths.relative_parts(file, location)
        if show_title is None and len(below) > 1:
            show_title = below[0]
        numbers = ignore.episode_numbers(paths.basename(file))
        last = None
        if numbers is not None:
            season = numbers[0] if season is None else season
            if episode is None:
                episode, last = numbers[1][0], numbers[1][-1]
        if show_title is None and episode is not None:
            raise ValueError(f"{file!r} needs a show folder or an explicit show_title")
        return show_title, season, episode, last if last != episode else None

    def move_on_disk(self, old: str, new: str) -> int:
        """Move a file; the next scan covering `new` sees the move. Returns `new`'s section."""
        lib = self.library
        with lib.lock:
            paths = lib.paths
            if lib.location_of(new) is None:
                raise ValueError(f"{new!r} is under no section location")
            if paths.key(new) in self.disk or lib.files_of(new):
                raise ValueError(f"{new!r} exists already")
            waiting = self.disk.pop(paths.key(old), None)
            if waiting is not None:
                return self.put_on_disk(new, size=waiting.size, duration_ms=waiting.duration_ms)
            holders = lib.files_of(old)
            if not holders:
                raise ValueError(f"no file {old!r} on disk or in the library")
            part = next(
                p for p in lib.items[holders[0]].parts if paths.key(p.file) == paths.key(old)
            )
            section = self.put_on_disk(
                new, size=part.size, duration_ms=part.duration_ms, moved_from=old
            )
            self.gone[paths.key(old)] = old
            return section

    def delete_from_disk(self, path: str) -> None:
        """Delete a file: a waiting one vanishes, an item's goes at the next scan covering it."""
        lib = self.library
        with lib.lock:
            if self.disk.pop(lib.paths.key(path), None) is None:
                if not lib.files_of(path):
                    raise ValueError(f"no file {path!r} on disk or in the library")
                self.gone[lib.paths.key(path)] = path

    def add_plexignore(self, folder: str, patterns: str | Iterable[str]) -> list[str]:
        """Write a `.plexignore` into `folder` (replacing one there); returns its patterns."""
        lib = self.library
        with lib.lock:
            if lib.location_of(folder) is None:
                raise ValueError(f"{folder!r} is under no section location")
            parsed = ignore.parse_plexignore(patterns)
            self.plexignores[lib.paths.stored(folder)] = parsed
            return parsed
