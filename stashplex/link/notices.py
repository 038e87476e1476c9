"""What the hook tells the user about the supervisor: new problems, and a start that failed.

Failures happen in the supervisor, long after the hook that could show them has exited, so the
supervisor records them in ``<data dir>/problems.json`` (written by
:mod:`stashplex.runtime.problems`, which owns the format) and every hook reads that one small
file: a problem not logged before is logged once, at error level, with its fix. A supervisor
that dies before it can record anything (its Python cannot import a package) is noticed from
its start log instead, by the next hook that finds it gone (:mod:`stashplex.link.starts`).

Part of the stdlib-only hook link (see :mod:`stashplex.link.wire`): copied next to the hook.
"""

# pathlib costs ~10 ms of start-up (it imports re, fnmatch, urllib): the hook pays for every byte.
# ruff: noqa: PTH123

from __future__ import annotations

from . import lean_os, wire

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

#: Same names as in ``stashplex.runtime.problems`` (a test keeps them equal).
PROBLEMS_FILE = "problems.json"
SEEN_FILE = "problems.seen"


def unreported_problems(data_dir: str) -> list[str]:
    """One line per problem recorded since the last report, oldest first; marks them reported.

    The common case (nothing wrong: no record) costs one failed ``open``. Concurrent hooks
    take a lock on ``problems.seen`` so that each problem is logged by one of them only; the
    record is read again under it, as the supervisor counts dead letters under it
    (``ProblemLog.tally``): what is logged and marked seen is exactly what was read.
    """
    if not recorded_problems(data_dir):
        return []
    fd = lean_os.open_fd(lean_os.join(data_dir, SEEN_FILE), lean_os.O_RDWR | lean_os.O_CREAT, 0o600)
    try:
        _lock(fd)
        valid = list(recorded_problems(data_dir).values())
        try:
            seen = int(lean_os.read(fd, 64) or b"0")
        except ValueError:
            seen = 0
        fresh = sorted((p for p in valid if p["rev"] > seen), key=lambda p: p["rev"])
        if fresh:
            lean_os.ftruncate(fd, 0)
            lean_os.lseek(fd, 0, lean_os.SEEK_SET)
            lean_os.write(fd, str(max(p["rev"] for p in fresh)).encode("ascii"))
    finally:
        lean_os.close(fd)  # closing drops the lock
    return [wire.one_line(f"stashplex: {p['message']}. Fix: {p['fix']}") for p in fresh]


def recorded_problems(data_dir: str) -> dict[str, dict[str, Any]]:
    """The well-formed problems of the record by key (none if there is no readable record)."""
    try:
        with open(lean_os.join(data_dir, PROBLEMS_FILE), encoding="utf-8") as handle:
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


def supervisor_alive(data_dir: str) -> bool:
    """Whether a supervisor holds the data directory (it may be busy restarting its host).

    Its instance lock names its pid. Without ``/proc`` to confirm that pid is stashplex's (a
    killed supervisor leaves its pid behind, and pids are reused), the answer is no: starting
    one more is harmless, since a second supervisor refuses to run.
    """
    try:
        with open(lean_os.join(data_dir, "supervisor.lock"), encoding="utf-8") as handle:
            pid = wire.from_json(handle.read() or "{}").get("pid")
        if type(pid) is not int or not running(pid):
            return False
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            return b"stashplex" in handle.read()
    except (OSError, UnicodeDecodeError, AttributeError, wire.FrameError):
        return False


def running(pid: int) -> bool:
    """Whether ``pid`` runs and is not a zombie (in Docker, Stash reaps nobody)."""
    try:
        lean_os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # it exists but is not ours to signal
        return True
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            return handle.read().rpartition(b")")[2].split()[0] != b"Z"
    except (OSError, IndexError):
        return True


_running = running  # its former name


def _lock(fd: int) -> None:
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        import msvcrt

        lean_os.lseek(fd, 0, lean_os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_LOCK, 1)
        lean_os.lseek(fd, 0, lean_os.SEEK_SET)
        return
    fcntl.flock(fd, fcntl.LOCK_EX)
