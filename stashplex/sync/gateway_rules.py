"""PlexGateway's decisions, as plain functions: which writes of a batch win, which folders to
ask Plex to scan. The gateway does the Plex I/O these call for.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
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


def path_separator(path: str) -> str:
    """A Windows Plex server's paths use backslashes (``D:\\Media\\a.mp4``); every other, ``/``."""
    return "\\" if "\\" in path and "/" not in path else "/"


def collapse_folders(
    folders: Iterable[str],
    *,
    limit: int,
    floor: Callable[[str], str | None],
    separator: str = "/",
) -> list[str]:
    """At most ``limit`` folders whose scans cover every one of ``folders``.

    A scan storm spreads new files over many folders (one per studio, one per scene); asking
    Plex to scan each is a queue of scans on Plex's side. A scan of a folder covers its
    subfolders, so folders nested in another are dropped, and while too many remain the deepest
    are replaced by their parents, never above ``floor(folder)`` (the library location holding
    it: Plex scans only inside a library). If they still do not fit, the first ``limit`` are
    returned and the rest wait for the next round.
    """

    def parent(folder: str) -> str | None:
        top = floor(folder)
        up = folder.rsplit(separator, 1)[0]
        if top is None or len(up) < len(top.rstrip(separator)) or up == folder:
            return None
        return up

    def nested(folder: str, others: set[str]) -> bool:
        return any(folder.startswith(other + separator) for other in others if other != folder)

    current = set(folders)
    current = {f for f in current if not nested(f, current)}
    while len(current) > limit:
        depth = max(f.count(separator) for f in current)
        lifted = {parent(f) or f if f.count(separator) == depth else f for f in current}
        lifted = {f for f in lifted if not nested(f, lifted)}
        if lifted == current:
            break
        current = lifted
    return sorted(current)[:limit]


def recheck_delay(wave: int, *, first_s: float, base_s: float, cap_s: float) -> float:
    """When the shared timer of the jobs waiting for Plex rings next.

    Wave 0 (something new waits, or Plex just added files) comes after one index refresh
    interval; then the not-found policy's doubling, from its base to its cap. Never sooner than
    the refresh interval, since a recheck is an index refresh.
    """
    if wave <= 0:
        return first_s
    return max(first_s, min(cap_s, base_s * 2.0 ** min(wave - 1, 64)))


def wait_budget(*, base_s: float, cap_s: float, retries: int) -> float:
    """How long a job may wait for Plex to scan its file: the not-found policy's retries
    end to end, without jitter (inside the documented 68-89 min at the defaults)."""
    return sum(min(cap_s, base_s * 2.0 ** min(n, 64)) for n in range(retries))


def fetch_groups(
    targets: Sequence[Sequence[int]], *, limit: int, first: int | None = None
) -> list[list[int]]:
    """Split a batch's jobs (their target rating keys, in order) into consecutive groups of at
    most ``limit`` distinct keys (``first`` for the first group): each group is one detail read
    (``/library/metadata/a,b,c``).

    The gateway reads a group, starts its writes as soon as it is answered, and reads the next
    group meanwhile; a small first group gets the writes going early while Plex answers the
    larger read after it. A job is never split (its items are read together); one with more
    keys than the limit is a group of its own. Returns the jobs' indexes per group.
    """
    groups: list[list[int]] = []
    keys: set[int] = set()
    for index, job_keys in enumerate(targets):
        grown = keys | set(job_keys)
        cap = first if first is not None and len(groups) == 1 else limit
        if groups and len(grown) <= cap:
            groups[-1].append(index)
            keys = grown
        else:
            groups.append([index])
            keys = set(job_keys)
    return groups
