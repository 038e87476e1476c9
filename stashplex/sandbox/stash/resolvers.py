"""Read-side resolvers: queries, and the object fields that are computed rather than stored."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import graphql

from stashplex.sandbox.stash.clock import unix_seconds
from stashplex.sandbox.stash.context import RequestContext
from stashplex.sandbox.stash.ids import handle_id_list, parse_stash_id
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

__all__ = ["EMULATED_VERSION", "ReadResolvers", "Resolver", "parse_stash_id"]

EMULATED_VERSION = {"version": "v0.30.1", "hash": "stashplex-emulator", "build_time": "2026-01-11"}

Resolver = Callable[..., Any]

#: Model fields that are a Go `string` (not `*string`) behind a nullable GraphQL `String`:
#: gqlgen marshals them as-is, so an unset one is `""`, never `null` (pkg/models/model_*.go).
GO_STRING_FIELDS: dict[str, tuple[str, ...]] = {
    "Scene": ("title", "code", "details", "director"),
    "Tag": ("sort_name", "description"),
    "Performer": ("disambiguation", "country", "details"),
    "Studio": ("details",),
    "Group": ("aliases", "director", "synopsis"),
}


def _ctx(info: graphql.GraphQLResolveInfo) -> RequestContext:
    return info.context


def _image_url(base: str, kind: str, row_id: int, updated_at: str, has_image: bool) -> str:
    """urlbuilders/{performer,studio,tag}.go: `?t=<updated_at unix>`, `&default=true` if none."""
    url = f"{base}/{kind}/{row_id}/image?t={unix_seconds(updated_at)}"
    return url if has_image else url + "&default=true"


def _go_string(field: str) -> Resolver:
    return lambda row, _info: getattr(row, field) or ""


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
        """resolver_query_find_scene.go `FindScene`: null (no error) for a missing id."""
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
        ids: list[str] | None = None,
        filter: Any = None,
    ) -> dict[str, Any]:
        """resolver_query_find_scene.go `FindScenes`: two branches that share nothing.

        With a non-empty `ids` (or the deprecated `scene_ids`) Stash calls `Scene.FindMany`
        (pkg/sqlite/scene.go): `scene_filter` and `filter` (paging, sort, `q`) are ignored,
        scenes come back in the order of the ids, `count` is how many came back, and one id
        that matches no scene fails the whole field with "scene with id N not found".
        Otherwise it runs the filtered, sorted, paged query.
        """
        wanted = list(scene_ids or [])
        if ids:
            wanted = handle_id_list(ids, "ids")
        if wanted:
            matched = self.store.find_many_scenes(wanted)
            return self._result(len(matched), matched, matched)
        with self.store.lock:
            scenes = list(self.store.scenes.values())
        count, page, matched = find_scenes(
            scenes, filter, scene_filter, self.store.clock.tomorrow()
        )
        return self._result(count, page, matched)

    @staticmethod
    def _result(count: int, page: list[SceneRecord], matched: list[SceneRecord]) -> dict[str, Any]:
        """Totals come from each scene's primary file, as `TotalDuration`/`TotalSize` do."""
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
        """urlbuilders/scene.go. `screenshot` is `?t=<updated_at unix>` whether or not a cover
        exists: unlike performer/studio/tag images there is no `&default=true` marker."""
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
        """In link order (no ORDER BY on groups_scenes; see ordering.py)."""
        return [
            {"group": self.store.groups[link.group_id], "scene_index": link.scene_index}
            for link in scene.groups_links
            if link.group_id in self.store.groups
        ]

    def scene_tags(self, scene: SceneRecord, _info: Any) -> list[TagRecord]:
        """Ordered by COALESCE(sort_name, name) NATURAL_CI, as Stash lists them."""
        return [self.store.tags[tag_id] for tag_id in self.store.ordered_tag_ids(scene.tag_ids)]

    def scene_performers(self, scene: SceneRecord, _info: Any) -> list[PerformerRecord]:
        """In performer id order (the join table's primary key index)."""
        return [
            self.store.performers[pid]
            for pid in sorted(scene.performer_ids)
            if pid in self.store.performers
        ]

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
        resolvers: dict[str, dict[str, Resolver]] = {
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
        for type_name, fields in GO_STRING_FIELDS.items():
            for field in fields:
                resolvers[type_name][field] = _go_string(field)
        return resolvers
