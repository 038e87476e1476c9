"""Files that move or vanish under items that stay or go.

* A file moved within its section keeps its item: the scanner logs "Part rename detected [old]
  was renamed [new]" and only the Part's path changes (ZeroQI/Absolute-Series-Scanner #441;
  plex.tv blog "Continuing the Conversation": files are tracked by hash, "it'll detect the fact
  that you moved the file"). ratingKey and addedAt stay; updatedAt only moves when the
  `move_bumps_updated_at` knob says so.
* A file moved to another section is a removal there and a new item here (Tautulli #458: "the
  ID changes in Plex when you move something" between libraries).
* A removed item is gone (404 on its key); its season and show go with their last episode.
  RatingKeys are never reused, so the same file scanned again is a new item with a new key.
"""

from __future__ import annotations

from stashplex.sandbox.plex.library import Library
from stashplex.sandbox.plex.model import SEASON, SHOW, Item


def move_parts(lib: Library, old: str, new: str, *, bump: bool) -> list[int]:
    """Point every Part of `old` at `new`; returns the items that kept their file."""
    paths = lib.paths
    holders = lib.files_of(old)
    stored = paths.stored(new)
    for rating_key in holders:
        item = lib.items[rating_key]
        for part in item.parts:
            if paths.key(part.file) == paths.key(old):
                part.file = stored
                extension = paths.splitext(paths.basename(stored))[1].lstrip(".").lower()
                part.container = extension or part.container
        lib.unindex_file(old, rating_key)
        lib.index_file(stored, rating_key)
        if bump:
            item.touch(lib.now())
        else:
            item.forget_rows()  # the row prints Part@file even when updatedAt stays
    lib.changed()
    return holders


def remove_item(lib: Library, rating_key: int) -> list[str]:
    """Delete an item (a show or season with everything under it); returns the freed files."""
    item = lib.item(rating_key)
    freed: list[str] = []
    for child_key in list(lib.children.get(rating_key, [])):
        if child_key in lib.items:
            freed.extend(remove_item(lib, child_key))
    if rating_key not in lib.items:  # removing the last child already removed this parent
        return freed
    for part in item.parts:
        lib.unindex_file(part.file, rating_key)
        freed.append(part.file)
    _forget(lib, item)
    parent = lib.items.get(item.parent_key) if item.parent_key else None
    if parent is not None and not lib.children.get(parent.rating_key):
        _forget(lib, parent)
        grandparent = lib.items.get(parent.parent_key) if parent.parent_key else None
        if grandparent is not None and not lib.children.get(grandparent.rating_key):
            _forget(lib, grandparent)
    lib.changed()
    return freed


def _forget(lib: Library, item: Item) -> None:
    """Drop one item and every reference to it; ancestors re-render their counts."""
    lib.items.pop(item.rating_key, None)
    lib.children.pop(item.rating_key, None)
    for ancestor_key in (item.parent_key, item.grandparent_key):
        ancestor = lib.items.get(ancestor_key) if ancestor_key else None
        if ancestor is None:
            continue
        siblings = lib.children.get(ancestor.rating_key)
        if siblings is not None and item.rating_key in siblings:
            siblings.remove(item.rating_key)
        ancestor.dependents = [d for d in ancestor.dependents if d is not item]
        ancestor.listing_cache.clear()
    if item.type == SHOW:
        lib.shows = {k: v for k, v in lib.shows.items() if v != item.rating_key}
    elif item.type == SEASON:
        lib.seasons = {k: v for k, v in lib.seasons.items() if v != item.rating_key}
