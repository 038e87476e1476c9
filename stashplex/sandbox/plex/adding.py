"""Adding items as a metadata agent matched them: movies, episodes (multi-episode files
included) and extra files of an item (stacked parts, merged versions).

What the caller gives is what the agent supplied; tag names go through the server's tag rows,
so an agent's `action` is linked as `Action` when that row exists (see `tags.py`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from stashplex.sandbox.plex.library import Library
from stashplex.sandbox.plex.model import EPISODE, MOVIE, SEASON, SHOW, Item, Part, Section, Tag
from stashplex.sandbox.plex.paths import PathRules

ActorSpec = str | tuple[str, ...] | Tag
_YEAR_IN_NAME = re.compile(r"^(?P<title>.*?)\s*\((?P<year>\d{4})\)\s*$")


def title_from_file(file: str, paths: PathRules | None = None) -> tuple[str, int | None]:
    """What an agent would call a file: its basename without extension, year split off."""
    rules = paths or PathRules()
    stem = rules.splitext(rules.basename(file))[0]
    match = _YEAR_IN_NAME.match(stem)
    if match:
        return match["title"], int(match["year"])
    return stem, None


def tag_list(lib: Library, tag_type: str, names: Iterable[str]) -> list[Tag]:
    """Tags in the server's spelling, each row once (first occurrence kept)."""
    seen: set[str] = set()
    result: list[Tag] = []
    for name in names:
        spelled = lib.tags.spelling(tag_type, name)
        identity = lib.tags.identity(spelled)
        if identity not in seen:
            seen.add(identity)
            result.append(Tag(spelled))
    return result


def actor_list(lib: Library, specs: Iterable[ActorSpec]) -> list[Tag]:
    result: list[Tag] = []
    seen: set[str] = set()
    for spec in specs:
        if isinstance(spec, Tag):
            actor = Tag(spec.tag, spec.role, spec.thumb, spec.tag_key)
        elif isinstance(spec, str):
            actor = Tag(spec)
        elif not spec:
            raise ValueError("an actor needs at least a name")
        else:
            name, role, thumb = (*spec, None, None)[:3]
            actor = Tag(name, role, thumb)
        actor.tag = lib.tags.spelling("actor", actor.tag)
        if lib.tags.identity(actor.tag) not in seen:
            seen.add(lib.tags.identity(actor.tag))
            result.append(actor)
    return result


def copy_tags(tags: Iterable[Tag]) -> list[Tag]:
    return [Tag(t.tag, t.role, t.thumb, t.tag_key) for t in tags]


def check_file(lib: Library, section: Section, file: str, *, shared: bool = False) -> None:
    """A new file must be absolute, inside the section and (unless shared) not yet held."""
    paths = lib.paths
    if not paths.is_absolute(file):
        raise ValueError(f"file must be an absolute path: {file!r}")
    if not shared and lib.files_of(file):
        raise ValueError(f"file already in the library: {file!r}")
    if not any(paths.under(file, location) for location in section.locations):
        raise ValueError(f"file {file!r} is outside every location of section {section.key}")


def attach_part(
    lib: Library, item: Item, file: str, *, size: int, duration_ms: int, media_id: int | None = None
) -> Part:
    """Give `item` a Part of `file`: in Media `media_id` (stacked) or in a new Media."""
    paths = lib.paths
    part_id = lib.next_part_id()
    stored = paths.stored(file)
    container = paths.splitext(paths.basename(stored))[1].lstrip(".").lower() or "mkv"
    part = Part(
        part_id, part_id if media_id is None else media_id, stored, size, duration_ms, container
    )
    item.parts.append(part)
    first_media = item.parts[0].media_id
    item.duration_ms = sum(p.duration_ms for p in item.parts if p.media_id == first_media)
    lib.index_file(stored, item.rating_key)
    return part


