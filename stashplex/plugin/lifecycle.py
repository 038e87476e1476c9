"""Install, upgrade, start, stop and prepare the removal of the supervisor, from Stash.

The plugin's *Install / repair*, *Start supervisor* and *Prepare removal* tasks run these, and
so does the hook, detached (``python3 stashplex_lifecycle.py converge --data-dir D``), when it
finds no environment yet or a supervisor older than the plugin files Stash just installed.
Everything converges on one state: a healthy ``venv-<version>`` of the plugin files' version and,
if asked, a supervisor of that version answering on the socket. An upgrade builds the new
environment while the old supervisor keeps serving, then stops it (its mailboxes are durable,
so nothing queued is lost; hooks in the gap spool) and starts the new one. A newer supervisor is
never replaced by older plugin files.

One process at a time provisions a data directory: it holds ``spawn.lock``, the lock hooks take
to start the supervisor, so hooks meanwhile spool and say a start is under way.
Standard library only: it runs under Stash's Python.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import sys
import time

try:
    import stashplex_environment as environment
    import stashplex_hook as hook
    import stashplex_venvs as venvs
    from stashplex_link import starts
except ImportError:  # not an installed plugin folder: the source tree or the installed package
    if not __package__:
        sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(__file__))))
    from stashplex.link import starts
    from stashplex.plugin import environment, hook, venvs

TYPE_CHECKING = False
if TYPE_CHECKING:
    import subprocess
    from collections.abc import Iterator

    from stashplex.plugin.venvs import Say

PLUGIN_VERSION = environment.PLUGIN_VERSION
ProvisionError = venvs.ProvisionError
#: How long a started supervisor may take to answer.
START_WAIT_SECONDS = 30.0
#: How long a stopping supervisor may take to finish its in-flight messages.
STOP_WAIT_SECONDS = 60.0
#: A task waits this long for another provisioning run; a detached one gives up quickly.
TASK_LOCK_WAIT_SECONDS = 900.0
DETACHED_LOCK_WAIT_SECONDS = 5.0
#: The watchdog holds an flock on this file for as long as it runs (``runtime.datadir``).
SUPERVISOR_LOCK = "supervisor.lock"


class BusyError(ProvisionError):
    """Another process is installing, upgrading or starting the supervisor right now."""


@contextlib.contextmanager
def provisioning(data_dir: str, wait_seconds: float) -> Iterator[None]:
    os.makedirs(data_dir, mode=0o700, exist_ok=True)
    fd = os.open(os.path.join(data_dir, hook.SPAWN_LOCK_NAME), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        deadline = time.monotonic() + wait_seconds
        while not starts.try_lock(fd):
            if time.monotonic() > deadline:
                raise BusyError(
                    "another install, upgrade or start of the supervisor is under way; "
                    "try again when it is done"
                )
            time.sleep(0.2)
        try:
            yield
        finally:
            starts.unlock(fd)
    finally:
        os.close(fd)


# -- the running supervisor ---------------------------------------------------------------------


def running_version(data_dir: str) -> str | None:
    """None if no supervisor answers; its version, or ``""`` if it answers without one."""
    try:
        endpoint = hook.handoff.endpoint_for(data_dir)
        reply = hook.handoff.request(endpoint, {"type": "ping"}, 3.0)
    except (hook.wire.UnreachableError, hook.wire.FrameError):
        return None
    version = reply.get("version")
    return version if isinstance(version, str) else ""


def supervisor_pid(data_dir: str) -> int | None:
    """The pid of the watchdog holding the data directory, None if nobody holds it.

    The kernel drops an flock with its holder, so a lock we can take means no supervisor; one we
    cannot take means the pid recorded in the file is alive (zombies release theirs too).
    """
    path = os.path.join(data_dir, SUPERVISOR_LOCK)
    try:
        fd = os.open(path, os.O_RDWR)
    except OSError:
        return None
    try:
        if starts.try_lock(fd):
            starts.unlock(fd)
            return None
    finally:
        os.close(fd)
    record = environment.read_record(path) or {}
    pid = record.get("pid")
    return pid if isinstance(pid, int) and pid > 0 else 0


def stop_supervisor(data_dir: str, say: Say) -> bool:
    """Stop the running supervisor and wait until it is gone; False if none was running."""
    answering = running_version(data_dir) is not None
    if not answering and supervisor_pid(data_dir) is None:
        return False
    say("info", "stopping the supervisor (its queued work stays in its mailboxes)")
    if answering:
        with contextlib.suppress(hook.wire.UnreachableError, hook.wire.FrameError):
            hook.handoff.request(hook.handoff.endpoint_for(data_dir), {"type": "stop"}, 5.0)
    deadline = time.monotonic() + STOP_WAIT_SECONDS
    signalled = False
    while True:
        pid = supervisor_pid(data_dir)
        if pid is None and running_version(data_dir) is None:
            return True
        if pid and not signalled and running_version(data_dir) is None:
            with contextlib.suppress(OSError):  # the host is down: tell the watchdog directly
                os.kill(pid, signal.SIGTERM)
            signalled = True
        if time.monotonic() > deadline:
            raise ProvisionError(
                f"the supervisor (pid {pid}) did not stop within {STOP_WAIT_SECONDS:.0f} s; "
                "run the 'Stop supervisor' task, then try again"
            )
        time.sleep(0.2)


def start_supervisor(config: hook.HookConfig, argv: list[str]) -> str:
    """Start ``argv`` detached; returns the version it reports as soon as it answers.

    This task is the started process's parent, so it does not wait out ``START_WAIT_SECONDS``
    for one that cannot come up: it raises ``ProvisionError`` as soon as the process exits (with
    its last words from its log), records why it cannot start (a refused setting, an actor host
    that dies before it is ready), or finds another supervisor in charge whose host cannot start.
    The attempt goes into ``spawn.lock`` as a hook's would, so hooks do not report it again.
    """
    config.spawn = argv
    since = time.time()
    process, attempt = _spawn(config, since)
    deadline = time.monotonic() + START_WAIT_SECONDS
    while True:
        version = running_version(config.data_dir)
        if version is not None:
            if version and version != PLUGIN_VERSION:
                raise ProvisionError(
                    f"the supervisor {argv[0]} started runs stashplex {version}, not "
                    f"{PLUGIN_VERSION}: update the stashplex that Python runs"
                )
            return version
        code = process.poll()  # before the record: a process that recorded, then exited
        holder = supervisor_pid(config.data_dir)
        # Another one in charge? (A record left by a killed one names a pid that is gone.)
        other = holder if holder not in (None, 0, process.pid) else None
        other = other if other and hook.notices.running(other) else None
        failure = starts.task_failure(config, since, code, attempt, holder=other)
        if failure is not None:
            _record(config, attempt)  # shown by this task: hooks need not log it again
            if code is None and holder != process.pid:  # not in charge: it must not take over
                process.terminate()  # later, when the user stops the one that is
                process.wait(STOP_WAIT_SECONDS)
            raise ProvisionError(failure)
        if code == starts.EXIT_ALREADY_RUNNING and holder is None:
            process, attempt = _spawn(config, since)  # the one in charge has stopped meanwhile
        if time.monotonic() > deadline:
            raise ProvisionError(
                f"the supervisor did not answer within {START_WAIT_SECONDS:g} s; see "
                f"{_log_path(config)}"
            )
        time.sleep(0.1)


def _spawn(config: hook.HookConfig, since: float) -> tuple[subprocess.Popen[bytes], dict]:
    """Start the supervisor, recorded in ``spawn.lock`` as a hook records its starts."""
    log_from = starts.rotated_size(_log_path(config), starts.SPAWN_LOG_MAX_BYTES)
    attempt: dict[str, object] = {"at": since, "pid": None, "log_from": log_from}
    _record(config, attempt)
    process = hook.spawn_detached(config)
    attempt["pid"] = process.pid
    _record(config, attempt)
    return process, attempt


def _record(config: hook.HookConfig, attempt: dict[str, object]) -> None:
    """Write ``attempt`` into ``spawn.lock``, whose lock ``provisioning`` holds."""
    fd = os.open(os.path.join(config.data_dir, hook.SPAWN_LOCK_NAME), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        starts.write_attempt(fd, attempt)
    finally:
        os.close(fd)


def _log_path(config: hook.HookConfig) -> str:
    """The supervisor's log, which also holds whatever a supervisor started detached prints."""
    return os.path.join(config.data_dir, hook.SPAWN_LOG)


