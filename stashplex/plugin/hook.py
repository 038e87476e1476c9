"""Stash's hook entry: hand the event to the supervisor and get out of the user's way.

Stash runs a hook synchronously: the user's save (and every scene of a bulk edit or scan) waits
until this process exits. So the hook does the least possible work: validate stdin, send one
frame to the long-running supervisor, exit. When the supervisor is not there, the event goes to a
durable spool and the supervisor is started detached; the user's save never waits for Plex.

Installed as ``<plugin dir>/stashplex_hook.py`` and run with ``python -S`` (no site import, so
the installed ``stashplex`` package is out of reach): it imports only the standard library and
``stashplex_wire`` copied next to it. Heavy modules (``subprocess``) load only on the rare path.

Output follows Stash's raw-interface rules: log lines on stderr as ``\\x01<level>\\x02<text>``,
exactly one ``{"output": ..., "error": ...}`` object on stdout, never a traceback. Exit codes:
0 delivered or safely spooled, 1 internal or environment failure, 2 malformed input.
"""

# pathlib costs ~10 ms of start-up (it imports re, fnmatch, urllib): the hook pays for every byte.
# ruff: noqa: PTH100, PTH103, PTH118, PTH120, PTH123

from __future__ import annotations

import os
import sys
import time

try:
    import stashplex_wire as wire
except ImportError:  # not an installed plugin folder: the source tree or the installed package
    if not __package__:
        sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(__file__))))
    from stashplex import wire

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
#: Strings longer than this that are data URLs (covers) are replaced by a marker.
DATA_URL_LIMIT = 1024
#: Any other string longer than this is cut.
LONG_STRING_LIMIT = 64 * 1024
#: If the shrunk input is still larger, it is dropped: the supervisor re-reads the scene anyway.
INPUT_BUDGET_BYTES = wire.MAX_FRAME_BYTES // 2
#: Stash's stderr reader gives up on lines over ~64 KiB.
MAX_LOG_LINE = 60000
#: Lock guarding "start the supervisor" so that concurrent hooks start it once.
SPAWN_LOCK_NAME = "spawn.lock"
#: Where a started supervisor's stdout/stderr go (never the hook's pipes: Stash reads to EOF).
SPAWN_LOG = os.path.join("logs", "supervisor-start.log")

# What the supervisor accepts (``stashplex.control.HookEvent``; a test keeps the two equal). The
# hook checks it itself: an event the supervisor refuses would be spooled and refused again on
# every drain, so it must be an error in Stash's log instead.
#: Triggers whose ``id`` is a scene; the event carries it as ``scene_id``.
SCENE_TRIGGERS = ("Scene.Create.Post", "Scene.Update.Post", "Scene.Destroy.Post")
#: Triggers whose ``id`` is a performer, studio, tag or group; the event carries it as
#: ``object_id``. Stash fires no scene hook when one is renamed and leaves the linked scenes'
#: ``updated_at`` alone, so these hooks are the only timely sign that Plex shows an old name.
RELATED_TRIGGERS = (
    "Performer.Update.Post",
    "Studio.Update.Post",
    "Tag.Update.Post",
    "Group.Update.Post",
)
#: The triggers we handle; the manifest registers only these.
HOOK_TRIGGERS = SCENE_TRIGGERS + RELATED_TRIGGERS
#: Stash ids are SQLite integers; more digits than this is not a Stash id.
MAX_ID_DIGITS = 18
#: An update input has at most a few dozen fields (a performer ~35); more than this is not Stash.
MAX_INPUT_FIELDS = 200

_LEVELS = {"trace": "t", "debug": "d", "info": "i", "warning": "w", "error": "e", "progress": "p"}


class BadInputError(ValueError):
    """Stdin that is not what Stash sends; exit code 2."""


class ConfigError(RuntimeError):
    """The plugin folder is not set up (missing or broken ``stashplex-hook.json``); exit 1."""


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


def build_event(payload: dict[str, Any]) -> dict[str, Any]:
    """The supervisor's event from Stash's hook input, or ``BadInputError`` naming the bad field.

    Accepts exactly what the supervisor accepts, so that a refusal can only be transient.
    """
    args = payload.get("args")
    if not isinstance(args, dict):
        raise BadInputError("hook input has no 'args' object")
    context = args.get("hookContext")
    if not isinstance(context, dict):
        raise BadInputError("hook input has no 'args.hookContext' object (is this a hook run?)")
    trigger = context.get("type")
    if not isinstance(trigger, str) or not trigger:
        raise BadInputError("'args.hookContext.type' must be a non-empty string")
    if trigger not in HOOK_TRIGGERS:
        shown = trigger if len(trigger) <= 80 else trigger[:80] + "..."
        raise BadInputError(
            f"'args.hookContext.type' must be one of {', '.join(HOOK_TRIGGERS)}, not {shown!r}; "
            "the plugin's manifest should hook only these (reinstall the plugin)"
        )
    object_id = context.get("id")
    if isinstance(object_id, str) and object_id.isascii() and object_id.isdigit():
        object_id = int(object_id)
    if type(object_id) is not int or not 0 < object_id < 10**MAX_ID_DIGITS:
        raise BadInputError(
            f"'args.hookContext.id' must be a positive integer of at most {MAX_ID_DIGITS} digits"
        )
    fields = context.get("inputFields") or []
    if not isinstance(fields, list) or not all(isinstance(name, str) for name in fields):
        raise BadInputError("'args.hookContext.inputFields' must be a list of strings")
    if len(fields) > MAX_INPUT_FIELDS:
        raise BadInputError(
            f"'args.hookContext.inputFields' has {len(fields)} names; "
            f"at most {MAX_INPUT_FIELDS} are accepted"
        )
    # A performer's id is not a scene's: naming it apart keeps it out of every per-scene path.
    id_key = "scene_id" if trigger in SCENE_TRIGGERS else "object_id"
    return {
        "trigger": trigger,
        id_key: str(object_id),
        "input_fields": fields,
        "input": shrink_input(context.get("input")),
        "received_at": time.time(),
        "hook_pid": os.getpid(),
        "connection": connection_from(payload.get("server_connection")),
    }


