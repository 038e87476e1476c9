"""PlexGateway's decisions, as plain functions: which writes of a batch win, which folders to
ask Plex to scan. The gateway does the Plex I/O these call for.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import NamedTuple, TypeVar

T = TypeVar("T")


class JobKey(NamedTuple):
    """What latest-wins compares: the scene, the job's revision, and whether it is a dry run."""

    scene_id: str
    revision: int
    dry_run: bool


def newest_jobs(
    candidates: Iterable[tuple[T, JobKey]], written_revision: Callable[[str], int | None]
) -> tuple[list[T], list[tuple[T, int]]]:
    """Latest wins: per scene, only the newest job of a batch, and only if nothing newer was
    written already. Returns (jobs to write, (dropped job, the newer revision) pairs); a job
    delivered twice is kept once and not reported as dropped. A dry run never stands in for a
    write, nor a write for a dry run.
    """
    newest: dict[tuple[str, bool], tuple[T, JobKey]] = {}
    dropped: list[tuple[T, int]] = []
    for job, key in candidates:
        slot = (key.scene_id, key.dry_run)
        rival = newest.get(slot)
        if rival is not None and rival[1].revision == key.revision:
            continue
        if rival is not None and rival[1].revision > key.revision:
            dropped.append((job, rival[1].revision))
            continue
        written = written_revision(key.scene_id)
        if written is not None and key.revision < written:
            dropped.append((job, written))
            continue
        if rival is not None:
            dropped.append((rival[0], key.revision))
        newest[slot] = (job, key)
    return [job for job, _ in newest.values()], dropped


def folders_due_for_scan(
    plex_paths: Iterable[str],
    last_scanned: Mapping[str, float],
    *,
    now: float,
    interval_s: float,
    separator: str = "/",
) -> list[str]:
    """The folders of these missing files that were not scanned within ``interval_s``.

    One scan per folder per interval: a season of new files, or a scan storm of new scenes,
    asks Plex once per folder rather than once per file.
    """
    due: list[str] = []
    for path in plex_paths:
        folder = path.rsplit(separator, 1)[0] or separator
        if folder in due or now - last_scanned.get(folder, float("-inf")) < interval_s:
            continue
        due.append(folder)
    return due
