"""``sync``: the work runs in the supervisor; this command starts it and follows it."""

from __future__ import annotations

import argparse
import sys
import time
from datetime import datetime

from stashplex.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    CommandError,
    add_data_dir,
    ask,
    data_dir_of,
    scene_id_argument,
)

POLL_S = 0.5
BAR_WIDTH = 30


def register(sub: argparse._SubParsersAction) -> None:
    sync = sub.add_parser("sync", help="sync scenes to Plex and follow the progress")
    add_data_dir(sync)
    which = sync.add_mutually_exclusive_group()
    which.add_argument(
        "--since",
        help="only scenes Stash changed after this time "
        "(as Stash writes it, e.g. 2026-01-10T08:00:00Z)",
    )
    which.add_argument(
        "--scene",
        action="append",
        default=[],
        metavar="ID",
        type=scene_id_argument,
        help="only this scene (repeatable)",
    )
    sync.add_argument(
        "--dry-run", action="store_true", help="compute and show the field changes, write nothing"
    )
    sync.add_argument(
        "--force",
        action="store_true",
        help="send scenes to Plex even if unchanged since their last sync",
    )
    sync.add_argument("--no-wait", action="store_true", help="start the sync and return")
    sync.set_defaults(func=cmd_sync)


def cmd_sync(args: argparse.Namespace) -> int:
    if args.since is not None:
        _check_since(args.since)
    data = data_dir_of(args)
    mode = "scenes" if args.scene else ("since" if args.since else "all")
    request = {
        "type": "sync",
        "mode": mode,
        "since": args.since,
        "scene_ids": args.scene,
        "dry_run": args.dry_run,
        "force": args.force,
    }
    job_id = ask(data, request)["job"]
    if args.no_wait:
        print(f"sync started: job {job_id}")
        return EXIT_OK
    started = time.monotonic()
    while True:
        job = ask(data, {"type": "job", "job": job_id, "diffs": args.dry_run})
        _draw(job, time.monotonic() - started)
        if job.get("done"):
            break
        time.sleep(POLL_S)
    print(file=sys.stderr)
    if args.dry_run:
        _print_diffs(job)
    print(job.get("summary", ""))
    if job.get("error"):
        print(f"error: {job['error']}", file=sys.stderr)
    return EXIT_FAILED if job.get("failed") or job.get("error") else EXIT_OK


def _draw(job: dict, elapsed: float) -> None:
    total = job.get("total") or 0
    handled = sum(job.get(k, 0) for k in ("synced", "failed", "skipped", "superseded"))
    fraction = min(1.0, float(job.get("progress") or 0.0))
    filled = int(fraction * BAR_WIDTH)
    rate = handled / elapsed if elapsed > 0 else 0.0
    line = (
        f"\r[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {fraction * 100:5.1f}% "
        f"{handled}/{total} scenes  {rate:6.1f}/s"
    )
    print(line, end="", file=sys.stderr, flush=True)


def _print_diffs(job: dict) -> None:
    for entry in job.get("diffs", []):
        print(f"scene {entry['scene_id']}:")
        for change in entry["changes"]:
            print(
                f"  item {change['rating_key']} {change['field']}: "
                f"{change['old']!r} -> {change['new']!r}"
            )


def _check_since(value: str) -> None:
    """Stash compares ``--since`` as text, so a value that is not a time matches nothing."""
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise CommandError(
            f"--since {value!r} is not a time; give it as Stash writes it, "
            "e.g. 2026-01-10T08:00:00Z or 2026-01-10",
            EXIT_USAGE,
        ) from None
