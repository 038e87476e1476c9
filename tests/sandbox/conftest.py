"""Fixtures every Plex emulator test shares: a running emulator, and a small seeded library."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from stashplex.sandbox.plex import PlexEmulator
from tests.support.plex import TOKEN, SmallLibrary, build_small_library


@pytest.fixture
def emulator() -> Iterator[PlexEmulator]:
    with PlexEmulator(token=TOKEN) as emu:
        yield emu


@pytest.fixture
def small(emulator: PlexEmulator) -> SmallLibrary:
    return build_small_library(emulator)
