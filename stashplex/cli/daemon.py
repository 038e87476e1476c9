"""``run``, ``start``, ``stop``: the supervisor's life cycle."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import subprocess
import sys
import time

from stashplex.cli.common import (
    EXIT_NOT_RUNNING,
    EXIT_OK,
    EXIT_USAGE,
    CommandError,
    add_data_dir,
    ask,
    data_dir_of,
)
from stashplex.runtime.datadir import DataDir, DataDirError, process_alive, read_holder
from stashplex.runtime.private_files import open_private

#: How long ``start`` waits for a fresh supervisor to answer.
START_WAIT_S = 20.0
#: How long ``stop`` waits for in-flight messages to finish before giving up.
STOP_WAIT_S = 45.0


def register(sub: argparse._SubParsersAction) -> None:
    run = sub.add_parser("run", help="run the supervisor in the foreground")
    add_data_dir(run)
    run.add_argument(
        "--log-level",
        default="INFO",
        type=str.upper,
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="how much goes to the log (default INFO)",
    )
    run.set_defaults(func=cmd_run)

    start = sub.add_parser("start", help="start the supervisor detached and wait until it answers")
    add_data_dir(start)
    start.set_defaults(func=cmd_start)

    stop = sub.add_parser("stop", help="stop the supervisor, letting in-flight messages finish")
    add_data_dir(stop)
    stop.set_defaults(func=cmd_stop)


def cmd_run(args: argparse.Namespace) -> int:
    from stashplex.config.settings import SettingsError, load_settings
    from stashplex.runtime.logs import configure_logging
    from stashplex.runtime.watchdog import exec_watchdog

    os.umask(0o077)  # inherited by the watchdog this process becomes, and its hosts
    data = ensured(data_dir_of(args))
    configure_logging(level=args.log_level, log_file=data.logs / "supervisor.log")
    try:
        settings = load_settings(config_file=data.config_file)
    except SettingsError as exc:
        raise CommandError(str(exc), EXIT_USAGE) from None
    logging.shutdown()  # flush the log before this process image is replaced
    exec_watchdog(data.root, settings, log_level=args.log_level)
    return 0  # not reached: exec replaced this process


def spawn_detached(data: DataDir) -> subprocess.Popen[bytes]:
    """Start ``stashplex run`` in its own session, so no caller ever waits on its output."""
    ensured(data)
    fd = open_private(data.logs / "supervisor.out", os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    out = os.fdopen(fd, "ab")
    try:
        return subprocess.Popen(
            [sys.executable, "-m", "stashplex", "run", "--data-dir", str(data.root)],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=out,
            start_new_session=True,
            close_fds=True,
        )
    finally:
        out.close()


def ensured(data: DataDir) -> DataDir:
    try:
        return data.ensure()
    except DataDirError as exc:
        raise CommandError(str(exc), EXIT_USAGE) from None


def wait_until_answering(data: DataDir, timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    last_error = ""
    while time.monotonic() < deadline:
        try:
            return ask(data, {"type": "ping"}, timeout=2.0)
        except CommandError as exc:
            last_error = str(exc)
            time.sleep(0.1)
    raise CommandError(f"the supervisor did not answer within {timeout:.0f} s: {last_error}")


def cmd_start(args: argparse.Namespace) -> int:
    data = data_dir_of(args)
    holder = read_holder(data)
    if holder is not None:
        print(f"already running (pid {holder.pid}) in {data.root}")
        return EXIT_OK
    proc = spawn_detached(data)
    try:
        reply = wait_until_answering(data, START_WAIT_S)
    except CommandError:
        if proc.poll() is not None:
            raise CommandError(
                f"the supervisor exited with code {proc.returncode}; see "
                f"{data.logs / 'supervisor.log'}"
            ) from None
        raise
    print(f"started: supervisor pid {proc.pid}, actor host pid {reply.get('pid')}, in {data.root}")
    return EXIT_OK


def cmd_stop(args: argparse.Namespace) -> int:
    data = data_dir_of(args)
    pid = stop_running(data)
    if pid is None:
        print(f"not running in {data.root}")
        return EXIT_NOT_RUNNING
    print(f"stopped (pid {pid})")
    return EXIT_OK


def stop_running(data: DataDir) -> int | None:
    """SIGTERM the supervisor of ``data`` and wait until it is gone; its pid, None if none."""
    holder = read_holder(data)
    if holder is None:
        return None
    os.kill(holder.pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_WAIT_S
    while process_alive(holder.pid, holder.create_time):
        if time.monotonic() > deadline:
            raise CommandError(f"pid {holder.pid} did not stop within {STOP_WAIT_S:.0f} s")
        time.sleep(0.1)
    return holder.pid
