"""The emulator's in-memory database: rows, id sequences and the plugin settings map.

One re-entrant lock guards every read-modify-write, but hook processes run *outside* it: a hook
plugin calls back into GraphQL while the mutation that fired it is still waiting, exactly as in
Stash (which runs hooks after its transaction commits).
"""

from __future__ import annotations

import itertools
import threading
from dataclasses import asdict
from typing import Any

from stashplex.sandbox.stash.clock import StashClock
from stashplex.sandbox.stash.ordering import sort_tags
from stashplex.sandbox.stash.records import (
    FileRecord,
    GroupRecord,
    PerformerRecord,
    SceneRecord,
    StudioRecord,
    TagRecord,
)


class StashDataError(ValueError):
    """A mutation referred to a row that does not exist (Stash answers these as GraphQL errors)."""


class StashStore:
    def __init__(self, clock: StashClock | None = None) -> None:
        self.clock = clock or StashClock()
        self.lock = threading.RLock()
        self.scenes: dict[int, SceneRecord] = {}
        self.studios: dict[int, StudioRecord] = {}
        self.performers: dict[int, PerformerRecord] = {}
        self.tags: dict[int, TagRecord] = {}
        self.groups: dict[int, GroupRecord] = {}
        self.plugin_settings: dict[str, dict[str, Any]] = {}
        self._scene_ids = itertools.count(1)
        self._file_ids = itertools.count(1)
        self._studio_ids = itertools.count(1)
        self._performer_ids = itertools.count(1)
        self._tag_ids = itertools.count(1)
        self._group_ids = itertools.count(1)

    # -- id sequences -------------------------------------------------------------------------
    def next_scene_id(self) -> int:
        return next(self._scene_ids)

    def next_file_id(self) -> int:
        return next(self._file_ids)

    def next_studio_id(self) -> int:
        return next(self._studio_ids)

    def next_performer_id(self) -> int:
        return next(self._performer_ids)

    def next_tag_id(self) -> int:
        return next(self._tag_ids)

    def next_group_id(self) -> int:
        return next(self._group_ids)

    # -- lookups that raise the way Stash's foreign keys do -------------------------------------
    def require_scene(self, scene_id: int) -> SceneRecord:
        scene = self.scenes.get(scene_id)
        if scene is None:
            raise StashDataError(f"scene with id {scene_id} not found")
        return scene

    def require_studio(self, studio_id: int) -> StudioRecord:
        studio = self.studios.get(studio_id)
        if studio is None:
            raise StashDataError(f"studio with id {studio_id} not found")
        return studio

    def require_performer(self, performer_id: int) -> PerformerRecord:
        performer = self.performers.get(performer_id)
        if performer is None:
            raise StashDataError(f"performer with id {performer_id} not found")
        return performer

    def require_tag(self, tag_id: int) -> TagRecord:
        tag = self.tags.get(tag_id)
        if tag is None:
            raise StashDataError(f"tag with id {tag_id} not found")
        return tag

    def require_group(self, group_id: int) -> GroupRecord:
        group = self.groups.get(group_id)
        if group is None:
            raise StashDataError(f"group with id {group_id} not found")
        return group

    def all_files(self) -> list[FileRecord]:
        with self.lock:
            return [file for scene in self.scenes.values() for file in scene.files]

    def find_many_scenes(self, ids: list[int]) -> list[SceneRecord]:
        """pkg/sqlite/scene.go `FindMany`: in the order of `ids`, all or an error.

        Each found row is put at the *first* position of its id (`slices.Index`), so a repeated
        id leaves a later slot empty and fails as "not found" although the scene exists.
        """
        with self.lock:
            slots: list[SceneRecord | None] = [None] * len(ids)
            for scene_id in dict.fromkeys(ids):
                scene = self.scenes.get(scene_id)
                if scene is not None:
                    slots[ids.index(scene_id)] = scene
            for index, scene in enumerate(slots):
                if scene is None:
                    raise StashDataError(f"scene with id {ids[index]} not found")
            return [scene for scene in slots if scene is not None]

    def ordered_tag_ids(self, tag_ids: list[int]) -> list[int]:
        """A scene's tags in Stash's order (see ordering.py); ids of deleted tags dropped."""
        with self.lock:
            rows = [self.tags[t] for t in tag_ids if t in self.tags]
            return sort_tags((tag.id, tag.sort_name, tag.name) for tag in rows)

    # -- snapshots for assertions ---------------------------------------------------------------
    def scene_snapshot(self, scene_id: int) -> dict[str, Any] | None:
        """A deep plain copy of a scene, related rows inlined in Stash's order (safe to keep)."""
        with self.lock:
            scene = self.scenes.get(scene_id)
            if scene is None:
                return None
            snapshot = asdict(scene)
            snapshot["id"] = str(scene.id)
            snapshot["has_cover"] = scene.cover is not None
            snapshot.pop("cover")
            snapshot["studio"] = self._studio_snapshot(scene.studio_id)
            snapshot["performers"] = [
                {"id": str(p), "name": self.performers[p].name} for p in sorted(scene.performer_ids)
            ]
            snapshot["tags"] = [
                {"id": str(t), "name": self.tags[t].name}
                for t in self.ordered_tag_ids(scene.tag_ids)
            ]
            snapshot["groups"] = [
                {
                    "id": str(link.group_id),
                    "name": self.groups[link.group_id].name,
                    "scene_index": link.scene_index,
                }
                for link in scene.groups_links
            ]
            snapshot.pop("groups_links")
            for file in snapshot["files"]:
                file["id"] = str(file["id"])
            return snapshot

    def _studio_snapshot(self, studio_id: int | None) -> dict[str, Any] | None:
        if studio_id is None:
            return None
        studio = self.studios[studio_id]
        return {
            "id": str(studio.id),
            "name": studio.name,
            "parent": self._studio_snapshot(studio.parent_id),
        }
