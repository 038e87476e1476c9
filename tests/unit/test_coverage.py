"""Why a scene's files do not map to a Plex item (``stashplex unmatched``)."""

from __future__ import annotations

from stashplex.sync.coverage import AMBIGUOUS, NO_FILE, NO_RULE, NOT_IN_PLEX, explain_unmatched
from stashplex.sync.matching import DictCandidateIndex, PlexCandidate, StashFile
from stashplex.sync.pathmap import PathMap

PLEX = DictCandidateIndex(
    [
        PlexCandidate(1, 1, "/media/movies/a.mp4", size=10),
        PlexCandidate(2, 1, "/media/movies/x/shared.mp4"),
        PlexCandidate(3, 1, "/media/movies/y/shared.mp4"),
    ]
)
PATH_MAP = PathMap.parse(["/data/ => /media/"])


def in_library(path: str) -> bool:
    return path.startswith("/media/movies/")


def explain(*paths: str, pathmap: PathMap = PATH_MAP):
    files = [StashFile(path, size=10) for path in paths]
    return explain_unmatched(files, PLEX, pathmap, in_library=in_library)


def test_a_file_at_its_mapped_path_in_plex_is_matched():
    assert explain("/data/movies/a.mp4") is None


def test_a_path_no_rule_maps_and_no_library_holds_has_no_path_map_rule():
    # Even though Plex holds a same-named file elsewhere: the path map is what is wrong
    why = explain("/other/movies/a.mp4")
    assert why.reason == NO_RULE
    assert why.detail == "/other/movies/a.mp4: no rule maps it, and no Plex library is there"


def test_a_mapped_path_outside_every_library_is_not_in_plex():
    why = explain("/data/music/a.mp4")
    assert (why.reason, why.detail) == (
        NOT_IN_PLEX, "/data/music/a.mp4 -> /media/music/a.mp4: no Plex library is there",
    )  # fmt: skip


def test_a_mapped_path_in_a_library_that_plex_lacks_is_not_in_plex_not_scanned():
    why = explain("/data/movies/new.mp4")
    assert why.reason == NOT_IN_PLEX and "Plex has no such file (not scanned?)" in why.detail


def test_same_named_files_in_a_library_without_the_exact_path_are_ambiguous():
    why = explain("/data/movies/z/shared.mp4")
    assert why.reason == AMBIGUOUS
    assert "/media/movies/x/shared.mp4" in why.detail and "/media/movies/y/shared.mp4" in why.detail


def test_a_scene_without_files_says_so():
    assert explain().reason == NO_FILE
