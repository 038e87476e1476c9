"""The library store: sections, items, the file index and cached listing orders.

One re-entrant lock guards everything; HTTP handlers and the Python API both take it, so tests
can mutate state while a client is paging.
"""

from __future__ import annotations

import hashlib
import posixpath
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Sequence

from stashplex.sandbox.plex.model import (
    EPISODE,
    MOVIE,
    SEARCH_TYPES,
    SEASON,
    SHOW,
    Image,
    Item,
    Part,
    PlexError,
    Scan,
    Section,
    Tag,
)

ActorSpec = str | tuple[str, ...] | Tag
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
_YEAR_IN_NAME = re.compile(r"^(?P<title>.*?)\s*\((?P<year>\d{4})\)\s*$")


def _tags(values: Iterable[str]) -> list[Tag]:
    seen: set[str] = set()
    result: list[Tag] = []
    for value in values:
        if value not in seen:
            seen.add(value)
            result.append(Tag(value))
    return result


def _actor(spec: ActorSpec) -> Tag:
    if isinstance(spec, Tag):
        return Tag(spec.tag, spec.role, spec.thumb, spec.tag_key)
    if isinstance(spec, str):
        return Tag(spec)
    if not spec:
        raise ValueError("an actor needs at least a name")
    name, role, thumb = (*spec, None, None)[:3]
    return Tag(name, role, thumb)


def title_from_file(file: str) -> tuple[str, int | None]:
    """What an agent would call a file: its basename without extension, year split off."""
    stem = posixpath.splitext(posixpath.basename(file))[0]
    match = _YEAR_IN_NAME.match(stem)
    if match:
        return match["title"], int(match["year"])
    return stem, None


def under(path: str, folder: str) -> bool:
    folder = folder.rstrip("/")
    return path == folder or path.startswith(folder + "/")


