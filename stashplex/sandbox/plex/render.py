"""XML rendering of items in the shapes a real PMS answers with (the rest: `render_server.py`).

Listing rows are cached per item, because listing 50,000 items must cost string joins rather than
re-rendering. `Item.touch` drops an edited item's rows and those of its dependents (the seasons and
episodes that print its title); the library drops a show's and season's rows when they gain a child
(their counts change).
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import quote

from stashplex.sandbox.plex.library import Library
from stashplex.sandbox.plex.model import (
    EPISODE,
    MOVIE,
    SEASON,
    SHOW,
    TAG_ELEMENTS,
    Image,
    Item,
    Part,
)

XML_HEADER = '<?xml version="1.0" encoding="UTF-8"?>\n'
SERVER_VERSION = "1.41.3.9314-a0bfb8370"
MEDIA_TAG_VERSION = "1700000000"
LISTING_TAG_LIMITS = {"actor": 3}
LISTING_TAG_DEFAULT_LIMIT = 2
# Control characters are illegal in XML 1.0 even as references; PMS would not send them.
_ESCAPES = str.maketrans(
    {
        **{chr(code): None for code in range(32) if code not in (9, 10, 13)},
        "&": "&amp;",
        "<": "&lt;",
        ">": "&gt;",
        '"': "&quot;",
        "\n": "&#10;",
        "\r": "&#13;",
        "\t": "&#9;",
    }
)
_FIELD_ORDER = (
    "title",
    "titleSort",
    "originalTitle",
    "editionTitle",
    "studio",
    "contentRating",
    "summary",
    "tagline",
    "rating",
    "audienceRating",
    "userRating",
    "year",
    "originallyAvailableAt",
)


def esc(value: object) -> str:
    return str(value).translate(_ESCAPES)


def attrs(pairs: Iterable[tuple[str, object]]) -> str:
    return "".join(f' {name}="{esc(value)}"' for name, value in pairs if value is not None)


def container(children: str = "", **attributes: object) -> str:
    return f"{XML_HEADER}<MediaContainer{attrs(attributes.items())}>{children}</MediaContainer>"


def _item_attributes(lib: Library, item: Item) -> list[tuple[str, object]]:
    section = lib.sections[item.section_key]
    folder_like = item.type in (SHOW, SEASON)
    key = f"/library/metadata/{item.rating_key}"
    pairs: list[tuple[str, object]] = [
        ("ratingKey", item.rating_key),
        ("key", key + "/children" if folder_like else key),
        ("guid", item.guid),
        ("type", item.type),
    ]
    pairs.extend((name, item.fields[name]) for name in _FIELD_ORDER if name in item.fields)
    pairs += [
        ("librarySectionID", section.key),
        ("librarySectionKey", f"/library/sections/{section.key}"),
        ("librarySectionTitle", section.title),
        ("thumb", f"/library/metadata/{item.rating_key}/thumb/{item.thumb_epoch}"),
        ("art", f"/library/metadata/{item.rating_key}/art/{item.art_epoch}"),
        ("duration", item.duration_ms),
        ("index", item.index),
        ("addedAt", item.added_at),
        ("updatedAt", item.updated_at),
    ]
    if item.type == EPISODE and item.parent_key and item.grandparent_key:
        season, show = lib.items[item.parent_key], lib.items[item.grandparent_key]
        pairs += [
            ("parentRatingKey", season.rating_key),
            ("parentKey", f"/library/metadata/{season.rating_key}"),
            ("parentTitle", season.title),
            ("parentIndex", season.index),
            ("grandparentRatingKey", show.rating_key),
            ("grandparentKey", f"/library/metadata/{show.rating_key}"),
            ("grandparentTitle", show.title),
        ]
    elif item.type == SEASON and item.parent_key:
        show = lib.items[item.parent_key]
        pairs += [
            ("parentRatingKey", show.rating_key),
            ("parentKey", f"/library/metadata/{show.rating_key}"),
            ("parentTitle", show.title),
            ("leafCount", len(lib.children.get(item.rating_key, []))),
        ]
    elif item.type == SHOW:
        seasons = lib.children.get(item.rating_key, [])
        pairs += [
            ("childCount", len(seasons)),
            ("leafCount", sum(len(lib.children.get(key, [])) for key in seasons)),
        ]
    return pairs


def _part(item: Item, part: Part) -> str:
    part_attrs = attrs(
        [
            ("id", part.id),
            ("key", f"/library/parts/{part.id}/{item.added_at}/file.{part.container}"),
            ("duration", part.duration_ms),
            ("file", part.file),
            ("size", part.size),
            ("container", part.container),
        ]
    )
    return f"<Part{part_attrs}/>"


def _media(item: Item) -> str:
    """One <Media> per version; a stacked movie's parts share one Media, in part order.

    plexapi reads `item.media[i].parts[j]` and `item.locations` (every Part@file), so a stacked
    movie has one Media with several Parts and merged versions have several Media (plexapi
    video.py `Movie.locations`, media.py `Media.parts`).
    """
    groups: dict[int, list[Part]] = {}
    for part in item.parts:
        groups.setdefault(part.media_id, []).append(part)
    rows = []
    for media_id, parts in groups.items():
        duration = sum(part.duration_ms for part in parts)
        rows.append(
            f'<Media id="{media_id}" duration="{duration}"'
            f' container="{esc(parts[0].container)}" videoResolution="1080" width="1920"'
            f' height="1080">{"".join(_part(item, part) for part in parts)}</Media>'
        )
    return "".join(rows)


def _tags(lib: Library, item: Item, limit: bool) -> str:
    rows = []
    for tag_type, element in TAG_ELEMENTS.items():
        tags = item.tags.get(tag_type)
        if not tags:
            continue
        if limit:
            tags = tags[: LISTING_TAG_LIMITS.get(tag_type, LISTING_TAG_DEFAULT_LIMIT)]
        for tag in tags:
            tag_id = lib.tag_id(tag_type, tag.tag)
            extra = [("role", tag.role), ("thumb", tag.thumb), ("tagKey", tag.tag_key)]
            rows.append(
                f'<{element} id="{tag_id}" filter="{tag_type}={tag_id}" tag="{esc(tag.tag)}"'
                f"{attrs(extra)}/>"
            )
    return "".join(rows)


def _guids(item: Item) -> str:
    return "".join(f'<Guid id="{esc(guid)}"/>' for guid in item.external_guids)


def _element(item: Item) -> str:
    return "Video" if item.type in (MOVIE, EPISODE) else "Directory"


def listing_row(lib: Library, item: Item, include_guids: bool) -> str:
    """A listing row: truncated tag lists and no Field elements, as PMS sends them."""
    cached = item.listing_cache.get(include_guids)
    if cached is None:
        body = _media(item) + _tags(lib, item, limit=True)
        if include_guids:
            body += _guids(item)
        element = _element(item)
        cached = f"<{element}{attrs(_item_attributes(lib, item))}>{body}</{element}>"
        item.listing_cache[include_guids] = cached
    return cached


def detail_row(lib: Library, item: Item) -> str:
    """The full item: every tag, Guids, lock markers (Field) and, for shows, Locations."""
    body = _media(item) + _tags(lib, item, limit=False) + _guids(item)
    if item.type == SHOW and item.folder:
        body += f'<Location path="{esc(item.folder)}"/>'
    cast = lib.realism.cast_lock_name  # the cast lock is kept as "actor", reported as the knob says
    names = sorted(cast if name == "actor" else name for name in item.locks)
    body += "".join(f'<Field locked="1" name="{esc(name)}"/>' for name in names)
    element = _element(item)
    return f"<{element}{attrs(_item_attributes(lib, item))}>{body}</{element}>"


def photos(item_key: int, images: list[Image], selected: str | None) -> str:
    rows = []
    for image in images:
        if image.rating_key.startswith("upload://"):
            url = f"/library/metadata/{item_key}/file?url={quote(image.rating_key, safe='')}"
        else:
            url = image.url
        pairs = [
            ("key", url),
            ("ratingKey", image.rating_key),
            ("selected", int(image.rating_key == selected)),
            ("thumb", url),
            ("provider", image.provider),
        ]
        rows.append(f"<Photo{attrs(pairs)}/>")
    return container("".join(rows), size=len(images))
