"""Posters and art: uploads by URL (recorded, never fetched) or by bytes, and selection.

Selecting an image by hand locks the field, so a later agent refresh keeps the user's choice.
An upload is named by what it is: `upload://posters/<sha1 of the bytes>` (plexapi
tests/test_mixins.py asserts the SHA-1 suffix) or the URL itself. Uploading what the item
already holds adds no entry and, realistically, selects nothing: the held entry stays where it
was and only `PUT /library/metadata/K/poster?url=<ratingKey>` (plexapi `setPoster()` /
`Poster.select()`, mixins/resources.py and media.py) moves the selection. Uploads pile up: PMS
has no call to delete one uploaded poster (agregarr-dev #36), so `posters()` lists every one.
"""

from __future__ import annotations

import hashlib

from stashplex.sandbox.plex.model import Image, Item, PlexError

# Upload path segment -> (rating key scheme folder, locked field).
IMAGE_KINDS: dict[str, tuple[str, str]] = {"posters": ("posters", "thumb"), "arts": ("art", "art")}
MAX_UPLOAD_BYTES = 10_480_000


def _images(item: Item, kind: str) -> list[Image]:
    return item.posters if kind == "posters" else item.arts


def selected(item: Item, kind: str) -> str | None:
    return item.selected_poster if kind == "posters" else item.selected_art


def _select(item: Item, kind: str, rating_key: str, now: int) -> None:
    folder_field = IMAGE_KINDS[kind][1]
    if kind == "posters":
        item.selected_poster = rating_key
        item.thumb_epoch = max(now, item.thumb_epoch + 1)
    else:
        item.selected_art = rating_key
        item.art_epoch = max(now, item.art_epoch + 1)
    item.locks.add(folder_field)
    item.touch(now)


def upload(
    item: Item, kind: str, url: str | None, body: bytes, now: int, *, reselect: bool = False
) -> Image:
    """Add an image from a URL or from raw bytes and select it; one already held is selected
    again only when `reselect` (the lenient `reupload_reselects` knob) is on."""
    if kind not in IMAGE_KINDS:
        raise PlexError(404, f"unknown image kind {kind!r}")
    images = _images(item, kind)
    if url:
        if not url.startswith(("http://", "https://")):
            raise PlexError(400, f"image url must be http(s), got {url!r}")
        image = next((i for i in images if i.rating_key == url), None)
        if image is not None and not reselect:
            return image
        if image is None:
            image = Image(rating_key=url, url=url)
            images.append(image)
    elif body:
        if len(body) > MAX_UPLOAD_BYTES:
            raise PlexError(413, f"image of {len(body)} bytes is too large")
        digest = hashlib.sha1(body).hexdigest()  # noqa: S324 - Plex names uploads by SHA-1
        rating_key = f"upload://{IMAGE_KINDS[kind][0]}/{digest}"
        image = next((i for i in images if i.rating_key == rating_key), None)
        if image is not None and not reselect:
            return image
        if image is None:
            image = Image(rating_key=rating_key, url=rating_key, sha1=digest, data=bytes(body))
            images.append(image)
    else:
        raise PlexError(400, "an image upload needs ?url= or a request body")
    _select(item, kind, image.rating_key, now)
    return image


def choose(item: Item, kind: str, url: str | None, now: int) -> None:
    """PUT .../poster?url= selects one of the images the item holds (as listed by GET
    .../posters); anything else is refused, since plexapi only ever sends a listed ratingKey."""
    if not url:
        raise PlexError(400, "selecting an image needs ?url=")
    if not any(image.rating_key == url for image in _images(item, kind)):
        raise PlexError(404, f"item {item.rating_key} holds no image {url!r}")
    _select(item, kind, url, now)


def selected_bytes(item: Item, kind: str) -> bytes | None:
    key = selected(item, kind)
    image = next((i for i in _images(item, kind) if i.rating_key == key), None)
    return image.data if image else None
