"""Why a scene's files do not map to a Plex item: the rule behind ``stashplex unmatched``.

The sync itself only learns "no Plex item matches" and retries for an hour in case Plex has not
scanned the file yet. A person fixing the setup needs the reason instead: no path-map rule
applies (and Plex has no library where the path points), the rule applies but Plex has no such
file (outside every library, or not scanned), or Plex has several candidates and the matching
rules refuse to guess. Pure: the caller passes the path index and which paths lie in a library.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from stashplex.sync.matching import Action, CandidateIndex, StashFile, decide, score_match
from stashplex.sync.pathmap import PathMap

NO_RULE = "no path-map rule"
NOT_IN_PLEX = "not in Plex"
AMBIGUOUS = "ambiguous"
NO_FILE = "no file"


@dataclass(frozen=True)
class Unmapped:
    reason: str
    detail: str


def explain_unmatched(
    files: Sequence[StashFile],
    index: CandidateIndex,
    pathmap: PathMap,
    *,
    in_library: Callable[[str], bool],
    case_insensitive: bool = False,
    strict: bool = True,
    allow_medium: bool = False,
) -> Unmapped | None:
    """None if the sync would write the scene's item(s); else why it would not."""
    if not files:
        return Unmapped(NO_FILE, "the scene has no file")
    result = score_match(files, index, pathmap, case_insensitive=case_insensitive)
    decision = decide(result, strict=strict, allow_medium=allow_medium)
    if decision.action is Action.WRITE:
        return None
    path = files[0].path
    mapped = pathmap.map(path)
    # Same-named files elsewhere in Plex are no match when the path leads outside every
    # library: the path map is what is wrong, not the choice between them.
    if not any(in_library(pathmap.map(file.path)) for file in files):
        if not pathmap.covers(path):
            return Unmapped(NO_RULE, f"{path}: no rule maps it, and no Plex library is there")
        return Unmapped(NOT_IN_PLEX, f"{path} -> {mapped}: no Plex library is there")
    if decision.action is Action.DEAD_LETTER:
        return Unmapped(AMBIGUOUS, decision.reason)
    return Unmapped(NOT_IN_PLEX, f"{path} -> {mapped}: Plex has no such file (not scanned?)")
