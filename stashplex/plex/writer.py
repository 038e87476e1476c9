"""Planning one item's write: what Stash says, what Plex shows, what we last wrote.

The plan is computed without I/O from a detail-fetched plexapi item, so the gateway's only
decisions are whether to send the plan (dry run, breaker) and where failures go.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from typing import Any

from stashplex.plex.items import current_fields, locked_fields, supported
from stashplex.plex.state import Written
from stashplex.sync.fieldmap import FieldDiff, FieldToggles, desired_fields, diff_fields
from stashplex.sync.fingerprint import poster_source
from stashplex.sync.plexedit import edit_params
from stashplex.sync.request_size import DEFAULT_MAX_QUERY_BYTES, fit_fields
from stashplex.sync.scene import StashScene

log = logging.getLogger(__name__)

@dataclass
class ItemPlan:
    rating_key: int
    diff: FieldDiff
    params: dict[str, str]
    current: dict[str, Any]
    desired: dict[str, Any]
    written_fields: dict[str, Any] = field(default_factory=dict)
    poster_source: str | None = None
    background_source: str | None = None
    #: Values cut to fit one request: (field, length before, length after).
    cuts: list[tuple[str, int, int]] = field(default_factory=list)

    @property
    def journal_writes(self) -> list[tuple[str, Any, Any]]:
        return [(c.field, c.old, c.new) for c in self.diff.changes if not c.lock_only]

    def diff_rows(self) -> list[dict[str, Any]]:
        """What a dry run reports for this item: one row per field that would change."""
        return [
            {"rating_key": self.rating_key, "field": name, "old": old, "new": new}
            for name, old, new in self.journal_writes
        ]

    def written(
        self, scene_id: str, revision: int, prior: Written | None, covers: tuple[Any, Any]
    ) -> Written:
        """What we now hold written on the item; an image not uploaded keeps its last record."""
        poster_sha1, background_sha1 = covers
        return Written(
            scene_id,
            revision,
            self.written_fields,
            self.poster_source if poster_sha1 else (prior.poster_source if prior else None),
            poster_sha1,
            self.background_source
            if background_sha1
            else (prior.background_source if prior else None),
            background_sha1,
        )

    @property
    def journal_preserved(self) -> list[tuple[str, Any, Any]]:
        return [(p.field, p.plex_value, p.desired) for p in self.diff.preserved]


def plan_item(
    scene: StashScene,
    item: Any,
    toggles: FieldToggles,
    prior: Written | None,
    *,
    preserve_plex_edits: bool,
    max_request_bytes: int = DEFAULT_MAX_QUERY_BYTES,
) -> ItemPlan:
    allowed = supported(item)
    wanted = {k: v for k, v in desired_fields(scene, toggles).items() if k in allowed}
    desired, cuts = fit_fields(wanted, max_request_bytes)
    for name, before, after in cuts:
        log.warning(
            "scene %s: Plex %s cut from %d to %d to fit one request (plex_max_request_bytes %d)",
            scene.id, name, before, after, max_request_bytes,
        )  # fmt: skip
    current = current_fields(item)
    diff = diff_fields(
        current,
        locked_fields(item),
        desired,
        last_written=prior.fields if prior else None,
        preserve_plex_edits=preserve_plex_edits,
    )
    params = edit_params(diff.changes, current) if diff.changes else {}
    kept = {p.field for p in diff.preserved}
    written_fields = dict(prior.fields) if prior else {}
    written_fields.update({k: v for k, v in desired.items() if k not in kept})
    cover = poster_source(scene.screenshot_url)
    return ItemPlan(
        int(item.ratingKey),
        diff,
        params,
        current,
        desired,
        written_fields,
        cover if toggles.poster else None,
        cover if toggles.background else None,
        cuts,
    )


def needs_poster(plan: ItemPlan, prior: Written | None, has_cover: bool) -> bool:
    """Download the cover only if Stash has a real one and it may differ from our last upload."""
    return _needs_image(
        plan.poster_source,
        prior.poster_source if prior else None,
        prior.poster_sha1 if prior else None,
        has_cover,
    )


def needs_background(plan: ItemPlan, prior: Written | None, has_cover: bool) -> bool:
    """The same rule for the cover used as the item's background."""
    return _needs_image(
        plan.background_source,
        prior.background_source if prior else None,
        prior.background_sha1 if prior else None,
        has_cover,
    )


def _needs_image(
    source: str | None, last_source: str | None, last_sha1: str | None, has_cover: bool
) -> bool:
    if not has_cover or source is None:
        return False
    return last_source != source or not last_sha1


def sha1(data: bytes) -> str:
    return hashlib.sha1(data).hexdigest()  # noqa: S324 - Plex names uploads by SHA-1
