import unicodedata

import pytest

from stashplex.sync.matching import (
    Action,
    Confidence,
    DictCandidateIndex,
    MatchResult,
    PlexCandidate,
    StashFile,
    decide,
    score_match,
)
from stashplex.sync.pathmap import PathMap

DOCKER = PathMap.parse(["/data/ => /media/"])
WINDOWS = PathMap.parse(["D:\\Videos\\ => /media/videos/"])
PLEX_ON_WINDOWS = PathMap.parse(["/data/ => D:\\Media\\"])
NO_RULES = PathMap.parse([])

GB = 1_000_000_000


def plex(
    key: int, file: str, size: int | None = None, duration_ms: int | None = None
) -> PlexCandidate:
    return PlexCandidate(
        rating_key=key, section_key=1, file=file, size=size, duration_ms=duration_ms
    )


def stash(path: str, size: int | None = None, duration_s: float | None = None) -> StashFile:
    return StashFile(path=path, size=size, duration_s=duration_s)


SCENE_A = plex(1, "/media/a/scene.mp4", size=GB, duration_ms=600_000)
SCENE_B = plex(2, "/media/b/scene.mp4", size=GB, duration_ms=600_000)
ELSEWHERE = plex(3, "/media/other/scene.mp4", size=2 * GB, duration_ms=900_000)
NO_FACTS = plex(4, "/media/other/scene.mp4")
PART_1 = plex(10, "/media/movie/cd1.avi", size=5)
PART_2 = plex(10, "/media/movie/cd2.avi", size=6)
SPLIT_1 = plex(11, "/media/split/one.mkv", size=7)
SPLIT_2 = plex(12, "/media/split/two.mkv", size=8)


