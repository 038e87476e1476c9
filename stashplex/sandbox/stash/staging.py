"""Python-side staging of a Stash library: rows added directly, as an import or old data would be.

These helpers write the store without GraphQL and without hooks (use the GraphQL mutations, or
`StashEmulator.update_scene` / `merge_tags` / `scan_new_files`, to get Stash's hooks). They are
mixed into `StashEmulator`.
"""

from __future__ import annotations

from typing import Any

from stashplex.sandbox.stash.ids import parse_stash_id
from stashplex.sandbox.stash.records import (
    FileRecord,
    GroupRecord,
    PerformerRecord,
    SceneRecord,
    StudioRecord,
    TagRecord,
)
from stashplex.sandbox.stash.scene_edits import apply_scene_update
from stashplex.sandbox.stash.seeding import WorldSeeder
from stashplex.sandbox.stash.store import StashStore


def file_record(store: StashStore, spec: dict[str, Any], now: str) -> FileRecord:
    """A video file row; unspecified properties get plausible defaults and unique hashes."""
    path = spec["path"]
    serial = store.next_file_id()
    return FileRecord(
        id=serial,
        path=path,
        basename=path.replace("\\", "/").rsplit("/", 1)[-1],
        size=int(spec.get("size", 1_000_000)),
        duration=float(spec.get("duration", 60.0)),
        width=int(spec.get("width", 1920)),
        height=int(spec.get("height", 1080)),
        format=spec.get("format", "mp4"),
        video_codec=spec.get("video_codec", "h264"),
        audio_codec=spec.get("audio_codec", "aac"),
        frame_rate=float(spec.get("frame_rate", 29.97)),
        bit_rate=int(spec.get("bit_rate", 5_000_000)),
        mod_time=spec.get("mod_time", now),
        created_at=now,
        updated_at=now,
        oshash=spec.get("oshash", f"{serial:016x}"),
        checksum=spec.get("checksum", f"{serial:032x}"),
    )


class WorldStaging:
    """`add_*`, `seed`, `scene`: build and inspect a library without going through GraphQL."""

    store: StashStore

    def seed(self, n_scenes: int, seed: int = 0, path_root: str = "/data/") -> list[str]:
        ids = WorldSeeder(self.store, seed, path_root).seed(n_scenes)
        return [str(scene_id) for scene_id in ids]

    def add_scene(
        self,
        title: str | None = None,
        files: list[dict[str, Any]] | None = None,
        cover: bytes | None = None,
        **fields: Any,
    ) -> str:
        """Add a scene as an import would (no hook); `fields` use SceneUpdateInput names."""
        with self.store.lock:
            now = self.store.clock.now()
            scene = SceneRecord(id=self.store.next_scene_id(), created_at=now, updated_at=now)
            scene.files = [file_record(self.store, spec, now) for spec in files or []]
            scene = apply_scene_update(self.store, scene, {"title": title, **fields})
            scene.created_at, scene.updated_at, scene.cover = now, now, cover
            self.store.scenes[scene.id] = scene
            return str(scene.id)

    def add_studio(
        self, name: str, parent_id: str | None = None, image: bytes | None = None
    ) -> str:
        with self.store.lock:
            now = self.store.clock.now()
            parent = None if parent_id is None else self.store.require_studio(int(parent_id)).id
            studio = StudioRecord(self.store.next_studio_id(), name, now, now, parent, image=image)
            self.store.studios[studio.id] = studio
            return str(studio.id)

    def add_performer(self, name: str, image: bytes | None = None, **fields: Any) -> str:
        with self.store.lock:
            now = self.store.clock.now()
            performer = PerformerRecord(
                self.store.next_performer_id(), name, now, now, image=image, **fields
            )
            self.store.performers[performer.id] = performer
            return str(performer.id)

    def add_tag(self, name: str, sort_name: str | None = None) -> str:
        with self.store.lock:
            now = self.store.clock.now()
            tag = TagRecord(self.store.next_tag_id(), name, now, now, sort_name=sort_name)
            self.store.tags[tag.id] = tag
            return str(tag.id)

    def add_group(self, name: str) -> str:
        with self.store.lock:
            now = self.store.clock.now()
            group = GroupRecord(self.store.next_group_id(), name, now, now)
            self.store.groups[group.id] = group
            return str(group.id)

    def scene(self, scene_id: str | int) -> dict[str, Any] | None:
        return self.store.scene_snapshot(parse_stash_id(scene_id))

    def scene_ids(self) -> list[str]:
        with self.store.lock:
            return [str(scene_id) for scene_id in self.store.scenes]

    def image_of(self, kind: str, row_id: int) -> tuple[bool, bytes | None]:
        """(row exists, its stored image or None) for the image routes."""
        table: dict[int, Any] = {
            "scene": self.store.scenes,
            "performer": self.store.performers,
            "studio": self.store.studios,
            "tag": self.store.tags,
            "group": self.store.groups,
        }[kind]
        row = table.get(row_id)
        if row is None:
            return False, None
        attribute = {"scene": "cover", "group": "front_image"}.get(kind, "image")
        return True, getattr(row, attribute)
