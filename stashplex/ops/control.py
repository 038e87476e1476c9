"""Requests that arrive on the local socket: hook events from the plugin, commands from the CLI.

A hook event is answered only after it is durably in the Intake mailbox, which is what lets the
hook exit at once without risking the event. Its session cookie is not stored with it: it goes
to the Stash client in memory at once, which is all it is for, and never into a mailbox row.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from actors.addresses import INTAKE, PIPELINE_ROUTE
from actors.messages import HOOK_EVENT, HookEvent
from stashplex.link.version import __version__
from stashplex.runtime.envelope import Envelope
from stashplex.runtime.trace import trace_envelope
from stashplex.runtime.validation import first_error

if TYPE_CHECKING:
    from stashplex.ops.host_view import HostView

log = logging.getLogger(__name__)

#: How long a job stays bound after its connection dropped, for the task to reconnect.
REBIND_GRACE_S = 3.0
#: A probe burst larger than this is a mistake, not a test.
MAX_TRACE_BURST = 100_000


def _fields(request: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in request.items() if k not in ("v", "type", "token")}


def job_summary(job: dict[str, Any]) -> str:
    """The end of a sync in words a user knows, each scene counted once under one of them:
    *synced* (something written), *already right* (nothing to write), *would change* (a dry
    run), *failed*, *left to a newer edit*, *waiting for Plex to scan* (its file is not in Plex
    yet), *waiting to retry* (Plex answered with an error, or is down), *cancelled*."""
    total, done = int(job.get("total") or 0), int(job.get("synced") or 0)
    written = min(int(job.get("written") or 0), done)
    changes, failed = job.get("changes", 0), int(job.get("failed") or 0)
    right = int(job.get("skipped") or 0) + done - written
    if job.get("dry_run"):
        text = (
            f"{total} scenes (dry run, nothing written): {written} would change "
            f"({changes} field changes would be written), {right} already right, {failed} failed"
        )
    else:
        text = (
            f"{total} scenes: {written} synced ({changes} field changes), "
            f"{right} already right, {failed} failed"
        )
    if job.get("superseded"):
        text += f", {job['superseded']} left to a newer edit of the same scene"
    scan, retry = int(job.get("waiting_for_scan") or 0), int(job.get("waiting_to_retry") or 0)
    if scan:
        text += f", {scan} waiting for Plex to scan their files (`stashplex unmatched` lists them)"
    if retry:
        text += f", {retry} waiting to retry (Plex answered with an error or is down)"
    if job.get("cancelled_at"):
        counted = right + written + failed + int(job.get("superseded") or 0) + scan + retry
        text += f", {max(total - counted, 0)} cancelled"
    return text


class ControlHandler:
    def __init__(self, host: HostView) -> None:
        self.host = host
        from stashplex.ops.operations import Operations

        self.ops = Operations(host)
        self._local = threading.local()
        self._links: dict[str, int] = {}  # job id -> connections bound to it
        self._links_lock = threading.Lock()
        self._routes: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
            "ping": self._ping,
            "hook": self._hook,
            "trace": self._trace,
            "status": lambda _r: {"ok": True, **self.ops.status()},
            "sync": lambda r: {"ok": True, **self.ops.start_sync(_fields(r))},
            "job": self._job,
            "cancel": self._cancel,
            "dlq": lambda r: {"ok": True, **self.ops.dead_letters(_fields(r))},
            "journal": lambda r: {"ok": True, **self.ops.journal(_fields(r))},
            "release": lambda r: {"ok": True, **self.ops.release(_fields(r))},
            "task": self._task,
            "stop": self._stop,
        }

    def register(self, kind: str, route: Callable[[dict[str, Any]], dict[str, Any]]) -> None:
        self._routes[kind] = route

    def handle(self, request: dict[str, Any]) -> dict[str, Any]:
        kind = request.get("type")
        route = self._routes.get(kind) if isinstance(kind, str) else None
        if route is None:
            known = ", ".join(sorted(self._routes))
            return {"ok": False, "error": f"unknown request type {kind!r} (known: {known})"}
        if kind in ("sync", "task"):
            self._poke_settings()  # an operator's sync follows the settings as they are now
        if request.get("bind") is True and kind == "job" and isinstance(request.get("job"), str):
            self._bind(request["job"])  # before the work: a slow answer must not unbind it
        try:
            reply = route(request)
        except ValidationError as exc:
            refused = first_error(exc.errors(), "request")
            return {"ok": False, "error": f"bad {kind} request: {refused}"}
        except (ValueError, LookupError, KeyError, TypeError) as exc:
            return {"ok": False, "error": str(exc).splitlines()[0] or type(exc).__name__}
        if request.get("bind") is True and isinstance(reply.get("job"), str):
            self._bind(reply["job"])
        return reply

    # -- jobs bound to a connection (a Stash task's) ------------------------------------------

    def _bind(self, job_id: str) -> None:
        """Bind the job to the connection this thread serves (one thread per connection)."""
        if not hasattr(self._local, "jobs"):
            self._local.jobs = set()
        if job_id not in self._local.jobs:
            self._local.jobs.add(job_id)
            with self._links_lock:
                self._links[job_id] = self._links.get(job_id, 0) + 1

    def connection_closed(self, grace_s: float = REBIND_GRACE_S) -> None:
        """The connection this thread served is gone. A job bound to it that is not over, and
        that no other connection took up within ``grace_s`` (a task whose poll timed out
        reconnects), was abandoned by the task following it: Stash cancelled the task, which
        kills its process (SIGKILL, which no process can catch; the kernel closes its socket,
        and so this runs). Such a job is cancelled; a finished one is left alone."""
        jobs, self._local.jobs = getattr(self._local, "jobs", set()), set()
        with self._links_lock:
            for job_id in jobs:
                self._links[job_id] = self._links.get(job_id, 1) - 1
        if jobs:
            time.sleep(grace_s)  # on this connection's own thread: it holds nobody up
        for job_id in sorted(jobs):
            with self._links_lock:
                if self._links.get(job_id, 0) > 0:
                    continue
                self._links.pop(job_id, None)
            try:
                reply = self.ops.cancel_sync(job_id, by="its Stash task, which was cancelled")
            except (LookupError, ValueError) as exc:
                log.warning("could not cancel sync %s of a cancelled Stash task: %s", job_id, exc)
                continue
            if reply.get("cancelling"):
                log.info("sync %s: the Stash task following it is gone; cancelling it", job_id)

    # -- hook events ---------------------------------------------------------------------

    def accept_hook_event(self, event: Any) -> Envelope:
        """Validate and durably enqueue one hook event; raises ValueError with a clear reason."""
        try:
            parsed = HookEvent.model_validate(event)
        except ValidationError as exc:
            refused = first_error(exc.errors(), "event")
            raise ValueError(f"malformed hook event: {refused}") from None
        payload = parsed.model_dump(mode="json")
        if parsed.connection:
            self.host.use_stash_connection(parsed.connection)
            payload["connection"] = {**payload["connection"], "session_cookie": None}
        envelope = Envelope(
            kind=HOOK_EVENT, scene_id=parsed.scene_id, payload=payload, sender="hook"
        )
        self._poke_settings()  # before the send: Intake looks at the settings before taking it
        self._post().send(INTAKE, envelope)
        return envelope

    def _poke_settings(self) -> None:
        watch = getattr(self.host, "settings_watch", None)  # a host of its own process has one
        if watch is not None:
            watch.poke()

    def _hook(self, request: dict[str, Any]) -> dict[str, Any]:
        envelope = self.accept_hook_event(request.get("event"))
        # The version costs the hook nothing here and tells it when Stash installed newer
        # plugin files than this supervisor runs (it then restarts us into the new version).
        return {"ok": True, "id": envelope.id, "version": __version__}

    # -- operations ------------------------------------------------------------------------

    def _ping(self, _request: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "pid": os.getpid(), "version": __version__}

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

    def _job(self, request: dict[str, Any]) -> dict[str, Any]:
        job = self.ops.job(str(request["job"]), with_diffs=bool(request.get("diffs")))
        done = bool(job.get("finished") or job.get("waiting_for_retry"))
        reply: dict[str, Any] = {
            "ok": True,
            **job,
            "done": done,
            "messages": [],
            "error": job.get("error"),
        }
        if done:
            reply["summary"] = job_summary(job)
        return reply

    def _cancel(self, request: dict[str, Any]) -> dict[str, Any]:
        job_id = str(request.get("job") or "")
        reply = self.ops.cancel_sync(job_id, by=str(request.get("by") or "an operator"))
        return {"ok": True, **reply}

    def _task(self, request: dict[str, Any]) -> dict[str, Any]:
        from stashplex.ops.tasks import TaskContext, run_task

        if isinstance(request.get("connection"), dict):  # a task's fresh session, like a hook's
            self.host.use_stash_connection(request["connection"])
        context = TaskContext(self.ops, self.host.settings, lambda: self._stop({}))
        return {
            "ok": True,
            "version": __version__,
            **run_task(context, str(request.get("task")), dict(request.get("args") or {})),
        }

    def _stop(self, _request: dict[str, Any]) -> dict[str, Any]:
        self.host.request_stop_all()
        return {"ok": True, "summary": "the supervisor is stopping"}

    def _post(self) -> Any:
        if self.host.post is None:
            raise LookupError("the actor host is still starting")
        return self.host.post
