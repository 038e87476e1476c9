"""Deterministic library seeding, awkward names included.

The awkward names are the ones that break sync tools: combining characters (NFD), emoji,
~300-character titles, markup characters, and the same basename in two folders.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

from stashplex.sandbox.plex.adding import add_episodes, add_movie
from stashplex.sandbox.plex.library import Library
from stashplex.sandbox.plex.model import MOVIE

SEED_EPOCH = 1_600_000_000
_WORDS = (
    "Night",
    "River",
    "Glass",
    "Echo",
    "Silver",
    "Harbor",
    "Winter",
    "Signal",
    "Garden",
    "Orbit",
    "Paper",
    "Storm",
    "Lantern",
    "Atlas",
    "Velvet",
    "Copper",
    "Meadow",
    "Cipher",
    "Drift",
    "Ember",
)
_AWKWARD = (
    "Ame\u0301lie a\u0300 Montmartre",  # combining accents (NFD)
    "Caf\u00e9 \U0001f3ac Premi\u00e8re",  # precomposed plus emoji
    "\u6771\u4eac \u7269\u8a9e",  # CJK
    "\u05e9\u05dc\u05d5\u05dd World",  # right-to-left mixed
    "Tom & Jerry <Uncut> \"Final\" 'Cut'",  # markup characters
    "Sm\u00f8rrebr\u00f8d \U0001f9c8 \u00c5rhus",
)
_GENRES = ("Drama", "Comedy", "Action", "Documentary", "Horror", "Romance", "Sci-Fi", "Thriller")
_PEOPLE = ("Ada Byron", "Grace Hopper", "Alan Turing", "Zoë Kravitz", "Bjørn Borg", "李小龙")


@dataclass(frozen=True, slots=True)
class SeededItem:
    rating_key: int
    file: str
    title: str


def _month_day(index: int) -> str:
    return f"{1 + index % 12:02d}-{1 + index % 28:02d}"


def _title(rng: random.Random, index: int) -> str:
    roll = index % 50
    if roll == 7:
        return _AWKWARD[(index // 50) % len(_AWKWARD)] + f" {index}"
    if roll == 23:
        long = " ".join(rng.choice(_WORDS) for _ in range(60))
        return (long[:290] + f" {index}").strip()
    return f"{rng.choice(_WORDS)} {rng.choice(_WORDS)} {index}"


def seed_library(
    lib: Library, n_items: int, seed: int = 0, sections: Sequence[int] | None = None
) -> list[SeededItem]:
    """Add `n_items` items round-robin over `sections` (default: all; Movies + TV if none)."""
    if n_items < 0:
        raise ValueError("n_items must not be negative")
    rng = random.Random(seed)  # noqa: S311 - deterministic test data
    with lib.lock:
        if sections is None:
            sections = list(lib.sections)
            if not sections:
                root = "D:\\Media" if lib.realism.windows else "/media"
                sections = [
                    lib.add_section("Movies", MOVIE, [lib.paths.join(root, "movies")]),
                    lib.add_section("TV Shows", "show", [lib.paths.join(root, "shows")]),
                ]
        targets = [lib.section(key) for key in sections]
        if not targets:
            raise ValueError("seeding needs at least one section")
        created: list[SeededItem] = []
        per_section = dict.fromkeys(sections, 0)
        for index in range(n_items):
            section = targets[index % len(targets)]
            number = per_section[section.key]
            per_section[section.key] += 1
            title = _title(rng, index)
            location = section.locations[0]
            added_at = SEED_EPOCH + index * 60 + rng.randrange(60)
            if section.type == MOVIE:
                folder = f"{title[:120]} ({1950 + index % 70})"
                basename = "movie.mkv" if index % 97 == 0 else f"{title[:120]}.mkv"
                file = lib.paths.join(location, folder, basename)
                if lib.files_of(file):
                    file = lib.paths.join(location, f"{folder} [{index}]", basename)
                key = add_movie(
                    lib,
                    section.key,
                    file,
                    title=title,
                    size=rng.randrange(10**8, 10**10),
                    duration_ms=rng.randrange(60, 180) * 60_000,
                    added_at=added_at,
                    genres=rng.sample(_GENRES, 3),
                    actors=[(p, f"Role {i}") for i, p in enumerate(rng.sample(_PEOPLE, 4))],
                    directors=[rng.choice(_PEOPLE)],
                    year=1950 + index % 70,
                    summary=f"Summary of {title}",
                    studio=rng.choice(_WORDS) + " Studios",
                    originallyAvailableAt=f"{1950 + index % 70}-{_month_day(index)}",
                    guids=[f"imdb://tt{index:07d}"],
                )
            else:
                show_number = number // 10
                show = f"Show {show_number} {_WORDS[show_number % len(_WORDS)]}"
                season, episode = 1 + (number % 10) // 5, 1 + number % 5
                name = f"S{season:02d}E{episode:02d} {title[:120]}.mkv"
                file = lib.paths.join(location, f"Show {show_number}", f"Season {season:02d}", name)
                [key] = add_episodes(
                    lib,
                    section.key,
                    file,
                    show_title=show,
                    season=season,
                    episodes=[episode],
                    title=title,
                    size=rng.randrange(10**7, 10**9),
                    duration_ms=rng.randrange(20, 60) * 60_000,
                    added_at=added_at,
                    summary=f"Episode {episode} of {show}",
                    originallyAvailableAt=f"2010-{_month_day(index)}",
                )
            created.append(SeededItem(key, file, title))
        return created
