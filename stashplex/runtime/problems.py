"""The problems record: what is wrong that a person must fix, kept for Stash's log to show.

Stash shows nothing but what the plugin's own processes print, and the hook lives for
milliseconds while failures happen later, inside the supervisor: settings it refuses, an actor
host that cannot start, a Plex token Plex rejects, Plex down for long, scenes given up on. So
the watchdog, the actor host and its actors write each problem here, with the one thing that
fixes it, and the hook reads this one small file on every save and logs each problem it has
not logged yet at error level (:mod:`stashplex.link.notices`).

``<data dir>/problems.json``, version 1::

    {"v": 1, "rev": 17, "problems": {"<key>": {"message": "...", "fix": "...",
        "since": 1767225600.0, "last": 1767225660.0, "rev": 17, "counts": {"ambiguous": 2}}}}

``rev`` grows with every change. It is based on ``time.time_ns()``, so it keeps growing when
the file is removed because nothing is wrong (the hook's common case is then one failed
``open``). The hook remembers the highest ``rev`` it has logged in ``problems.seen``; a
problem whose text changes gets a new ``rev`` and is logged again, one that stays the same is
logged once. Two processes write the record (watchdog and host), so each change is a
read-modify-write under an ``flock`` that lands with an atomic rename: a reader never sees
half a file. Standard library only: the lean watchdog imports it.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: one writer at a time is all we can hope for
    fcntl = None  # type: ignore[assignment]

#: The record; ``stashplex.link.notices`` reads it under the same name (a test keeps them equal).
PROBLEMS_FILE = "problems.json"
#: The highest ``rev`` the hook has logged.
SEEN_FILE = "problems.seen"
LOCK_FILE = "problems.lock"
VERSION = 1

#: The supervisor or its actor host exits before it ever answers.
CANNOT_START = "cannot_start"
#: Settings refused at start, or changed settings refused while running.
SETTINGS = "settings"
#: Plex answered 401: the token is wrong or revoked.
PLEX_TOKEN = "plex_token"  # noqa: S105 - a key of this record, not a token
#: The circuit breaker has held every sync for long.
PLEX_DOWN = "plex_down"
#: No file of a batch of scenes lies in a Plex library: the path map is wrong or missing.
PATH_MAP = "path_map"
#: Scenes given up on since the last report.
DEAD_LETTERS = "dead_letters"

#: Counts by reason -> (message, fix), for problems that accumulate (dead letters).
Render = Callable[[dict[str, int]], tuple[str, str]]


class Problem(NamedTuple):
    key: str
    message: str
    fix: str
    since: float
    rev: int
    #: When it was last reported, the same or not (a start waits for news of itself).
    last: float

    def line(self) -> str:
        """The problem as the one line Stash's log shows (what the hook logs)."""
        return f"stashplex: {self.message}. Fix: {self.fix}"


