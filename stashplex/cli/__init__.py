"""The ``stashplex`` command: one entry point, one subcommand per job, ``--help`` everywhere.

Exit codes (also in the README): 0 ok, 1 the operation failed, 2 bad arguments or settings,
3 the supervisor is not running or not reachable, 4 a supervisor already owns the data directory.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import NoReturn

from stashplex.cli import daemon, demo, handback, inspect, plugin, repair, sync
from stashplex.cli.common import EXIT_FAILED, EXIT_USAGE, CommandError

COMMANDS = (daemon, inspect, sync, repair, handback, plugin, demo)

__all__ = ["COMMANDS", "build_parser", "main"]


class _OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line naming the fix, as every other error is."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: {message} (see `{self.prog} --help`)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _OneLineParser(
        prog="stashplex",
        description="Durable Stash -> Plex metadata sync.",
    )
    parser.add_argument("--version", action="version", version=f"stashplex {_version()}")
    parser.add_argument(
        "--debug", action="store_true", help="show a traceback when something unexpected fails"
    )
    sub = parser.add_subparsers(
        dest="command", metavar="COMMAND", required=True, parser_class=_OneLineParser
    )
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
        print(f"stashplex {args.command}: interrupted", file=sys.stderr)
        return EXIT_USAGE
    except ImportError as exc:  # commands import their packages when run, so a broken venv is here
        if args.debug:
            raise
        print(
            f"stashplex {args.command}: {type(exc).__name__}: {' '.join(str(exc).split())} "
            f"(a package stashplex needs cannot be imported by {sys.executable})",
            file=sys.stderr,
        )
        return EXIT_FAILED
    except Exception as exc:
        if args.debug:
            raise
        reason = " ".join(str(exc).split()) or type(exc).__name__
        print(
            f"stashplex {args.command}: {reason} (run `stashplex --debug {args.command} ...` "
            "for the details)",
            file=sys.stderr,
        )
        return EXIT_FAILED


def _version() -> str:
    """The source's own constant: an editable install's metadata can be older than its code."""
    from stashplex.link.version import __version__

    return __version__
