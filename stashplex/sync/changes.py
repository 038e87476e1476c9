"""Which Stash changes matter to Plex, and which scenes just read need a job.

Plain functions, so Intake stays a thin shell and the rules have plain tests.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from stashplex.sync.fieldmap import FieldToggles
from stashplex.sync.fingerprint import fingerprint
from stashplex.sync.scene import SceneDataError, StashScene

#: ``inputFields`` of a scene update that can change what Plex shows, per sync toggle.
SYNCED_INPUT_FIELDS: dict[str, frozenset[str]] = {
    "title": frozenset({"title"}),
    "summary": frozenset({"details"}),
    "studio": frozenset({"studio_id"}),
    "date": frozenset({"date"}),
    "rating": frozenset({"rating100", "rating"}),
    "performers": frozenset({"performer_ids"}),
    "tags": frozenset({"tag_ids"}),
    # sceneUpdate sends ``groups``/``movies``; bulkSceneUpdate sends ``group_ids``/``movie_ids``.
    "groups": frozenset({"groups", "movies", "group_ids", "movie_ids"}),
    "director": frozenset({"director"}),
    "poster": frozenset({"cover_image"}),
}
#: Changing which file is primary can change the match and the fallback title.
ALWAYS_RELEVANT = frozenset({"primary_file_id"})
#: With ``organized_only``, marking a scene organized is what lets it reach Plex.
ORGANIZED = "organized"
#: Bookkeeping keys of an update input: present in ``inputFields``, never a change themselves.
NOT_A_CHANGE = frozenset({"id", "ids", "clientMutationId"})
#: ``inputFields`` of a performer/studio/tag/group update that can change what its scenes show
#: in Plex, per sync toggle. Only names reach Plex (see ``stashplex.sync.scene`` and
#: ``stashplex.sync.fieldmap``): a performer is ``Name (Disambiguation)``, a studio its name (as
#: ``studio`` and, with ``studio_as_collection``, a collection; its parent is not used), a tag
#: its name, a group its name. Aliases, images, ratings, a studio's parent or a tag's parents
#: change nothing in Plex.
RELATED_INPUT_FIELDS: dict[str, dict[str, frozenset[str]]] = {
    "performer": {"performers": frozenset({"name", "disambiguation"})},
    "studio": {"studio": frozenset({"name"}), "studio_as_collection": frozenset({"name"})},
    "tag": {"tags": frozenset({"name"})},
    "group": {"groups": frozenset({"name"})},
}


def relevant_fields(settings: Any) -> frozenset[str]:
    toggles = FieldToggles.from_settings(settings)
    fields = set(ALWAYS_RELEVANT)
    for toggle, names in SYNCED_INPUT_FIELDS.items():
        if getattr(toggles, toggle):
            fields |= names
    if toggles.studio_as_collection:
        fields.add("studio_id")
    if getattr(settings, "organized_only", False):
        fields.add(ORGANIZED)
    return frozenset(fields)


def related_relevant_fields(settings: Any) -> dict[str, frozenset[str]]:
    """Per object kind, the update fields that matter under these settings (empty: none do)."""
    toggles = FieldToggles.from_settings(settings)
    return {
        kind: frozenset().union(
            *(names for toggle, names in by_toggle.items() if getattr(toggles, toggle))
        )
        for kind, by_toggle in RELATED_INPUT_FIELDS.items()
    }


def related_edit_matters(
    kind: str, input_fields: Iterable[str], relevant: dict[str, frozenset[str]]
) -> bool:
    """Whether an edit of a performer/studio/tag/group can change what its scenes show in Plex.

    With the field's sync toggle off nothing of the object reaches Plex, so no edit matters.
    Without ``inputFields`` (Stash omits an empty list) what changed is unknown, so it matters,
    as for a scene; a list naming only fields we do not sync does not.
    """
    wanted = relevant.get(kind, frozenset())
    if not wanted:
        return False
    fields = list(input_fields)
    return not fields or bool(set(fields) & wanted)


@dataclass
class Selection:
    """Which scenes just read from Stash need a job, and what became of the others."""

    jobs: list[tuple[StashScene, str]] = field(default_factory=list)  # (scene, fingerprint)
    skipped: int = 0
    failed: int = 0
    notes: list[tuple[int, str]] = field(default_factory=list)  # (logging level, message)


def select_changed(
    raw_scenes: Iterable[Mapping[str, Any]],
    synced: Mapping[str, Mapping[str, Any]],
    toggles: FieldToggles,
    *,
    force: bool = False,
    catching_up: bool = False,
    reconcile: bool = False,
    organized_only: bool = False,
) -> Selection:
    """Sanitize and fingerprint scenes; keep those whose Plex fields may have changed.

    A scene is skipped when its fingerprint equals that of its last successful sync, or of a
    job for it still in flight (so a burst of events makes one job). The catch-up pass also
    skips what last failed, so a failed scene is not re-failed on every pass; a new edit or
    ``sync`` retries it. ``force`` skips nothing that has files. A ``reconcile`` pass sends
    every scene that was synced before, changed or not, so Plex-side drift is found by the
    gateway's diff (it costs a read, and a write only where Plex differs); it skips what is
    already on its way to Plex and, like catch-up, what last failed unchanged (those wait in
    the dead letters; a nightly pass would only fail them again). With ``organized_only`` a
    scene not marked organized is skipped, forced or not; it leaves no fingerprint behind, so
    the edit that marks it organized finds it changed (whatever Plex got before stays there).
    """
    selection = Selection()
    for raw in raw_scenes:
        try:
            scene = StashScene.from_graphql(raw)
        except SceneDataError as exc:
            selection.notes.append((logging.ERROR, str(exc)))
            selection.failed += 1
            continue
        selection.notes += [(logging.WARNING, f"scene {scene.id}: {p}") for p in scene.problems]
        if organized_only and not scene.organized:
            selection.notes.append(
                (logging.DEBUG, f"scene {scene.id} is not organized; organized_only skips it")
            )
            selection.skipped += 1
            continue
        if not scene.files:
            selection.notes.append(
                (logging.INFO, f"scene {scene.id} has no files; nothing in Plex to match")
            )
            selection.skipped += 1
            continue
        fp = fingerprint(scene, toggles)
        known = synced.get(scene.id, {})
        if _skip(fp, known, force=force, catching_up=catching_up, reconcile=reconcile):
            selection.skipped += 1
            continue
        selection.jobs.append((scene, fp))
    return selection


def _skip(
    fp: str, known: Mapping[str, Any], *, force: bool, catching_up: bool, reconcile: bool
) -> bool:
    if (catching_up or reconcile) and fp == known.get("failed_fingerprint"):
        return True
    if reconcile:
        return fp == known.get("emitted_fingerprint")
    return not force and fp in {known.get("fingerprint"), known.get("emitted_fingerprint")}
