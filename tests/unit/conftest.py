"""Fixtures shared by the unit tests of the local socket, the TCP gate and the front door."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture
def data_dir() -> Iterator[Path]:
    """A data directory short enough for a Unix socket path (tmp_path can be too long)."""
    root = Path(tempfile.mkdtemp(prefix="spu-", dir="/tmp"))
    yield root / "data"
    shutil.rmtree(root, ignore_errors=True)
