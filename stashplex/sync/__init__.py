"""The pure Stash -> Plex logic: plain functions and values, no I/O, no threads, no clocks.

What a scene is (:mod:`~stashplex.sync.scene`), how its fields become Plex fields
(:mod:`~stashplex.sync.fieldmap`, :mod:`~stashplex.sync.sanitize`, :mod:`~stashplex.sync.plexedit`),
which of them a sync may write, clear or must leave alone (:mod:`~stashplex.sync.ownership`), how
a write is undone (:mod:`~stashplex.sync.undo_rules`), whether a scene changed
(:mod:`~stashplex.sync.fingerprint`, :mod:`~stashplex.sync.changes`), which Plex item it is
(:mod:`~stashplex.sync.pathmap`, :mod:`~stashplex.sync.matching`), and when to try again
(:mod:`~stashplex.sync.backoff`, :mod:`~stashplex.sync.breaker`). The actors are thin shells around
these; everything here is tested with plain tables of inputs and outputs.
"""

from stashplex.sync.backoff import RetryPolicy, backoff_delay
from stashplex.sync.breaker import BreakerState, CircuitBreaker
from stashplex.sync.fieldmap import FieldChange, FieldToggles, desired_fields, diff_fields
from stashplex.sync.fingerprint import fingerprint, poster_source
from stashplex.sync.matching import PlexCandidate
from stashplex.sync.ownership import OwnershipPolicy, Verdict, plan_ownership
from stashplex.sync.pathmap import PathMap, PathMapError, normalize_path, path_basename
from stashplex.sync.scene import SceneDataError, SceneFile, StashScene

__all__ = [
    "BreakerState",
    "CircuitBreaker",
    "FieldChange",
    "FieldToggles",
    "OwnershipPolicy",
    "PathMap",
    "PathMapError",
    "PlexCandidate",
    "RetryPolicy",
    "SceneDataError",
    "SceneFile",
    "StashScene",
    "Verdict",
    "backoff_delay",
    "desired_fields",
    "diff_fields",
    "fingerprint",
    "normalize_path",
    "path_basename",
    "plan_ownership",
    "poster_source",
]
