"""The sync reads an item's detail XML itself (``stashplex.plex.items``); what it reads must be
exactly what plexapi's own attributes say, or a write would be computed from a wrong picture."""

from __future__ import annotations

from typing import Any

from stashplex.plex.items import current_fields, locked_fields, target_problem
from stashplex.sandbox.plex import PlexEmulator
from tests.support.plex import MOVIES_ROOT, SmallLibrary, connect


def plexapi_reading(item: Any) -> tuple[dict[str, Any], frozenset[str], list[str]]:
    """The same item through plexapi's attributes: the reference."""
    date = item.originallyAvailableAt
    fields = {
        "title": item.title or "",
        "summary": item.summary or "",
        "studio": item.studio or "",
        "originallyAvailableAt": date.strftime("%Y-%m-%d") if date else "",
        "year": "" if item.year is None else str(item.year),
        "userRating": "" if item.userRating is None else f"{item.userRating:g}",
        "genre": tuple(t.tag for t in item.genres),
        "actor": tuple(t.tag for t in item.roles),
        "collection": tuple(t.tag for t in item.collections),
        "director": tuple(t.tag for t in item.directors),
    }
    locks = frozenset(f.name for f in item.fields if f.locked)
    files = [part.file for media in item.media for part in media.parts]
    return fields, locks, files


def test_a_rich_item_reads_the_same_as_through_plexapi(
    emulator: PlexEmulator, small: SmallLibrary
) -> None:
    # Given an item with every kind of field, some locked, a rating and a second part
    emulator.add_file(small.alien, f"{MOVIES_ROOT}/Alien (1979)/Alien (1979) - pt2.mkv")
    plex = connect(emulator)
    plex.fetchItem(small.alien).edit(
        **{"title.value": "Alien & <Friends>", "title.locked": 1, "summary.locked": 1,
           "userRating.value": 7.5}
    )  # fmt: skip
    # When it is read both ways from one detail fetch
    (item,) = plex.fetchItems(f"/library/metadata/{small.alien}")
    fields, locks, files = plexapi_reading(item)
    # Then every field, lock and file agrees
    assert current_fields(item) == fields
    assert locked_fields(item) == locks == {"title", "summary"}
    assert fields["userRating"] == "7.5" and fields["genre"] and fields["actor"]
    # And the second part makes it an item another scene's file shares
    assert len(files) == 2
    assert target_problem(small.alien, item, {files[1]}, str) is not None
    assert target_problem(small.alien, item, {files[0]}, str) is None


def test_a_bare_item_reads_the_same_as_through_plexapi(
    emulator: PlexEmulator, small: SmallLibrary
) -> None:
    # Given items with almost nothing set (no date, year, rating or tags)
    plex = connect(emulator)
    for key in (small.amelie, small.drama):
        (item,) = plex.fetchItems(f"/library/metadata/{key}")
        # Then both readings agree
        assert current_fields(item) == plexapi_reading(item)[0]
        assert locked_fields(item) == plexapi_reading(item)[1]
