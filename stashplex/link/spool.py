"""Drain the hook spool: events hooks left while the supervisor was away.

A hook that cannot reach the supervisor writes its event to ``<data_dir>/spool/`` (see
``handoff.write_spool``) and starts the supervisor. The supervisor drains the spool at start and
whenever it likes: oldest first, each event handed to a sink that makes it durable (the Intake
mailbox), and only then the file deleted, so a crash in between delivers twice, never zero
times. A file that cannot be read, or whose event the sink refuses as invalid, is quarantined
in ``spool/bad/`` with a logged reason rather than blocking the queue or vanishing: retrying it
could never succeed, and every event spooled after it would wait forever. Only a transient
failure of the sink (its mailbox cannot be written, the host is still starting) stops the drain.

A spool file is read without following a symbolic link (a link is quarantined, never read), and
a refused event is kept without the session cookie it carried: the cookie's use is over.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

from stashplex.link import handoff, wire

logger = logging.getLogger(__name__)

#: Unfinished ``.tmp`` files older than this belong to a hook that died mid-write.
STALE_TMP_SECONDS = 60.0
#: Where unreadable or refused spool files are kept for a human to look at.
QUARANTINE_DIR = "bad"

#: Takes one event and makes it durable. Raises ``ValueError`` (pydantic's ``ValidationError``
#: is one) if the event itself is invalid, anything else if it could not be taken just now.
Sink = Callable[[dict[str, Any]], None]


class DrainReport(NamedTuple):
    delivered: int = 0
    #: Files set aside in ``spool/bad/``: unreadable, or holding an event the sink refused.
    quarantined: int = 0
    stale_tmp_removed: int = 0
    #: Why draining stopped early (the sink failed); the remaining files stay for next time.
    halted_by: str | None = None


def spool_dir(data_dir: Path) -> Path:
    return Path(data_dir) / wire.SPOOL_DIR


def write_event(data_dir: Path, event: dict[str, Any], *, fsync: bool) -> Path:
    """The front door's spool write: the hook's format (``handoff.write_spool``), as durable as
    the mailboxes. Written, then renamed into place, so the drain sees a whole file or none;
    that survives any process crash. ``fsync`` (``mailbox_sync = "full"``) also makes it
    survive a power loss, at the price of two fsyncs, where the mailboxes' WAL pays one."""
    return Path(handoff.write_spool(data_dir, event, fsync=fsync))


def drain_spool(
    data_dir: Path,
    sink: Sink,
    *,
    stale_tmp_seconds: float = STALE_TMP_SECONDS,
    quiet: bool = False,
) -> DrainReport:
    """Deliver every spooled event to ``sink`` in the order the hooks wrote them.

    If ``sink`` raises ``ValueError`` the event is invalid and would be refused on every retry,
    so its file is quarantined and draining goes on. If it raises anything else, draining
    stops, that file stays, and the report says why; the caller may simply try again later.
    ``quiet`` logs delivered events at debug level only: the front door spools every hook.
    """
    folder = spool_dir(data_dir)
    if not folder.is_dir():
        return DrainReport()
    delivered = quarantined = 0
    stale_removed = _remove_stale_tmp(folder, stale_tmp_seconds)
    for path in sorted(folder.glob("*.json")):
        try:
            event = handoff.read_spool_record(_read(path))
        except FileNotFoundError:
            continue  # drained concurrently (a second drain call); nothing to do
        except (OSError, wire.FrameError) as exc:
            _quarantine(path, f"is unreadable ({exc})")
            quarantined += 1
            continue
        try:
            sink(event)
        except ValueError as exc:  # invalid event (ValidationError too): retrying cannot help
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            _forget_cookie(path, event)
            _quarantine(path, f"holds an event the supervisor refuses ({reason})")
            quarantined += 1
            continue
        except Exception as exc:  # noqa: BLE001 - report, keep the file, let the caller retry
            logger.error("spool drain stopped at %s: sink raised %s", path.name, type(exc).__name__)
            return DrainReport(
                delivered, quarantined, stale_removed, f"sink raised {type(exc).__name__}"
            )
        path.unlink(missing_ok=True)
        delivered += 1
    if quarantined or (delivered and not quiet):
        logger.info("spool drained: %d delivered, %d quarantined", delivered, quarantined)
    return DrainReport(delivered, quarantined, stale_removed)


def _read(path: Path) -> bytes:
    """The file's bytes, never through a link, and no more than any event can be."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    with os.fdopen(fd, "rb") as handle:
        data = handle.read(wire.MAX_FRAME_BYTES + 1)
    if len(data) > wire.MAX_FRAME_BYTES:
        raise wire.FrameError(f"it is larger than {wire.MAX_FRAME_BYTES} bytes")
    return data


def _forget_cookie(path: Path, event: dict[str, Any]) -> None:
    """Rewrite a refused event without its session cookie before it is kept for a human."""
    connection = event.get("connection")
    if not isinstance(connection, dict) or connection.get("session_cookie") is None:
        return
    kept = {**event, "connection": {**connection, "session_cookie": None}}
    body = wire.to_json({"v": wire.PROTOCOL_VERSION, "event": kept}).encode("ascii")
    tmp = path.with_name(path.name + ".forget.tmp")
    try:
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
        fd = os.open(tmp, flags, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(body)
        tmp.replace(path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        logger.warning("spool file %s keeps its cookie: %s", path.name, exc)


def _quarantine(path: Path, problem: str) -> None:
    """Move ``path`` to ``spool/bad/``; ``problem`` completes "spool file <name> ..."."""
    bad = path.parent / QUARANTINE_DIR
    target = bad / path.name
    try:
        bad.mkdir(mode=0o700, exist_ok=True)
        path.replace(target)
    except OSError as exc:
        logger.error("spool file %s %s and cannot be moved: %s", path, problem, exc)
        return
    logger.error("spool file %s %s; moved to %s", path.name, problem, target)


def _remove_stale_tmp(folder: Path, max_age: float) -> int:
    removed = 0
    cutoff = time.time() - max_age
    for path in folder.glob("*.tmp"):
        try:
            if path.stat().st_mtime < cutoff:
                path.unlink()
                removed += 1
        except FileNotFoundError:
            continue
    if removed:
        logger.warning("removed %d unfinished spool file(s) left by interrupted hooks", removed)
    return removed