def subject(event: dict[str, Any]) -> str:
    """What the event is about, for Stash's log: ``scene 45``, ``tag 12``."""
    if "scene_id" in event:
        return f"scene {event['scene_id']}"
    return f"{event['trigger'].partition('.')[0].lower()} {event['object_id']}"


def connection_from(server_connection: Any) -> dict[str, Any] | None:
    """How the supervisor can call Stash back; the session cookie is a credential."""
    if server_connection is None:
        return None
    if not isinstance(server_connection, dict):
        raise BadInputError("'server_connection' must be a JSON object")
    scheme = server_connection.get("Scheme") or "http"
    if scheme not in ("http", "https"):
        raise BadInputError("'server_connection.Scheme' must be http or https")
    host = server_connection.get("Host")
    # Stash reports its listen address; a wildcard means "this machine".
    if not isinstance(host, str) or host.strip("[]") in ("", "0.0.0.0", "::"):
        host = "127.0.0.1"
    port = server_connection.get("Port", 9999)
    if type(port) is not int or not 0 < port < 65536:
        raise BadInputError("'server_connection.Port' must be an integer port number")
    cookie = server_connection.get("SessionCookie")
    value = cookie.get("Value") if isinstance(cookie, dict) else None
    return {
        "scheme": scheme,
        "host": host,
        "port": port,
        "session_cookie": value if isinstance(value, str) and value else None,
    }


def shrink_input(value: Any) -> Any:
    """The hook input with huge values (base64 covers) replaced so the event stays small."""
    shrunk = _shrink(value)
    size = len(wire.to_json(shrunk))
    return shrunk if size <= INPUT_BUDGET_BYTES else f"<input omitted: {size} bytes>"


