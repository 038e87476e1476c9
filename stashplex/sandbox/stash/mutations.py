"""Write-side resolvers: what a user's edit does to the rows, then the hooks Stash fires for it.

Every resolver follows Stash's order: apply the change and "commit" (release the store lock),
run the post hooks synchronously (the HTTP response waits), then re-read the result so that
changes a hook made are visible in the response, as they are in Stash.
"""

from __future__ import annotations

import copy
import random
import time
from collections.abc import Callable
from typing import Any, Protocol

import graphql

from stashplex.sandbox.plugin_runner import PluginRun, SaveResult
from stashplex.sandbox.stash.context import HookChain, RequestContext
from stashplex.sandbox.stash.records import (
    GroupRecord,
    PerformerRecord,
    SceneRecord,
    StudioRecord,
    TagRecord,
)
from stashplex.sandbox.stash.resolvers import Resolver, parse_stash_id
from stashplex.sandbox.stash.scene_edits import (
    apply_bulk_scene_update,
    apply_scene_update,
    decode_image,
    new_scene_from_input,
)
from stashplex.sandbox.stash.store import StashDataError, StashStore

# Go struct field order of SceneUpdateInput: the hook input carries every key, absent ones null.
SCENE_UPDATE_INPUT_KEYS = (
    "clientMutationId",
    "id",
    "title",
    "code",
    "details",
    "director",
    "url",
    "urls",
    "date",
    "rating100",
    "o_counter",
    "organized",
    "studio_id",
    "gallery_ids",
    "performer_ids",
    "movies",
    "groups",
    "tag_ids",
    "cover_image",
    "stash_ids",
    "resume_time",
    "play_duration",
    "play_count",
    "primary_file_id",
)
BULK_SCENE_UPDATE_INPUT_KEYS = (
    "clientMutationId",
    "ids",
    "title",
    "code",
    "details",
    "director",
    "url",
    "urls",
    "date",
    "rating100",
    "organized",
    "studio_id",
    "gallery_ids",
    "performer_ids",
    "tag_ids",
    "group_ids",
    "movie_ids",
)


class HookDispatcher(Protocol):
    def fire_hooks(
        self,
        trigger: str,
        object_id: int,
        hook_input: Any,
        input_fields: list[str] | None,
        chain: HookChain = (),
    ) -> list[PluginRun]: ...

    def record_save(self, save: SaveResult) -> None: ...

    def submit_task(
        self, plugin_id: str, task_name: str, args: dict[str, Any] | None = None
    ) -> str: ...


def _shuffled_keys(raw_input: dict[str, Any]) -> list[str]:
    """Stash collects inputFields from a Go map, so their order is random; consumers must cope."""
    keys = list(raw_input)
    random.shuffle(keys)
    return keys


def full_scene_update_input(raw_input: dict[str, Any]) -> dict[str, Any]:
    return {key: raw_input.get(key) for key in SCENE_UPDATE_INPUT_KEYS}


def bulk_scene_update_input(raw_input: dict[str, Any]) -> dict[str, Any]:
    """gqlgen-generated input structs omit null fields (omitempty); key order is the schema's."""
    return {
        key: raw_input[key]
        for key in BULK_SCENE_UPDATE_INPUT_KEYS
        if raw_input.get(key) is not None
    }


