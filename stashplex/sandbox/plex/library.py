"""The library store: sections, items, the file index, tag rows and cached listing orders.

One re-entrant lock guards everything; HTTP handlers and the Python API both take it, so tests
can mutate state while a client is paging. Adding items lives in `adding.py`, moving and
removing them in `files.py`.
"""

from __future__ import annotations

import hashlib
import threading
import time
import uuid
from collections.abc import Callable, Sequence

from stashplex.sandbox.plex.model import (
    EPISODE,
    MOVIE,
    SEARCH_TYPES,
    SHOW,
    Image,
    Item,
    PlexError,
    Scan,
    Section,
)
from stashplex.sandbox.plex.paths import PathRules
from stashplex.sandbox.plex.realism import Realism
from stashplex.sandbox.plex.tags import TagRegistry

_SORT_KEYS: dict[str, Callable[[Item], object]] = {
    "titleSort": lambda item: (item.sort_title.casefold(), item.rating_key),
    "title": lambda item: (item.title.casefold(), item.rating_key),
    "addedAt": lambda item: (item.added_at, item.rating_key),
    "updatedAt": lambda item: (item.updated_at, item.rating_key),
    "originallyAvailableAt": lambda item: (
        item.fields.get("originallyAvailableAt", ""),
        item.rating_key,
    ),
    "index": lambda item: (item.index or 0, item.rating_key),
}


