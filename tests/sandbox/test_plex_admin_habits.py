"""Staging every habit over the admin API (JSON over HTTP), as the demo and benchmarks do."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from stashplex.sandbox.plex import PlexEmulator
from tests.support.plex import MOVIES_ROOT, TOKEN, SmallLibrary, connect

ALIEN = f"{MOVIES_ROOT}/Alien (1979)/Alien (1979).mkv"


@pytest.fixture
def emulator() -> Iterator[PlexEmulator]:
    with PlexEmulator(token=TOKEN, admin_port=0) as emu:
        yield emu


def _post(emulator: PlexEmulator, path: str, body: dict[str, Any]) -> requests.Response:
    return requests.post(emulator.admin_url + path, json=body, timeout=5)


def _get(emulator: PlexEmulator, path: str) -> Any:
    return requests.get(emulator.admin_url + path, timeout=5).json()


def test_habits_are_read_and_switched_over_the_admin_api(emulator: PlexEmulator) -> None:
    # Given
    defaults = _get(emulator, "realism")

    # When
    changed = _post(emulator, "realism", {"tag_capitalization": "each-word"}).json()
    refused = _post(emulator, "realism", {"tag_spelling": "yes"})
    unknown = _post(emulator, "realism", {"no_such_habit": True})

    # Then: everything on by default; bad values are 400 and change nothing
    assert defaults["tag_spelling"] is True
    assert defaults["max_request_line"] == 8192
    assert defaults["scanner_ignores"] is True
    assert changed["tag_capitalization"] == "each-word"
    assert (refused.status_code, unknown.status_code) == (400, 400)
    assert _get(emulator, "realism")["tag_spelling"] is True


def test_a_move_a_scan_and_its_report_over_the_admin_api(
    emulator: PlexEmulator, small: SmallLibrary
) -> None:
    # Given
    new = f"{MOVIES_ROOT}/Moved/Alien (1979).mkv"

    # When
    moved = _post(emulator, "disk/move", {"old": ALIEN, "new": new})
    scanned = _post(emulator, "scan", {"section": small.movies}).json()

    # Then
    assert moved.json() == {"section": small.movies}
    assert scanned["reports"][0]["moved"] == {ALIEN: new}
    assert _get(emulator, f"items/{small.alien}")["parts"][0]["file"] == new
    assert _get(emulator, "scans")["reports"][-1]["moved"] == {ALIEN: new}


def test_ignore_files_deletions_and_skips_over_the_admin_api(
    emulator: PlexEmulator, small: SmallLibrary
) -> None:
    # Given
    _post(emulator, "plexignore", {"folder": MOVIES_ROOT, "patterns": ["Skip*"]})
    _post(emulator, "disk", {"file": f"{MOVIES_ROOT}/Skip Me (2000)/Skip Me (2000).mkv"})
    _post(emulator, "disk/delete", {"file": ALIEN})

    # When
    report = _post(emulator, "scan", {"section": small.movies}).json()["reports"][0]

    # Then
    assert report["removed"] == [small.alien]
    assert report["skipped"] == {
        f"{MOVIES_ROOT}/Skip Me (2000)/Skip Me (2000).mkv": ".plexignore pattern 'Skip*'"
    }
    assert _get(emulator, "scans")["skipped"] == report["skipped"]


def test_items_gain_files_and_are_removed_over_the_admin_api(
    emulator: PlexEmulator, small: SmallLibrary
) -> None:
    # Given
    part2 = f"{MOVIES_ROOT}/Alien (1979)/Alien (1979) - pt2.mkv"

    # When
    added = _post(emulator, f"items/{small.alien}/files", {"file": part2, "size": 5})
    parts = [p["file"] for p in _get(emulator, f"items/{small.alien}")["parts"]]
    removed = _post(emulator, f"items/{small.drama}/remove", {"file_stays": True})
    after = requests.get(emulator.admin_url + f"items/{small.drama}", timeout=5)

    # Then
    assert added.status_code == 200
    assert parts == [ALIEN, part2]
    assert removed.json() == {"freed": [f"{MOVIES_ROOT}/Other/movie.mkv"]}
    assert after.status_code == 404


def test_tag_rows_and_refused_requests_are_visible(
    emulator: PlexEmulator, small: SmallLibrary
) -> None:
    # Given
    requests.get(
        f"{emulator.url}/library/metadata/{small.alien}?pad={'x' * 9000}",
        headers={"X-Plex-Token": TOKEN},
        timeout=5,
    )
    connect(emulator).fetchItem(small.drama).addGenre("drama queen")

    # When
    rows = _get(emulator, "tags")
    log = _get(emulator, "requests")

    # Then
    assert "Drama" in rows["genre"] and "drama queen" in rows["genre"]
    assert [(r["status"], r["method"]) for r in log["rejected"]] == [(414, "GET")]
    assert all("pad" not in entry["query"] for entry in log["entries"])
