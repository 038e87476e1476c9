"""Stash's hook entry: hand the event to the supervisor and get out of the user's way.

Stash runs a hook synchronously: the user's save (and every scene of a bulk edit or scan) waits
until this process exits. So the hook does the least possible work: validate stdin, send one
frame to the long-running supervisor, exit. When the supervisor is not there, the event goes to a
durable spool and the supervisor is started detached; the user's save never waits for Plex.

The hook is also the only voice the supervisor has in Stash's log: its failures happen after
every hook has exited. So each hook reads the supervisor's problems record (one small file) and
logs any problem not logged before at error level, with its fix; and a hook that finds the
supervisor it started last dead without a word reads why from its log.

Installed as ``<plugin dir>/stashplex_hook.py`` and run with ``python -S`` through the stub
``stashplex_run_hook.py``, so that this module loads from cached bytecode (no site import, so
the installed ``stashplex`` package is out of reach): it imports only the standard library and
the ``stashplex_link`` package copied next to it. Heavy modules (``subprocess``) load only on
the rare path, and so does ``stashplex_environment`` (the supervisor's own Python environment,
its version). The data directory is ``$STASHPLEX_DATA_DIR``, else the one ``install-plugin``
wrote into ``stashplex-hook.json``, else ``<Stash's config folder>/stashplex`` (on its volume).

Output follows Stash's raw-interface rules: log lines on stderr as ``\\x01<level>\\x02<text>``,
exactly one ``{"output": ..., "error": ...}`` object on stdout, never a traceback. Exit codes:
0 delivered or safely spooled, 1 internal or environment failure, 2 malformed input.
"""

# pathlib costs ~10 ms of start-up (it imports re, fnmatch, urllib): the hook pays for every byte.
# ruff: noqa: PTH120, PTH123

from __future__ import annotations

import sys
import time

try:
    from stashplex_link import events, handoff, lean_os, notices, version, wire
    from stashplex_link.events import BadInputError, build_event, subject
except ImportError:  # not an installed plugin folder: the source tree or the installed package
    if not __package__:
        import os

        sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(__file__))))
    from stashplex.link import events, handoff, lean_os, notices, version, wire  # noqa: F401 - task.py uses events
    from stashplex.link.events import BadInputError, build_event, subject

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

#: Largest stdin accepted; identify can put a multi-megabyte base64 cover into the input.
MAX_STDIN_BYTES = 32 * 1024 * 1024
#: Whole budget for reaching the supervisor and getting its durable acknowledgement.
DELIVERY_TIMEOUT_SECONDS = 2.0
#: After one start attempt, further hooks don't start another for this long (a burst starts one).
SPAWN_COOLDOWN_SECONDS = 10.0
#: The hook's settings, written by the installer next to the script.
CONFIG_NAME = "stashplex-hook.json"
#: Overrides the configured data directory.
DATA_DIR_ENV = "STASHPLEX_DATA_DIR"
#: The data directory's name inside Stash's config folder (``server_connection.Dir``).
STASH_DATA_FOLDER = "stashplex"
#: Stash's stderr reader gives up on lines over ~64 KiB.
MAX_LOG_LINE = 60000
#: Lock guarding "start the supervisor" so that concurrent hooks start it once.
SPAWN_LOCK_NAME = "spawn.lock"
#: Where a started supervisor's stdout/stderr go (never the hook's pipes: Stash reads to EOF):
#: the supervisor's own log, so that one file holds everything that process ever said.
SPAWN_LOG = lean_os.join("logs", "supervisor.log")

_LEVELS = {"trace": "t", "debug": "d", "info": "i", "warning": "w", "error": "e", "progress": "p"}


class ConfigError(RuntimeError):
    """No data directory can be found, or ``stashplex-hook.json`` is broken; exit 1."""


# -- Stash's output protocol ------------------------------------------------------------------


def log(level: str, message: str) -> None:
    """One line in Stash's log at ``level``; never pass credentials here."""
    text = " ".join(str(message).split())[:MAX_LOG_LINE]
    try:
        sys.stderr.write(f"\x01{_LEVELS[level]}\x02{text}\n")
        sys.stderr.flush()
    except (OSError, ValueError):  # Stash stopped reading stderr: the stdout result still counts
        pass


