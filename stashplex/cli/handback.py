"""``journal`` and ``release``: see what syncs wrote, put it back, hand fields back to Stash."""

from __future__ import annotations

import argparse
import time
from datetime import datetime
from typing import Any

from stashplex.cli.common import (
    EXIT_OK,
    EXIT_USAGE,
    CommandError,
    add_data_dir,
    ask,
    data_dir_of,
    key_argument,
    limit_argument,
    scene_id_argument,
)
from stashplex.cli.sync import follow

FIELD_HELP = (
    "Plex fields (title, summary, studio, originallyAvailableAt, userRating, genre, actor, "
    "collection, director) or Stash's words for them (details, date, rating, tags, performers, "
    "groups)"
)


def register(sub: argparse._SubParsersAction) -> None:
    journal = sub.add_parser("journal", help="what syncs wrote to Plex, and undo")
    journal_sub = journal.add_subparsers(dest="action", metavar="ACTION", required=True)
    show = journal_sub.add_parser(
        "show", help="the field changes written to a Plex item, or to a Stash scene's items"
    )
    show.add_argument("rating_key", type=key_argument, nargs="?", help="the Plex item (ratingKey)")
    show.add_argument(
        "--scene", metavar="ID", type=scene_id_argument, help="every item of this scene instead"
    )
    show.add_argument(
        "--limit", type=limit_argument, default=200, help="newest entries shown (200)"
    )
    undo = journal_sub.add_parser(
        "undo",
        help="put back values, locks and ownership as they were before stashplex wrote",
        description="Put back what syncs wrote: each field's value, its lock, and whether "
        "stashplex owned it. A field changed again since (in Plex, or by a later sync) is left "
        "as it is and named. Posters are not reverted.",
    )
    undo.add_argument(
        "rating_key", type=key_argument, nargs="?", help="undo this item's last change"
    )
    undo.add_argument("--job", metavar="ID", help="undo every write of this sync job")
    undo.add_argument(
        "--since",
        metavar="TIME",
        help="undo every change since this time (2026-01-10T08:00:00Z, or local 2026-01-10)",
    )
    undo.add_argument("--dry-run", action="store_true", help="show what would be put back")
    for parser in (show, undo):
        add_data_dir(parser)
    journal.set_defaults(func=cmd_journal)

    release = sub.add_parser(
        "release",
        help="hand fields back to Stash: forget them as stashplex's, then re-sync",
        description="Forget that stashplex owns these fields, including a Plex edit "
        "preserve_plex_edits keeps, and re-sync the scenes: Stash's value is filled in again, "
        "and a field Stash leaves empty stays as Plex has it. Plex itself is not changed "
        "before that sync.",
    )
    release.add_argument(
        "fields", nargs="*", metavar="FIELD", help=f"{FIELD_HELP}; none: every preserved field"
    )
    where = release.add_mutually_exclusive_group(required=True)
    where.add_argument("--item", type=key_argument, metavar="KEY", help="one Plex item (ratingKey)")
    where.add_argument(
        "--scene", metavar="ID", type=scene_id_argument, help="every Plex item of one Stash scene"
    )
    where.add_argument("--all", action="store_true", help="every item stashplex wrote")
    release.add_argument("--no-wait", action="store_true", help="do not follow the re-sync")
    add_data_dir(release)
    release.set_defaults(func=cmd_release)


def _when(stamp: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(stamp))


def _epoch(text: str) -> float:
    """A time as given to ``--since``: ISO 8601, ``Z`` for UTC, no zone for local time."""
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        raise CommandError(
            f"--since {text!r} is not a time; e.g. 2026-01-10T08:00:00Z or 2026-01-10",
            EXIT_USAGE,
        ) from None


def _entry_line(e: dict[str, Any]) -> str:
    job = f" job {e['job_id']}" if e.get("job_id") else ""
    change = f"{e['old']!r} -> {e['new']!r}"
    if e["action"] in ("write", "undo", "dry_run") and e["old"] == e["new"]:
        change = f"{e['old']!r} locked"
    elif e["action"] == "release":
        change = "handed back to Stash"
    lock = {True: ", was locked", False: ", was unlocked"}.get(e.get("old_locked"), "")
    return (
        f"{_when(e['at'])}  {e['action']:<9}{job} scene {e['scene_id']} item {e['rating_key']}  "
        f"{e['field']}: {change}{lock}"
    )


def cmd_journal(args: argparse.Namespace) -> int:
    data = data_dir_of(args)
    if args.action == "show":
        if (args.rating_key is None) == (args.scene is None):
            raise CommandError("name a Plex item (RATING_KEY) or a scene (--scene ID)", EXIT_USAGE)
        request = {"type": "journal", "action": "show", "limit": args.limit}
        request |= {"scene_id": args.scene} if args.scene else {"rating_key": args.rating_key}
        for entry in ask(data, request)["entries"]:
            print(_entry_line(entry))
        return EXIT_OK
    chosen = {
        "rating_key": args.rating_key,
        "job_id": args.job,
        "since": None if args.since is None else _epoch(args.since),
    }
    chosen = {k: v for k, v in chosen.items() if v is not None}
    if len(chosen) != 1:
        raise CommandError("name one of: RATING_KEY, --job ID, --since TIME", EXIT_USAGE)
    reply = ask(data, {"type": "journal", "action": "undo", "dry_run": args.dry_run, **chosen})
    restores, skipped = reply["restores"], reply["skipped"]
    for r in restores:
        lock = {True: "locked", False: "unlocked"}.get(r["locked"], "locked")
        print(f"item {r['rating_key']} {r['field']}: {r['written']!r} -> {r['value']!r} ({lock})")
    for s in skipped:
        print(f"item {s['rating_key']} {s['field']}: skipped, {s['reason']}")
    items = len({r["rating_key"] for r in restores})
    verb = "would be put back" if args.dry_run else "being put back"
    print(f"{len(restores)} field(s) of {items} item(s) {verb}, {len(skipped)} skipped")
    return EXIT_OK


def cmd_release(args: argparse.Namespace) -> int:
    data = data_dir_of(args)
    request: dict[str, Any] = {"type": "release", "fields": args.fields, "all": args.all}
    if args.item is not None:
        request["rating_key"] = args.item
    if args.scene is not None:
        request["scene_id"] = args.scene
    reply = ask(data, request)
    print(reply["summary"])
    if "job" not in reply or args.no_wait:
        return EXIT_OK
    return follow(data, reply["job"])