def add_movie(
    lib: Library,
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
    with lib.lock:
        section = lib.section(section_key)
        if section.type != MOVIE:
            raise ValueError(f"section {section_key} is a {section.type} section")
        check_file(lib, section, file)
        derived_title, derived_year = title_from_file(file, lib.paths)
        values = {name: None if value is None else str(value) for name, value in fields.items()}
        values["title"] = title if title is not None else derived_title
        if derived_year is not None and title is None:
            values.setdefault("year", str(derived_year))
        stamp = lib.now() if added_at is None else int(added_at)
        item = lib.new_item(section_key, MOVIE, values, stamp)
        agent_lists = {
            "genre": genres,
            "director": directors,
            "writer": writers,
            "producer": producers,
            "country": countries,
        }
        for tag_type, names in agent_lists.items():
            if names:
                item.tags[tag_type] = tag_list(lib, tag_type, names)
                item.agent_tags[tag_type] = copy_tags(item.tags[tag_type])
        item.tags["actor"] = actor_list(lib, actors)
        item.agent_tags["actor"] = copy_tags(item.tags["actor"])
        item.tags["collection"] = tag_list(lib, "collection", collections)
        item.tags["label"] = tag_list(lib, "label", labels)
        item.external_guids = list(guids)
        attach_part(lib, item, file, size=size, duration_ms=duration_ms)
        return item.rating_key


def add_file(
    lib: Library,
    rating_key: int,
    file: str,
    *,
    size: int = 1_000_000,
    duration_ms: int = 2_700_000,
    version: bool = False,
) -> int:
    """Another file for an existing movie or episode: a stacked part of its first Media
    (`version=False`, e.g. `- pt2.mkv`) or a new Media (`version=True`, a merged version).
    Returns the new Part id."""
    with lib.lock:
        item = lib.item(rating_key)
        if item.type not in (MOVIE, EPISODE):
            raise ValueError(f"item {rating_key} is a {item.type}; only videos have files")
        check_file(lib, lib.section(item.section_key), file)
        media_id = None if version or not item.parts else item.parts[0].media_id
        part = attach_part(lib, item, file, size=size, duration_ms=duration_ms, media_id=media_id)
        item.touch(lib.now())
        lib.changed()
        return part.id


def _show(lib: Library, section: Section, show_title: str, file: str, added_at: int) -> Item:
    key = (section.key, show_title)
    rating_key = lib.shows.get(key)
    if rating_key is not None:
        return lib.items[rating_key]
    paths = lib.paths
    show = lib.new_item(section.key, SHOW, {"title": show_title}, added_at)
    location = next(loc for loc in section.locations if paths.under(file, loc))
    below = paths.relative_parts(file, location)
    show.folder = paths.join(location, below[0]) if len(below) > 1 else location
    lib.shows[key] = show.rating_key
    lib.children[show.rating_key] = []
    return show


def _season(lib: Library, show: Item, season: int, added_at: int) -> Item:
    key = (show.rating_key, season)
    rating_key = lib.seasons.get(key)
    if rating_key is not None:
        return lib.items[rating_key]
    item = lib.new_item(show.section_key, SEASON, {"title": f"Season {season}"}, added_at)
    item.parent_key = show.rating_key
    item.index = season
    lib.seasons[key] = item.rating_key
    lib.children[show.rating_key].append(item.rating_key)
    lib.children[item.rating_key] = []
    adopt(item, show)
    return item


def adopt(child: Item, *ancestors: Item) -> None:
    """Tie a new child's row to its ancestors' rows, whose child/leaf counts just changed.

    The child's row prints its ancestors' titles, so it becomes their dependent; the ancestors'
    own cached rows still count the old children and must be re-rendered.
    """
    for ancestor in ancestors:
        ancestor.dependents.append(child)
        ancestor.listing_cache.clear()


def add_episodes(
    lib: Library,
    section_key: int,
    file: str,
    *,
    show_title: str,
    season: int,
    episodes: Sequence[int],
    titles: Sequence[str | None] = (),
    size: int = 500_000,
    duration_ms: int = 1_800_000,
    added_at: int | None = None,
    directors: Iterable[str] = (),
    writers: Iterable[str] = (),
    **fields: str | int | float | None,
) -> list[int]:
    """Add the episodes one file holds (one for most files, several for `S01E01-E02`); each
    episode gets its own Part of the same file. Creates the show and season when new."""
    with lib.lock:
        section = lib.section(section_key)
        if section.type != SHOW:
            raise ValueError(f"section {section_key} is a {section.type} section")
        check_file(lib, section, file)
        if not episodes or season < 0 or any(number < 0 for number in episodes):
            raise ValueError("an episode file needs episode numbers, none negative")
        stamp = lib.now() if added_at is None else int(added_at)
        show = _show(lib, section, show_title, file, stamp)
        season_item = _season(lib, show, season, stamp)
        keys = []
        for position, number in enumerate(episodes):
            values = {k: None if v is None else str(v) for k, v in fields.items()}
            title = titles[position] if position < len(titles) else None
            values["title"] = title if title is not None else title_from_file(file, lib.paths)[0]
            item = lib.new_item(section_key, EPISODE, values, stamp)
            item.parent_key = season_item.rating_key
            item.grandparent_key = show.rating_key
            item.index = number
            for tag_type, names in (("director", directors), ("writer", writers)):
                if names:
                    item.tags[tag_type] = tag_list(lib, tag_type, names)
                    item.agent_tags[tag_type] = copy_tags(item.tags[tag_type])
            lib.children[season_item.rating_key].append(item.rating_key)
            adopt(item, season_item, show)
            attach_part(lib, item, file, size=size, duration_ms=duration_ms)
            keys.append(item.rating_key)
        return keys
