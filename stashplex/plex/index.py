"""The path index: every Plex media file we might write to, by normalised path and basename.

Plex has no server-side path search, so the index is built from paged section listings (movies,
and episodes across a whole show section in one paged stream) and then kept fresh incrementally:
a miss lists the newest items first and stops at the first one already known, instead of
re-listing the library for every scene. Listings are read as raw XML through plexapi's
``query`` rather than as plexapi objects, and kept in a private SQLite table rather than as
Python objects, so resident memory stays flat as the library grows (:class:`PathIndex`).
"""

from __future__ import annotations

import dataclasses
import logging
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any
from xml.etree.ElementTree import Element

from stashplex.sync.matching import PlexCandidate
from stashplex.sync.pathmap import normalize_path, path_basename

log = logging.getLogger(__name__)

#: Items per listing request: far fewer requests than plexapi's 100, still gentle on Plex.
PAGE_SIZE = 1000
#: Items per request when looking for what was added since the last look.
RECENT_PAGE_SIZE = 200
_LISTING_TYPE = {"movie": 1, "show": 4}
#: The path index's page cache: lookups touch a few pages each, the rest stays on disk.
INDEX_CACHE_KIB = 2048
#: One row per media part. ``file`` is NULL when the file is spelt as its normalised path.
_SCHEMA = (
    """CREATE TABLE part (id INTEGER PRIMARY KEY, path TEXT NOT NULL, base TEXT NOT NULL,
        file TEXT, rating_key INTEGER NOT NULL, section_key INTEGER NOT NULL, size INTEGER,
        duration_ms INTEGER)""",
    "CREATE UNIQUE INDEX part_path ON part(path, rating_key)",
    "CREATE INDEX part_base ON part(base)",
    "CREATE INDEX part_item ON part(rating_key)",
)
_COLUMNS = "SELECT rating_key, section_key, coalesce(file, path), size, duration_ms FROM part"
_BY_PATH = f"{_COLUMNS} WHERE path = ? ORDER BY id"
_BY_BASE = f"{_COLUMNS} WHERE base = ? ORDER BY id"
_KNOWN = "SELECT DISTINCT rating_key FROM part WHERE rating_key IN (%s)"
_INSERT = (
    "INSERT OR IGNORE INTO part(path, base, file, rating_key, section_key, size, duration_ms)"
    " VALUES(?, ?, ?, ?, ?, ?, ?)"
)


@dataclass
class Section:
    key: int
    title: str
    type: str
    locations: tuple[str, ...]
    newest_added_at: int = 0


