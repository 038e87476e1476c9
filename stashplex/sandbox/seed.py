"""One seeded world on both sides: a Stash library and the Plex library that scanned the same disk.

Stash (in Docker) sees the files under `/data/...`; Plex sees the same files under `/media/...`.
That prefix difference is exactly what the sync's path mapping must bridge. A fraction of the
files can be left "on disk only" in Plex (not yet scanned), so the sync's scan-then-retry path
gets exercised too.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from stashplex.sandbox.plex import PlexEmulator
    from stashplex.sandbox.stash import StashEmulator

MOVIE_SECTION_TYPE = "movie"


@dataclass(frozen=True)
class WorldFile:
    """One video file as both servers know it; `rating_key` is None until Plex scans it."""

    scene_id: str
    stash_path: str
    plex_path: str
    size: int
    duration_ms: int
    section_key: int
    rating_key: int | None


@dataclass
class World:
    scene_ids: list[str]
    files: list[WorldFile]
    sections: dict[str, int] = field(default_factory=dict)

    @property
    def unscanned(self) -> list[WorldFile]:
        return [file for file in self.files if file.rating_key is None]

    def plex_path(self, stash_path: str) -> str:
        for file in self.files:
            if file.stash_path == stash_path:
                return file.plex_path
        raise KeyError(f"{stash_path} is not a seeded file")

    def files_of(self, scene_id: str) -> list[WorldFile]:
        return [file for file in self.files if file.scene_id == scene_id]


def _with_slash(root: str) -> str:
    return root if root.endswith("/") else root + "/"


def seed_world(  # noqa: PLR0917 - the documented signature others call
    stash: StashEmulator,
    plex: PlexEmulator,
    n_scenes: int,
    seed: int = 0,
    stash_root: str = "/data/",
    plex_root: str = "/media/",
    unscanned_fraction: float = 0.0,
    *,
    section_per_top_folder: bool = False,
) -> World:
    """Seed Stash with `n_scenes` and give Plex a movie for every Stash file (same size/duration).

    With `section_per_top_folder` Plex gets one movie section per top folder (`/media/Movies/`,
    ...) instead of a single section located at `plex_root`.
    """
    if not 0.0 <= unscanned_fraction <= 1.0:
        raise ValueError(f"unscanned_fraction must be within [0, 1], got {unscanned_fraction}")
    stash_root, plex_root = _with_slash(stash_root), _with_slash(plex_root)
    scene_ids = stash.seed(n_scenes, seed=seed, path_root=stash_root)
    chooser = random.Random(f"plex-world-{seed}")  # noqa: S311 - test data, not security
    sections: dict[str, int] = {}
    files: list[WorldFile] = []
    for scene_id in scene_ids:
        scene = stash.store.scenes[int(scene_id)]
        for stash_file in scene.files:
            rest = stash_file.path.removeprefix(stash_root)
            plex_path = plex_root + rest
            top = rest.split("/", 1)[0] if section_per_top_folder else ""
            if top not in sections:
                location = f"{plex_root}{top}/" if top else plex_root
                sections[top] = plex.add_section(top or "Movies", MOVIE_SECTION_TYPE, [location])
            size, duration_ms = stash_file.size, round(stash_file.duration * 1000)
            title = scene.title or stash_file.basename.rsplit(".", 1)[0]
            if chooser.random() < unscanned_fraction:
                plex.put_on_disk(plex_path, title, size=size, duration_ms=duration_ms)
                rating_key = None
            else:
                rating_key = plex.add_movie(
                    sections[top], plex_path, title=title, size=size, duration_ms=duration_ms
                )
            files.append(
                WorldFile(
                    scene_id,
                    stash_file.path,
                    plex_path,
                    size,
                    duration_ms,
                    sections[top],
                    rating_key,
                )
            )
    return World(scene_ids=scene_ids, files=files, sections=sections)
