"""Write-side resolvers, gathered: scenes, related objects, merges/destroys, and plugins.

Each concept lives in its own module (scene_mutations, related_mutations, merge_destroy); this
one adds the plugin mutations and assembles the `Mutation` type's resolvers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import graphql

from stashplex.sandbox.stash.context import RequestContext
from stashplex.sandbox.stash.contracts import HookDispatcher
from stashplex.sandbox.stash.hook_inputs import (
    BULK_SCENE_UPDATE_INPUT_KEYS,
    SCENE_UPDATE_INPUT_KEYS,
)
from stashplex.sandbox.stash.merge_destroy import MergeDestroyMutations
from stashplex.sandbox.stash.mutation_support import MutationBase
from stashplex.sandbox.stash.related_mutations import RelatedMutations
from stashplex.sandbox.stash.resolvers import Resolver
from stashplex.sandbox.stash.scene_mutations import SceneMutations
from stashplex.sandbox.stash.store import StashDataError, StashStore

__all__ = [
    "BULK_SCENE_UPDATE_INPUT_KEYS",
    "SCENE_UPDATE_INPUT_KEYS",
    "HookDispatcher",
    "MutationResolvers",
]


class PluginMutations(MutationBase):
    def configure_plugin(
        self, _root: Any, _info: Any, plugin_id: str, input: dict[str, Any]
    ) -> dict[str, Any]:
        """`configurePlugin` replaces the whole map (an empty map removes the plugin's entry)."""
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
        info: graphql.GraphQLResolveInfo,
        plugin_id: str,
        task_name: str | None = None,
        description: str | None = None,
        args_map: dict[str, Any] | None = None,
    ) -> str:
        """Queues the task; its cookie is minted for the requesting user (`CreateTask`)."""
        dispatcher = self._hooks()
        if dispatcher is None:
            raise StashDataError(f"no plugin with ID {plugin_id}")
        if task_name is None:
            raise StashDataError("the emulator needs task_name for runPluginTask")
        context: RequestContext = info.context
        try:
            return dispatcher.submit_task(plugin_id, task_name, args_map, context.user_id)
        except (KeyError, ValueError) as error:
            raise StashDataError(str(error).strip("'\"")) from error

    def stop_job(self, _root: Any, _info: graphql.GraphQLResolveInfo, job_id: str) -> bool:
        """`stopJob` (internal/api/resolver_mutation_job.go): cancels the job; an id that is
        no job is no error (`JobManager.CancelJob` does nothing), a non-number is."""
        if not job_id.strip().lstrip("-").isdigit():
            raise StashDataError(f'strconv.Atoi: parsing "{job_id}": invalid syntax')
        dispatcher = self._hooks()
        if dispatcher is not None:
            dispatcher.stop_job(job_id)
        return True

    def field_resolvers(self) -> dict[str, Resolver]:
        return {
            "configurePlugin": self.configure_plugin,
            "runPluginTask": self.run_plugin_task,
            "stopJob": self.stop_job,
        }


class MutationResolvers:
    """Every `Mutation` field of the emulator's schema, bound to one store and plugin runner."""

    def __init__(self, store: StashStore, hooks: Callable[[], HookDispatcher | None]) -> None:
        self.parts: list[MutationBase] = [
            SceneMutations(store, hooks),
            RelatedMutations(store, hooks),
            MergeDestroyMutations(store, hooks),
            PluginMutations(store, hooks),
        ]

    def field_resolvers(self) -> dict[str, dict[str, Resolver]]:
        fields: dict[str, Resolver] = {}
        for part in self.parts:
            fields.update(part.field_resolvers())
        return {"Mutation": fields}