# -- converging ---------------------------------------------------------------------------------


def converge(
    config: hook.HookConfig,
    say: Say,
    *,
    start: bool,
    lock_wait: float = TASK_LOCK_WAIT_SECONDS,
) -> list[str]:
    """Make the data directory run (or, with ``start`` False, be ready to run) these plugin files'
    version; returns what was done, one line each. The outcome is recorded in
    ``provision.json``, so hooks report a failure instead of retrying it at every save."""
    record_path = os.path.join(config.data_dir, environment.PROVISION_RECORD)
    with provisioning(config.data_dir, lock_wait):
        attempt = {"version": PLUGIN_VERSION, "at": time.time(), "error": None, "done": False}
        environment.write_record(record_path, attempt)
        try:
            lines = _converge(config, say, start=start)
        except OSError as exc:
            error = f"{type(exc).__name__}: {exc}"
            environment.write_record(record_path, {**attempt, "error": error, "done": True})
            raise ProvisionError(error) from None
        except ProvisionError as exc:
            environment.write_record(record_path, {**attempt, "error": str(exc), "done": True})
            raise
        environment.write_record(record_path, {**attempt, "done": True})
        return lines


def _converge(config: hook.HookConfig, say: Say, *, start: bool) -> list[str]:
    data_dir = config.data_dir
    lines: list[str] = []
    running = running_version(data_dir)
    was_running = running is not None
    if running and environment.compare_versions(running, PLUGIN_VERSION) > 0:
        raise ProvisionError(environment.downgrade_message(running))
    stale = ""
    if config.managed:
        current = environment.inspect(data_dir)
        python, stale, running = _ensure_environment(config, current, running, say, lines)
        argv = environment.supervisor_command(python, data_dir)
    else:
        argv = config.spawn
        if not start:
            lines.append(
                f"this plugin folder starts the supervisor with {argv[0]} (stashplex-hook.json, "
                "from `stashplex install-plugin`): there is no environment to install"
            )
    if running and running != PLUGIN_VERSION:
        say("info", f"restarting the supervisor from stashplex {running} into {PLUGIN_VERSION}")
        stop_supervisor(data_dir, say)
        lines.append(f"the supervisor is upgraded from stashplex {running} to {PLUGIN_VERSION}")
        running = None
    if running is None and (start or was_running):
        start_supervisor(config, argv)
        lines.append("supervisor started")
    elif running is not None and start:
        lines.append("supervisor already running")
    if stale:
        shutil.rmtree(stale, ignore_errors=True)
        lines.append(f"removed the previous environment {stale}")
    return lines


