"""What every subcommand shares: the data directory, exit codes, talking to the supervisor."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from stashplex.runtime.datadir import DataDir, default_data_dir

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_NOT_RUNNING = 3
EXIT_ALREADY_RUNNING = 4


class CommandError(Exception):
    """A one-line, user-facing failure with its exit code."""

    def __init__(self, message: str, code: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.code = code


def key_argument(text: str) -> int:
    """An argparse type for Plex rating keys and dead-letter ids: refused here, not later."""
    from stashplex.link.events import MAX_KEY

    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if not 0 < value <= MAX_KEY:
        raise argparse.ArgumentTypeError(f"{text} is out of range (1 to {MAX_KEY})")
    return value


def scene_id_argument(text: str) -> str:
    """An argparse type for Stash scene ids: digits, as many as a Stash id can have."""
    from stashplex.link.events import MAX_ID_DIGITS

    if not (text.isascii() and text.isdigit() and len(text) <= MAX_ID_DIGITS and int(text) > 0):
        raise argparse.ArgumentTypeError(
            f"{text[:40]!r} is not a Stash scene id (a positive number of at most "
            f"{MAX_ID_DIGITS} digits)"
        )
    return str(int(text))


def limit_argument(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if not 1 <= value <= 100_000:
        raise argparse.ArgumentTypeError(f"{text} is out of range (1 to 100000)")
    return value


def add_data_dir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="where stashplex keeps its state (default: $STASHPLEX_DATA_DIR or "
        "~/.local/share/stashplex)",
    )


def data_dir_of(args: argparse.Namespace) -> DataDir:
    root = args.data_dir if args.data_dir is not None else default_data_dir()
    return DataDir(root.expanduser().resolve())


def ask(data: DataDir, message: dict[str, Any], *, timeout: float = 10.0) -> dict[str, Any]:
    """Send one request to the running supervisor; a clear error if it is not there."""
    from stashplex.link.ipc import send_request
    from stashplex.link.wire import FrameError

    request = {"v": 1, **message}
    try:
        reply = send_request(data.root, request, timeout=timeout)
    except (OSError, FrameError) as exc:
        raise CommandError(
            f"the supervisor for {data.root} is not reachable ({exc}); start it with "
            "`stashplex start`",
            EXIT_NOT_RUNNING,
        ) from None
    if not reply.get("ok"):
        raise CommandError(str(reply.get("error") or "the supervisor refused the request"))
    return reply
