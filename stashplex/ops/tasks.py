"""The plugin's Stash tasks, answered by the supervisor. They mirror the CLI commands."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from stashplex.ops.statusline import status_line

if TYPE_CHECKING:
    from stashplex.config.settings import Settings
    from stashplex.ops.operations import Operations

#: "Sync recent changes" looks this far back.
RECENT = timedelta(hours=24)

TASKS = (
    "sync_all",
    "sync_recent",
    "status",
    "doctor",
    "dlq_retry",
    "dlq_purge",
    "release",
    "stop",
)


def recent_since(cursor: str | None, now: datetime | None = None) -> str:
    """A time a day before the catch-up cursor (else before now), with its zone: Intake compares
    it with Stash's stamps as an instant."""
    from stashplex.sync.stamps import instant, offset_of, spell

    moment, offset = instant(cursor), offset_of(cursor)
    if moment is not None and offset is not None:
        return spell(moment - RECENT, offset)
    moment = (now or datetime.now(UTC)) - RECENT
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def release_request(args: dict[str, Any]) -> dict[str, Any]:
    """The release task's arguments, as Stash's ``runPluginTask`` passes them (all text):
    ``fields`` (comma-separated; none: every preserved field), ``scene`` or ``item`` (neither:
    every item). Run from Stash's task list, it hands back every preserved field."""
    fields = [f.strip() for f in str(args.get("fields") or "").split(",") if f.strip()]
    item, scene = args.get("item"), args.get("scene")
    if item and scene:
        raise ValueError("release: give a scene or an item, not both")
    if item and not str(item).isdigit():
        raise ValueError(f"release: item must be a Plex rating key, got {item!r}")
    return {
        "fields": fields,
        "rating_key": int(item) if item else None,
        "scene_id": str(scene) if scene else None,
        "all": not (item or scene),
    }


@dataclass(frozen=True)
class TaskContext:
    """What a task may use: the operations, the settings, and a way to stop the host."""

    ops: Operations
    settings: Settings
    stop: Callable[[], dict[str, Any]]


def run_task(  # noqa: PLR0911 - one return per task
    context: TaskContext, name: str, args: dict[str, Any]
) -> dict[str, Any]:
    ops = context.ops
    settings = context.settings
    if name == "sync_all":
        return ops.start_sync({"mode": "all", "dry_run": args.get("dry_run") == "true"})
    if name == "sync_recent":
        from stashplex.runtime.store import KeyValue

        cursor = KeyValue(ops._store("intake")).get("cursor")  # noqa: SLF001
        return ops.start_sync({"mode": "since", "since": recent_since(cursor)})
    if name == "status":
        status = ops.status()
        problems = [f"[FAIL] problem: {p['message']}. Fix: {p['fix']}" for p in status["problems"]]
        return {"summary": "\n".join([status_line(status), *problems])}
    if name == "doctor":
        from stashplex.ops.doctor import doctor_report

        return {"summary": doctor_report(ops.host.data.root)}
    if name == "dlq_retry":
        count = sum(ops.status()["dead_letters"].values())
        ops.dead_letters({"action": "retry", "all": True})
        return {"summary": f"retrying {count} dead letters"}
    if name == "dlq_purge":
        days = float(args.get("days") or settings.dead_letter_retention_days)
        ops.dead_letters({"action": "purge", "older_than_days": days})
        return {"summary": f"purging dead letters older than {days:g} days"}
    if name == "release":
        return ops.release(release_request(args))
    if name == "stop":
        return context.stop()
    raise ValueError(f"unknown task {name!r}; known: {', '.join(TASKS)}")
