import unicodedata

import pytest

from stashplex.sync.pathmap import (
    PathMap,
    PathMapError,
    PathRule,
    in_server_spelling,
    is_windows_path,
    normalize_path,
    path_basename,
)

NFC_NAME = unicodedata.normalize("NFC", "Café Olé.mkv")
NFD_NAME = unicodedata.normalize("NFD", "Café Olé.mkv")


@pytest.mark.parametrize(
    ("raw", "case_insensitive", "expected"),
    [
        pytest.param("/data/a.mkv", False, "/data/a.mkv", id="a clean posix path is unchanged"),
        pytest.param("/data//x///a.mkv", False, "/data/x/a.mkv", id="repeated slashes collapse"),
        pytest.param("/data/videos/", False, "/data/videos", id="a trailing slash is dropped"),
        pytest.param("/", False, "/", id="the posix root keeps its slash"),
        pytest.param("///", False, "/", id="a run of slashes is the root"),
        pytest.param(
            "D:\\Videos\\a.mkv", False, "D:/Videos/a.mkv", id="backslashes become slashes"
        ),
        pytest.param("d:\\Videos", False, "D:/Videos", id="the drive letter is upper-cased"),
        pytest.param("D:\\", False, "D:/", id="a drive root keeps its slash"),
        pytest.param(
            "\\\\?\\D:\\Videos\\a.mkv",
            False,
            "D:/Videos/a.mkv",
            id="the extended prefix is dropped",
        ),
        pytest.param(
            "\\\\?\\UNC\\nas\\share\\a.mkv",
            False,
            "//nas/share/a.mkv",
            id="an extended UNC path becomes a plain UNC path",
        ),
        pytest.param(
            "\\\\nas\\share\\\\dir\\",
            False,
            "//nas/share/dir",
            id="a UNC path keeps its leading double slash",
        ),
        pytest.param(f"/data/{NFD_NAME}", False, f"/data/{NFC_NAME}", id="NFD names become NFC"),
        pytest.param(
            "D:\\Videos\\Scene.MKV", True, "d:/videos/scene.mkv", id="case-insensitive lowercases"
        ),
        pytest.param("/Data/A.mkv", False, "/Data/A.mkv", id="case is kept by default"),
    ],
)
def test_normalize_path_gives_one_spelling_per_file(
    raw: str, case_insensitive: bool, expected: str
) -> None:
    assert normalize_path(raw, case_insensitive=case_insensitive) == expected


def test_an_empty_path_cannot_be_normalised() -> None:
    with pytest.raises(ValueError, match="path is empty"):
        normalize_path("")


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        pytest.param("D:\\Videos\\a.mkv", True, id="a drive letter path is windows"),
        pytest.param("d:/videos", True, id="a drive letter path with slashes is windows"),
        pytest.param("\\\\nas\\share\\a.mkv", True, id="a UNC path is windows"),
        pytest.param("\\\\?\\C:\\a.mkv", True, id="an extended-length path is windows"),
        pytest.param("/data/a.mkv", False, id="a posix path is not windows"),
        pytest.param("relative/a.mkv", False, id="a relative path is not windows"),
        pytest.param("DD:/x", False, id="a two letter prefix is not a drive"),
    ],
)
def test_is_windows_path_recognises_drives_and_unc(path: str, expected: bool) -> None:
    assert is_windows_path(path) is expected


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        pytest.param("/data/x/a.mkv", "a.mkv", id="the basename of a posix path"),
        pytest.param("D:\\Videos\\a.mkv", "a.mkv", id="the basename of a windows path"),
        pytest.param("D:\\Videos/mixed\\a.mkv", "a.mkv", id="the basename with mixed separators"),
        pytest.param("/data/dir/", "dir", id="a trailing separator is ignored"),
        pytest.param("a.mkv", "a.mkv", id="a bare file name is its own basename"),
    ],
)
def test_path_basename_works_for_both_separators(path: str, expected: str) -> None:
    assert path_basename(path) == expected


