"""Read-side resolvers: queries, and the object fields that are computed rather than stored."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import graphql

from stashplex.sandbox.stash.clock import unix_seconds
from stashplex.sandbox.stash.context import RequestContext
from stashplex.sandbox.stash.records import (
    FileRecord,
    GroupRecord,
    PerformerRecord,
    SceneRecord,
    StudioRecord,
    TagRecord,
)
from stashplex.sandbox.stash.scene_query import find_scenes
from stashplex.sandbox.stash.store import StashStore

EMULATED_VERSION = {"version": "v0.30.1", "hash": "stashplex-emulator", "build_time": "2026-01-11"}

Resolver = Callable[..., Any]


def parse_stash_id(raw: Any, what: str = "id") -> int:
    """Stash converts IDs with strconv.Atoi, so anything but a decimal integer is an error."""
    text = str(raw)
    try:
        return int(text, 10)
    except ValueError:
        raise ValueError(f'strconv.Atoi: parsing "{text}": invalid syntax ({what})') from None


def _ctx(info: graphql.GraphQLResolveInfo) -> RequestContext:
    return info.context


def _image_url(base: str, kind: str, row_id: int, updated_at: str, has_image: bool) -> str:
    url = f"{base}/{kind}/{row_id}/image?t={unix_seconds(updated_at)}"
    return url if has_image else url + "&default=true"


class ReadResolvers:
    """Resolvers bound to one store; `api_key` is read lazily because it can change at runtime."""

    def __init__(self, store: StashStore, api_key: Callable[[], str | None]) -> None:
        self.store = store
        self.api_key = api_key

    # -- Query ----------------------------------------------------------------------------------
    def find_scene(
        self,
        _root: Any,
        _info: graphql.GraphQLResolveInfo,
        id: Any = None,
        checksum: str | None = None,
    ) -> SceneRecord | None:
        with self.store.lock:
            if id is not None:
                return self.store.scenes.get(parse_stash_id(id))
            if checksum is not None:
                for scene in self.store.scenes.values():
                    if any(file.checksum == checksum for file in scene.files):
                        return scene
            return None

    def find_scenes(
        self,
        _root: Any,
        _info: graphql.GraphQLResolveInfo,
        scene_filter: Any = None,
        scene_ids: list[int] | None = None,
        ids: list[Any] | None = None,
        filter: Any = None,
    ) -> dict[str, Any]:
        wanted = [parse_stash_id(raw) for raw in ids] if ids is not None else scene_ids
        with self.store.lock:
            scenes = list(self.store.scenes.values())
        count, page, matched = find_scenes(scenes, filter, scene_filter, wanted)
        return {
            "count": count,
            "scenes": page,
            "duration": lambda *_: sum(s.files[0].duration for s in matched if s.files),
            "filesize": lambda *_: float(sum(s.files[0].size for s in matched if s.files)),
        }

    def configuration(self, _root: Any, _info: graphql.GraphQLResolveInfo) -> dict[str, Any]:
        return {"general": {"apiKey": self.api_key() or ""}, "plugins": self.plugins}

    def plugins(
        self, _root: Any, _info: graphql.GraphQLResolveInfo, include: list[str] | None = None
    ) -> dict[str, Any]:
        with self.store.lock:
            settings = {pid: dict(values) for pid, values in self.store.plugin_settings.items()}
        if include is None:
            return settings
        return {pid: values for pid, values in settings.items() if pid in include}

    def version(self, _root: Any, _info: graphql.GraphQLResolveInfo) -> dict[str, Any]:
        return dict(EMULATED_VERSION)

    # -- Scene ----------------------------------------------------------------------------------
    def scene_paths(self, scene: SceneRecord, info: graphql.GraphQLResolveInfo) -> dict[str, str]:
        base = f"{_ctx(info).base_url}/scene/{scene.id}"
        key = self.api_key()
        checksum = scene.files[0].oshash if scene.files else str(scene.id)
        sprite_base = f"{_ctx(info).base_url}/scene/{checksum}"
        return {
            "screenshot": f"{base}/screenshot?t={unix_seconds(scene.updated_at)}",
            "preview": f"{base}/preview",
            "stream": f"{base}/stream" + (f"?apikey={key}" if key else ""),
            "webp": f"{base}/webp",
            "vtt": f"{sprite_base}_thumbs.vtt",
            "sprite": f"{sprite_base}_sprite.jpg",
            "funscript": f"{base}/funscript",
            "interactive_heatmap": f"{base}/interactive_heatmap",
            "caption": f"{base}/caption",
        }

    def scene_studio(self, scene: SceneRecord, _info: Any) -> StudioRecord | None:
        return None if scene.studio_id is None else self.store.studios.get(scene.studio_id)

    def scene_groups(self, scene: SceneRecord, _info: Any) -> list[dict[str, Any]]:
        return [
            {"group": self.store.groups[link.group_id], "scene_index": link.scene_index}
            for link in scene.groups_links
        ]

    def scene_tags(self, scene: SceneRecord, _info: Any) -> list[TagRecord]:
        return [self.store.tags[tag_id] for tag_id in scene.tag_ids]

    def scene_performers(self, scene: SceneRecord, _info: Any) -> list[PerformerRecord]:
        return [self.store.performers[pid] for pid in scene.performer_ids]

    @staticmethod
    def file_fingerprint(file: FileRecord, _info: Any, type: str) -> str | None:
        return next((p["value"] for p in file.fingerprints if p["type"] == type), None)

    # -- related objects ------------------------------------------------------------------------
    def studio_parent(self, studio: StudioRecord, _info: Any) -> StudioRecord | None:
        return None if studio.parent_id is None else self.store.studios.get(studio.parent_id)

    @staticmethod
    def studio_image(studio: StudioRecord, info: graphql.GraphQLResolveInfo) -> str:
        return _image_url(
            _ctx(info).base_url, "studio", studio.id, studio.updated_at, studio.image is not None
        )

    @staticmethod
    def performer_image(performer: PerformerRecord, info: graphql.GraphQLResolveInfo) -> str:
        return _image_url(
            _ctx(info).base_url,
            "performer",
            performer.id,
            performer.updated_at,
            performer.image is not None,
        )

    @staticmethod
    def tag_image(tag: TagRecord, info: graphql.GraphQLResolveInfo) -> str:
        return _image_url(_ctx(info).base_url, "tag", tag.id, tag.updated_at, tag.image is not None)

    def group_studio(self, group: GroupRecord, _info: Any) -> StudioRecord | None:
        return None if group.studio_id is None else self.store.studios.get(group.studio_id)

    @staticmethod
    def group_front_image(group: GroupRecord, info: graphql.GraphQLResolveInfo) -> str:
        url = (
            f"{_ctx(info).base_url}/group/{group.id}/frontimage?t={unix_seconds(group.updated_at)}"
        )
        return url if group.front_image is not None else url + "&default=true"

    def field_resolvers(self) -> dict[str, dict[str, Resolver]]:
        return {
            "Query": {
                "findScene": self.find_scene,
                "findScenes": self.find_scenes,
                "configuration": self.configuration,
                "version": self.version,
            },
            "ConfigResult": {"plugins": lambda root, info, **kw: root["plugins"](root, info, **kw)},
            "FindScenesResultType": {
                "duration": lambda root, info: root["duration"](),
                "filesize": lambda root, info: root["filesize"](),
            },
            "Scene": {
                "paths": self.scene_paths,
                "studio": self.scene_studio,
                "groups": self.scene_groups,
                "tags": self.scene_tags,
                "performers": self.scene_performers,
            },
            "VideoFile": {"fingerprint": self.file_fingerprint},
            "Studio": {"parent_studio": self.studio_parent, "image_path": self.studio_image},
            "Performer": {"image_path": self.performer_image},
            "Tag": {"image_path": self.tag_image},
            "Group": {"studio": self.group_studio, "front_image_path": self.group_front_image},
        }
