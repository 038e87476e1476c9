"""The ``stashplex`` command: one entry point, one subcommand per job, ``--help`` everywhere.

Exit codes (also in the README): 0 ok, 1 the operation failed, 2 bad arguments or settings,
3 the supervisor is not running or not reachable, 4 a supervisor already owns the data directory.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from stashplex.cli import daemon, demo, handback, inspect, plugin, repair, sync
from stashplex.cli.common import EXIT_USAGE, CommandError

COMMANDS = (daemon, inspect, sync, repair, handback, plugin, demo)

__all__ = ["COMMANDS", "build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="stashplex",
        description="Durable Stash -> Plex metadata sync.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in COMMANDS:
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except CommandError as exc:
        print(f"stashplex {args.command}: {exc}", file=sys.stderr)
        return exc.code
    except KeyboardInterrupt:
        return EXIT_USAGE