def emit_result(output: Any, error: str | None) -> None:
    """The single JSON object Stash decodes from stdout."""
    sys.stdout.write(wire.to_json({"output": output, "error": error}) + "\n")
    sys.stdout.flush()


def fail(exit_code: int, message: str) -> int:
    log("error", message)
    emit_result(None, wire.one_line(message))
    return exit_code


# -- input ------------------------------------------------------------------------------------


def read_stdin_object(what: str = "hook input") -> dict[str, Any]:
    """Stdin as a JSON object, or ``BadInputError`` with a one-line reason (never its contents)."""
    raw = sys.stdin.buffer.read(MAX_STDIN_BYTES + 1)
    if len(raw) > MAX_STDIN_BYTES:
        raise BadInputError(f"{what} exceeds {MAX_STDIN_BYTES // (1024 * 1024)} MiB")
    if not raw.strip():
        raise BadInputError(f"{what} is empty; Stash always sends a JSON object on stdin")
    try:
        payload = wire.from_json(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise BadInputError(f"{what} is not UTF-8 (bad byte at offset {exc.start})") from None
    except wire.FrameError as exc:
        raise BadInputError(f"{what} is {exc}") from None
    if not isinstance(payload, dict):
        raise BadInputError(f"{what} must be a JSON object, not {type(payload).__name__}")
    return payload


# -- configuration ----------------------------------------------------------------------------


class HookConfig:
    """Where the data directory is and how to start the supervisor; ``managed``: from the
    environment the plugin builds in the data directory (no ``stashplex-hook.json``)."""

    __slots__ = ("data_dir", "managed", "plugin_dir", "python", "spawn")

    def __init__(
        self,
        data_dir: str,
        python: str,
        spawn: list[str],
        *,
        plugin_dir: str = "",
        managed: bool = False,
    ) -> None:
        self.data_dir = data_dir
        self.python = python
        self.spawn = spawn
        self.plugin_dir = plugin_dir
        self.managed = managed


def default_spawn(python: str) -> list[str]:
    """The supervisor's command; ``{data_dir}`` is filled in when the hook loads its config."""
    return [python, "-m", "stashplex", "run", "--data-dir", "{data_dir}"]


def stash_data_dir(server_connection: Any) -> str | None:
    """``<Dir>/stashplex``, ``Dir`` being Stash's config folder as Stash reports it."""
    folder = server_connection.get("Dir") if isinstance(server_connection, dict) else None
    if not isinstance(folder, str) or not lean_os.isabs(folder):
        return None
    return lean_os.join(folder, STASH_DATA_FOLDER)


def load_config(
    config_path: str | None = None,
    *,
    server_connection: Any = None,
    data_dir: str | None = None,
) -> HookConfig:
    """Read ``stashplex-hook.json`` beside this script, if any; ``data_dir``, then
    ``$STASHPLEX_DATA_DIR`` win, and Stash's config folder is the fallback."""
    plugin_dir = lean_os.dirname(lean_os.abspath(__file__))
    path = config_path or lean_os.join(plugin_dir, CONFIG_NAME)
    try:
        with open(path, encoding="utf-8") as handle:
            config = wire.from_json(handle.read())
    except FileNotFoundError:
        config = {}
    except (OSError, UnicodeDecodeError, wire.FrameError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}; reinstall the plugin") from None
    if not isinstance(config, dict):
        raise ConfigError(f"{path} must hold a JSON object; reinstall the plugin")
    data_dir = (
        data_dir
        or lean_os.getenv(DATA_DIR_ENV)
        or config.get("data_dir")
        or stash_data_dir(server_connection)
    )
    if not isinstance(data_dir, str) or not data_dir:
        raise ConfigError(
            f"no data directory: Stash sent no server_connection.Dir; set {DATA_DIR_ENV}"
        )
    if "spawn" not in config and "python" not in config:
        return HookConfig(data_dir, sys.executable, [], plugin_dir=plugin_dir, managed=True)
    python = config.get("python") or sys.executable
    spawn = config.get("spawn") or default_spawn(python)
    if not isinstance(spawn, list) or not spawn or not all(isinstance(a, str) for a in spawn):
        raise ConfigError(f"'spawn' in {path} must be a non-empty list of strings")
    spawn = [argument.replace("{data_dir}", data_dir) for argument in spawn]
    return HookConfig(data_dir, python, spawn, plugin_dir=plugin_dir)


# -- starting the supervisor ------------------------------------------------------------------


def start_supervisor_detached(
    config: HookConfig, *, cooldown: float = SPAWN_COOLDOWN_SECONDS, lock: str = SPAWN_LOCK_NAME
) -> bool:
    """Start the supervisor unless another hook just did; True if this call started it.

    Many hooks can find the supervisor missing at once (a scan runs hooks in parallel). A
    non-blocking lock on ``spawn.lock`` plus the last attempt stored in it make the burst
    start one process: a loser of the lock, or anyone within ``cooldown`` seconds of the
    last attempt, leaves it alone, and so does anyone who finds a supervisor holding the data
    directory (restarting its actor host). The supervisor's own instance lock refuses any
    duplicate. (An upgrade is started the same way under a ``lock`` of its own.) The winner
    also logs why the previous start died without a word (its Python cannot import a
    package): nothing else could tell the user. Raises ``OSError`` if it cannot be started.
    """
    starts = _starts()
    lean_os.makedirs(config.data_dir, mode=0o700, exist_ok=True)
    flags = lean_os.O_RDWR | lean_os.O_CREAT | lean_os.O_NOFOLLOW  # never through a symlink
    fd = lean_os.open_fd(lean_os.join(config.data_dir, lock), flags, 0o600)
    try:
        if not starts.try_lock(fd):
            return False
        try:
            return _start_if_due(config, fd, cooldown, supervisor=lock == SPAWN_LOCK_NAME)
        finally:
            starts.unlock(fd)
    finally:
        lean_os.close(fd)


def _start_if_due(config: HookConfig, fd: int, cooldown: float, *, supervisor: bool) -> bool:
    """Under the lock: report the last start's mute death, then start unless it is too soon."""
    starts = _starts()
    log_path = lean_os.join(config.data_dir, SPAWN_LOG)
    last = starts.read_attempt(fd)
    died = starts.start_news(config.data_dir, last, log_path)
    if died is not None:
        fix = starts.start_fix(died, log_path, python=config.python, managed=config.managed)
        log("error", f"stashplex: the supervisor exited at start: {died}. Fix: {fix}")
    now = time.time()
    if 0 <= now - float(last.get("at") or 0) < cooldown or (
        supervisor and notices.supervisor_alive(config.data_dir)
    ):
        if died is not None:
            starts.write_attempt(fd, last)
        return False
    log_from = starts.rotated_size(log_path, starts.SPAWN_LOG_MAX_BYTES)
    last.update(at=now, pid=None, log_from=log_from)
    starts.write_attempt(fd, last)  # a failed spawn still starts the cooldown
    last["pid"] = spawn_detached(config).pid
    starts.write_attempt(fd, last)
    return True


def spawn_detached(config: HookConfig) -> Any:
    """Start ``config.spawn`` in its own session; returns its ``Popen``."""
    import os  # subprocess loads it anyway
    import subprocess

    log_path = lean_os.join(config.data_dir, SPAWN_LOG)
    lean_os.makedirs(lean_os.dirname(log_path), mode=0o700, exist_ok=True)
    options: dict[str, Any] = {}
    if sys.platform == "win32":  # pragma: no cover - Windows
        options["creationflags"] = subprocess.DETACHED_PROCESS | subprocess.CREATE_NEW_PROCESS_GROUP
    else:
        options["start_new_session"] = True
    # Stash puts its plugins folder on PYTHONPATH: the supervisor must import its own packages.
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    flags = lean_os.O_WRONLY | lean_os.O_CREAT | lean_os.O_APPEND | lean_os.O_NOFOLLOW
    spawn_log = lean_os.open_fd(log_path, flags, 0o600)
    try:
        # Our stdout/stderr are Stash's pipes: a child holding them would keep the save waiting.
        return subprocess.Popen(
            config.spawn,
            stdin=subprocess.DEVNULL,
            stdout=spawn_log,
            stderr=subprocess.STDOUT,
            close_fds=True,
            cwd=config.data_dir,
            env=env,
            **options,
        )
    finally:
        lean_os.close(spawn_log)


# -- the hook ---------------------------------------------------------------------------------


def hand_over(config: HookConfig, event: dict[str, Any]) -> int:
    """Deliver ``event`` to the supervisor, else spool it and start the supervisor."""
    reached = False
    try:
        endpoint = handoff.endpoint_for(config.data_dir)
        message = {"type": "hook", "event": event}
        reply = handoff.request(endpoint, message, DELIVERY_TIMEOUT_SECONDS)
    except wire.UnreachableError as exc:
        reason = str(exc)
    except wire.FrameError as exc:
        reached, reason = True, f"garbled reply: {exc}"
    else:
        if reply.get("ok") is True:
            emit_result(f"queued {event['trigger']} for {subject(event)}", None)
            running = reply.get("version")
            if isinstance(running, str) and running not in ("", version.__version__):
                _environment().follow_version(config, running, start_supervisor_detached, log)
            return 0
        # build_event checked what the supervisor checks, so a refusal is transient (the host
        # is starting, a mailbox is unwritable); should it not be, the drain sets the file aside.
        reached, reason = True, f"supervisor refused the event: {reply.get('error')}"
    try:
        spool_path = handoff.write_spool(config.data_dir, event)
    except OSError as exc:
        return fail(1, f"event for {subject(event)} lost: {reason}; spooling failed: {exc}")
    outcome = f"spooled {event['trigger']} for {subject(event)} ({reason})"
    if reached:
        log("warning", f"{outcome}; the supervisor will pick it up from {spool_path}")
        emit_result(outcome, None)
        return 0
    level, action = "info", "starting the supervisor"
    if config.managed:
        plan = _environment().start_plan(config.data_dir, config.plugin_dir)
        if plan.argv is None:
            log(plan.level, f"{outcome}; {plan.message}")
            emit_result(f"{outcome}; supervisor not started", None)
            return 0
        config.spawn = plan.argv
        level, action = (plan.level, plan.message) if plan.message else (level, action)
    try:
        started = start_supervisor_detached(config)
    except OSError as exc:
        log("error", f"{outcome}; could not start the supervisor {config.spawn[0]}: {exc}")
        emit_result(f"{outcome}; supervisor start failed", None)
        return 0
    if not started:
        level, action = "info", "supervisor start already under way"
    outcome = f"{outcome}; {action}"
    log(level, outcome)
    emit_result(outcome, None)
    return 0


def _environment() -> Any:
    """``stashplex_environment``, imported only on the paths that need it."""
    try:
        import stashplex_environment as environment
    except ImportError:  # the source tree or the installed package
        from stashplex.plugin import environment
    return environment


def _starts() -> Any:
    """``stashplex_link.starts``, imported only when the supervisor must be started."""
    try:
        from stashplex_link import starts
    except ImportError:  # the source tree or the installed package
        from stashplex.link import starts
    return starts


def report_problems(config: HookConfig) -> None:
    """Each problem the supervisor recorded since the last report, once, at error level."""
    for line in notices.unreported_problems(config.data_dir):
        log("error", line)


def main() -> int:
    try:
        payload = read_stdin_object()
        event = build_event(payload)
        config = load_config(server_connection=payload.get("server_connection"))
        code = hand_over(config, event)
        report_problems(config)
        return code
    except BadInputError as exc:
        return fail(2, f"stashplex hook: {exc}")
    except ConfigError as exc:
        return fail(1, f"stashplex hook: {exc}")
    except Exception as exc:  # noqa: BLE001 - a traceback would land in Stash's log as errors
        detail = f" ({exc.strerror}: {exc.filename})" if isinstance(exc, OSError) else ""
        return fail(1, f"stashplex hook: internal error {type(exc).__name__}{detail}")


def run() -> None:
    """Run :func:`main`, then end the process without tearing the interpreter down.

    Stash's save waits until this process has exited, and the teardown cost about 2 ms of CPU
    (a sixth of the hook), several times that on a busy machine. Nothing needs it: every write
    to stdout or stderr is flushed at once, files are closed where they are written, and a
    supervisor the hook started is detached.
    """
    lean_os.exit_now(main())


if __name__ == "__main__":
    run()
