"""``stashplex unmatched``: every Stash scene whose files do not map to a Plex item, and why.

On demand and without the supervisor, like the doctor: it lists Plex's libraries into a path
index, pages through every Stash scene, and asks :func:`stashplex.sync.coverage.explain_unmatched`
about each, with the same path map and matching rules the sync uses.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from stashplex.config.settings import Settings
from stashplex.stash import StashClient
from stashplex.sync.coverage import explain_unmatched
from stashplex.sync.matching import StashFile
from stashplex.sync.pathmap import PathMap, path_basename
from stashplex.sync.scene import SceneDataError, StashScene


@dataclass(frozen=True)
class UnmatchedScene:
    scene_id: str
    title: str
    reason: str
    detail: str


@dataclass
class Coverage:
    scenes: int = 0
    plex_items: int = 0


def find_unmatched(
    settings: Settings, coverage: Coverage, *, progress: Callable[[int, int], None] | None = None
) -> Iterator[UnmatchedScene]:
    """Each unmatched scene, in Stash's id order; ``coverage`` counts what was looked at.

    Raises what :func:`stashplex.plex.connection.classify` understands when Plex cannot be
    listed, and ``StashError`` when Stash cannot be read.
    """
    from stashplex.plex.connection import connect
    from stashplex.plex.index import IndexBuilder, PathIndex

    ci = settings.case_insensitive_paths
    index = IndexBuilder(connect(settings), settings.plex_libraries).build(
        PathIndex(case_insensitive=ci)
    )
    coverage.plex_items = len(index)
    pathmap = PathMap.parse(settings.path_map, case_insensitive=ci)
    stash = StashClient(
        settings.stash_url, api_key=settings.stash_api_key.get_secret_value(), timeout=60
    )
    for total, page in stash.scene_pages():
        for raw in page:
            coverage.scenes += 1
            try:
                scene = StashScene.from_graphql(raw)
            except SceneDataError as exc:
                yield UnmatchedScene(str(raw.get("id")), "", "unreadable", str(exc))
                continue
            files = [StashFile(f.path, f.size, f.duration_s) for f in scene.files]
            why = explain_unmatched(
                files,
                index,
                pathmap,
                in_library=lambda path: index.section_for(path) is not None,
                case_insensitive=ci,
                strict=settings.strict_matching,
                allow_medium=settings.allow_medium_confidence,
            )
            if why is not None:
                title = scene.title or (path_basename(files[0].path) if files else "")
                yield UnmatchedScene(scene.id, title, why.reason, why.detail)
        if progress is not None:
            progress(coverage.scenes, total)
