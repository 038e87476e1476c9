"""Which folders the gateway asks Plex to scan for files it cannot find."""

from __future__ import annotations

import pytest

from stashplex.sync.gateway_rules import folders_due_for_scan


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
