"""The record of supervisor starts (``spawn.lock``), and why a start failed.

Whoever starts the supervisor (a hook, or the *Start supervisor* and *Install / repair* tasks)
records the attempt in ``<data dir>/spawn.lock``: when, the pid, and how long the supervisor's
log was then. A supervisor that dies before it can record a problem of its own (its Python
cannot import a package, its virtualenv is broken) leaves its last words in that log only, so
the next hook that finds it gone reads them from there and logs them in Stash's log once per
change; a task, the started process's parent, says the same at once.

Part of the stdlib-only hook link (see :mod:`stashplex.link.wire`): copied next to the hook.
"""

# pathlib costs ~10 ms of start-up (it imports re, fnmatch, urllib): the hook pays for every byte.
# ruff: noqa: PTH123

from __future__ import annotations

from . import lean_os, notices, wire

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

#: How much of a start log is read to find why a supervisor died.
TAIL_BYTES = 16 * 1024
#: A start log past this size is moved to ``.1`` before the next start appends to it.
SPAWN_LOG_MAX_BYTES = 10 * 1024 * 1024
#: What the supervisor's stages write once they are past the point where they could die mute:
#: the installer's record (``stashplex_environment.PROVISION_RECORD``; it reports its own
#: failures) and the actor host's pid, written when it is ready.
PROVISION_FILE = "provision.json"
HOST_PID_FILE = "host.pid"
#: The record of the last start, and the lock around starting (the hook's ``SPAWN_LOCK_NAME``).
START_RECORD = "spawn.lock"
#: The data directory's files are never opened through a symbolic link.
_NOFOLLOW = lean_os.O_NOFOLLOW
#: ``stashplex run``'s exit code when another supervisor holds the data directory.
EXIT_ALREADY_RUNNING = 4
#: The plugin task that rebuilds the supervisor's environment (``environment.INSTALL_TASK``).
INSTALL_TASK = "Install / repair"


def failed_start(data_dir: str, attempt: dict[str, Any], log_path: str) -> str | None:
    """Why the supervisor a hook started last has died without ever answering, if it has.

    ``attempt`` is what the hook recorded when it started it: ``at`` (time), ``pid`` and
    ``log_from`` (the start log's size then). None while it runs, once its actor host became
    ready (``host.pid`` written since), when it recorded its own problem since (the hook
    shows that one), when what was started is the installer (it records its outcome in
    ``provision.json``), or when it left no output to explain itself.
    """
    pid, at = attempt.get("pid"), attempt.get("at")
    if type(pid) is not int or not isinstance(at, int | float) or notices.running(pid):
        return None
    if notices.supervisor_alive(data_dir):
        return None  # it found another supervisor in charge, which is no failure
    for name in (HOST_PID_FILE, PROVISION_FILE):
        try:
            if lean_os.stat(lean_os.join(data_dir, name)).st_mtime >= at:
                return None
        except OSError:
            pass
    try:
        with open(lean_os.join(data_dir, notices.PROBLEMS_FILE), encoding="utf-8") as handle:
            record = wire.from_json(handle.read())
        if isinstance(record, dict) and int(record.get("rev", 0)) >= at * 1e9:
            return None
    except (OSError, UnicodeDecodeError, ValueError, TypeError):
        pass
    lines = read_log_tail(log_path, attempt.get("log_from"))
    return notices.reason_from_output(lines) or None


def start_news(data_dir: str, attempt: dict[str, Any], log_path: str) -> str | None:
    """The reason the last start died mute, if Stash's log has not had it yet; else None.

    Once per change: the reason is kept in ``attempt["reported"]`` (the caller writes the
    attempt back), so starts that keep failing the same way are logged once, a new reason is
    logged again, and a start that came up (its host wrote ``host.pid``) forgets the old one.
    """
    reason = failed_start(data_dir, attempt, log_path)
    if reason is None:
        if _came_up(data_dir, attempt):
            attempt.pop("reported", None)
        return None
    if reason == attempt.get("reported"):
        return None
    attempt["reported"] = reason
    return reason


def _came_up(data_dir: str, attempt: dict[str, Any]) -> bool:
    at = attempt.get("at")
    try:
        return (
            isinstance(at, int | float)
            and lean_os.stat(lean_os.join(data_dir, HOST_PID_FILE)).st_mtime >= at
        )
    except OSError:
        return False


def start_fix(reason: str, log_path: str, *, python: str, managed: bool) -> str:
    """What fixes a supervisor that dies at start for ``reason``; ``managed``: its Python
    environment is the one the plugin builds in the data directory."""
    where = f"its whole output is in {log_path}"
    if not any(word in reason for word in ("ImportError", "No module named", "ModuleNotFound")):
        return f"{where}; once fixed, the next save or the 'Start supervisor' task starts it"
    if managed:
        return (
            f"run the '{INSTALL_TASK}' task (Settings > Tasks > Plugin Tasks), which rebuilds the "
            f"supervisor's Python environment; {where}"
        )
    return (
        f"install stashplex and its dependencies for {python} (`{python} -m pip install -e "
        f"<your stashplex checkout>`), then save again; {where}"
    )


def start_problem(data_dir: str, since: float) -> dict[str, Any] | None:
    """What a supervisor recorded about its start at or after ``since`` (a time): a refused
    setting, or an actor host that cannot start; with its ``key``."""
    problems = notices.recorded_problems(data_dir)
    for key in ("settings", "cannot_start"):  # ``stashplex.runtime.problems`` SETTINGS, ...
        problem = problems.get(key)
        if problem is None:
            continue
        last = problem.get("last")
        seen = max(problem["rev"] / 1e9, last if isinstance(last, int | float) else 0.0)
        if seen >= since:
            return {**problem, "key": key}
    return None


