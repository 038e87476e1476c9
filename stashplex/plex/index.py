"""The path index: every Plex media file we might write to, by normalised path and basename.

Plex has no server-side path search, so the index is built from paged section listings (movies,
and episodes across a whole show section in one paged stream) and then kept fresh incrementally:
a miss lists the newest items first and stops at the first one already known, instead of
re-listing the library for every scene. Listings are read as raw XML through plexapi's
``query`` rather than as plexapi objects, which keeps a 100,000-item index to a few tens of MB.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
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


@dataclass
class Section:
    key: int
    title: str
    type: str
    locations: tuple[str, ...]
    newest_added_at: int = 0


@dataclass
class PathIndex:
    """Implements :class:`stashplex.sync.matching.CandidateIndex`.

    Values are tuples, not lists, and there is no per-item table: at 100,000 items that is
    the difference between a few and a few tens of MB. Forgetting an item (after a 404) scans
    the path table, which is rare and takes milliseconds.
    """

    case_insensitive: bool = False
    sections: dict[int, Section] = field(default_factory=dict)
    _by_path: dict[str, tuple[PlexCandidate, ...]] = field(default_factory=dict)
    _by_basename: dict[str, tuple[PlexCandidate, ...]] = field(default_factory=dict)
    _items: set[int] = field(default_factory=set)
    built_at: float = 0.0
    refreshed_at: float = 0.0

    def __len__(self) -> int:
        return len(self._items)

    def by_path(self, normalized_path: str) -> Sequence[PlexCandidate]:
        return self._by_path.get(normalized_path, ())

    def by_basename(self, normalized_basename: str) -> Sequence[PlexCandidate]:
        return self._by_basename.get(normalized_basename, ())

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
        key = self.key(candidate.file)
        existing = self._by_path.get(key, ())
        if any(c.rating_key == candidate.rating_key for c in existing):
            return
        self._by_path[key] = (*existing, candidate)
        base = path_basename(key)
        self._by_basename[base] = (*self._by_basename.get(base, ()), candidate)
        self._items.add(candidate.rating_key)

    def remove_item(self, rating_key: int) -> None:
        """Forget an item Plex no longer has (its ratingKey answered 404)."""
        if rating_key not in self._items:
            return
        self._items.discard(rating_key)
        for table in (self._by_path, self._by_basename):
            stale = [k for k, cs in table.items() if any(c.rating_key == rating_key for c in cs)]
            for key in stale:
                kept = tuple(c for c in table[key] if c.rating_key != rating_key)
                if kept:
                    table[key] = kept
                else:
                    del table[key]

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
                count = 0
                for added_at, candidate in candidates_from_listing(container, section.key):
                    fresh.add(candidate)
                    section.newest_added_at = max(section.newest_added_at, added_at)
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
