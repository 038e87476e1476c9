"""Requests that arrive on the local socket: hook events from the plugin, commands from the CLI.

A hook event is answered only after it is durably in the Intake mailbox, which is what lets the
hook exit at once without risking the event.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from actors.addresses import INTAKE, PIPELINE_ROUTE
from stashplex.envelope import Envelope
from stashplex.trace import trace_envelope

if TYPE_CHECKING:
    from stashplex.host import Host

log = logging.getLogger(__name__)

HOOK_EVENT_KIND = "hook.event"
SCENE_TRIGGERS = ("Scene.Create.Post", "Scene.Update.Post", "Scene.Destroy.Post")
#: A probe burst larger than this is a mistake, not a test.
MAX_TRACE_BURST = 100_000


class HookEvent(BaseModel):
    """What the hook forwards: enough to find the scene again, nothing the hook had to fetch."""

    model_config = ConfigDict(extra="ignore")

    trigger: Literal["Scene.Create.Post", "Scene.Update.Post", "Scene.Destroy.Post"]
    scene_id: str = Field(pattern=r"^[0-9]{1,18}$")
    input_fields: list[str] = Field(default_factory=list, max_length=200)
    input: Any = None
    received_at: float | None = None
    connection: dict[str, Any] = Field(default_factory=dict)


class ControlHandler:
    def __init__(self, host: Host) -> None:
        self.host = host
        self._routes: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
            "ping": self._ping,
            "hook": self._hook,
            "trace": self._trace,
            "status": self._status,
        }

    def register(self, kind: str, route: Callable[[dict[str, Any]], dict[str, Any]]) -> None:
        self._routes[kind] = route

    def handle(self, request: dict[str, Any]) -> dict[str, Any]:
        kind = request.get("type")
        route = self._routes.get(kind) if isinstance(kind, str) else None
        if route is None:
            known = ", ".join(sorted(self._routes))
            return {"ok": False, "error": f"unknown request type {kind!r} (known: {known})"}
        try:
            return route(request)
        except (ValueError, LookupError) as exc:
            return {"ok": False, "error": str(exc).splitlines()[0]}

    # -- hook events ---------------------------------------------------------------------

    def accept_hook_event(self, event: Any) -> Envelope:
        """Validate and durably enqueue one hook event; raises ValueError with a clear reason."""
        try:
            parsed = HookEvent.model_validate(event)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "event"
            raise ValueError(f"malformed hook event: {where}: {first['msg']}") from None
        envelope = Envelope(
            kind=HOOK_EVENT_KIND,
            scene_id=parsed.scene_id,
            payload=parsed.model_dump(mode="json"),
            sender="hook",
        )
        self._post().send(INTAKE, envelope)
        return envelope

    def _hook(self, request: dict[str, Any]) -> dict[str, Any]:
        envelope = self.accept_hook_event(request.get("event"))
        return {"ok": True, "id": envelope.id}

    # -- operations ------------------------------------------------------------------------

    def _ping(self, _request: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "pid": os.getpid()}

    def _trace(self, request: dict[str, Any]) -> dict[str, Any]:
        count = int(request.get("count", 1))
        if not 1 <= count <= MAX_TRACE_BURST:
            raise ValueError(f"count must be between 1 and {MAX_TRACE_BURST}")
        route = list(request.get("route") or PIPELINE_ROUTE)
        post = self._post()
        for name in route:
            post[name]
        ids = []
        for index in range(count):
            envelope = trace_envelope(route, tag=str(request.get("tag", index)))
            post.send(route[0], envelope)
            ids.append(envelope.id)
        return {"ok": True, "ids": ids}

    def _status(self, _request: dict[str, Any]) -> dict[str, Any]:
        supervisor = self.host.supervisor
        return {
            "ok": True,
            "pid": os.getpid(),
            "mailboxes": self._post().depths(),
            "restarts": dict(supervisor.restart_counts) if supervisor else {},
        }

    def _post(self) -> Any:
        if self.host.post is None:
            raise LookupError("the actor host is still starting")
        return self.host.post
