"""Planning one item's write: what Stash says, what Plex shows, what we own there.

The plan is computed without I/O from a detail-fetched plexapi item, so the gateway's only
decisions are whether to send the plan (dry run, breaker) and where failures go. Which fields
are written, cleared or left alone is :mod:`stashplex.sync.ownership`'s decision.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from typing import Any

from stashplex.plex.items import current_fields, locked_fields, supported
from stashplex.plex.journal import JournalRow
from stashplex.plex.state import Written
from stashplex.sync.fieldmap import FieldToggles, desired_fields
from stashplex.sync.fingerprint import poster_source
from stashplex.sync.ownership import OwnershipPlan, OwnershipPolicy, empty_fields, plan_ownership
from stashplex.sync.plexedit import edit_params
from stashplex.sync.request_size import DEFAULT_MAX_QUERY_BYTES, fit_fields
from stashplex.sync.scene import StashScene

log = logging.getLogger(__name__)


@dataclass
class ItemPlan:
    rating_key: int
    ownership: OwnershipPlan
    params: dict[str, str]
    current: dict[str, Any]
    locked: frozenset[str]
    #: What we owned before this write (field -> the value we had written).
    owned_before: dict[str, Any] = field(default_factory=dict)
    poster_source: str | None = None
    background_source: str | None = None
    #: Values cut to fit one request: (field, length before, length after).
    cuts: list[tuple[str, int, int]] = field(default_factory=list)

    @property
    def written_fields(self) -> dict[str, Any]:
        """What we own after this write, for the gateway's state."""
        return self.ownership.owned

    @property
    def value_changes(self) -> int:
        return sum(1 for c in self.ownership.changes if not c.lock_only)

    @property
    def journal_writes(self) -> list[JournalRow]:
        """Every field this write sends, lock-only ones included (an undo unlocks them)."""
        return [
            JournalRow(
                c.field, c.old, c.new, c.field in self.locked, self.owned_before.get(c.field)
            )
            for c in self.ownership.changes
        ]

    @property
    def journal_preserved(self) -> list[JournalRow]:
        return [
            JournalRow(d.field, d.plex_value, d.stash_value)
            for d in self.ownership.decisions
            if d.field in self.ownership.preserved
        ]

    def written_state(
        self,
        scene_id: str,
        revision: int,
        prior: Written | None,
        poster_sha1: str | None,
        background_sha1: str | None,
    ) -> Written:
        """What the gateway remembers after this write; an image not uploaded keeps the source
        of the last one that was."""
        return Written(
            scene_id,
            revision,
            self.written_fields,
            self.poster_source if poster_sha1 else (prior.poster_source if prior else None),
            poster_sha1,
            self.background_source if background_sha1 else (
                prior.background_source if prior else None
            ),
            background_sha1,
            self.ownership.preserved,
        )

    def dry_run_diff(self) -> list[dict[str, Any]]:
        """Every field's verdict (owned, filled, left alone, preserved) and its change, if any."""
        changes = {c.field: c for c in self.ownership.changes}
        rows = []
        for decision in self.ownership.decisions:
            change = changes.get(decision.field)
            rows.append(
                {
                    "rating_key": self.rating_key,
                    "field": decision.field,
                    "verdict": str(decision.verdict),
                    "old": decision.plex_value,
                    "new": change.new if change else decision.plex_value,
                    "changed": bool(change and not change.lock_only),
                    "locks": bool(change and change.lock),
                }
            )
        return rows


def plan_item(
    scene: StashScene,
    item: Any,
    toggles: FieldToggles,
    prior: Written | None,
    *,
    policy: OwnershipPolicy,
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
    locked = locked_fields(item)
    owned = dict(prior.fields) if prior else {}
    ownership = plan_ownership(
        current,
        locked,
        desired,
        empty=empty_fields(desired, titled=bool(scene.title)),
        owned=owned,
        policy=policy,
    )
    params = edit_params(ownership.changes, current) if ownership.changes else {}
    cover = poster_source(scene.screenshot_url)
    return ItemPlan(
        int(item.ratingKey),
        ownership,
        params,
        current,
        locked,
        owned,
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
