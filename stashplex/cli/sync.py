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
from stashplex.cli.progress import progress_view
from stashplex.runtime.datadir import DataDir

POLL_S = 0.5
#: How long ``--cancel`` waits to show the cancelled job's summary.
CANCEL_WAIT_S = 15.0


def register(sub: argparse._SubParsersAction) -> None:
    sync = sub.add_parser(
        "sync",
        help="sync scenes to Plex and follow the progress",
        description="Sync scenes to Plex and follow the progress. Fields stashplex owns follow "
        "Stash, fields it does not own are only filled, never cleared (README: Ownership).",
    )
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
    which.add_argument(
        "--follow", metavar="JOB", help="follow a sync started earlier (e.g. with --no-wait)"
    )
    which.add_argument(
        "--cancel",
        metavar="JOB",
        help="cancel a running sync: its scenes not yet sent to Plex are dropped, writes in "
        "flight finish; other syncs and edits saved in Stash are not touched",
    )
    sync.add_argument(
        "--dry-run",
        action="store_true",
        help="write nothing; show every field of every item as owned, filled, left alone or "
        "preserved, and what would change",
    )
    sync.add_argument(
        "--force",
        action="store_true",
        help="send scenes to Plex even if unchanged since their last sync: overrides only that "
        "skip, so fields stashplex owns are rewritten and relocked (a Plex edit to one is "
        "overwritten) and its collections put back; it does not override preserve_plex_edits "
        "(see `stashplex release`), organized_only, or fields stashplex does not own",
    )
    sync.add_argument(
        "--no-wait", action="store_true", help="start the sync, print its job id and return"
    )
    sync.set_defaults(func=cmd_sync)


def cmd_sync(args: argparse.Namespace) -> int:
    data = data_dir_of(args)
    if args.follow:
        return follow(data, args.follow, diffs=args.dry_run)
    if args.cancel:
        return cancel(data, args.cancel)
    if args.since is not None:
        _check_since(args.since)
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
        print(f"sync started: job {job_id}; follow it with `stashplex sync --follow {job_id}`")
        return EXIT_OK
    return follow(data, job_id, diffs=args.dry_run)


def follow(data: DataDir, job_id: str, *, diffs: bool = False) -> int:
    """Show a job's progress until it is done, then its summary; the exit code says whether
    every scene made it. Ctrl-C stops following and leaves the job running in the supervisor."""
    view = progress_view()
    try:
        while True:
            job = ask(data, {"type": "job", "job": job_id, "diffs": diffs})
            view.update(job)
            if job.get("done"):
                break
            time.sleep(POLL_S)
    except KeyboardInterrupt:
        view.close()
        print(
            f"\nstopped following; the sync goes on in the supervisor. "
            f"Follow it again with `stashplex sync --follow {job_id}`",
            file=sys.stderr,
        )
        return EXIT_OK
    view.close()
    if diffs:
        _print_diffs(job)
    print(f"job {job_id}: {job.get('summary', '')}")
    if job.get("error"):
        print(f"error: {job['error']}", file=sys.stderr)
    unfinished = job.get("failed") or job.get("error") or job.get("cancelled_at")
    return EXIT_FAILED if unfinished else EXIT_OK


def cancel(data: DataDir, job_id: str, *, wait_s: float = CANCEL_WAIT_S) -> int:
    """Cancel a running job and show how it ended; an id nobody started is exit 1 (the
    supervisor refuses it), a job already over says so and is left alone."""
    reply = ask(data, {"type": "cancel", "job": job_id, "by": "`stashplex sync --cancel`"})
    if reply.get("already"):
        job = ask(data, {"type": "job", "job": job_id})
        print(f"job {job_id} had already {reply['already']}: {job.get('summary', '')}")
        return EXIT_OK
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        job = ask(data, {"type": "job", "job": job_id})
        if job.get("done") and job.get("cancelled_at"):
            print(f"job {job_id} cancelled: {job.get('summary', '')}")
            return EXIT_OK
        time.sleep(POLL_S)
    print(
        f"job {job_id} is being cancelled; writes already in flight finish first. "
        f"`stashplex sync --follow {job_id}` shows how it ended"
    )
    return EXIT_OK


def _print_diffs(job: dict) -> None:
    """Per scene, every field's verdict: owned, filled, left alone, or preserved."""
    for entry in sorted(job.get("diffs", []), key=lambda e: str(e["scene_id"])):
        print(f"scene {entry['scene_id']}:")
        for change in entry["changes"]:
            verdict = change.get("verdict", "owned")
            if change.get("changed", True):
                what = f"{_value(change['old'])} -> {_value(change['new'])}"
            elif change.get("locks"):
                what = f"{_value(change['old'])} (lock only)"
            else:
                what = f"{_value(change['old'])} (unchanged)"
            print(f"  item {change['rating_key']} {change['field']}: {verdict:<10} {what}")


def _value(value: object) -> str:
    text = repr(tuple(value) if isinstance(value, list) else value)
    return text if len(text) <= 80 else text[:79] + "…"


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