class Library:
    """Every section and item of the emulated server."""

    def __init__(
        self, clock: Callable[[], float] = time.time, realism: Realism | None = None
    ) -> None:
        self.lock = threading.RLock()
        self.clock = clock
        self.realism = realism or Realism()
        self.tags = TagRegistry(self.realism)
        self.sections: dict[int, Section] = {}
        self.items: dict[int, Item] = {}
        #: Path key (see `PathRules.key`) -> the items holding a Part of that file.
        self.by_file: dict[str, list[int]] = {}
        self.children: dict[int, list[int]] = {}
        self.scans: dict[str, Scan] = {}
        self.shows: dict[tuple[int, str], int] = {}
        self.seasons: dict[tuple[int, int], int] = {}
        self._order_cache: dict[tuple[int, str, str, bool], list[int]] = {}
        self._next_rating_key = 1
        self._next_part_id = 1
        self._paths = PathRules()
        self.machine_identifier = hashlib.sha1(str(id(self)).encode()).hexdigest()  # noqa: S324

    @property
    def paths(self) -> PathRules:
        """The server OS's path rules (Linux unless the `windows` habit is on)."""
        windows, prefix = self.realism.windows, self.realism.long_path_prefix
        if (self._paths.windows, self._paths.long_prefix) != (windows, prefix):
            self._paths = PathRules(windows, prefix)
        return self._paths

    def now(self) -> int:
        return int(self.clock())

    def changed(self) -> None:
        """Forget cached orders; call after anything that can move an item in a listing."""
        self._order_cache.clear()

    def tag_id(self, tag_type: str, name: str) -> int:
        """Tags are global rows keyed by name, as in PMS: one id per (type, name)."""
        return self.tags.id(tag_type, name)

    # -- sections -----------------------------------------------------------------------------

    def add_section(self, title: str, type: str, locations: Sequence[str]) -> int:
        if type not in (MOVIE, SHOW):
            raise ValueError(f"section type must be 'movie' or 'show', not {type!r}")
        if isinstance(locations, str) or not locations:
            raise ValueError("locations must be a non-empty list of absolute folders")
        paths = self.paths
        for location in locations:
            if not paths.is_absolute(location):
                raise ValueError(f"section location must be absolute: {location!r}")
        with self.lock:
            key = max(self.sections, default=0) + 1
            now = self.now()
            self.sections[key] = Section(
                key=key,
                title=title,
                type=type,
                locations=[self._location(location, paths) for location in locations],
                uuid=str(uuid.UUID(int=key)),
                created_at=now,
                updated_at=now,
                scanned_at=now,
            )
            return key

    @staticmethod
    def _location(location: str, paths: PathRules) -> str:
        if paths.windows:
            return paths.stored(location)
        return location.rstrip("/") or "/"

    def section(self, key: int) -> Section:
        found = self.sections.get(key)
        if found is None:
            raise PlexError(404, f"no library section {key}")
        return found

    def location_of(self, file: str) -> tuple[Section, str] | None:
        """The section and Location holding `file`; the longest Location prefix wins."""
        paths = self.paths
        best: tuple[int, Section, str] | None = None
        for section in self.sections.values():
            for location in section.locations:
                length = len(paths.key(location))
                if paths.under(file, location) and (best is None or length > best[0]):
                    best = (length, section, location)
        return (best[1], best[2]) if best else None

    def section_for_file(self, file: str) -> Section | None:
        found = self.location_of(file)
        return found[0] if found else None

    def refreshing(self, section_key: int) -> bool:
        return any(scan.section_key == section_key for scan in self.scans.values())

    # -- items and files ----------------------------------------------------------------------

    def item(self, rating_key: int) -> Item:
        found = self.items.get(rating_key)
        if found is None:
            raise PlexError(404, f"no item with ratingKey {rating_key}")
        return found

    def files_of(self, path: str) -> list[int]:
        """The items holding a Part of `path` (several for a multi-episode file)."""
        return list(self.by_file.get(self.paths.key(path), ()))

    def index_file(self, path: str, rating_key: int) -> None:
        holders = self.by_file.setdefault(self.paths.key(path), [])
        if rating_key not in holders:
            holders.append(rating_key)

    def unindex_file(self, path: str, rating_key: int) -> None:
        key = self.paths.key(path)
        holders = [held for held in self.by_file.get(key, []) if held != rating_key]
        if holders:
            self.by_file[key] = holders
        else:
            self.by_file.pop(key, None)

    def next_part_id(self) -> int:
        part_id = self._next_part_id
        self._next_part_id += 1
        return part_id

    def new_item(self, section_key: int, kind: str, fields: dict[str, str], added_at: int) -> Item:
        """A fresh item with the agent's poster and art selected; ratingKeys are never reused."""
        rating_key = self._next_rating_key
        self._next_rating_key += 1
        clean = {name: value for name, value in fields.items() if value not in (None, "")}
        item = Item(
            rating_key=rating_key,
            section_key=section_key,
            type=kind,
            fields=clean,
            agent_fields=dict(clean),
            tags={},
            agent_tags={},
            added_at=added_at,
            updated_at=added_at,
            guid=f"plex://{kind}/{rating_key:024x}",
            thumb_epoch=added_at,
            art_epoch=added_at,
        )
        poster = f"metadata://posters/tv.plex.agents_{rating_key}"
        art = f"metadata://art/tv.plex.agents_{rating_key}"
        agent_url = f"https://metadata.invalid/{rating_key}"
        item.posters.append(Image(poster, f"{agent_url}/poster.jpg", "plex"))
        item.arts.append(Image(art, f"{agent_url}/art.jpg", "plex"))
        item.selected_poster = item.agent_poster = poster
        item.selected_art = item.agent_art = art
        self.items[rating_key] = item
        self.changed()
        return item

    def leaves(self, item: Item) -> list[Item]:
        """Episodes under a show or season (the `allLeaves` view)."""
        if item.type == EPISODE:
            return [item]
        result: list[Item] = []
        for child in self.children.get(item.rating_key, []):
            result.extend(self.leaves(self.items[child]))
        return result

    # -- listings -----------------------------------------------------------------------------

    def ordered(self, section_key: int, kind: str, sort: str, descending: bool) -> list[int]:
        """Rating keys of a section's items of one type in listing order, cached until a change."""
        cache_key = (section_key, kind, sort, descending)
        cached = self._order_cache.get(cache_key)
        if cached is not None:
            return cached
        items = [
            item
            for item in self.items.values()
            if item.section_key == section_key and item.type == kind
        ]
        if kind == EPISODE and sort == "titleSort":
            items.sort(key=self._episode_key, reverse=descending)
        else:
            items.sort(key=_SORT_KEYS[sort], reverse=descending)
        keys = [item.rating_key for item in items]
        self._order_cache[cache_key] = keys
        return keys

    def _episode_key(self, item: Item) -> tuple[str, int, int, int]:
        show = self.items[item.grandparent_key] if item.grandparent_key else item
        season = self.items[item.parent_key] if item.parent_key else item
        return (show.sort_title.casefold(), season.index or 0, item.index or 0, item.rating_key)

    @staticmethod
    def sort_fields() -> tuple[str, ...]:
        return tuple(_SORT_KEYS)

    @staticmethod
    def search_type(kind: str) -> int:
        return SEARCH_TYPES[kind]
