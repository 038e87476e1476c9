"""``dlq`` and ``journal``: see and repair what a sync could not do, or did."""

from __future__ import annotations

import argparse
import json
import time

from stashplex.cli.common import (
    EXIT_OK,
    CommandError,
    add_data_dir,
    ask,
    data_dir_of,
    key_argument,
    limit_argument,
)


def register(sub: argparse._SubParsersAction) -> None:
    dlq = sub.add_parser("dlq", help="dead letters: jobs that could not be done")
    dlq_sub = dlq.add_subparsers(dest="action", metavar="ACTION", required=True)
    listing = dlq_sub.add_parser("list", help="list dead letters")
    listing.add_argument("--reason", help="only this reason (e.g. not_found, ambiguous)")
    listing.add_argument("--older-than-days", type=float)
    listing.add_argument("--limit", type=limit_argument, default=100)
    show = dlq_sub.add_parser("show", help="everything about one dead letter")
    show.add_argument("id", type=key_argument)
    retry = dlq_sub.add_parser("retry", help="sync dead-lettered scenes again")
    what = retry.add_mutually_exclusive_group(required=True)
    what.add_argument("--id", type=key_argument, action="append", dest="ids")
    what.add_argument("--reason")
    what.add_argument("--all", action="store_true")
    purge = dlq_sub.add_parser("purge", help="delete dead letters older than N days")
    purge.add_argument("--older-than-days", type=float, required=True)
    for parser in (listing, show, retry, purge):
        add_data_dir(parser)
    dlq.set_defaults(func=cmd_dlq)

    journal = sub.add_parser("journal", help="what syncs wrote to a Plex item, and undo")
    journal_sub = journal.add_subparsers(dest="action", metavar="ACTION", required=True)
    jshow = journal_sub.add_parser("show", help="the field changes written to an item")
    jshow.add_argument("rating_key", type=key_argument)
    undo = journal_sub.add_parser("undo", help="put back what the last write replaced")
    undo.add_argument("rating_key", type=key_argument)
    for parser in (jshow, undo):
        add_data_dir(parser)
    journal.set_defaults(func=cmd_journal)


def _when(stamp: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(stamp))


def cmd_dlq(args: argparse.Namespace) -> int:
    data = data_dir_of(args)
    if args.action == "list":
        items = ask(
            data,
            {
                "type": "dlq",
                "action": "list",
                "reason": args.reason,
                "older_than_days": args.older_than_days,
                "limit": args.limit,
            },
        )["items"]
        if not items:
            print("no dead letters")
        for item in items:
            print(
                f"{item['id']:>6}  {_when(item['created_at'])}  scene {item['scene_id']}  "
                f"{item['reason']:<14}  {item['error'][:100]}"
            )
    elif args.action == "show":
        item = ask(data, {"type": "dlq", "action": "show", "id": args.id})["item"]
        print(json.dumps(item, indent=2, ensure_ascii=False))
    elif args.action == "retry":
        ask(
            data,
            {
                "type": "dlq",
                "action": "retry",
                "ids": args.ids or [],
                "reason": args.reason,
                "all": args.all,
            },
        )
        print("retry requested")
    else:
        ask(data, {"type": "dlq", "action": "purge", "older_than_days": args.older_than_days})
        print(f"purge of dead letters older than {args.older_than_days:g} days requested")
    return EXIT_OK


def cmd_journal(args: argparse.Namespace) -> int:
    data = data_dir_of(args)
    if args.action == "show":
        entries = ask(data, {"type": "journal", "action": "show", "rating_key": args.rating_key})[
            "entries"
        ]
        if not entries:
            raise CommandError(f"the journal has nothing for Plex item {args.rating_key}")
        for e in entries:
            print(
                f"{_when(e['at'])}  {e['action']:<9} scene {e['scene_id']}  {e['field']}: "
                f"{e['old']!r} -> {e['new']!r}"
            )
    else:
        ask(data, {"type": "journal", "action": "undo", "rating_key": args.rating_key})
        print(f"undo of the last write to Plex item {args.rating_key} requested")
    return EXIT_OK
