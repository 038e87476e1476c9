"""XML for the server, its sections, scans and filter metadata, in the shapes a real PMS sends.

Item rows live in `render.py`; this module holds everything around them.
"""

from __future__ import annotations

from collections.abc import Iterable

from stashplex.sandbox.plex.library import Library
from stashplex.sandbox.plex.model import EPISODE, MOVIE, SEARCH_TYPES, SEASON, SHOW, Scan, Section
from stashplex.sandbox.plex.render import MEDIA_TAG_VERSION, SERVER_VERSION, attrs, container, esc


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
        platform="Windows" if lib.realism.windows else "Linux",
        platformVersion="10.0 (Build 19045)" if lib.realism.windows else "6.1",
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
