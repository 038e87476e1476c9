"""Helpers for driving the Plex emulator with the real plexapi (pytest-free)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import requests
from plexapi.server import PlexServer

from stashplex.sandbox.plex import PlexEmulator

TOKEN = "emulator-test-token"
REPO = Path(__file__).resolve().parents[2]
TRICKY_TAG = "Test Tag !@#$%^&*()-_=+[];:'\"/?,."
MOVIES_ROOT = "/media/movies"
SHOWS_ROOT = "/media/shows"


@dataclass(frozen=True)
class SmallLibrary:
    """A hand-made library whose contents the tests know exactly."""

    movies: int
    shows: int
    alien: int
    amelie: int
    drama: int
    episode: int


def connect(emulator: PlexEmulator, timeout: float = 5.0, token: str = TOKEN) -> PlexServer:
    """A fresh plexapi client with its own keep-alive session."""
    return PlexServer(emulator.url, token, session=requests.Session(), timeout=timeout)


def build_small_library(emulator: PlexEmulator) -> SmallLibrary:
    movies = emulator.add_section(title="Movies", type="movie", locations=[MOVIES_ROOT])
    shows = emulator.add_section(title="TV Shows", type="show", locations=[SHOWS_ROOT])
    alien = emulator.add_movie(
        movies,
        file=f"{MOVIES_ROOT}/Alien (1979)/Alien (1979).mkv",
        title="Alien",
        size=1234,
        duration_ms=7_000_000,
        added_at=1_600_000_100,
        genres=("Horror", "Sci-Fi", "Thriller"),
        actors=(
            ("Sigourney Weaver", "Ripley"),
            ("Tom Skerritt", "Dallas"),
            "John Hurt",
            "Ian Holm",
        ),
        directors=("Ridley Scott",),
        writers=("Dan O'Bannon",),
        collections=("Alien Collection", "Favourites", "Space"),
        summary="In space no one can hear you scream.",
        studio="Brandywine",
        year=1979,
        originallyAvailableAt="1979-05-25",
        guids=("imdb://tt0078748",),
    )
    amelie = emulator.add_movie(
        movies,
        file=f"{MOVIES_ROOT}/Ame\u0301lie/Ame\u0301lie \U0001f3ac.mkv",
        title="Ame\u0301lie \U0001f3ac",
        added_at=1_600_000_300,
        summary="Line one\nLine two & <three>",
    )
    drama = emulator.add_movie(
        movies,
        file=f"{MOVIES_ROOT}/Other/movie.mkv",
        title="Drama Llama",
        added_at=1_600_000_200,
        genres=("Drama",),
    )
    episode = emulator.add_episode(
        shows,
        file=f"{SHOWS_ROOT}/The Show/Season 01/The Show - S01E02.mkv",
        show_title="The Show",
        season=1,
        episode=2,
        title="Second",
        size=555,
        duration_ms=1_500_000,
    )
    emulator.add_episode(
        shows,
        file=f"{SHOWS_ROOT}/The Show/Season 01/The Show - S01E01.mkv",
        show_title="The Show",
        season=1,
        episode=1,
        title="First",
    )
    return SmallLibrary(movies, shows, alien, amelie, drama, episode)


@contextmanager
def emulator_process(*flags: str) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """``python -m stashplex.sandbox.plex`` on a free port with ``flags``: the process and its
    banner line; SIGTERM and a wait when the block ends (``returncode`` is set then)."""
    command = [sys.executable, "-m", "stashplex.sandbox.plex", "--port", "0", "--token", TOKEN]
    process = subprocess.Popen(
        [*command, *flags],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    try:
        yield process, process.stdout.readline() if process.stdout else ""
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(30)
