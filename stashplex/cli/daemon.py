"""``run``, ``start``, ``stop``: the supervisor's life cycle."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

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
    from stashplex.config.watch import settings_fix
    from stashplex.runtime.logs import configure_process_logging
    from stashplex.runtime.problems import SETTINGS, ProblemLog
    from stashplex.runtime.watchdog import exec_watchdog

    os.umask(0o077)  # inherited by the watchdog this process becomes, and its hosts
    # glibc gives each allocating thread a malloc arena of its own and keeps what they held: two
    # arenas cut the host's high-water mark over a 10,000-job sync by ~15 MB (bench/footprint.py).
    os.environ.setdefault("MALLOC_ARENA_MAX", "2")
    data = ensured(data_dir_of(args))
    configure_process_logging(level=args.log_level, log_file=data.logs / "supervisor.log")
    try:
        settings = load_settings(config_file=data.config_file)
    except SettingsError as exc:
        # Started by a hook, nobody sees this process's output: the record reaches Stash's log.
        message = f"the supervisor cannot start: {exc}"
        ProblemLog(data.root).report(SETTINGS, message, settings_fix(exc))
        raise CommandError(str(exc), EXIT_USAGE) from None
    logging.shutdown()  # flush the log before this process image is replaced
    exec_watchdog(data.root, settings, log_level=args.log_level)
    return 0  # not reached: exec replaced this process


#: The supervisor's log is rotated (once, to ``.1``) past this size when a start appends to it.
LOG_ROTATE_BYTES = 10 * 1024 * 1024


def supervisor_log(data: DataDir) -> Path:
    """The supervisor's one log: its log lines and whatever it prints, a crash included."""
    return data.logs / "supervisor.log"


def spawn_detached(data: DataDir) -> subprocess.Popen[bytes]:
    """Start ``stashplex run`` in its own session, so no caller ever waits on its output.

    Its stdout and stderr go into its own log (which it then writes to stderr alone), as when
    the plugin's hook starts it: an import error is in the same file as its log lines.
    """
    ensured(data)
    log_file = supervisor_log(data)
    try:
        if log_file.exists() and log_file.stat().st_size > LOG_ROTATE_BYTES:
            log_file.replace(log_file.with_name(log_file.name + ".1"))
        fd = open_private(log_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    except OSError as exc:
        raise unwritable(data, exc) from None
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
    """``data`` made ready, or a one-line ``CommandError`` (exit 2: a data directory to fix)."""
    try:
        return data.ensure()
    except DataDirError as exc:
        raise CommandError(str(exc), EXIT_USAGE) from None
    except OSError as exc:
        raise unwritable(data, exc) from None


def unwritable(data: DataDir, exc: OSError) -> CommandError:
    """A data directory (or a file in it) that cannot be written: read-only, full, not ours."""
    return CommandError(
        f"cannot write the data directory {data.root}: {exc.strerror or exc}"
        f"{f' ({exc.filename})' if exc.filename and str(exc.filename) != str(data.root) else ''}"
        "; stashplex needs one it can write: make it writable, or choose another with "
        "--data-dir or $STASHPLEX_DATA_DIR",
        EXIT_USAGE,
    )


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
    since = time.time()
    log_from = supervisor_log(data).stat().st_size if supervisor_log(data).exists() else 0
    proc = spawn_detached(data)
    deadline = time.monotonic() + START_WAIT_S
    reply: dict | None = None
    while reply is None:
        try:
            reply = ask(data, {"type": "ping"}, timeout=2.0)
        except CommandError as exc:
            failure = start_failure(data, proc, since, log_from)
            if failure is not None:
                raise CommandError(failure) from None
            if time.monotonic() > deadline:
                raise CommandError(
                    f"the supervisor did not answer within {START_WAIT_S:.0f} s ({exc}); "
                    f"see {supervisor_log(data)}"
                ) from None
            time.sleep(0.1)
    print(f"started: supervisor pid {proc.pid}, actor host pid {reply.get('pid')}, in {data.root}")
    return EXIT_OK


def start_failure(
    data: DataDir, proc: subprocess.Popen[bytes], since: float, log_from: int
) -> str | None:
    """Why the supervisor just started cannot come up, naming the log that says more; None
    while it may still. Its own record says why first; else the end of its log."""
    from stashplex.runtime.problems import CANNOT_START, SETTINGS, ProblemLog

    problems = ProblemLog(data.root).active()
    recorded = [
        problems[key]
        for key in (SETTINGS, CANNOT_START)
        if key in problems and max(problems[key].rev / 1e9, problems[key].last) >= since
    ]
    code = proc.poll()
    if recorded:
        problem = recorded[0]
        host_log = data.logs / "host.log"
        host_said = host_log.exists() and host_log.stat().st_mtime >= since
        where = host_log if problem.key == SETTINGS and host_said else supervisor_log(data)
        state = "exited" if code is not None else "keeps trying (`stashplex stop` stops it)"
        return f"{problem.message}; it {state}. Fix: {problem.fix} (details in {where})"
    if code is None:
        return None
    with supervisor_log(data).open("rb") as handle:
        handle.seek(log_from)
        lines = handle.read().decode("utf-8", errors="replace").splitlines()
    from stashplex.runtime.problems import reason_from_output

    reason = reason_from_output(lines) or "it printed nothing"
    return f"the supervisor exited with code {code}: {reason} (see {supervisor_log(data)})"


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
