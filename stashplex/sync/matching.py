"""How sure are we that a Plex item is the file of a Stash scene, and may we write to it?

Writing metadata to the wrong Plex item is the one mistake the sync cannot undo on its own, so
evidence is graded: an exact (mapped, normalised) path is proof; a file name corroborated by its
byte size or duration is strong but not proof; a file name alone is a guess, because libraries
routinely hold ``scene.mp4`` in many folders. Scoring and deciding are separate so that the
dead-letter report can show exactly what was seen and why it was not written.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import IntEnum, StrEnum
from typing import Protocol

from stashplex.sync.pathmap import PathMap, normalize_path, path_basename

#: Plex and Stash probe durations independently; a couple of seconds of disagreement is normal.
DEFAULT_DURATION_TOLERANCE_S = 2.0


class Confidence(IntEnum):
    NONE = 0
    LOW = 1
    MEDIUM = 2
    HIGH = 3


@dataclass(frozen=True)
class StashFile:
    path: str
    size: int | None = None
    duration_s: float | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.path, str) or not self.path:
            msg = "StashFile.path must be a non-empty string"
            raise ValueError(msg)
        if self.size is not None and self.size < 0:
            msg = f"StashFile.size must be >= 0 bytes, got {self.size}"
            raise ValueError(msg)
        if self.duration_s is not None and not (
            math.isfinite(self.duration_s) and self.duration_s >= 0
        ):
            msg = f"StashFile.duration_s must be a finite number >= 0, got {self.duration_s}"
            raise ValueError(msg)


@dataclass(frozen=True, slots=True)
class PlexCandidate:
    """One media part of a Plex item (an item with several parts appears once per part)."""

    rating_key: int
    section_key: int
    file: str
    size: int | None = None
    duration_ms: int | None = None


class CandidateIndex(Protocol):
    """Looks up Plex parts by keys already normalised with the same ``case_insensitive`` flag."""

    def by_path(self, normalized_path: str) -> Sequence[PlexCandidate]: ...

    def by_basename(self, normalized_basename: str) -> Sequence[PlexCandidate]: ...


@dataclass(frozen=True)
class MatchResult:
    confidence: Confidence
    #: Items to write: several only for a multi-file scene whose files are separate Plex items,
    #: each matched exactly, or (below HIGH) when the evidence is ambiguous.
    targets: tuple[PlexCandidate, ...]
    #: Everything considered, for the dead-letter report.
    candidates: tuple[PlexCandidate, ...]
    reasons: tuple[str, ...]


class Action(StrEnum):
    WRITE = "write"
    DEAD_LETTER = "dead_letter"
    NOT_FOUND = "not_found"


@dataclass(frozen=True)
class Decision:
    action: Action
    reason: str
    result: MatchResult


class DictCandidateIndex:
    """An in-memory :class:`CandidateIndex`, for tests and for callers that list a section."""

    def __init__(
        self, candidates: Iterable[PlexCandidate], *, case_insensitive: bool = False
    ) -> None:
        self.case_insensitive = case_insensitive
        self._by_path: dict[str, list[PlexCandidate]] = {}
        self._by_basename: dict[str, list[PlexCandidate]] = {}
        for candidate in candidates:
            key = normalize_path(candidate.file, case_insensitive=case_insensitive)
            self._by_path.setdefault(key, []).append(candidate)
            self._by_basename.setdefault(path_basename(key), []).append(candidate)

    def by_path(self, normalized_path: str) -> Sequence[PlexCandidate]:
        return tuple(self._by_path.get(normalized_path, ()))

    def by_basename(self, normalized_basename: str) -> Sequence[PlexCandidate]:
        return tuple(self._by_basename.get(normalized_basename, ()))


def _distinct_items(candidates: Iterable[PlexCandidate]) -> tuple[PlexCandidate, ...]:
    """One part per Plex item: metadata is written per item, not per part."""
    seen: dict[int, PlexCandidate] = {}
    for candidate in candidates:
        seen.setdefault(candidate.rating_key, candidate)
    return tuple(seen.values())


def _describe(candidate: PlexCandidate) -> str:
    return f"{candidate.file} (item {candidate.rating_key})"


@dataclass(frozen=True)
class _Evidence:
    size_matches: bool
    duration_matches: bool
    contradicted: bool

    @property
    def corroborated(self) -> bool:
        return self.size_matches or self.duration_matches


def _weigh(file: StashFile, candidate: PlexCandidate, tolerance_s: float) -> _Evidence:
    size_known = size_matches = False
    if file.size is not None and candidate.size is not None:
        size_known = True
        size_matches = file.size == candidate.size
    duration_known = duration_matches = False
    if file.duration_s is not None and candidate.duration_ms is not None:
        duration_known = True
        duration_matches = abs(file.duration_s - candidate.duration_ms / 1000) <= tolerance_s
    # Known facts that all disagree point at a different file that merely shares the name.
    contradicted = (size_known or duration_known) and not (size_matches or duration_matches)
    return _Evidence(size_matches, duration_matches, contradicted)


def _evidence_text(evidence: _Evidence, file: StashFile) -> str:
    if evidence.size_matches and evidence.duration_matches:
        return f"matching size ({file.size} bytes) and duration"
    if evidence.size_matches:
        return f"matching size ({file.size} bytes)"
    if evidence.duration_matches:
        return f"matching duration (~{file.duration_s:g} s)"
    if evidence.contradicted:
        return "size/duration that disagree"
    return "no size or duration to compare"


def score_match(
    files: Sequence[StashFile],
    index: CandidateIndex,
    pathmap: PathMap,
    *,
    case_insensitive: bool = False,
    duration_tolerance_s: float = DEFAULT_DURATION_TOLERANCE_S,
) -> MatchResult:
    """Grade the Plex candidates for a scene's files (primary file first).

    An exact path always wins over any file-name evidence, and file-name evidence alone never
    reaches HIGH, so two files called ``scene.mp4`` in different folders cannot be confused.
    ``case_insensitive`` must match the flag the ``index`` was built with.
    """
    if not files:
        msg = "a scene needs at least one file to match"
        raise ValueError(msg)
    if not (math.isfinite(duration_tolerance_s) and duration_tolerance_s >= 0):
        msg = f"duration_tolerance_s must be a finite number >= 0, got {duration_tolerance_s}"
        raise ValueError(msg)

    mapped = [pathmap.map(file.path) for file in files]
    considered: list[PlexCandidate] = []
    exact: list[PlexCandidate] = []
    reasons: list[str] = []
    for plex_path in mapped:
        hits = index.by_path(normalize_path(plex_path, case_insensitive=case_insensitive))
        considered.extend(hits)
        exact.extend(hits)
        if hits:
            items = ", ".join(str(hit.rating_key) for hit in _distinct_items(hits))
            reasons.append(f"exact path {plex_path} (item {items})")
        else:
            reasons.append(f"no item at exact path {plex_path}")
    if exact:
        return MatchResult(
            Confidence.HIGH, _distinct_items(exact), _unique(considered), tuple(reasons)
        )

    corroborated: list[PlexCandidate] = []
    plausible: list[PlexCandidate] = []
    for file, plex_path in zip(files, mapped, strict=True):
        basename = path_basename(normalize_path(plex_path, case_insensitive=case_insensitive))
        for candidate in index.by_basename(basename):
            considered.append(candidate)
            evidence = _weigh(file, candidate, duration_tolerance_s)
            reasons.append(
                f"same file name {basename!r} with {_evidence_text(evidence, file)}: "
                f"{_describe(candidate)}"
            )
            if evidence.corroborated:
                corroborated.append(candidate)
            elif not evidence.contradicted:
                plausible.append(candidate)

    candidates = _unique(considered)
    if not candidates:
        return MatchResult(Confidence.NONE, (), (), tuple(reasons))
    strong = _distinct_items(corroborated)
    if len(strong) == 1:
        return MatchResult(Confidence.MEDIUM, strong, candidates, tuple(reasons))
    targets = strong or _distinct_items(plausible)
    return MatchResult(Confidence.LOW, targets, candidates, tuple(reasons))


def _unique(candidates: Iterable[PlexCandidate]) -> tuple[PlexCandidate, ...]:
    return tuple(dict.fromkeys(candidates))


def decide(result: MatchResult, *, strict: bool = True, allow_medium: bool = False) -> Decision:
    """Turn a graded match into what the sync does with the scene.

    NONE is "not found" rather than a dead letter because the usual cause is that Plex has not
    scanned the file yet, which a later retry fixes without anyone's help.
    """
    confidence = result.confidence
    if confidence is Confidence.NONE:
        return Decision(Action.NOT_FOUND, "no Plex item matches (not scanned yet?)", result)
    if confidence is Confidence.HIGH:
        return Decision(Action.WRITE, "exact path match", result)

    listed = "; ".join(_describe(c) for c in result.candidates)
    level = confidence.name.lower()
    if strict and not (confidence is Confidence.MEDIUM and allow_medium):
        allowed = "HIGH or MEDIUM" if allow_medium else "HIGH"
        reason = f"{level} confidence, strict mode writes only {allowed}; candidates: {listed}"
        return Decision(Action.DEAD_LETTER, reason, result)
    if len(result.targets) > 1:
        reason = f"ambiguous: {len(result.targets)} candidates at {level} confidence: {listed}"
        return Decision(Action.DEAD_LETTER, reason, result)
    if not result.targets:
        reason = f"{level} confidence and no trustworthy candidate; candidates: {listed}"
        return Decision(Action.DEAD_LETTER, reason, result)
    return Decision(Action.WRITE, f"single candidate at {level} confidence", result)
