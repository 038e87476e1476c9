"""Read-only snapshots of stored items for test assertions (plain JSON-able dicts)."""

from __future__ import annotations

from stashplex.sandbox.plex.library import Library
from stashplex.sandbox.plex.model import Image, Item


def _image(image: Image, selected: str | None) -> dict[str, object]:
    return {
        "ratingKey": image.rating_key,
        "url": image.url,
        "sha1": image.sha1,
        "provider": image.provider,
        "selected": image.rating_key == selected,
    }


def item_snapshot(lib: Library, item: Item) -> dict[str, object]:
    """A deep copy of an item's state: changing it changes nothing in the emulator."""
    return {
        "ratingKey": item.rating_key,
        "sectionKey": item.section_key,
        "type": item.type,
        "fields": dict(item.fields),
        "agentFields": dict(item.agent_fields),
        "locks": sorted(item.locks),
        "tags": {kind: [tag.tag for tag in tags] for kind, tags in item.tags.items() if tags},
        "roles": [
            {"tag": t.tag, "role": t.role, "thumb": t.thumb, "tagKey": t.tag_key}
            for t in item.tags.get("actor", [])
        ],
        "posters": [_image(image, item.selected_poster) for image in item.posters],
        "arts": [_image(image, item.selected_art) for image in item.arts],
        "thumb": f"/library/metadata/{item.rating_key}/thumb/{item.thumb_epoch}",
        "art": f"/library/metadata/{item.rating_key}/art/{item.art_epoch}",
        "parts": [
            {
                "id": p.id,
                "mediaId": p.media_id,
                "file": p.file,
                "size": p.size,
                "duration": p.duration_ms,
                "container": p.container,
            }
            for p in item.parts
        ],
        "addedAt": item.added_at,
        "updatedAt": item.updated_at,
        "parentRatingKey": item.parent_key,
        "grandparentRatingKey": item.grandparent_key,
        "index": item.index,
        "guids": list(item.external_guids),
    }
