"""Scene mutations: what each does to the rows and to `updated_at`, and which hooks it fires.

Sources: internal/api/resolver_mutation_scene.go, pkg/scene/merge.go, pkg/scene/update.go
(`AssignFile`), pkg/sqlite/scene.go (`AssignFiles`). Scene hooks fire for create, update, bulk
update and destroy only; `sceneMerge` and `sceneAssignFile` fire none.
"""

from __future__ import annotations

import copy
from typing import Any

import graphql

from stashplex.sandbox.stash.hook_inputs import (
    BULK_SCENE_UPDATE_INPUT_KEYS,
    SCENE_UPDATE_INPUT_KEYS,
    generated_input,
    go_struct_input,
    shuffled_keys,
)
from stashplex.sandbox.stash.ids import parse_id_list, parse_stash_id
from stashplex.sandbox.stash.mutation_support import (
    NIL_POINTER_PANIC,
    MutationBase,
    StashPanicError,
    started_now,
)
from stashplex.sandbox.stash.records import FileRecord, SceneRecord
from stashplex.sandbox.stash.resolvers import Resolver
from stashplex.sandbox.stash.scene_edits import (
    apply_bulk_scene_update,
    apply_scene_update,
    new_scene_from_input,
)
from stashplex.sandbox.stash.store import StashDataError


class SceneMutations(MutationBase):
    def scene_create(
        self, _root: Any, info: graphql.GraphQLResolveInfo, input: dict[str, Any]
    ) -> SceneRecord | None:
        """`sceneCreate`: the hook input is null (the scene service registers it, create.go)."""
        started = started_now()
        with self.store.lock:
            scene = new_scene_from_input(self.store, input)
        self.run_hooks(info, ["Scene.Create.Post"], [(scene.id, None, None)], started)
        return self.store.scenes.get(scene.id)

    def scene_update(
        self, _root: Any, info: graphql.GraphQLResolveInfo, input: dict[str, Any]
    ) -> SceneRecord | None:
        started = started_now()
        scene_id = parse_stash_id(input["id"])
        with self.store.lock:
            scene = apply_scene_update(self.store, self.store.require_scene(scene_id), input)
            self.store.scenes[scene_id] = scene
        hook_input = go_struct_input(input, SCENE_UPDATE_INPUT_KEYS)
        events = [(scene_id, hook_input, shuffled_keys(input))]
        self.run_hooks(info, ["Scene.Update.Post"], events, started)
        return self.store.scenes.get(scene_id)

    def bulk_scene_update(
        self, _root: Any, info: graphql.GraphQLResolveInfo, input: dict[str, Any]
    ) -> list[SceneRecord]:
        started = started_now()
        scene_ids = parse_id_list(input.get("ids") or [], "converting ids")
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
        hook_input = generated_input(input, BULK_SCENE_UPDATE_INPUT_KEYS)
        events = [(scene_id, hook_input, shuffled_keys(input)) for scene_id in scene_ids]
        self.run_hooks(info, ["Scene.Update.Post"], events, started)
        return [self.store.scenes[sid] for sid in scene_ids if sid in self.store.scenes]

    def scene_destroy(
        self, _root: Any, info: graphql.GraphQLResolveInfo, input: dict[str, Any]
    ) -> bool:
        """The hook input is `plugin.SceneDestroyInput`: the destroy input plus the primary
        file's checksum, oshash and path."""
        started = started_now()
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
        self.run_hooks(info, ["Scene.Destroy.Post"], [(scene_id, hook_input, None)], started)
        return True

    def scene_merge(
        self, _root: Any, info: graphql.GraphQLResolveInfo, input: dict[str, Any]
    ) -> SceneRecord | None:
        """`sceneMerge` (pkg/scene/merge.go `Service.Merge`), no hook at all.

        The sources' files move to the destination (the first becomes primary only if the
        destination had none), `values` are applied to the destination and its `updated_at`
        moves (a `NewScenePartial`), then the sources are deleted without Scene.Destroy.Post.
        """
        started = started_now()
        source_ids = parse_id_list(input["source"], "converting source ids")
        destination_id = parse_stash_id(input["destination"], "converting destination id")
        values = {k: v for k, v in (input.get("values") or {}).items() if k != "id"}
        with self.store.lock:
            source_ids = list(dict.fromkeys(source_ids))
            if destination_id in source_ids:
                raise StashDataError("destination scene cannot be in source list")
            destination = self.store.scenes.get(destination_id)
            try:
                sources = self.store.find_many_scenes(source_ids) if source_ids else []
            except StashDataError as error:
                raise StashDataError(f"finding source scenes: {error}") from None
            if destination is None:
                # merge.go dereferences the missing destination while merging markers.
                if sources:
                    raise StashPanicError(NIL_POINTER_PANIC)
                raise StashDataError("updating scene: sql: no rows in result set")
            moved = [file for source in sources for file in source.files]
            if moved and destination.files:
                values.pop("primary_file_id", None)  # the primary may not change through values
            merged = apply_scene_update(self.store, destination, values)
            merged.files = [*merged.files, *moved]
            self.store.scenes[destination_id] = merged
            for source in sources:
                del self.store.scenes[source.id]
        self.run_hooks(info, [], [], started)
        return self.store.scenes.get(destination_id)

    def scene_assign_file(
        self, _root: Any, info: graphql.GraphQLResolveInfo, input: dict[str, Any]
    ) -> bool:
        """`sceneAssignFile` (pkg/scene/update.go `AssignFile`): moves a non-primary file.

        Neither scene's `updated_at` moves and no hook fires. The file joins the target scene
        at the end; it becomes primary only if the target had no file.
        """
        started = started_now()
        scene_id = parse_stash_id(input["scene_id"], "converting scene id")
        file_id = parse_stash_id(input["file_id"], "converting file id")
        prefix = "assigning file to scene"
        with self.store.lock:
            owner, file = self._file_owner(file_id)
            if owner is None or file is None:
                raise StashDataError(
                    f"{prefix}: getting file by id {file_id}: sql: no rows in result set"
                )
            if owner.files[0] is file:
                raise StashDataError(f"{prefix}: cannot reassign primary file")
            target = self.store.scenes.get(scene_id)
            if target is None:
                raise StashDataError(f"{prefix}: FOREIGN KEY constraint failed")
            left = copy.copy(owner)
            left.files = [f for f in owner.files if f is not file]
            self.store.scenes[owner.id] = left
            joined = copy.copy(self.store.scenes[scene_id])
            joined.files = [*joined.files, file]
            self.store.scenes[scene_id] = joined
        self.run_hooks(info, [], [], started)
        return True

    def _file_owner(self, file_id: int) -> tuple[SceneRecord | None, FileRecord | None]:
        for scene in self.store.scenes.values():
            for file in scene.files:
                if file.id == file_id:
                    return scene, file
        return None, None

    def field_resolvers(self) -> dict[str, Resolver]:
        return {
            "sceneCreate": self.scene_create,
            "sceneUpdate": self.scene_update,
            "bulkSceneUpdate": self.bulk_scene_update,
            "sceneDestroy": self.scene_destroy,
            "sceneMerge": self.scene_merge,
            "sceneAssignFile": self.scene_assign_file,
        }
