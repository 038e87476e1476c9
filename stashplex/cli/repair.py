"""``dlq``: see and repair what a sync could not do."""

from __future__ import annotations

import argparse
import json
import time
from typing import get_args

from actors.reasons import ReasonClass
from stashplex.cli.common import (
    EXIT_OK,
    add_data_dir,
    ask,
    data_dir_of,
    key_argument,
    limit_argument,
)

DEAD_LETTER_REASONS = list(get_args(ReasonClass))


def register(sub: argparse._SubParsersAction) -> None:
    dlq = sub.add_parser("dlq", help="dead letters: jobs that could not be done")
    dlq_sub = dlq.add_subparsers(dest="action", metavar="ACTION", required=True)
    listing = dlq_sub.add_parser("list", help="list dead letters")
    listing.add_argument("--reason", choices=DEAD_LETTER_REASONS, help="only this reason")
    listing.add_argument("--older-than-days", type=float)
    listing.add_argument("--limit", type=limit_argument, default=100)
    show = dlq_sub.add_parser("show", help="everything about one dead letter")
    show.add_argument("id", type=key_argument)
    retry = dlq_sub.add_parser("retry", help="sync dead-lettered scenes again")
    what = retry.add_mutually_exclusive_group(required=True)
    what.add_argument("--id", type=key_argument, action="append", dest="ids")
    what.add_argument("--reason", choices=DEAD_LETTER_REASONS)
    what.add_argument("--all", action="store_true")
    purge = dlq_sub.add_parser("purge", help="delete dead letters older than N days")
    purge.add_argument("--older-than-days", type=float, required=True)
    for parser in (listing, show, retry, purge):
        add_data_dir(parser)
    dlq.set_defaults(func=cmd_dlq)


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