DOCKER = ["/data/ => /media/"]
NESTED = ["/data/ => /media/", "/data/vr/ => /vr/", "/data/vr/old => /archive/vr"]
WINDOWS = ["D:\\Videos\\ => /media/videos/", "\\\\nas\\share\\ => /mnt/nas/"]


@pytest.mark.parametrize(
    ("specs", "stash_path", "expected"),
    [
        pytest.param(DOCKER, "/data/a/b.mkv", "/media/a/b.mkv", id="docker data maps to media"),
        pytest.param(DOCKER, "/data", "/media", id="the prefix itself maps to the target"),
        pytest.param(
            DOCKER, "/database/x.mkv", "/database/x.mkv", id="data does not match database"
        ),
        pytest.param(DOCKER, "/other/x.mkv", "/other/x.mkv", id="an unmapped path is unchanged"),
        pytest.param(
            DOCKER, "/other//x.mkv/", "/other/x.mkv", id="an unmapped path comes back normalised"
        ),
        pytest.param(DOCKER, "/Data/a.mkv", "/Data/a.mkv", id="posix rules respect case"),
        pytest.param(NESTED, "/data/vr/a.mp4", "/vr/a.mp4", id="the longer prefix wins"),
        pytest.param(
            NESTED, "/data/vr/old/a.mp4", "/archive/vr/a.mp4", id="the longest prefix wins"
        ),
        pytest.param(
            NESTED, "/data/vrx/a.mp4", "/media/vrx/a.mp4", id="a longer prefix respects segments"
        ),
        pytest.param(
            WINDOWS,
            "D:\\Videos\\Sub\\A.mkv",
            "/media/videos/Sub/A.mkv",
            id="a windows drive maps to a posix mount",
        ),
        pytest.param(
            WINDOWS,
            "d:\\VIDEOS\\Sub\\A.mkv",
            "/media/videos/Sub/A.mkv",
            id="windows prefixes match regardless of case and keep the rest of the path",
        ),
        pytest.param(
            WINDOWS,
            "\\\\?\\D:\\Videos\\A.mkv",
            "/media/videos/A.mkv",
            id="an extended-length windows path maps too",
        ),
        pytest.param(
            WINDOWS, "\\\\NAS\\share\\x\\A.mkv", "/mnt/nas/x/A.mkv", id="a UNC share maps"
        ),
        pytest.param(
            WINDOWS, "E:\\Videos\\A.mkv", "E:/Videos/A.mkv", id="another drive is left alone"
        ),
        pytest.param(
            DOCKER, f"/data/{NFD_NAME}", f"/media/{NFC_NAME}", id="an NFD file name maps as NFC"
        ),
        pytest.param(["/ => /host/"], "/data/a.mkv", "/host/data/a.mkv", id="a root rule maps all"),
        pytest.param(["/data/=>/media/"], "/data/a.mkv", "/media/a.mkv", id="spaces are optional"),
        pytest.param(
            ["/data/ => D:\\Media\\"], "/data/a.mkv", "D:/Media/a.mkv", id="plex may be windows"
        ),
    ],
)
def test_map_translates_stash_paths_to_plex_paths(
    specs: list[str], stash_path: str, expected: str
) -> None:
    assert PathMap.parse(specs).map(stash_path) == expected


def test_an_nfd_rule_prefix_matches_an_nfc_folder() -> None:
    # Given a rule whose folder name was typed in NFD (as macOS hands it out)
    pathmap = PathMap.parse([f"/data/{unicodedata.normalize('NFD', 'Vidéos')} => /media/"])
    # When an NFC path under that folder is mapped
    mapped = pathmap.map(f"/data/{unicodedata.normalize('NFC', 'Vidéos')}/a.mkv")
    # Then the rule applies
    assert mapped == "/media/a.mkv"