@pytest.mark.parametrize(
    ("files", "plex_items", "pathmap", "expected_confidence", "expected_targets"),
    [
        pytest.param(
            [stash("/data/a/scene.mp4", size=GB)],
            [SCENE_A],
            DOCKER,
            Confidence.HIGH,
            [1],
            id="a docker-mapped exact path is high confidence",
        ),
        pytest.param(
            [stash("/data/a/scene.mp4", size=GB)],
            [SCENE_B, SCENE_A],
            DOCKER,
            Confidence.HIGH,
            [1],
            id="an exact path beats an identical file of the same name in another folder",
        ),
        pytest.param(
            [stash("/data/c/scene.mp4", size=GB)],
            [SCENE_A, ELSEWHERE],
            DOCKER,
            Confidence.MEDIUM,
            [1],
            id="one same-named file with the exact byte size is medium confidence",
        ),
        pytest.param(
            [stash("/data/c/scene.mp4", duration_s=601.5)],
            [SCENE_A],
            DOCKER,
            Confidence.MEDIUM,
            [1],
            id="one same-named file within the duration tolerance is medium confidence",
        ),
        pytest.param(
            [stash("/data/c/scene.mp4", size=GB + 1, duration_s=598.0)],
            [SCENE_A],
            DOCKER,
            Confidence.MEDIUM,
            [1],
            id="duration evidence is enough when the size differs",
        ),
        pytest.param(
            [stash("/data/c/scene.mp4", duration_s=603.0)],
            [SCENE_A],
            DOCKER,
            Confidence.LOW,
            [],
            id="a duration outside the tolerance contradicts a same-named file",
        ),
        pytest.param(
            [stash("/data/c/scene.mp4", size=GB + 1)],
            [SCENE_A],
            DOCKER,
            Confidence.LOW,
            [],
            id="a size that differs by one byte contradicts a same-named file",
        ),
        pytest.param(
            [stash("/data/c/scene.mp4")],
            [NO_FACTS],
            DOCKER,
            Confidence.LOW,
            [4],
            id="a file name alone is low confidence",
        ),
        pytest.param(
            [stash("/data/c/scene.mp4", size=GB)],
            [SCENE_A, SCENE_B],
            DOCKER,
            Confidence.LOW,
            [1, 2],
            id="two same-named files with matching size are low confidence and both targets",
        ),
        pytest.param(
            [stash("/data/c/scene.mp4", size=GB)],
            [SCENE_A, NO_FACTS],
            DOCKER,
            Confidence.MEDIUM,
            [1],
            id="a corroborated candidate outranks a same-named file with no facts",
        ),
        pytest.param(
            [stash("/data/c/scene.mp4")],
            [NO_FACTS, plex(5, "/media/x/scene.mp4")],
            DOCKER,
            Confidence.LOW,
            [4, 5],
            id="several name-only candidates are low confidence",
        ),
        pytest.param(
            [stash("/data/c/missing.mp4", size=GB)],
            [SCENE_A],
            DOCKER,
            Confidence.NONE,
            [],
            id="no candidate at all is no confidence",
        ),
        pytest.param(
            [stash("D:\\Videos\\Sub\\Scene.mkv")],
            [plex(6, "/media/videos/Sub/Scene.mkv")],
            WINDOWS,
            Confidence.HIGH,
            [6],
            id="a windows stash path maps to an exact posix plex path",
        ),
        pytest.param(
            [stash("/data/a.mkv")],
            [plex(7, "D:\\Media\\a.mkv")],
            PLEX_ON_WINDOWS,
            Confidence.HIGH,
            [7],
            id="a posix stash path maps to an exact windows plex path",
        ),
        pytest.param(
            [stash("/data/x/Scene.mkv", size=5)],
            [plex(8, "/media/x/scene.mkv", size=5)],
            DOCKER,
            Confidence.NONE,
            [],
            id="case differences are different files unless case-insensitive",
        ),
        pytest.param(
            [stash(f"/data/{unicodedata.normalize('NFD', 'Café.mkv')}")],
            [plex(9, f"/media/{unicodedata.normalize('NFC', 'Café.mkv')}")],
            DOCKER,
            Confidence.HIGH,
            [9],
            id="an NFD stash name matches the NFC plex name exactly",
        ),
        pytest.param(
            [stash("/media/a/scene.mp4")],
            [SCENE_A],
            NO_RULES,
            Confidence.HIGH,
            [1],
            id="without rules an identical path is still exact",
        ),
        pytest.param(
            [stash("/data/split/one.mkv"), stash("/data/split/two.mkv")],
            [SPLIT_1, SPLIT_2],
            DOCKER,
            Confidence.HIGH,
            [11, 12],
            id="a multi-file scene stored as separate plex items targets every one",
        ),
        pytest.param(
            [stash("/data/movie/cd1.avi"), stash("/data/movie/cd2.avi")],
            [PART_1, PART_2],
            DOCKER,
            Confidence.HIGH,
            [10],
            id="a multi-file scene stored as one multi-part plex item targets it once",
        ),
        pytest.param(
            [stash("/data/split/one.mkv"), stash("/data/split/gone.mkv")],
            [SPLIT_1],
            DOCKER,
            Confidence.HIGH,
            [11],
            id="a multi-file scene with one exact file targets that file's item",
        ),
        pytest.param(
            [stash("/data/new/one.mkv"), stash("/data/split/two.mkv")],
            [SPLIT_1, SPLIT_2],
            DOCKER,
            Confidence.HIGH,
            [12],
            id="a secondary file's exact path beats the primary file's name match",
        ),
        pytest.param(
            [stash("/data/new/one.mkv", size=1), stash("/data/new/two.mkv", size=8)],
            [SPLIT_1, SPLIT_2],
            DOCKER,
            Confidence.MEDIUM,
            [12],
            id="a secondary file's name and size can carry a multi-file scene",
        ),
    ],
)
def test_score_match_grades_the_evidence(
    files: list[StashFile],
    plex_items: list[PlexCandidate],
    pathmap: PathMap,
    expected_confidence: Confidence,
    expected_targets: list[int],
) -> None:
    result = score_match(files, DictCandidateIndex(plex_items), pathmap)
    assert result.confidence is expected_confidence
    assert [target.rating_key for target in result.targets] == expected_targets


