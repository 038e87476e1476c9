"""Which scenes an event about a performer, studio, tag or group re-reads, and where from.

Stash fires no scene hook and leaves the scenes' ``updated_at`` alone for all of these
(internal/api/resolver_mutation_{tag,performer,studio,group}.go; pkg/sqlite/tag.go ``Merge``;
the foreign keys' ON DELETE actions), so the object's own hook is the only sign Plex shows an
old name:

* ``<Kind>.Update.Post``: a rename. Stash still links the same scenes, so it lists them.
* ``Tag.Merge.Post``: the hook's id is the destination, ``input.source`` the merged tags, which
  Stash deletes after moving their links to the destination. The scenes are those Stash now
  links to the destination, and, in case Stash's list misses one, those our own table linked
  to a source or the destination at their last read.
* ``<Kind>.Destroy.Post``: Stash has already dropped the links (tags, performers, groups) or
  cleared them (a scene's studio), so asking Stash finds nothing: only our table knows which
  scenes carried the object.

Intake keeps that table from every scene it reads (:func:`scene_links`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

#: ``(kind, object id)``: kind is ``performer``, ``studio``, ``tag`` or ``group``.
Link = tuple[str, str]


@dataclass(frozen=True)
class RelatedReads:
    """Where the scenes to re-read come from: Stash's links now, our table's at the last read."""

    ask_stash: tuple[Link, ...] = ()
    ask_table: tuple[Link, ...] = ()
    #: For log lines: ``renamed``, ``merged`` or ``deleted``.
    what: str = "edited"
    sources: tuple[str, ...] = field(default=())


def related_reads(trigger: str, object_id: str, hook_input: Any) -> RelatedReads:
    """The reads an object event calls for (``Kind.Op.Post``; unknown operations read nothing)."""
    kind_name, _, rest = trigger.partition(".")
    kind, operation = kind_name.lower(), rest.partition(".")[0]
    if operation == "Update":
        return RelatedReads(ask_stash=((kind, object_id),), what="edited")
    if operation == "Merge":
        sources = merge_sources(hook_input)
        table = ((kind, object_id), *((kind, source) for source in sources))
        return RelatedReads(
            ask_stash=((kind, object_id),), ask_table=table, what="merged", sources=sources
        )
    if operation == "Destroy":
        return RelatedReads(ask_table=((kind, object_id),), what="deleted")
    return RelatedReads()


def merge_sources(hook_input: Any) -> tuple[str, ...]:
    """The merged ids from a ``TagsMergeInput`` (``{"source": [...], "destination": ...}``).

    An input the hook had to omit (it is cut when huge) names none: the destination's scenes
    are then all there is to go on.
    """
    if not isinstance(hook_input, Mapping):
        return ()
    source = hook_input.get("source")
    if not isinstance(source, list):
        return ()
    ids = (str(i) for i in source if isinstance(i, str | int) and not isinstance(i, bool))
    return tuple(dict.fromkeys(i for i in ids if i.isascii() and i.isdigit()))


def scene_links(raw: Mapping[str, Any]) -> set[Link]:
    """Every performer, studio, tag and group a scene read from Stash links to."""
    links: set[Link] = set()
    studio = raw.get("studio")
    if isinstance(studio, Mapping) and studio.get("id") is not None:
        links.add(("studio", str(studio["id"])))
    for key, kind in (("performers", "performer"), ("tags", "tag")):
        for item in raw.get(key) or []:
            if isinstance(item, Mapping) and item.get("id") is not None:
                links.add((kind, str(item["id"])))
    for entry in raw.get("groups") or []:
        group = entry.get("group") if isinstance(entry, Mapping) else None
        if isinstance(group, Mapping) and group.get("id") is not None:
            links.add(("group", str(group["id"])))
    return links