def test_case_insensitive_maps_extend_case_folding_to_posix_rules() -> None:
    pathmap = PathMap.parse(DOCKER, case_insensitive=True)
    assert pathmap.map("/DATA/Sub/A.mkv") == "/media/Sub/A.mkv"


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        pytest.param("/data/a.mkv", True, id="a path under a rule is covered"),
        pytest.param("/data", True, id="the prefix itself is covered"),
        pytest.param("/database/a.mkv", False, id="a sibling folder with a longer name is not"),
        pytest.param("d:\\videos\\a.mkv", True, id="a windows path in another case is covered"),
        pytest.param("/srv/a.mkv", False, id="an unrelated path is not covered"),
    ],
)
def test_covers_says_whether_a_rule_applies(path: str, expected: bool) -> None:
    assert PathMap.parse(DOCKER + WINDOWS).covers(path) is expected


def test_an_empty_map_changes_nothing_but_normalises() -> None:
    pathmap = PathMap.parse([])
    assert len(pathmap) == 0
    assert pathmap.map("D:\\a\\\\b.mkv") == "D:/a/b.mkv"
    assert pathmap.covers("/data/a.mkv") is False


def test_rules_are_listed_most_specific_first() -> None:
    pathmap = PathMap.parse(NESTED)
    assert [rule.stash_prefix for rule in pathmap.rules] == ["/data/vr/old", "/data/vr/", "/data/"]


@pytest.mark.parametrize(
    ("specs", "message"),
    [
        pytest.param(["/data/ -> /media/"], r'#1 .* is missing "=>"', id="a missing arrow"),
        pytest.param(["/a => /b => /c"], r'has more than one "=>"', id="two arrows are ambiguous"),
        pytest.param([" => /media/"], r"#1 .*stash_prefix is empty", id="an empty stash side"),
        pytest.param(["/data/ =>   "], r"plex_prefix is empty", id="an empty plex side"),
        pytest.param(
            ["/ok => /fine", "data/ => /media/"],
            r"#2 .*stash_prefix 'data/' is not an absolute path",
            id="a relative stash prefix names the rule number",
        ),
        pytest.param(
            ["/data => media"], r"plex_prefix 'media' is not an absolute path", id="relative plex"
        ),
        pytest.param(
            ["D: => /media"], r"stash_prefix 'D:' is not an absolute path", id="a bare drive"
        ),
        pytest.param(
            ["/data/ => /a", "/data => /b"],
            r"two rules map the same stash prefix",
            id="duplicate prefixes are ambiguous",
        ),
        pytest.param(
            ["D:\\V => /a", "d:\\v\\ => /b"],
            r"two rules map the same stash prefix",
            id="windows prefixes differing only in case are duplicates",
        ),
        pytest.param("/data => /media", r"not a single string", id="a bare string is not a list"),
        pytest.param([42], r"#1 must be a string", id="a non-string rule"),
    ],
)
def test_a_malformed_rule_is_a_clear_path_map_error(specs: object, message: str) -> None:
    with pytest.raises(PathMapError, match=message):
        PathMap.parse(specs)  # type: ignore[arg-type]


def test_path_map_errors_are_value_errors_for_generic_handlers() -> None:
    with pytest.raises(ValueError, match="missing"):
        PathMap.parse(["nonsense"])


def test_a_rule_built_directly_is_validated_too() -> None:
    with pytest.raises(PathMapError, match="not an absolute path"):
        PathRule("relative", "/media")


@pytest.mark.parametrize(
    ("path", "like", "spelled"),
    [
        pytest.param("D:/Media/New", "D:\\Media", "D:\\Media\\New", id="windows location"),
        pytest.param("/media/new", "/media", "/media/new", id="posix location"),
        pytest.param("//nas/share/x", "\\\\nas\\share", "\\\\nas\\share\\x", id="unc share"),
        pytest.param("D:/Media/New", "", "D:/Media/New", id="no location known"),
    ],
)
def test_a_folder_sent_back_to_plex_is_spelled_with_the_servers_separators(path, like, spelled):
    assert in_server_spelling(path, like) == spelled
