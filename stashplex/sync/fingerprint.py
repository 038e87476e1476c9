"""A short, stable identity of everything a scene would write to Plex.

When a scene's fingerprint equals the one stored after its last successful sync, nothing Plex
would show has changed, so the sync can skip reading Plex at all. The fingerprint therefore covers
exactly what is written: the desired fields (which already reflect the toggles), the poster's
source and the file paths used to find the Plex item. Anything else Stash changes (URLs, play
counts, ``updated_at``) leaves it alone. ``organized`` is not in it either: with
``organized_only`` a scene that is not organized is never synced and so leaves no fingerprint,
which is what makes marking it organized a change (:func:`stashplex.sync.changes.select_changed`).

The poster source is the screenshot URL *without scheme and host*, so moving Stash to another
host or port changes nothing. Its ``?t=`` is the scene's ``updated_at``, so any scene edit moves
the fingerprint, not only a new cover. That is deliberate: without downloading the image it is the
only sign of a new cover, and the price of a false alarm is one Plex read and one image download;
the upload itself is still skipped when the image's hash is unchanged.
"""

from __future__ import annotations

import hashlib
import json
import unicodedata
from urllib.parse import urlsplit

from stashplex.sync.fieldmap import FieldToggles, desired_fields
from stashplex.sync.scene import StashScene

#: Bump when the mapping rules change meaning, so every scene is re-synced once.
#: 2: directors split on ``;`` and lines only, summaries keep their line breaks, no caps on
#: titles and list lengths.
FINGERPRINT_VERSION = 2


def poster_source(screenshot_url: str | None) -> str | None:
    """The part of the screenshot URL that identifies the image: path and query."""
    if not screenshot_url:
        return None
    parts = urlsplit(screenshot_url)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


def fingerprint(scene: StashScene, toggles: FieldToggles) -> str:
    """sha256 hex of the canonical JSON of what this scene writes to Plex."""
    document = {
        "version": FINGERPRINT_VERSION,
        "fields": desired_fields(scene, toggles),
        "poster": poster_source(scene.screenshot_url) if toggles.poster else None,
        "files": [file.path for file in scene.files],
    }
    if toggles.background:  # only when on, so turning it on is the only thing that re-syncs all
        document["background"] = poster_source(scene.screenshot_url)
    canonical = json.dumps(document, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(unicodedata.normalize("NFC", canonical).encode("utf-8")).hexdigest()
