"""Which folders the gateway asks Plex to scan for files it cannot find, and how long the jobs
waiting for Plex wait."""

from __future__ import annotations

import pytest

from stashplex.sync.gateway_rules import (
    collapse_folders,
    fetch_groups,
    folders_due_for_scan,
    path_separator,
    recheck_delay,
    wait_budget,
)


@pytest.mark.parametrize(
    ("paths", "last", "now", "due"),
    [
        (["/m/a/1.mp4", "/m/a/2.mp4", "/m/b/3.mp4"], {}, 100.0, ["/m/a", "/m/b"]),
        (["/m/a/1.mp4"], {"/m/a": 90.0}, 100.0, []),
        (["/m/a/1.mp4"], {"/m/a": 60.0}, 100.0, ["/m/a"]),
        (["/top.mp4"], {}, 0.0, ["/"]),
        ([], {}, 0.0, []),
    ],
)
def test_each_missing_files_folder_is_scanned_once_per_interval(paths, last, now, due):
    # Given the mapped paths of missing files and when folders were last scanned
    # When the due folders are listed with a 30 s interval
    result = folders_due_for_scan(paths, last, now=now, interval_s=30.0)
    # Then every folder appears once, and only if its last scan is older than the interval
    assert result == due


def test_a_windows_server_path_is_split_on_its_own_separator():
    result = folders_due_for_scan(
        ["D:\\Media\\a\\1.mp4"], {}, now=0.0, interval_s=30.0, separator="\\"
    )

    assert result == ["D:\\Media\\a"]


def _media_floor(folder: str) -> str | None:
    return "/media/" if folder.startswith("/media") else None


@pytest.mark.parametrize(
    ("folders", "limit", "expected"),
    [
        (["/media/a", "/media/b"], 10, ["/media/a", "/media/b"]),
        (["/media/a", "/media/a/x", "/media/a/y/z"], 10, ["/media/a"]),
        ([f"/media/storm/studio{i:03d}" for i in range(100)], 10, ["/media/storm"]),
        (
            [*(f"/media/s/{i}" for i in range(20)), "/media/t/1", "/media/u/deep/er"],
            3,
            ["/media/s", "/media/t", "/media/u"],
        ),
        ([f"/media/{i}" for i in range(20)], 10, ["/media"]),
        ([f"/other/{i}" for i in range(5)], 2, ["/other/0", "/other/1"]),
        ([], 10, []),
    ],
    ids=[
        "few enough: as they are",
        "nested folders: the outer one covers them",
        "a storm over 100 studio folders: their common folder",
        "collapsed level by level, deepest first",
        "never above the library location",
        "outside any library: cut to the limit, the rest wait",
        "nothing due",
    ],
)
def test_many_folders_to_scan_collapse_into_few_scans_that_cover_them_all(folders, limit, expected):
    assert collapse_folders(folders, limit=limit, floor=_media_floor) == expected


def test_a_windows_library_collapses_on_backslashes():
    folders = [f"D:\\Media\\storm\\{i}" for i in range(30)]
    result = collapse_folders(folders, limit=5, floor=lambda _f: "D:\\Media\\", separator="\\")
    assert result == ["D:\\Media\\storm"]
    assert path_separator("D:\\Media\\a.mp4") == "\\"
    assert path_separator("/media/a.mp4") == "/"


@pytest.mark.parametrize(
    ("wave", "delay"),
    [(0, 30.0), (1, 30.0), (2, 60.0), (3, 120.0), (5, 480.0), (6, 600.0), (40, 600.0)],
)
def test_the_shared_recheck_backs_off_like_the_not_found_policy(wave, delay):
    assert recheck_delay(wave, first_s=30.0, base_s=30.0, cap_s=600.0) == delay


def test_a_recheck_never_comes_sooner_than_an_index_refresh_allows():
    assert recheck_delay(1, first_s=30.0, base_s=5.0, cap_s=600.0) == 30.0


def test_a_job_waits_for_plex_as_long_as_its_not_found_retries_would_have():
    # 30, 60, 120, 240, 480, then 600 s seven times: 85.5 min, inside the documented 68-89 min
    assert wait_budget(base_s=30.0, cap_s=600.0, retries=12) == 5130.0
    assert wait_budget(base_s=1.0, cap_s=1.0, retries=2) == 2.0


def test_a_write_batch_is_read_in_a_small_first_group_then_groups_of_up_to_the_limit():
    # Given 120 jobs of one item each
    targets = [[key] for key in range(120)]
    # When they are grouped for detail reads (first group 25 items, the others 100)
    groups = fetch_groups(targets, limit=100, first=25)
    # Then two reads cover them all, in order: the first small so the writes start early
    assert [len(group) for group in groups] == [25, 95]
    assert [i for group in groups for i in group] == list(range(120))


def test_a_jobs_items_are_read_together_and_one_larger_than_the_limit_is_read_alone():
    # Given a job of two items that would straddle the first group's end, and one of five
    targets = [[1], [2, 3], [4, 5, 6, 7, 8], [9]]
    # When they are grouped with a limit of two items (three for the first)
    groups = fetch_groups(targets, limit=2, first=3)
    # Then no job is split: the straddling job stays with the first, the large one is alone
    assert groups == [[0, 1], [2], [3]]


def test_an_item_two_jobs_share_counts_once_toward_a_group():
    # Given two jobs writing the same item, and a third
    groups = fetch_groups([[1], [1], [2]], limit=2)
    # Then all three are one read of two items
    assert groups == [[0, 1, 2]]
