"""What every write resolver shares: Stash's commit-then-hooks order and its error wording.

Every resolver follows Stash's order: apply the change and "commit" (release the store lock),
run the post hooks synchronously (`ExecutePostHooks`, pkg/plugin/plugins.go: the HTTP response
waits), then re-read the result so that changes a hook made are visible in the response.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import graphql

from stashplex.sandbox.stash.context import RequestContext
from stashplex.sandbox.stash.contracts import HookDispatcher, PluginRun, SaveResult
from stashplex.sandbox.stash.store import StashStore

#: (object id, hookContext.input, hookContext.inputFields) for one object of one mutation.
HookEvent = tuple[int, Any, list[str] | None]
#: The message gqlgen's recover function gives a Go panic (internal/api/server.go, `recoverFunc`).
NIL_POINTER_PANIC = (
    "Internal system error. Error <runtime error: invalid memory address or nil pointer "
    "dereference>"
)


class StashPanicError(RuntimeError):
    """Where Stash's Go code panics (e.g. a nil pointer) and gqlgen turns it into an error."""


class MutationBase:
    """A store, a way to reach the plugin runner (None until a plugin is attached), and hooks."""

    def __init__(self, store: StashStore, hooks: Callable[[], HookDispatcher | None]) -> None:
        self.store = store
        self._hooks = hooks

    def run_hooks(
        self,
        info: graphql.GraphQLResolveInfo,
        triggers: Sequence[str],
        events: list[HookEvent],
        started: float,
    ) -> None:
        """Fire each trigger for each event in turn, then record how long the save waited.

        Several triggers per event model Stash's compatibility pairs, e.g. `Group.Update.Post`
        right followed by `Movie.Update.Post` (resolver_mutation_group.go).
        """
        context: RequestContext = info.context
        dispatcher = self._hooks()
        runs: list[PluginRun] = []
        if dispatcher is not None:
            for object_id, hook_input, input_fields in events:
                for trigger in triggers:
                    runs += dispatcher.fire_hooks(
                        trigger,
                        object_id,
                        hook_input,
                        input_fields,
                        context.hook_chain,
                        user_id=context.user_id,
                    )
        save = SaveResult(info.field_name, time.perf_counter() - started, runs)
        if dispatcher is not None:
            dispatcher.record_save(save)
        context.saves.append(save)

    def field_resolvers(self) -> dict[str, Callable[..., Any]]:
        """`Mutation` field name -> resolver, for the fields this part implements."""
        return {}


def started_now() -> float:
    return time.perf_counter()
