"""The hook link's os calls (``stashplex.link.lean_os``) mean exactly what ``os``'s mean."""

# os.path is the reference these tests compare with.
# ruff: noqa: PTH100, PTH117, PTH118, PTH120

from __future__ import annotations

import os
import stat

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stashplex.link import lean_os

PATHS = [
    "", "/", "//", "///", "a", "a/", "a//", "/a", "/a/", "/a/b", "/a/b/", "a/b", "//a/b",
    "///a", "/a/./b", "/a/../b", "/../a", "a/..", "../a", "./a", ".", "..", "/a//b//",
    "/data dir/ünï cöde", "rel/../../x",
]  # fmt: skip
#: Path pieces that exercise every rule: slashes, dots, spaces, non-ASCII.
piece = st.sampled_from(["", "/", "//", ".", "..", "a", "b c", "ü", "x.y"])
path_text = st.lists(piece, max_size=6).map("".join)


@pytest.mark.parametrize("path", PATHS)
def test_dirname_isabs_and_abspath_agree_with_os_path(path):
    # Given a path of any shape / When lean_os reads it / Then os.path reads it the same way
    assert lean_os.dirname(path) == os.path.dirname(path)
    assert lean_os.isabs(path) == os.path.isabs(path)
    assert lean_os.abspath(path) == os.path.abspath(path)


@given(path_text, st.lists(path_text, max_size=3))
def test_join_agrees_with_os_path_for_any_pieces(first, rest):
    # Given any pieces / When they are joined / Then the result is os.path.join's
    assert lean_os.join(first, *rest) == os.path.join(first, *rest)


@given(path_text)
def test_abspath_and_dirname_agree_with_os_path_for_any_path(path):
    assert lean_os.abspath(path) == os.path.abspath(path)
    assert lean_os.dirname(path) == os.path.dirname(path)


def test_a_path_object_is_accepted_where_os_accepts_one(tmp_path):
    # Given a pathlib path / Then it reads as its text
    assert lean_os.join(tmp_path, "x") == os.path.join(tmp_path, "x")
    assert lean_os.abspath(tmp_path) == str(tmp_path)


def test_the_environment_reads_as_os_environ_reads_it(monkeypatch):
    # Given variables with plain and non-ASCII values, and one unset
    monkeypatch.setenv("STASHPLEX_LEAN_OS_PLAIN", "/srv/stash data")
    monkeypatch.setenv("STASHPLEX_LEAN_OS_WIDE", "/srv/ünï")
    monkeypatch.delenv("STASHPLEX_LEAN_OS_UNSET", raising=False)
    # Then each reads as os.environ reads it
    for name in ("STASHPLEX_LEAN_OS_PLAIN", "STASHPLEX_LEAN_OS_WIDE", "STASHPLEX_LEAN_OS_UNSET"):
        assert lean_os.getenv(name) == os.environ.get(name)
    assert lean_os.fsencode("/srv/ünï") == os.fsencode("/srv/ünï")


def test_makedirs_creates_missing_parents_with_the_mode_on_the_last_folder(tmp_path):
    # Given a folder three levels below one that exists
    target = tmp_path / "a" / "b" / "c"
    # When it is made with mode 0o700
    lean_os.makedirs(str(target), mode=0o700, exist_ok=True)
    # Then all three exist and the last one is private
    assert target.is_dir()
    assert stat.S_IMODE(target.stat().st_mode) == 0o700
    # And making it again is fine when asked, an error when not
    lean_os.makedirs(str(target), mode=0o700, exist_ok=True)
    with pytest.raises(FileExistsError):
        lean_os.makedirs(str(target), mode=0o700)


def test_makedirs_refuses_a_file_in_the_way_even_with_exist_ok(tmp_path):
    # Given a file where the folder should go
    blocker = tmp_path / "blocker"
    blocker.write_text("x")
    # Then no folder can be made there, nor below it
    with pytest.raises(FileExistsError):
        lean_os.makedirs(str(blocker), exist_ok=True)
    with pytest.raises(NotADirectoryError):
        lean_os.makedirs(str(blocker / "below"), exist_ok=True)