class MutationResolvers:
    def __init__(self, store: StashStore, hooks: Callable[[], HookDispatcher | None]) -> None:
        self.store = store
        self._hooks = hooks

    def _run_hooks(
        self,
        info: graphql.GraphQLResolveInfo,
        trigger: str,
        events: list[tuple[int, Any, list[str] | None]],
        started: float,
        *,
        compat_trigger: str | None = None,
    ) -> None:
        """Fire hooks for each (object id, input, inputFields) in turn; record the save's wait.

        ``compat_trigger`` fires right after ``trigger`` with the same context, as Stash still
        fires ``Movie.Update.Post`` after ``Group.Update.Post`` for plugins older than groups.
        """
        context: RequestContext = info.context
        dispatcher = self._hooks()
        runs: list[PluginRun] = []
        triggers = (trigger,) if compat_trigger is None else (trigger, compat_trigger)
        if dispatcher is not None:
            for object_id, hook_input, input_fields in events:
                for fired in triggers:
                    runs += dispatcher.fire_hooks(
                        fired, object_id, hook_input, input_fields, context.hook_chain
                    )
        save = SaveResult(info.field_name, time.perf_counter() - started, runs)
        if dispatcher is not None:
            dispatcher.record_save(save)
        context.saves.append(save)

    # -- scenes ---------------------------------------------------------------------------------
    def scene_create(
        self,
        _root: Any,
        info: graphql.GraphQLResolveInfo,
        input: dict[str, Any],
    ) -> SceneRecord | None:
        started = time.perf_counter()
        with self.store.lock:
            scene = new_scene_from_input(self.store, input)
        self._run_hooks(info, "Scene.Create.Post", [(scene.id, None, None)], started)
        return self.store.scenes.get(scene.id)

    def scene_update(
        self,
        _root: Any,
        info: graphql.GraphQLResolveInfo,
        input: dict[str, Any],
    ) -> SceneRecord | None:
        started = time.perf_counter()
        scene_id = parse_stash_id(input["id"])
        with self.store.lock:
            scene = apply_scene_update(self.store, self.store.require_scene(scene_id), input)
            self.store.scenes[scene_id] = scene
        hook_input = full_scene_update_input(input)
        self._run_hooks(
            info, "Scene.Update.Post", [(scene_id, hook_input, _shuffled_keys(input))], started
        )
        return self.store.scenes.get(scene_id)

    def bulk_scene_update(
        self,
        _root: Any,
        info: graphql.GraphQLResolveInfo,
        input: dict[str, Any],
    ) -> list[SceneRecord]:
        started = time.perf_counter()
        scene_ids = [parse_stash_id(raw) for raw in input.get("ids") or []]
        with self.store.lock:
            originals = [self.store.require_scene(scene_id) for scene_id in scene_ids]
            # Stash takes time.Now() once (NewScenePartial, before its loop), so every scene of
            # one bulk edit shares one updated_at: cursors over updated_at must cope with ties.
            now = self.store.clock.now()
            updated = [
                apply_bulk_scene_update(self.store, scene, input, now) for scene in originals
            ]
            for scene in updated:  # all or nothing, like Stash's transaction
                self.store.scenes[scene.id] = scene
        hook_input = bulk_scene_update_input(input)
        events = [(scene_id, hook_input, _shuffled_keys(input)) for scene_id in scene_ids]
        self._run_hooks(info, "Scene.Update.Post", events, started)
        return [self.store.scenes[sid] for sid in scene_ids if sid in self.store.scenes]

    def scene_destroy(
        self,
        _root: Any,
        info: graphql.GraphQLResolveInfo,
        input: dict[str, Any],
    ) -> bool:
        started = time.perf_counter()
        scene_id = parse_stash_id(input["id"])
        with self.store.lock:
            scene = self.store.require_scene(scene_id)
            primary = scene.files[0] if scene.files else None
            del self.store.scenes[scene_id]
        hook_input = {
            "id": input["id"],
            "delete_file": input.get("delete_file"),
            "delete_generated": input.get("delete_generated"),
            "checksum": primary.checksum if primary else "",
            "oshash": primary.oshash if primary else "",
            "path": primary.path if primary else "",
        }
        self._run_hooks(info, "Scene.Destroy.Post", [(scene_id, hook_input, None)], started)
        return True

    # -- related objects: their own hooks, never a scene hook, scenes' updated_at untouched ----
    def _update_related(
        self,
        info: graphql.GraphQLResolveInfo,
        trigger: str,
        table: dict[int, Any],
        input: dict[str, Any],
        apply: Callable[[Any, dict[str, Any]], None],
        *,
        compat_trigger: str | None = None,
    ) -> Any:
        """Edit a copy and swap it in, so a rejected input leaves the row as it was."""
        started = time.perf_counter()
        row_id = parse_stash_id(input["id"])
        with self.store.lock:
            original = table.get(row_id)
            if original is None:
                kind = trigger.partition(".")[0].lower()
                raise StashDataError(f"{kind} with id {row_id} not found")
            row = copy.copy(original)
            apply(row, input)
            row.updated_at = self.store.clock.now()
            table[row_id] = row
        events = [(row_id, dict(input), _shuffled_keys(input))]
        self._run_hooks(info, trigger, events, started, compat_trigger=compat_trigger)
        return table.get(row_id)

    def performer_update(
        self, _root: Any, info: graphql.GraphQLResolveInfo, input: dict[str, Any]
    ) -> PerformerRecord:
        return self._update_related(
            info, "Performer.Update.Post", self.store.performers, input, _apply_performer
        )

    def studio_update(
        self, _root: Any, info: graphql.GraphQLResolveInfo, input: dict[str, Any]
    ) -> StudioRecord:
        if input.get("parent_id") is not None:
            self.store.require_studio(parse_stash_id(input["parent_id"]))
        return self._update_related(
            info, "Studio.Update.Post", self.store.studios, input, _apply_studio
        )

    def tag_update(
        self, _root: Any, info: graphql.GraphQLResolveInfo, input: dict[str, Any]
    ) -> TagRecord:
        return self._update_related(info, "Tag.Update.Post", self.store.tags, input, _apply_tag)

    def group_update(
        self, _root: Any, info: graphql.GraphQLResolveInfo, input: dict[str, Any]
    ) -> GroupRecord:
        if input.get("studio_id") is not None:
            self.store.require_studio(parse_stash_id(input["studio_id"]))
        return self._update_related(
            info,
            "Group.Update.Post",
            self.store.groups,
            input,
            _apply_group,
            compat_trigger="Movie.Update.Post",
        )

    # -- plugins --------------------------------------------------------------------------------
    def configure_plugin(
        self, _root: Any, _info: Any, plugin_id: str, input: dict[str, Any]
    ) -> dict[str, Any]:
        if not isinstance(input, dict):
            raise StashDataError("configurePlugin input must be a map")
        with self.store.lock:
            if input:
                self.store.plugin_settings[plugin_id] = dict(input)
            else:
                self.store.plugin_settings.pop(plugin_id, None)
            return dict(input)

    def run_plugin_task(
        self,
        _root: Any,
        _info: Any,
        plugin_id: str,
        task_name: str | None = None,
        description: str | None = None,
        args_map: dict[str, Any] | None = None,
    ) -> str:
        dispatcher = self._hooks()
        if dispatcher is None:
            raise StashDataError(f"plugin {plugin_id} not found")
        if task_name is None:
            raise StashDataError("the emulator needs task_name for runPluginTask")
        try:
            return dispatcher.submit_task(plugin_id, task_name, args_map)
        except (KeyError, ValueError) as error:
            raise StashDataError(str(error).strip("'\"")) from error

    def field_resolvers(self) -> dict[str, dict[str, Resolver]]:
        return {
            "Mutation": {
                "sceneCreate": self.scene_create,
                "sceneUpdate": self.scene_update,
                "bulkSceneUpdate": self.bulk_scene_update,
                "sceneDestroy": self.scene_destroy,
                "performerUpdate": self.performer_update,
                "studioUpdate": self.studio_update,
                "tagUpdate": self.tag_update,
                "groupUpdate": self.group_update,
                "configurePlugin": self.configure_plugin,
                "runPluginTask": self.run_plugin_task,
            }
        }