class PathIndex:
    """Implements :class:`stashplex.sync.matching.CandidateIndex`, in a private SQLite table.

    Python objects cost several hundred bytes per item (the path and file name strings, their
    dict slots, the candidate, its ints), and a heap that grew while a 100,000-item index was
    built stays grown. The parts live instead in SQLite's temporary database (``""``): a page
    cache of :data:`INDEX_CACHE_KIB` in memory, the rest in a file SQLite deletes when the index
    is closed or dropped (in ``SQLITE_TMPDIR``, ``TMPDIR``, ``/var/tmp`` or ``/tmp``; about
    300 bytes per part), so resident memory no longer grows with the library. Lookups are
    indexed (path, file name, item); a lock makes the index safe to share between threads.
    """

    def __init__(self, case_insensitive: bool = False) -> None:
        self.case_insensitive = case_insensitive
        self.sections: dict[int, Section] = {}
        self.built_at = 0.0
        self.refreshed_at = 0.0
        self._lock = threading.RLock()
        self._items = 0
        self._db = sqlite3.connect("", isolation_level=None, check_same_thread=False)
        self._db.execute(f"PRAGMA cache_size=-{INDEX_CACHE_KIB}")
        for statement in ("PRAGMA journal_mode=OFF", "PRAGMA synchronous=OFF", *_SCHEMA):
            self._db.execute(statement)

    def __len__(self) -> int:
        return self._items

    def close(self) -> None:
        """Release the table now (dropping the index does the same, later)."""
        with self._lock:
            self._db.close()

    def stored_bytes(self) -> int:
        """Bytes the table and its indexes take, in memory and on disk together."""
        with self._lock:
            pages = self._db.execute("PRAGMA page_count").fetchone()[0]
            return int(pages) * int(self._db.execute("PRAGMA page_size").fetchone()[0])

    def by_path(self, normalized_path: str) -> Sequence[PlexCandidate]:
        return self._select(_BY_PATH, normalized_path)

    def by_basename(self, normalized_basename: str) -> Sequence[PlexCandidate]:
        return self._select(_BY_BASE, normalized_basename)

    def _select(self, sql: str, value: str) -> tuple[PlexCandidate, ...]:
        with self._lock:
            rows = self._db.execute(sql, (value,)).fetchall()
        return tuple(PlexCandidate(*row) for row in rows)

    def candidates(self, plex_paths: Iterable[str]) -> list[PlexCandidate]:
        """Every item that may be one of these files: same path, or same file name."""
        found: dict[tuple[int, str], PlexCandidate] = {}
        for path in plex_paths:
            key = self.key(path)
            for candidate in (*self.by_path(key), *self.by_basename(path_basename(key))):
                found[(candidate.rating_key, candidate.file)] = candidate
        return list(found.values())

    def key(self, path: str) -> str:
        key = normalize_path(path, case_insensitive=self.case_insensitive)
        return path if key == path else key  # share the string when nothing changed

    def add(self, candidate: PlexCandidate) -> None:
        self.add_many((candidate,))

    def add_many(self, candidates: Iterable[PlexCandidate]) -> int:
        """Index these parts in one transaction (a listing page: one commit, not a thousand);
        a part already indexed under the same path and item is left as it is. Returns how
        many items are new."""
        rows = []
        for candidate in candidates:
            key = self.key(candidate.file)
            file = None if key == candidate.file else candidate.file  # stored once when the same
            rows.append((key, path_basename(key), file, candidate.rating_key,
                         candidate.section_key, candidate.size, candidate.duration_ms))  # fmt: skip
        keys = list({row[3] for row in rows})
        with self._lock:
            self._db.execute("BEGIN")
            try:
                known = {
                    rating_key
                    for start in range(0, len(keys), 500)  # under SQLite's variable limit
                    for (rating_key,) in self._db.execute(
                        _KNOWN % ",".join("?" * len(keys[start : start + 500])),
                        keys[start : start + 500],
                    )
                }
                self._db.executemany(_INSERT, rows)
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
            self._items += len(keys) - len(known)
        return len(keys) - len(known)

    def remove_item(self, rating_key: int) -> None:
        """Forget an item Plex no longer has (its ratingKey answered 404)."""
        with self._lock:
            removed = self._db.execute("DELETE FROM part WHERE rating_key = ?", (rating_key,))
            self._items -= bool(removed.rowcount)

    def section_for(self, plex_path: str) -> Section | None:
        """The section whose Location is the longest prefix of ``plex_path``."""
        key = self.key(plex_path)
        best: tuple[int, Section] | None = None
        for section in self.sections.values():
            for location in section.locations:
                prefix = self.key(location).rstrip("/") + "/"
                if key.startswith(prefix) and (best is None or len(prefix) > best[0]):
                    best = (len(prefix), section)
        return best[1] if best else None


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except ValueError:
        return None


def candidates_from_listing(
    container: Element, section_key: int
) -> Iterator[tuple[int, PlexCandidate]]:
    """(addedAt, candidate) for every media part of every item in a listing page."""
    for video in container.iter("Video"):
        rating_key = _int(video.get("ratingKey"))
        if rating_key is None:
            continue
        added_at = _int(video.get("addedAt")) or 0
        for media in video.iter("Media"):
            media_duration = _int(media.get("duration"))
            for part in media.iter("Part"):
                file = part.get("file")
                if not file:
                    continue
                yield (
                    added_at,
                    PlexCandidate(
                        rating_key=rating_key,
                        section_key=section_key,
                        file=file,
                        size=_int(part.get("size")),
                        duration_ms=_int(part.get("duration")) or media_duration,
                    ),
                )