@pytest.mark.parametrize(
    ("stash_path", "plex_file"),
    [
        pytest.param("D:\\videos\\SUB\\scene.MKV", "/media/videos/Sub/Scene.mkv", id="windows"),
        pytest.param("/DATA/x/Scene.mkv", "/media/X/scene.mkv", id="a case-insensitive share"),
    ],
)
def test_case_insensitive_matching_finds_the_exact_path_in_another_case(
    stash_path: str, plex_file: str
) -> None:
    # Given an index and a path map that both ignore case
    index = DictCandidateIndex([plex(1, plex_file)], case_insensitive=True)
    pathmap = PathMap.parse(
        ["/data/ => /media/", "D:\\Videos\\ => /media/videos/"], case_insensitive=True
    )
    # When scoring a path written in another case
    result = score_match([stash(stash_path)], index, pathmap, case_insensitive=True)
    # Then it is an exact match
    assert result.confidence is Confidence.HIGH
    assert [t.rating_key for t in result.targets] == [1]


def test_the_result_lists_everything_considered_and_why() -> None:
    # Given a scene that only matches by name, twice
    result = score_match(
        [stash("/data/c/scene.mp4", size=GB)], DictCandidateIndex([SCENE_A, SCENE_B]), DOCKER
    )
    # Then both candidates and a reason for each are reported
    assert result.candidates == (SCENE_A, SCENE_B)
    assert result.reasons[0] == "no item at exact path /media/c/scene.mp4"
    assert "matching size (1000000000 bytes)" in result.reasons[1]
    assert "/media/a/scene.mp4 (item 1)" in result.reasons[1]
    assert "/media/b/scene.mp4 (item 2)" in result.reasons[2]


def test_an_exact_match_names_the_mapped_path_in_its_reason() -> None:
    result = score_match([stash("/data/a/scene.mp4")], DictCandidateIndex([SCENE_A]), DOCKER)
    assert result.reasons == ("exact path /media/a/scene.mp4 (item 1)",)
    assert result.candidates == (SCENE_A,)