def _copy_present(row: Any, input: dict[str, Any], keys: tuple[str, ...]) -> None:
    for key in keys:
        if key in input:
            setattr(row, key, input[key])


def _apply_performer(performer: PerformerRecord, input: dict[str, Any]) -> None:
    _copy_present(
        performer,
        input,
        (
            "disambiguation",
            "gender",
            "birthdate",
            "country",
            "rating100",
            "details",
        ),
    )
    if input.get("name") is not None:
        performer.name = input["name"]
    if input.get("favorite") is not None:
        performer.favorite = input["favorite"]
    if "urls" in input:
        performer.urls = list(input["urls"] or [])
    if "alias_list" in input:
        performer.alias_list = list(input["alias_list"] or [])
    if "image" in input:
        performer.image = decode_image(input["image"])


def _apply_studio(studio: StudioRecord, input: dict[str, Any]) -> None:
    _copy_present(studio, input, ("details", "rating100"))
    if input.get("name") is not None:
        studio.name = input["name"]
    if input.get("favorite") is not None:
        studio.favorite = input["favorite"]
    if "urls" in input:
        studio.urls = list(input["urls"] or [])
    if "aliases" in input:
        studio.aliases = list(input["aliases"] or [])
    if "parent_id" in input:
        studio.parent_id = (
            None if input["parent_id"] is None else parse_stash_id(input["parent_id"])
        )
    if "image" in input:
        studio.image = decode_image(input["image"])


def _apply_tag(tag: TagRecord, input: dict[str, Any]) -> None:
    _copy_present(tag, input, ("sort_name", "description"))
    if input.get("name") is not None:
        tag.name = input["name"]
    for flag in ("favorite", "ignore_auto_tag"):
        if input.get(flag) is not None:
            setattr(tag, flag, input[flag])
    if "aliases" in input:
        tag.aliases = list(input["aliases"] or [])
    if "image" in input:
        tag.image = decode_image(input["image"])


def _apply_group(group: GroupRecord, input: dict[str, Any]) -> None:
    _copy_present(
        group, input, ("aliases", "duration", "date", "rating100", "director", "synopsis")
    )
    if input.get("name") is not None:
        group.name = input["name"]
    if "studio_id" in input:
        group.studio_id = None if input["studio_id"] is None else parse_stash_id(input["studio_id"])
    if "urls" in input:
        group.urls = list(input["urls"] or [])
    if "front_image" in input:
        group.front_image = decode_image(input["front_image"])