def _shrink(value: Any) -> Any:
    if isinstance(value, str):
        if len(value) > DATA_URL_LIMIT and value.startswith("data:"):
            return f"<data URL omitted: {len(value)} chars>"
        if len(value) > LONG_STRING_LIMIT:
            return value[:LONG_STRING_LIMIT] + f"<cut: {len(value)} chars>"
        return value
    if isinstance(value, dict):
        return {key: _shrink(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_shrink(item) for item in value]
    return value


# -- configuration ----------------------------------------------------------------------------


class HookConfig:
    """Where the data directory is and how to start the supervisor."""

    __slots__ = ("data_dir", "python", "spawn")

    def __init__(self, data_dir: str, python: str, spawn: list[str]) -> None:
        self.data_dir = data_dir
        self.python = python
        self.spawn = spawn


def default_spawn(python: str) -> list[str]:
    """The supervisor's command; ``{data_dir}`` is filled in when the hook loads its config."""
    return [python, "-m", "stashplex", "run", "--data-dir", "{data_dir}"]


def load_config(config_path: str | None = None) -> HookConfig:
    """Read ``stashplex-hook.json`` beside this script; ``$STASHPLEX_DATA_DIR`` wins."""
    path = config_path or os.path.join(os.path.dirname(os.path.abspath(__file__)), CONFIG_NAME)
    try:
        with open(path, encoding="utf-8") as handle:
            config = wire.from_json(handle.read())
    except FileNotFoundError:
        config = {}
    except (OSError, UnicodeDecodeError, wire.FrameError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}; reinstall the plugin") from None
    if not isinstance(config, dict):
        raise ConfigError(f"{path} must hold a JSON object; reinstall the plugin")
    data_dir = os.environ.get(DATA_DIR_ENV) or config.get("data_dir")
    if not isinstance(data_dir, str) or not data_dir:
        raise ConfigError(f"no data directory: set {DATA_DIR_ENV} or reinstall the plugin ({path})")
    python = config.get("python") or sys.executable
    spawn = config.get("spawn") or default_spawn(python)
    if not isinstance(spawn, list) or not spawn or not all(isinstance(a, str) for a in spawn):
        raise ConfigError(f"'spawn' in {path} must be a non-empty list of strings")
    spawn = [argument.replace("{data_dir}", data_dir) for argument in spawn]
    return HookConfig(data_dir, python, spawn)


# -- starting the supervisor ------------------------------------------------------------------


def start_supervisor_detached(
    config: HookConfig, *, cooldown: float = SPAWN_COOLDOWN_SECONDS
) -> bool:
    """Start the supervisor unless another hook just did; True if this call started it.

    Many hooks can find the supervisor missing at once (a scan runs hooks in parallel). A
    non-blocking lock on ``spawn.lock`` plus the last attempt's time stored in it make the
    burst start one process: a loser of the lock, or anyone within ``cooldown`` seconds of the
    last attempt, leaves it alone. The supervisor's own instance lock refuses any duplicate.
    Raises ``OSError`` if the command cannot be started.
    """
    os.makedirs(config.data_dir, mode=0o700, exist_ok=True)
    fd = os.open(os.path.join(config.data_dir, SPAWN_LOCK_NAME), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        if not _try_lock(fd):
            return False
        try:
            os.lseek(fd, 0, os.SEEK_SET)
            try:
                last_attempt = float(os.read(fd, 64) or b"0")
            except ValueError:
                last_attempt = 0.0
            now = time.time()
            if 0 <= now - last_attempt < cooldown:
                return False
            os.ftruncate(fd, 0)
            os.lseek(fd, 0, os.SEEK_SET)
            os.write(fd, repr(now).encode("ascii"))
            _spawn_detached(config)
            return True
        finally:
            _unlock(fd)
    finally:
        os.close(fd)


def _spawn_detached(config: HookConfig) -> None:
    import subprocess

    log_path = os.path.join(config.data_dir, SPAWN_LOG)
    os.makedirs(os.path.dirname(log_path), mode=0o700, exist_ok=True)
    options: dict[str, Any] = {}
    if sys.platform == "win32":  # pragma: no cover - Windows
        options["creationflags"] = subprocess.DETACHED_PROCESS | subprocess.CREATE_NEW_PROCESS_GROUP
    else:
        options["start_new_session"] = True
    spawn_log = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        # Our stdout/stderr are Stash's pipes: a child holding them would keep the save waiting.
        subprocess.Popen(
            config.spawn,
            stdin=subprocess.DEVNULL,
            stdout=spawn_log,
            stderr=subprocess.STDOUT,
            close_fds=True,
            cwd=config.data_dir,
            **options,
        )
    finally:
        os.close(spawn_log)


def _try_lock(fd: int) -> bool:
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        import msvcrt

        os.lseek(fd, 0, os.SEEK_SET)
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _unlock(fd: int) -> None:
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        import msvcrt

        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
        return
    fcntl.flock(fd, fcntl.LOCK_UN)


# -- the hook ---------------------------------------------------------------------------------


def hand_over(config: HookConfig, event: dict[str, Any]) -> int:
    """Deliver ``event`` to the supervisor, else spool it and start the supervisor."""
    reached = False
    try:
        endpoint = wire.endpoint_for(config.data_dir)
        reply = wire.request(endpoint, {"type": "hook", "event": event}, DELIVERY_TIMEOUT_SECONDS)
    except wire.UnreachableError as exc:
        reason = str(exc)
    except wire.FrameError as exc:
        reached, reason = True, f"garbled reply: {exc}"
    else:
        if reply.get("ok") is True:
            emit_result(f"queued {event['trigger']} for {subject(event)}", None)
            return 0
        # build_event checked what the supervisor checks, so a refusal is transient (the host
        # is starting, a mailbox is unwritable); should it not be, the drain sets the file aside.
        reached, reason = True, f"supervisor refused the event: {reply.get('error')}"
    try:
        spool_path = wire.write_spool(config.data_dir, event)
    except OSError as exc:
        return fail(1, f"event for {subject(event)} lost: {reason}; spooling failed: {exc}")
    outcome = f"spooled {event['trigger']} for {subject(event)} ({reason})"
    if reached:
        log("warning", f"{outcome}; the supervisor will pick it up from {spool_path}")
    else:
        try:
            started = start_supervisor_detached(config)
        except OSError as exc:
            log("error", f"{outcome}; could not start the supervisor {config.spawn[0]}: {exc}")
            emit_result(f"{outcome}; supervisor start failed", None)
            return 0
        action = "starting the supervisor" if started else "supervisor start already under way"
        outcome = f"{outcome}; {action}"
        log("info", outcome)
    emit_result(outcome, None)
    return 0


def main() -> int:
    try:
        event = build_event(read_stdin_object())
        return hand_over(load_config(), event)
    except BadInputError as exc:
        return fail(2, f"stashplex hook: {exc}")
    except ConfigError as exc:
        return fail(1, f"stashplex hook: {exc}")
    except Exception as exc:  # noqa: BLE001 - a traceback would land in Stash's log as errors
        detail = f" ({exc.strerror}: {exc.filename})" if isinstance(exc, OSError) else ""
        return fail(1, f"stashplex hook: internal error {type(exc).__name__}{detail}")


if __name__ == "__main__":
    sys.exit(main())