def test_the_duration_tolerance_can_be_widened() -> None:
    index = DictCandidateIndex([SCENE_A])
    files = [stash("/data/c/scene.mp4", duration_s=605.0)]
    assert score_match(files, index, DOCKER).confidence is Confidence.LOW
    widened = score_match(files, index, DOCKER, duration_tolerance_s=5.0)
    assert widened.confidence is Confidence.MEDIUM


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        pytest.param({"files": []}, "at least one file", id="a scene without files is an error"),
        pytest.param(
            {"duration_tolerance_s": -1.0}, "duration_tolerance_s", id="a negative tolerance"
        ),
        pytest.param(
            {"duration_tolerance_s": float("nan")}, "duration_tolerance_s", id="a NaN tolerance"
        ),
    ],
)
def test_bad_scoring_input_is_a_clear_error(kwargs: dict[str, object], message: str) -> None:
    arguments: dict[str, object] = {
        "files": [stash("/data/a/scene.mp4")],
        "index": DictCandidateIndex([]),
        "pathmap": DOCKER,
    } | kwargs
    with pytest.raises(ValueError, match=message):
        score_match(**arguments)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        pytest.param({"path": ""}, "path must be a non-empty string", id="an empty stash path"),
        pytest.param({"path": "/a", "size": -1}, "size must be >= 0", id="a negative size"),
        pytest.param(
            {"path": "/a", "duration_s": float("inf")}, "duration_s", id="an infinite duration"
        ),
    ],
)
def test_a_malformed_stash_file_is_rejected(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        StashFile(**kwargs)  # type: ignore[arg-type]


def result_of(confidence: Confidence, targets: list[PlexCandidate]) -> MatchResult:
    return MatchResult(
        confidence=confidence,
        targets=tuple(targets),
        candidates=tuple(targets) or (NO_FACTS,),
        reasons=(),
    )


STRICT = {"strict": True, "allow_medium": False}
STRICT_WITH_MEDIUM = {"strict": True, "allow_medium": True}
LENIENT = {"strict": False, "allow_medium": False}
HIGH, MEDIUM, LOW, NONE = Confidence.HIGH, Confidence.MEDIUM, Confidence.LOW, Confidence.NONE
WRITE, DEAD_LETTER, NOT_FOUND = Action.WRITE, Action.DEAD_LETTER, Action.NOT_FOUND


@pytest.mark.parametrize(
    ("confidence", "targets", "mode", "expected"),
    [
        pytest.param(HIGH, [SCENE_A], STRICT, WRITE, id="strict writes high"),
        pytest.param(
            HIGH, [SPLIT_1, SPLIT_2], STRICT, WRITE, id="strict writes every exact multi-file item"
        ),
        pytest.param(MEDIUM, [SCENE_A], STRICT, DEAD_LETTER, id="strict dead-letters medium"),
        pytest.param(
            MEDIUM, [SCENE_A], STRICT_WITH_MEDIUM, WRITE, id="strict writes medium when allowed"
        ),
        pytest.param(
            LOW, [NO_FACTS], STRICT_WITH_MEDIUM, DEAD_LETTER, id="strict never writes low"
        ),
        pytest.param(NONE, [], STRICT, NOT_FOUND, id="strict reports none as not found"),
        pytest.param(HIGH, [SCENE_A], LENIENT, WRITE, id="non-strict writes high"),
        pytest.param(MEDIUM, [SCENE_A], LENIENT, WRITE, id="non-strict writes a single medium"),
        pytest.param(LOW, [NO_FACTS], LENIENT, WRITE, id="non-strict writes a single low"),
        pytest.param(
            LOW, [SCENE_A, SCENE_B], LENIENT, DEAD_LETTER, id="non-strict dead-letters several"
        ),
        pytest.param(
            LOW, [], LENIENT, DEAD_LETTER, id="non-strict dead-letters all-contradicted candidates"
        ),
        pytest.param(NONE, [], LENIENT, NOT_FOUND, id="non-strict reports none as not found"),
    ],
)
def test_decide_turns_confidence_into_an_action(
    confidence: Confidence,
    targets: list[PlexCandidate],
    mode: dict[str, bool],
    expected: Action,
) -> None:
    result = result_of(confidence, targets)
    decision = decide(result, **mode)
    assert decision.action is expected
    assert decision.result is result


def test_a_strict_dead_letter_names_the_confidence_and_the_candidate_files() -> None:
    result = score_match(
        [stash("/data/c/scene.mp4", size=GB)], DictCandidateIndex([SCENE_A]), DOCKER
    )
    decision = decide(result)
    assert decision.action is Action.DEAD_LETTER
    assert decision.reason.startswith("medium confidence")
    assert "/media/a/scene.mp4 (item 1)" in decision.reason


def test_an_ambiguous_non_strict_dead_letter_says_so_and_lists_every_candidate() -> None:
    result = score_match(
        [stash("/data/c/scene.mp4", size=GB)], DictCandidateIndex([SCENE_A, SCENE_B]), DOCKER
    )
    decision = decide(result, strict=False)
    assert decision.action is Action.DEAD_LETTER
    assert decision.reason.startswith("ambiguous: 2 candidates at low confidence")
    assert "/media/a/scene.mp4" in decision.reason
    assert "/media/b/scene.mp4" in decision.reason


def test_not_found_suggests_the_file_is_not_scanned_yet() -> None:
    result = score_match([stash("/data/new.mp4")], DictCandidateIndex([SCENE_A]), DOCKER)
    decision = decide(result)
    assert decision.action is Action.NOT_FOUND
    assert "not scanned yet" in decision.reason


def test_the_index_keys_by_normalised_path_and_basename() -> None:
    index = DictCandidateIndex([plex(1, "D:\\Media\\\\Sub\\A.mkv"), plex(2, "/x/a.mkv")])
    assert [c.rating_key for c in index.by_path("D:/Media/Sub/A.mkv")] == [1]
    assert [c.rating_key for c in index.by_basename("A.mkv")] == [1]
    assert index.by_path("/nowhere") == ()
    folded = DictCandidateIndex(
        [plex(1, "D:\\Media\\A.mkv"), plex(2, "/x/a.mkv")], case_insensitive=True
    )
    assert [c.rating_key for c in folded.by_basename("a.mkv")] == [1, 2]
