"""The scene's cover as the item's poster (and background): uploaded only when it changed.

Plex names an upload by its SHA-1, so the hash of our last upload tells whether the bytes in
Stash differ; the cover is downloaded once for both uses, and only if either may have changed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from stashplex.plex.connection import ErrorClass, PlexFailure
from stashplex.plex.guarded import PlexCallError
from stashplex.plex.state import Written
from stashplex.plex.writer import ItemPlan, needs_background, needs_poster, sha1
from stashplex.stash import StashAnswerRefusedError, StashClient, StashError
from stashplex.sync.scene import StashScene

log = logging.getLogger(__name__)

#: (field, old sha1, new sha1) rows for the journal.
Journal = Callable[[list[tuple[str, Any, Any]]], None]


class CoverUnavailableError(Exception):
    """Stash could not hand over the cover; the next sync tries again."""


def cover_download(stash: StashClient, scene: StashScene) -> Callable[[], bytes]:
    """The scene's cover from Stash, for :func:`sync_covers`.

    Too large or too slow fails the job for good (a cover that kills the host must not come
    back); anything else Stash could not hand over is tried again at the next sync.
    """

    def download() -> bytes:
        try:
            return bytes(stash.fetch_image(scene.screenshot_url or ""))
        except StashAnswerRefusedError as exc:
            failure = PlexFailure(ErrorClass.PERMANENT, f"scene {scene.id}: {exc}")
            raise PlexCallError(failure) from exc
        except StashError as exc:
            log.warning("scene %s: cover not downloaded (%s); next sync tries", scene.id, exc)
            raise CoverUnavailableError(str(exc)) from exc

    return download


def sync_covers(
    item: Any,
    plan: ItemPlan,
    prior: Written | None,
    *,
    has_cover: bool,
    download: Callable[[], bytes],
    call: Callable[..., Any],
    journal: Journal,
    uploaded_before: Callable[[str, str], bool] = lambda _name, _digest: False,
) -> tuple[str | None, str | None]:
    """Upload what changed; return the (poster, background) SHA-1 now in Plex.

    ``download`` raises :class:`CoverUnavailableError` when Stash cannot hand the cover over:
    the images it should have refreshed are then recorded as unknown, so the next sync tries.
    ``uploaded_before(field, sha1)`` says whether we ever uploaded these bytes to this item:
    Plex keeps every upload and does not select one it already holds, so a cover going
    A -> B -> A must be selected explicitly (one extra listing, only in that case).
    """
    kept = (prior.poster_sha1 if prior else None, prior.background_sha1 if prior else None)
    wanted = (needs_poster(plan, prior, has_cover), needs_background(plan, prior, has_cover))
    if not any(wanted):
        return kept
    try:
        image = download()
    except CoverUnavailableError:
        return (None if wanted[0] else kept[0], None if wanted[1] else kept[1])
    digest = sha1(image)
    uploads = (
        ("poster", item.uploadPoster, item.posters),
        ("background", item.uploadArt, item.arts),
    )
    result: list[str | None] = []
    for (name, upload, listing), want, previous in zip(uploads, wanted, kept, strict=True):
        if not want:
            result.append(previous)
            continue
        if digest != previous:
            held = uploaded_before(name, digest)
            call(upload, filepath=image)
            if held:
                _select(call, listing, digest)
            journal([(name, previous, digest)])
        result.append(digest)
    return result[0], result[1]


def _select(call: Callable[..., Any], listing: Callable[[], list[Any]], digest: str) -> None:
    """Select the upload named by ``digest`` (Plex names uploads ``upload://.../<sha1>``)."""
    for image in call(listing):
        if str(getattr(image, "ratingKey", "")).endswith("/" + digest):
            if not getattr(image, "selected", False):
                call(image.select)
            return