class Library:
    """Every section and item of the emulated server."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.lock = threading.RLock()
        self.clock = clock
        self.sections: dict[int, Section] = {}
        self.items: dict[int, Item] = {}
        self.by_file: dict[str, int] = {}
        self.children: dict[int, list[int]] = {}
        self.scans: dict[str, Scan] = {}
        self._shows: dict[tuple[int, str], int] = {}
        self._seasons: dict[tuple[int, int], int] = {}
        self._tag_ids: dict[tuple[str, str], int] = {}
        self._order_cache: dict[tuple[int, str, str, bool], list[int]] = {}
        self._next_rating_key = 1
        self._next_part_id = 1
        self.machine_identifier = hashlib.sha1(str(id(self)).encode()).hexdigest()  # noqa: S324

    def now(self) -> int:
        return int(self.clock())

    def changed(self) -> None:
        """Forget cached orders; call after anything that can move an item in a listing."""
        self._order_cache.clear()

    def tag_id(self, tag_type: str, name: str) -> int:
        """Tags are global rows keyed by name, as in PMS: one id per (type, name)."""
        key = (tag_type, name)
        found = self._tag_ids.get(key)
        if found is None:
            found = self._tag_ids[key] = len(self._tag_ids) + 1
        return found

    # -- sections -----------------------------------------------------------------------------

    def add_section(self, title: str, type: str, locations: Sequence[str]) -> int:
        if type not in (MOVIE, SHOW):
            raise ValueError(f"section type must be 'movie' or 'show', not {type!r}")
        if isinstance(locations, str) or not locations:
            raise ValueError("locations must be a non-empty list of absolute folders")
        for location in locations:
            if not location.startswith("/"):
                raise ValueError(f"section location must be absolute: {location!r}")
        with self.lock:
            key = max(self.sections, default=0) + 1
            now = self.now()
            self.sections[key] = Section(
                key=key,
                title=title,
                type=type,
                locations=[location.rstrip("/") or "/" for location in locations],
                uuid=str(uuid.UUID(int=key)),
                created_at=now,
                updated_at=now,
                scanned_at=now,
            )
            return key

    def section(self, key: int) -> Section:
        found = self.sections.get(key)
        if found is None:
            raise PlexError(404, f"no library section {key}")
        return found

    def section_for_file(self, file: str) -> Section | None:
        """Longest Location prefix wins, as a client mapping file -> section would do."""
        best: tuple[int, Section] | None = None
        for section in self.sections.values():
            for location in section.locations:
                if under(file, location) and (best is None or len(location) > best[0]):
                    best = (len(location), section)
        return best[1] if best else None

    def refreshing(self, section_key: int) -> bool:
        return any(scan.section_key == section_key for scan in self.scans.values())

    # -- items --------------------------------------------------------------------------------

    def item(self, rating_key: int) -> Item:
        found = self.items.get(rating_key)
        if found is None:
            raise PlexError(404, f"no item with ratingKey {rating_key}")
        return found

    def _new_item(self, section_key: int, kind: str, fields: dict[str, str], added_at: int) -> Item:
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

    def _check_file(self, section: Section, file: str) -> None:
        if not file.startswith("/"):
            raise ValueError(f"file must be an absolute path: {file!r}")
        if file in self.by_file:
            raise ValueError(f"file already in the library: {file!r}")
        if not any(under(file, location) for location in section.locations):
            raise ValueError(f"file {file!r} is outside every location of section {section.key}")

    def _add_part(self, item: Item, file: str, size: int, duration_ms: int) -> None:
        part_id = self._next_part_id
        self._next_part_id += 1
        container = posixpath.splitext(file)[1].lstrip(".").lower() or "mkv"
        item.parts.append(Part(part_id, part_id, file, size, duration_ms, container))
        item.duration_ms = duration_ms
        self.by_file[file] = item.rating_key

    def add_movie(
        self,
        section_key: int,
        file: str,
        title: str | None = None,
        *,
        size: int = 1_000_000,
        duration_ms: int = 5_400_000,
        added_at: int | None = None,
        genres: Iterable[str] = (),
        actors: Iterable[ActorSpec] = (),
        directors: Iterable[str] = (),
        writers: Iterable[str] = (),
        producers: Iterable[str] = (),
        countries: Iterable[str] = (),
        collections: Iterable[str] = (),
        labels: Iterable[str] = (),
        guids: Iterable[str] = (),
        **fields: str | int | float | None,
    ) -> int:
        """Add a movie as an agent matched it; what is given becomes the agent's values."""
        with self.lock:
            section = self.section(section_key)
            if section.type != MOVIE:
                raise ValueError(f"section {section_key} is a {section.type} section")
            self._check_file(section, file)
            derived_title, derived_year = title_from_file(file)
            values = {name: None if value is None else str(value) for name, value in fields.items()}
            values["title"] = title if title is not None else derived_title
            if derived_year is not None and title is None:
                values.setdefault("year", str(derived_year))
            item = self._new_item(
                section_key, MOVIE, values, self.now() if added_at is None else int(added_at)
            )
            self._set_agent_tags(
                item,
                genre=genres,
                director=directors,
                writer=writers,
                producer=producers,
                country=countries,
            )
            item.tags["actor"] = [_actor(spec) for spec in actors]
            item.agent_tags["actor"] = [_actor(spec) for spec in item.tags["actor"]]
            item.tags["collection"] = _tags(collections)
            item.tags["label"] = _tags(labels)
            item.external_guids = list(guids)
            self._add_part(item, file, size, duration_ms)
            return item.rating_key

    def _set_agent_tags(self, item: Item, **tag_lists: Iterable[str]) -> None:
        for tag_type, values in tag_lists.items():
            if not values:
                continue
            item.tags[tag_type] = _tags(values)
            item.agent_tags[tag_type] = _tags(tag.tag for tag in item.tags[tag_type])

    def _show(self, section: Section, show_title: str, file: str, added_at: int) -> Item:
        key = (section.key, show_title)
        rating_key = self._shows.get(key)
        if rating_key is not None:
            return self.items[rating_key]
        show = self._new_item(section.key, SHOW, {"title": show_title}, added_at)
        location = next(loc for loc in section.locations if under(file, loc))
        first = file[len(location) :].lstrip("/").split("/", 1)[0]
        nested = "/" in file[len(location) + 1 :]
        show.folder = posixpath.join(location, first) if nested else location
        self._shows[key] = show.rating_key
        self.children[show.rating_key] = []
        return show

    def _season(self, show: Item, season: int, added_at: int) -> Item:
        key = (show.rating_key, season)
        rating_key = self._seasons.get(key)
        if rating_key is not None:
            return self.items[rating_key]
        item = self._new_item(show.section_key, SEASON, {"title": f"Season {season}"}, added_at)
        item.parent_key = show.rating_key
        item.index = season
        self._seasons[key] = item.rating_key
        self.children[show.rating_key].append(item.rating_key)
        self.children[item.rating_key] = []
        self._adopt(item, show)
        return item

    @staticmethod
    def _adopt(child: Item, *ancestors: Item) -> None:
        """Tie a new child's row to its ancestors' rows, whose child/leaf counts just changed.

        The child's row prints its ancestors' titles, so it becomes their dependent; the
        ancestors' own cached rows still count the old children and must be re-rendered.
        """
        for ancestor in ancestors:
            ancestor.dependents.append(child)
            ancestor.listing_cache.clear()

    def add_episode(
        self,
        section_key: int,
        file: str,
        *,
        show_title: str,
        season: int,
        episode: int,
        title: str | None = None,
        size: int = 500_000,
        duration_ms: int = 1_800_000,
        added_at: int | None = None,
        directors: Iterable[str] = (),
        writers: Iterable[str] = (),
        **fields: str | int | float | None,
    ) -> int:
        """Add an episode, creating its show and season the first time they are needed."""
        with self.lock:
            section = self.section(section_key)
            if section.type != SHOW:
                raise ValueError(f"section {section_key} is a {section.type} section")
            self._check_file(section, file)
            if season < 0 or episode < 0:
                raise ValueError("season and episode numbers must not be negative")
            stamp = self.now() if added_at is None else int(added_at)
            show = self._show(section, show_title, file, stamp)
            season_item = self._season(show, season, stamp)
            values = {name: None if value is None else str(value) for name, value in fields.items()}
            values["title"] = title if title is not None else title_from_file(file)[0]
            item = self._new_item(section_key, EPISODE, values, stamp)
            item.parent_key = season_item.rating_key
            item.grandparent_key = show.rating_key
            item.index = episode
            self._set_agent_tags(item, director=directors, writer=writers)
            self.children[season_item.rating_key].append(item.rating_key)
            self._adopt(item, season_item, show)
            self._add_part(item, file, size, duration_ms)
            return item.rating_key

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