def _ensure_environment(
    config: hook.HookConfig,
    current: environment.Environment,
    running: str | None,
    say: Say,
    lines: list[str],
) -> tuple[str, str, str | None]:
    """A healthy environment of the plugin version: (its python, an old venv to remove after the
    restart, the running version, None if the supervisor had to be stopped for a rebuild)."""
    data_dir = config.data_dir
    if current.state == "ok":
        order = environment.compare_versions(current.version, PLUGIN_VERSION)
        if order > 0:
            raise ProvisionError(environment.downgrade_message(current.version))
        if order == 0 and venvs.healthy_version(current.python, data_dir) == PLUGIN_VERSION:
            python_version = current.record.get("python_version")
            lines.append(
                f"stashplex {PLUGIN_VERSION} is installed in {current.venv} "
                f"(Python {python_version}); nothing to repair"
            )
            return current.python, "", running
    if current.state == "broken":
        say("warning", environment.broken_message(data_dir, current) + "; rebuilding it now")
    target = environment.venv_dir(data_dir)
    if running is not None and (current.venv == target or not current.venv):
        stop_supervisor(data_dir, say)  # it may run from the folder about to be rebuilt
        running = None
    record = venvs.build(config.plugin_dir, data_dir, say)
    lines.append(
        f"installed stashplex {PLUGIN_VERSION} in {record['venv']} "
        f"(Python {record['python_version']}, {record['base_python']}) from {record['source']}"
    )
    stale = current.venv if current.venv and current.venv != target else ""
    return str(record["python"]), stale, running


# -- removal ------------------------------------------------------------------------------------


def prepare_removal(config: hook.HookConfig, say: Say) -> list[str]:
    """Stop the supervisor and say what stays on disk and how to remove it."""
    data_dir = config.data_dir
    with provisioning(data_dir, TASK_LOCK_WAIT_SECONDS):
        stopped = stop_supervisor(data_dir, say)
    lines = ["stopped the supervisor" if stopped else "the supervisor was not running"]
    if os.path.isdir(data_dir):
        sizes = {name: _size(os.path.join(data_dir, name)) for name in sorted(os.listdir(data_dir))}
        listing = ", ".join(f"{name} ({_human(size)})" for name, size in sizes.items())
        lines.append(f"left on disk: {data_dir} ({_human(sum(sizes.values()))}): {listing}")
    current = environment.inspect(data_dir)
    command = (
        f" or run `{current.python} -m stashplex uninstall --data-dir {data_dir} --yes`"
        if current.state == "ok"
        else ""
    )
    lines += [
        "hooks start the supervisor again until the plugin is removed: uninstall it in "
        "Settings > Plugins now",
        f"then delete {data_dir} (mailboxes, state, logs, settings file, environment){command}",
        f"Stash deletes only the files it installed: delete {config.plugin_dir} as well if "
        "folders (__pycache__) are left in it",
    ]
    return lines


def _size(path: str) -> int:
    if not os.path.isdir(path) or os.path.islink(path):
        with contextlib.suppress(OSError):
            return os.lstat(path).st_size
        return 0
    total = 0
    for folder, _dirs, files in os.walk(path):
        for name in files:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(folder, name)).st_size
    return total


def _human(size: float) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GB"  # pragma: no cover - the loop always returns


# -- the detached installer ---------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    """``converge --data-dir D``: what the hook starts detached; it logs to the install log."""
    import argparse

    parser = argparse.ArgumentParser(prog="stashplex_lifecycle", description=__doc__)
    parser.add_argument("action", choices=["converge"])
    parser.add_argument("--data-dir", required=True)
    args = parser.parse_args(argv)
    log_path = os.path.join(args.data_dir, environment.INSTALL_LOG)

    def say(level: str, message: str) -> None:
        os.makedirs(os.path.dirname(log_path), mode=0o700, exist_ok=True)
        with open(log_path, "a", encoding="utf-8") as log:
            log.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {level.upper()} {message}\n")

    try:
        config = hook.load_config(data_dir=args.data_dir)
        for line in converge(config, say, start=True, lock_wait=DETACHED_LOCK_WAIT_SECONDS):
            say("info", line)
    except BusyError:
        return 0  # another process is at it; it will start the supervisor
    except (ProvisionError, hook.ConfigError) as exc:
        say("error", str(exc))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
