"""XML rendering in the shapes a real PMS answers with.

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
    SEARCH_TYPES,
    SEASON,
    SHOW,
    TAG_ELEMENTS,
    Image,
    Item,
    Scan,
    Section,
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


def root(lib: Library, friendly_name: str) -> str:
    return container(
        size=0,
        allowMediaDeletion=1,
        allowSync=1,
        friendlyName=friendly_name,
        machineIdentifier=lib.machine_identifier,
        multiuser=1,
        myPlex=0,
        myPlexSigninState="none",
        platform="Linux",
        platformVersion="6.1",
        transcoderActiveVideoSessions=0,
        updatedAt=lib.now(),
        version=SERVER_VERSION,
    )


def identity(lib: Library) -> str:
    return container(
        size=0, claimed=0, machineIdentifier=lib.machine_identifier, version=SERVER_VERSION
    )


def library_root() -> str:
    return container(
        '<Directory key="sections" title="Library Sections"/>'
        '<Directory key="recentlyAdded" title="Recently Added Content"/>',
        size=2,
        allowSync=0,
        identifier="com.plexapp.plugins.library",
        mediaTagPrefix="/system/bundle/media/flags/",
        mediaTagVersion=MEDIA_TAG_VERSION,
        title1="Plex Library",
    )


def section_directory(lib: Library, section: Section) -> str:
    agent, scanner = (
        ("tv.plex.agents.movie", "Plex Movie")
        if section.type == MOVIE
        else ("tv.plex.agents.series", "Plex TV Series")
    )
    locations = "".join(
        f'<Location id="{section.key * 100 + i}" path="{esc(path)}"/>'
        for i, path in enumerate(section.locations, 1)
    )
    head = attrs(
        [
            ("allowSync", 1),
            ("art", f"/:/resources/{section.type}-fanart.jpg"),
            ("filters", 1),
            ("refreshing", int(lib.refreshing(section.key))),
            ("thumb", f"/:/resources/{section.type}.png"),
            ("key", section.key),
            ("type", section.type),
            ("title", section.title),
            ("agent", agent),
            ("scanner", scanner),
            ("language", "en-US"),
            ("uuid", section.uuid),
            ("updatedAt", section.updated_at),
            ("createdAt", section.created_at),
            ("scannedAt", section.scanned_at),
            ("content", 1),
            ("directory", 1),
            ("hidden", 0),
        ]
    )
    return f"<Directory{head}>{locations}</Directory>"


def sections(lib: Library) -> str:
    body = "".join(section_directory(lib, section) for section in lib.sections.values())
    return container(body, size=len(lib.sections), allowSync=0, title1="Plex Library")


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


def _media(item: Item) -> str:
    rows = []
    for part in item.parts:
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
        rows.append(
            f'<Media id="{part.media_id}" duration="{part.duration_ms}"'
            f' container="{esc(part.container)}" videoResolution="1080" width="1920"'
            f' height="1080"><Part{part_attrs}/></Media>'
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
    body += "".join(f'<Field locked="1" name="{esc(name)}"/>' for name in sorted(item.locks))
    element = _element(item)
    return f"<{element}{attrs(_item_attributes(lib, item))}>{body}</{element}>"


def section_container_attributes(section: Section, kind: str) -> dict[str, object]:
    return {
        "allowSync": 1,
        "art": f"/:/resources/{section.type}-fanart.jpg",
        "identifier": "com.plexapp.plugins.library",
        "librarySectionID": section.key,
        "librarySectionTitle": section.title,
        "librarySectionUUID": section.uuid,
        "mediaTagPrefix": "/system/bundle/media/flags/",
        "mediaTagVersion": MEDIA_TAG_VERSION,
        "thumb": f"/:/resources/{section.type}.png",
        "title1": section.title,
        "title2": "All " + section.title,
        "viewGroup": kind,
    }


def meta(section: Section, sort_fields: Iterable[str]) -> str:
    """Enough filter metadata for plexapi's search(sort=...) validation."""
    kinds = [MOVIE] if section.type == MOVIE else [SHOW, SEASON, EPISODE]
    sorts = "".join(
        f'<Sort default="{"asc" if name == "titleSort" else ""}" defaultDirection='
        f'"{"desc" if name in ("addedAt", "updatedAt") else "asc"}" descKey="{name}:desc"'
        f' key="{name}" title="{name}"/>'
        for name in sort_fields
    )
    types = "".join(
        f'<Type key="/library/sections/{section.key}/all?type={SEARCH_TYPES[kind]}" type="{kind}"'
        f' title="{kind.title()}s" active="{int(i == 0)}">'
        f'<Filter filter="genre" filterType="string" key="/library/sections/{section.key}/genre"'
        f' title="Genre" type="filter"/>{sorts}<Field key="title" title="Title" type="string"/>'
        f'<Field key="addedAt" title="Date Added" type="date"/></Type>'
        for i, kind in enumerate(kinds)
    )
    operators = '<Operator key="=" title="contains"/><Operator key="!=" title="does not contain"/>'
    return (
        f'<Meta>{types}<FieldType type="string">{operators}</FieldType>'
        '<FieldType type="date"><Operator key="&gt;&gt;=" title="is after"/></FieldType></Meta>'
    )


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


def activities(lib: Library) -> str:
    rows = []
    for scan in lib.scans.values():
        section = lib.sections.get(scan.section_key)
        rows.append(_activity(scan, section.title if section else ""))
    return container("".join(rows), size=len(rows))


def _activity(scan: Scan, section_title: str) -> str:
    pairs = [
        ("uuid", scan.uuid),
        ("type", "library.update.section"),
        ("cancellable", 1),
        ("userID", 1),
        ("title", f"Scanning {section_title}"),
        ("subtitle", scan.path or ""),
        ("progress", 0),
    ]
    return f'<Activity{attrs(pairs)}><Context librarySectionID="{scan.section_key}"/></Activity>'


def timeline(lib: Library, section: Section) -> str:
    pending = sum(1 for scan in lib.scans.values() if scan.section_key == section.key)
    return container(
        size=0,
        allowSync=0,
        art=f"/:/resources/{section.type}-fanart.jpg",
        content="secondary",
        identifier="com.plexapp.plugins.library",
        latestEntryTime=section.scanned_at,
        mediaTagPrefix="/system/bundle/media/flags/",
        mediaTagVersion=MEDIA_TAG_VERSION,
        thumb=f"/:/resources/{section.type}.png",
        title1=section.title,
        updateQueueSize=pending,
        viewGroup="secondary",
        viewMode=65592,
    )