class ProblemLog:
    """Reads and changes ``problems.json`` in one data directory."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)
        self.path = self.root / PROBLEMS_FILE

    # -- reading ----------------------------------------------------------------------------

    def active(self) -> dict[str, Problem]:
        """Every problem recorded now (a missing or unreadable record holds none)."""
        return {
            key: Problem(key, p["message"], p["fix"], p["since"], p["rev"], _last(p))
            for key, p in _problems(self._read()).items()
        }

    def seen_rev(self) -> int:
        """The highest ``rev`` the hook has already logged."""
        try:
            return int((self.root / SEEN_FILE).read_text(encoding="ascii").strip() or 0)
        except (OSError, ValueError):
            return 0

    # -- changing ---------------------------------------------------------------------------

    def report(self, key: str, message: str, fix: str) -> bool:
        """Record ``key`` as wrong; True if that changed its text (and the hook logs it again).

        Reporting the same text again only moves its ``last`` time: a start that fails the
        same way as the one before is news to whoever waits for this start, not to Stash's log.
        """
        message, fix = _one_line(message), _one_line(fix)
        now = time.time()
        with self._change() as problems:
            current = problems.get(key)
            if current and (current["message"], current["fix"]) == (message, fix):
                current["last"] = now
                return False
            since = current["since"] if current else now
            problems[key] = {"message": message, "fix": fix, "since": since, "last": now}
            return True

    def resolve(self, *keys: str) -> bool:
        """Forget ``keys`` (fixed); True if any was recorded. Cheap when none is."""
        if not any(key in _problems(self._read()) for key in keys):
            return False
        with self._change() as problems:
            return bool([problems.pop(key) for key in keys if key in problems])

    def tally(self, key: str, reason: str, render: Render) -> None:
        """Count one more ``reason`` under ``key``, since the hook last logged it.

        Under the hook's own lock on ``problems.seen`` (taken inside ours, so no two orders):
        the hook reads the record, logs it and marks it seen while holding that lock, so a
        count either starts afresh after the hook marked the problem seen, or adds to one the
        hook has not read; a count the hook has logged is never shown again.
        """
        with self._change() as problems, self._seen_locked() as seen:
            current = problems.get(key)
            fresh = current is None or current.get("rev", 0) <= seen
            counts = {} if fresh else dict(current.get("counts") or {})
            counts[reason] = counts.get(reason, 0) + 1
            message, fix = render(counts)
            since = time.time() if fresh else current["since"]
            problems[key] = {
                "message": _one_line(message),
                "fix": _one_line(fix),
                "since": since,
                "counts": counts,
            }

    # -- the file ---------------------------------------------------------------------------

    @contextlib.contextmanager
    def _seen_locked(self) -> Iterator[int]:
        """The highest ``rev`` the hook has logged, while no hook can log (its lock)."""
        fd = os.open(self.root / SEEN_FILE, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                yield int(os.read(fd, 64).strip() or 0)
            except ValueError:
                yield 0
        finally:
            os.close(fd)  # closing drops the lock

    def _read(self) -> Any:
        try:
            return json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    @contextlib.contextmanager
    def _change(self) -> Iterator[dict[str, dict[str, Any]]]:
        """The problems, to change in place; written back only if the caller changed them."""
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(self.root / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_EX)
            record = self._read()
            before = _problems(record)
            problems = {key: dict(value) for key, value in before.items()}
            yield problems
            if problems != before:
                self._write(record, before, problems)
        finally:
            os.close(fd)  # closing drops the lock

    def _write(self, record: Any, before: dict[str, Any], problems: dict[str, Any]) -> None:
        old_rev = record.get("rev", 0) if isinstance(record, dict) else 0
        # Above what the hook has seen even if the clock went back: or it would never be logged.
        floor = max(old_rev if isinstance(old_rev, int) else 0, self.seen_rev()) + 1
        rev = max(floor, time.time_ns())
        for key, value in problems.items():
            old = before.get(key)
            same = old is not None and _essence(old) == _essence(value)
            value["rev"] = old["rev"] if same else rev
        if not problems:
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()
            return
        text = json.dumps({"v": VERSION, "rev": rev, "problems": problems}, ensure_ascii=True)
        tmp = self.path.with_name(f"{PROBLEMS_FILE}.{os.getpid()}.tmp")
        tmp.write_text(text, encoding="ascii")
        tmp.chmod(0o600)
        tmp.replace(self.path)


def _problems(record: Any) -> dict[str, dict[str, Any]]:
    """The well-formed problems of a record; anything else reads as nothing wrong."""
    if not isinstance(record, dict) or not isinstance(record.get("problems"), dict):
        return {}
    return {
        key: value
        for key, value in record["problems"].items()
        if isinstance(value, dict)
        and isinstance(value.get("message"), str)
        and isinstance(value.get("fix"), str)
        and isinstance(value.get("since"), int | float)
        and isinstance(value.get("rev"), int)
    }


def _last(problem: dict[str, Any]) -> float:
    last = problem.get("last")
    return float(last) if isinstance(last, int | float) else float(problem["since"])


def _essence(problem: dict[str, Any]) -> dict[str, Any]:
    """What a report says; a change to it (not to when it was last seen) is news."""
    return {k: v for k, v in problem.items() if k not in ("rev", "last")}


#: Credentials as they appear in URLs and headers a traceback may quote (Plex puts its token in
#: every URL): the record is shown in Stash's log, so they are masked before it is written.
_CREDENTIAL = re.compile(r"(?i)\b(x-plex-token|apikey|api_key|token|session)([=:]\s*)[^&\s'\"]+")


def _one_line(text: str, limit: int = 1000) -> str:
    flat = _CREDENTIAL.sub(r"\1\2***", " ".join(str(text).split()))
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def reason_from_output(lines: list[str]) -> str:
    """The line of a dead process's output that says why it died, else its last line.

    A traceback ends in ``SomeError: text``; our own commands end in one ``stashplex ...:``
    line; a log line at ERROR says it after the logger's name. (``stashplex.link.notices``
    has the same rule for the hook, which cannot import this package.)
    """
    for line in reversed(lines):
        text = line.strip()
        head = text.partition(":")[0]
        if head.endswith(("Error", "Exception", "Exit")) and " " not in head:
            return _one_line(text, 500)
        if text.startswith("stashplex "):
            return _one_line(text, 500)
        for level in (" ERROR ", " CRITICAL "):
            if level in text:
                return _one_line(text.partition(level)[2].partition(": ")[2] or text, 500)
    for line in reversed(lines):
        if line.strip():
            return _one_line(line, 500)
    return ""
