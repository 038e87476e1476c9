"""What the hook tells the user about the supervisor: new problems, and a start that failed.

Failures happen in the supervisor, long after the hook that could show them has exited, so the
supervisor records them in ``<data dir>/problems.json`` (written by
:mod:`stashplex.runtime.problems`, which owns the format) and every hook reads that one small
file: a problem not logged before is logged once, at error level, with its fix. A supervisor
that dies before it can record anything (its Python cannot import a package) is noticed from
its start log instead, by the next hook that finds it gone.

Part of the stdlib-only hook link (see :mod:`stashplex.link.wire`): copied next to the hook.
"""

# pathlib costs ~10 ms of start-up (it imports re, fnmatch, urllib): the hook pays for every byte.
# ruff: noqa: PTH105, PTH116, PTH118, PTH123

from __future__ import annotations

import os

from . import wire

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

#: Same names as in ``stashplex.runtime.problems`` (a test keeps them equal).
PROBLEMS_FILE = "problems.json"
SEEN_FILE = "problems.seen"
#: How much of a start log is read to find why a supervisor died.
TAIL_BYTES = 16 * 1024


def unreported_problems(data_dir: str) -> list[str]:
    """One line per problem recorded since the last report, oldest first; marks them reported.

    The common case (nothing wrong: no record) costs one failed ``open``. Concurrent hooks
    take a lock on ``problems.seen`` so that each problem is logged by one of them only; the
    record is read again under it, as the supervisor counts dead letters under it
    (``ProblemLog.tally``): what is logged and marked seen is exactly what was read.
    """
    if not recorded_problems(data_dir):
        return []
    fd = os.open(os.path.join(data_dir, SEEN_FILE), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        _lock(fd)
        valid = list(recorded_problems(data_dir).values())
        try:
            seen = int(os.read(fd, 64) or b"0")
        except ValueError:
            seen = 0
        fresh = sorted((p for p in valid if p["rev"] > seen), key=lambda p: p["rev"])
        if fresh:
            os.ftruncate(fd, 0)
            os.lseek(fd, 0, os.SEEK_SET)
            os.write(fd, str(max(p["rev"] for p in fresh)).encode("ascii"))
    finally:
        os.close(fd)  # closing drops the lock
    return [wire.one_line(f"stashplex: {p['message']}. Fix: {p['fix']}") for p in fresh]


def recorded_problems(data_dir: str) -> dict[str, dict[str, Any]]:
    """The well-formed problems of the record by key (none if there is no readable record)."""
    try:
        with open(os.path.join(data_dir, PROBLEMS_FILE), encoding="utf-8") as handle:
            record = wire.from_json(handle.read())
    except (OSError, UnicodeDecodeError, wire.FrameError):
        return {}
    problems = record.get("problems") if isinstance(record, dict) else None
    if not isinstance(problems, dict):
        return {}
    return {
        key: p
        for key, p in problems.items()
        if isinstance(p, dict)
        and type(p.get("rev")) is int
        and isinstance(p.get("message"), str)
        and isinstance(p.get("fix"), str)
    }


def failed_start(data_dir: str, attempt: dict[str, Any], log_path: str) -> str | None:
    """Why the supervisor a hook started last has died without ever answering, if it has.

    ``attempt`` is what the hook recorded when it started it: ``at`` (time), ``pid`` and
    ``log_from`` (the start log's size then). None while it runs, once its actor host became
    ready (``host.pid`` written since), when it recorded its own problem since (the hook
    shows that one), or when it left no output to explain itself.
    """
    pid, at = attempt.get("pid"), attempt.get("at")
    if type(pid) is not int or not isinstance(at, int | float) or _running(pid):
        return None
    if supervisor_alive(data_dir):
        return None  # it found another supervisor in charge, which is no failure
    try:
        if os.stat(os.path.join(data_dir, "host.pid")).st_mtime >= at:
            return None
    except OSError:
        pass
    try:
        with open(os.path.join(data_dir, PROBLEMS_FILE), encoding="utf-8") as handle:
            record = wire.from_json(handle.read())
        if isinstance(record, dict) and int(record.get("rev", 0)) >= at * 1e9:
            return None
    except (OSError, UnicodeDecodeError, ValueError, TypeError):
        pass
    lines = read_log_tail(log_path, attempt.get("log_from"))
    return reason_from_output(lines) or None


def read_log_tail(log_path: str, start: Any) -> list[str]:
    """The lines written to ``log_path`` since it was ``start`` bytes long (its last 16 KiB)."""
    begin = start if type(start) is int and start >= 0 else 0
    try:
        with open(log_path, "rb") as handle:
            size = handle.seek(0, os.SEEK_END)
            if size < begin:  # the log was rotated meanwhile
                begin = 0
            handle.seek(max(begin, size - TAIL_BYTES))
            data = handle.read()
    except OSError:
        return []
    return data.decode("utf-8", errors="replace").splitlines()


def reason_from_output(lines: list[str]) -> str:
    """The line that says why a process died: a traceback's last line, our one-line error,
    a log line at ERROR; else the last line; credentials in it masked. (``stashplex.runtime.
    problems`` has the same rule for the watchdog, which cannot import this copied package.)"""
    return _masked(_reason(lines))


def _masked(text: str) -> str:
    """``text`` with what follows ``token=``, ``apikey:`` and the like replaced by ``***``.

    No ``re`` here (its import costs the hook milliseconds), and this runs on the rare path
    only; Plex puts its token into every URL that a traceback may quote.
    """
    lowered = text.lower()
    out, index = [], 0
    for key in ("x-plex-token", "apikey", "api_key", "token", "session"):
        start = lowered.find(key, index)
        while start != -1:
            end = start + len(key)
            if end < len(text) and text[end] in "=:":
                value = end + 1
                while value < len(text) and text[value] == " ":
                    value += 1
                stop = value
                while stop < len(text) and text[stop] not in "& '\"":
                    stop += 1
                if stop > value:
                    out.append((value, stop))
            start = lowered.find(key, end)
    for value, stop in sorted(set(out), reverse=True):
        text = text[:value] + "***" + text[stop:]
    return text


def _reason(lines: list[str]) -> str:
    for line in reversed(lines):
        text = line.strip()
        head = text.partition(":")[0]
        if head.endswith(("Error", "Exception", "Exit")) and " " not in head:
            return wire.one_line(text, 500)
        if text.startswith("stashplex "):
            return wire.one_line(text, 500)
        for level in (" ERROR ", " CRITICAL "):
            if level in text:
                return wire.one_line(text.partition(level)[2].partition(": ")[2] or text, 500)
    for line in reversed(lines):
        if line.strip():
            return wire.one_line(line, 500)
    return ""


# -- the hook's record of its last supervisor start (``spawn.lock``) --------------------------


def read_attempt(fd: int) -> dict[str, Any]:
    """The last start recorded in ``spawn.lock`` (older versions stored the time alone)."""
    os.lseek(fd, 0, os.SEEK_SET)
    raw = os.read(fd, 4096).decode("utf-8", errors="replace")
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
    os.ftruncate(fd, 0)
    os.lseek(fd, 0, os.SEEK_SET)
    os.write(fd, wire.to_json(attempt).encode("ascii"))


def rotated_size(log_path: str, max_bytes: int) -> int:
    """The start log's size, after moving it to ``.1`` if it grew too big."""
    try:
        size = os.stat(log_path).st_size
    except OSError:
        return 0
    if size <= max_bytes:
        return size
    try:
        os.replace(log_path, log_path + ".1")
    except OSError:
        return size
    return 0


def supervisor_alive(data_dir: str) -> bool:
    """Whether a supervisor holds the data directory (it may be busy restarting its host).

    Its instance lock names its pid. Without ``/proc`` to confirm that pid is stashplex's (a
    killed supervisor leaves its pid behind, and pids are reused), the answer is no: starting
    one more is harmless, since a second supervisor refuses to run.
    """
    try:
        with open(os.path.join(data_dir, "supervisor.lock"), encoding="utf-8") as handle:
            pid = wire.from_json(handle.read() or "{}").get("pid")
        if type(pid) is not int or not _running(pid):
            return False
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            return b"stashplex" in handle.read()
    except (OSError, UnicodeDecodeError, AttributeError, wire.FrameError):
        return False


def _running(pid: int) -> bool:
    """Whether ``pid`` runs and is not a zombie (in Docker, Stash reaps nobody)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # it exists but is not ours to signal
        return True
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            return handle.read().rpartition(b")")[2].split()[0] != b"Z"
    except (OSError, IndexError):
        return True


def _lock(fd: int) -> None:
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        import msvcrt

        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_LOCK, 1)
        os.lseek(fd, 0, os.SEEK_SET)
        return
    fcntl.flock(fd, fcntl.LOCK_EX)