def task_failure(
    config: Any, since: float, code: int | None, attempt: dict[str, Any], *, holder: int | None
) -> str | None:
    """Why the supervisor a task started at ``since`` cannot come up, with its fix and the one
    log that says more; None while it may still. ``config`` is the hook's (``data_dir``,
    ``python``, ``managed``), ``code`` the process's exit code (None while it runs), ``holder``
    the pid of another supervisor that holds the data directory, if one does. A reason read
    from its log is marked reported in ``attempt``: the task shows it, hooks need not."""
    data_dir = config.data_dir
    log_path = lean_os.join(data_dir, "logs", "supervisor.log")
    keeps_trying = "it keeps trying (the 'Stop supervisor' task stops it)"
    if holder is not None:  # ours will leave it in charge
        problem = notices.recorded_problems(data_dir).get("cannot_start")
        if problem is None:
            return None  # it is coming up: wait for its answer
        return (
            f"a supervisor runs (pid {holder}), but {problem['message']}; {keeps_trying}. "
            f"Fix: {problem['fix']} (details in {log_path})"
        )
    if code == EXIT_ALREADY_RUNNING:
        return None  # the one in charge has gone meanwhile: the caller starts again
    problem = start_problem(data_dir, since)
    if problem is not None:
        host_log = lean_os.join(data_dir, "logs", "host.log")
        if problem["key"] == "settings" and _modified_since(host_log, since):
            log_path = host_log  # the host refused them, and says why there
        state = "it exited" if code is not None else keeps_trying
        return f"{problem['message']}; {state}. Fix: {problem['fix']} (details in {log_path})"
    if code is None:
        return None
    reason = notices.reason_from_output(read_log_tail(log_path, attempt.get("log_from")))
    reason = reason or "it printed nothing"
    attempt["reported"] = reason
    fix = start_fix(reason, log_path, python=config.python, managed=config.managed)
    return f"the supervisor exited at start (code {code}): {reason}. Fix: {fix}"


def _modified_since(path: str, since: float) -> bool:
    try:
        return lean_os.stat(path).st_mtime >= since
    except OSError:
        return False


def read_log_tail(log_path: str, start: Any) -> list[str]:
    """The lines written to ``log_path`` since it was ``start`` bytes long (its last 16 KiB)."""
    begin = start if type(start) is int and start >= 0 else 0
    try:
        with open(log_path, "rb") as handle:
            size = handle.seek(0, lean_os.SEEK_END)
            if size < begin:  # the log was rotated meanwhile
                begin = 0
            handle.seek(max(begin, size - TAIL_BYTES))
            data = handle.read()
    except OSError:
        return []
    return data.decode("utf-8", errors="replace").splitlines()


# -- the hook's record of its last supervisor start (``spawn.lock``) --------------------------


def read_attempt(fd: int) -> dict[str, Any]:
    """The last start recorded in ``spawn.lock`` (older versions stored the time alone)."""
    lean_os.lseek(fd, 0, lean_os.SEEK_SET)
    raw = lean_os.read(fd, 4096).decode("utf-8", errors="replace")
    try:
        value = wire.from_json(raw) if raw.strip() else {}
    except wire.FrameError:
        value = {}
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = {"at": float(value)}
    if not isinstance(value, dict):
        return {}
    if not isinstance(value.get("at"), int | float) or isinstance(value.get("at"), bool):
        value.pop("at", None)
    return value


def write_attempt(fd: int, attempt: dict[str, Any]) -> None:
    lean_os.ftruncate(fd, 0)
    lean_os.lseek(fd, 0, lean_os.SEEK_SET)
    lean_os.write(fd, wire.to_json(attempt).encode("ascii"))


def end_cooldown(data_dir: str) -> bool:
    """Forget the last start's time, once the supervisor it started was stopped on purpose.

    A hook starts no supervisor within its cooldown of the last start (so that a scan's burst of
    hooks starts one). After a ``stop``, that would leave a save made within the cooldown
    spooled, with no supervisor coming for it until some later save. Best effort: False when a
    hook holds the record (it is starting one) or the record cannot be written.
    """
    try:
        fd = lean_os.open_fd(lean_os.join(data_dir, START_RECORD), lean_os.O_RDWR | _NOFOLLOW)
    except OSError:
        return False  # no start was ever recorded: no cooldown either
    try:
        if not try_lock(fd):
            return False
        try:
            last = read_attempt(fd)
            write_attempt(fd, {k: v for k, v in last.items() if k == "reported"})
            return True
        finally:
            unlock(fd)
    except OSError:
        return False
    finally:
        lean_os.close(fd)


def rotated_size(log_path: str, max_bytes: int) -> int:
    """The start log's size, after moving it to ``.1`` if it grew too big."""
    try:
        size = lean_os.stat(log_path).st_size
    except OSError:
        return 0
    if size <= max_bytes:
        return size
    try:
        lean_os.replace(log_path, log_path + ".1")
    except OSError:
        return size
    return 0


def try_lock(fd: int) -> bool:
    """Take an exclusive lock on ``fd`` if nobody holds it; False if somebody does."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        import msvcrt

        lean_os.lseek(fd, 0, lean_os.SEEK_SET)
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


def unlock(fd: int) -> None:
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        import msvcrt

        lean_os.lseek(fd, 0, lean_os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
        return
    fcntl.flock(fd, fcntl.LOCK_UN)
