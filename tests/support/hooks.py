"""Stash's hooks delivered in process: the plugin's own event rules, the supervisor's own handler.

The plugin runner starts one hook process per event, as Stash does (tens of milliseconds each),
which is right for a handful of saves and far too slow for a 5,000-file scan storm. This
dispatcher stands in for it: it writes the stdin Stash would write, builds the event with the
hook's own :func:`stashplex.link.events.build_event`, and hands it to the supervisor's socket
handler (the ``hook`` request), which answers only once the event is in Intake's mailbox.
Only the process and the socket are skipped.
"""

from __future__ import annotations

from typing import Any

from stashplex.link.events import build_event
from stashplex.sandbox.stash.contracts import HookChain, PluginRun, SaveResult


class InProcessHooks:
    """A ``HookDispatcher`` for the Stash emulator (assign it to ``stash.runner``)."""

    def __init__(self, world: Any) -> None:
        self.world = world
        self.delivered = 0

    def fire_hooks(
        self,
        trigger: str,
        object_id: int,
        hook_input: Any,
        input_fields: list[str] | None,
        chain: HookChain = (),
        *,
        user_id: str = "",
    ) -> list[PluginRun]:
        context: dict[str, Any] = {"type": trigger, "input": hook_input}
        if object_id:
            context["id"] = object_id
        if input_fields:
            context["inputFields"] = list(input_fields)
        stdin = {
            "server_connection": self.world.stash.server_connection(chain, user_id),
            "args": {"hookContext": context},
        }
        reply = self.world.ask(type="hook", event=build_event(stdin))
        assert reply.get("ok"), reply
        self.delivered += 1
        return []

    def record_save(self, save: SaveResult) -> None:
        """Saves are not timed here: no hook process ran."""

    def submit_task(
        self, plugin_id: str, task_name: str, args: dict[str, Any] | None = None, user_id: str = ""
    ) -> str:
        raise NotImplementedError("tasks need the plugin runner")

    def close(self) -> None:
        """Nothing to stop."""