class IndexBuilder:
    """Fills a :class:`PathIndex` from a plexapi ``PlexServer`` (all I/O is ``plex.query``)."""

    def __init__(
        self, plex: Any, libraries: Sequence[str] = (), *, page_size: int = PAGE_SIZE
    ) -> None:
        self.plex = plex
        self.libraries = {name.strip().casefold() for name in libraries if name.strip()}
        self.page_size = page_size
        self.requests = 0

    def _query(self, key: str, start: int | None = None, size: int | None = None) -> Element:
        self.requests += 1
        headers = None
        if start is not None and size is not None:
            headers = {"X-Plex-Container-Start": str(start), "X-Plex-Container-Size": str(size)}
        return self.plex.query(key, headers=headers)

    def load_sections(self) -> list[Section]:
        container = self._query("/library/sections")
        sections = []
        for directory in container.iter("Directory"):
            kind = directory.get("type", "")
            title = directory.get("title", "")
            if kind not in _LISTING_TYPE:
                continue
            if self.libraries and title.casefold() not in self.libraries:
                continue
            locations = tuple(loc.get("path", "") for loc in directory.iter("Location"))
            sections.append(Section(int(directory.get("key", "0")), title, kind, locations))
        return sections

    def build(self, index: PathIndex) -> PathIndex:
        """A fresh, complete index of the configured sections."""
        fresh = PathIndex(case_insensitive=index.case_insensitive)
        for section in self.load_sections():
            fresh.sections[section.key] = section
            key = f"/library/sections/{section.key}/all?type={_LISTING_TYPE[section.type]}"
            start = 0
            while True:
                container = self._query(key, start, self.page_size)
                rows = list(candidates_from_listing(container, section.key))
                fresh.add_many(candidate for _, candidate in rows)
                newest = max((added_at for added_at, _ in rows), default=0)
                section.newest_added_at = max(section.newest_added_at, newest)
                count = int(container.get("size") or 0)
                total = int(container.get("totalSize") or container.get("size") or 0)
                start += self.page_size
                if count == 0 or start >= total:
                    break
        fresh.built_at = fresh.refreshed_at = time.time()
        log.info("path index built: %d items in %d sections", len(fresh), len(fresh.sections))
        return fresh

    def reindex_items(self, index: PathIndex, rating_keys: Sequence[int]) -> int:
        """Read these items again and index the files they have now; returns how many exist.

        Plex keeps an item when its file is moved or renamed (same ratingKey, same addedAt:
        it tracks files by hash), so no "newest first" refresh ever shows the new path. The
        items a scene was written to are where its file went, one request each. An item that
        answers 404 is forgotten.
        """
        from plexapi.exceptions import NotFound

        found = 0
        for rating_key in rating_keys:
            try:
                container = self._query(f"/library/metadata/{rating_key}")
            except NotFound:
                index.remove_item(rating_key)
                continue
            section_key = _int(container.get("librarySectionID")) or 0
            rows = list(candidates_from_listing(container, section_key))
            index.remove_item(rating_key)
            for _, candidate in rows:
                section = candidate.section_key or self._section_of(index, candidate.file)
                index.add(dataclasses.replace(candidate, section_key=section))
            found += bool(rows)
        return found

    @staticmethod
    def _section_of(index: PathIndex, file: str) -> int:
        section = index.section_for(file)
        return section.key if section else 0

    def refresh(self, index: PathIndex) -> int:
        """Add items newer than the newest seen per section; returns how many were added."""
        added = 0
        for section in index.sections.values():
            key = (
                f"/library/sections/{section.key}/all?type={_LISTING_TYPE[section.type]}"
                "&sort=addedAt:desc"
            )
            start, newest = 0, section.newest_added_at
            while True:
                container = self._query(key, start, RECENT_PAGE_SIZE)
                rows = list(candidates_from_listing(container, section.key))
                for added_at, candidate in rows:
                    if added_at >= section.newest_added_at:
                        before = len(index)
                        index.add(candidate)
                        added += len(index) - before
                        newest = max(newest, added_at)
                reached_known = any(a < section.newest_added_at for a, _ in rows)
                start += RECENT_PAGE_SIZE
                total = int(container.get("totalSize") or container.get("size") or 0)
                if not rows or reached_known or start >= total:
                    break
            section.newest_added_at = newest
        index.refreshed_at = time.time()
        return added
