"""A library scan finding new video files, as pkg/scene/scan.go `ScanHandler.Handle` adds them.

For a file that matches no scene (neither by file id nor by fingerprint) Stash creates a scene
with no metadata at all (`models.NewScene()`: no title, created_at = updated_at = now), registers
`Scene.Create.Post` with input `null` and no inputFields for after the commit, and then, after
the hooks have run, queues cover generation (internal/manager/task_scan.go `sceneGenerators`,
when "generate covers on scan" is on, as it is by default in the UI). The cover task stores the
cover and bumps `updated_at` with an empty `NewScenePartial`
(internal/manager/task_generate_screenshot.go) and fires no hook. So a plugin that reacts to
Scene.Create.Post finds a scene with no title and no cover, and the cover appears later with a
new `updated_at` that no hook announces.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from stashplex.sandbox.stash.contracts import HookDispatcher, PluginRun, SaveResult
from stashplex.sandbox.stash.images import solid_png
from stashplex.sandbox.stash.records import SceneRecord
from stashplex.sandbox.stash.staging import file_record
from stashplex.sandbox.stash.store import StashStore

SCAN_TRIGGER = "Scene.Create.Post"


@dataclass
class ScanResult:
    """What one scan did: the scenes it created (in file order) and the hooks it waited for."""

    scene_ids: list[str] = field(default_factory=list)
    skipped_paths: list[str] = field(default_factory=list)
    hook_runs: list[PluginRun] = field(default_factory=list)


def generated_cover(scene_id: int) -> bytes:
    """A stand-in for the screenshot ffmpeg would take: a distinct small PNG per scene."""
    return solid_png((scene_id * 37 % 256, scene_id * 91 % 256, 200))


def scan_new_files(
    store: StashStore,
    paths: Iterable[str],
    hooks: Callable[[], HookDispatcher | None],
    user_id: str,
    *,
    generate_covers: bool = True,
    cover_after_s: float = 0.0,
) -> ScanResult:
    """Create one scene per unknown path, each followed by its hook and then its cover.

    Paths Stash already has a file for are skipped (an unchanged file does nothing on rescan).
    `cover_after_s` moves the server clock on before each cover is stored, standing in for the
    time ffmpeg takes, so the cover's `updated_at` bump can be told from the creation stamp.
    """
    result = ScanResult()
    known = {file.path for file in store.all_files()}
    for path in paths:
        if path in known:
            result.skipped_paths.append(path)
            continue
        known.add(path)
        started = time.perf_counter()
        with store.lock:
            now = store.clock.now()
            scene = SceneRecord(id=store.next_scene_id(), created_at=now, updated_at=now)
            scene.files = [file_record(store, {"path": path}, now)]
            store.scenes[scene.id] = scene
        dispatcher = hooks()
        runs: list[PluginRun] = []
        if dispatcher is not None:
            runs = dispatcher.fire_hooks(
                SCAN_TRIGGER, scene.id, None, None, (), user_id=user_id
            )
            dispatcher.record_save(SaveResult("scan", time.perf_counter() - started, runs))
        result.hook_runs += runs
        result.scene_ids.append(str(scene.id))
        if generate_covers:
            if cover_after_s:
                store.clock.advance(cover_after_s)
            _store_cover(store, scene.id)
    return result


def _store_cover(store: StashStore, scene_id: int) -> None:
    """`GenerateCoverTask`: only if the scene has no cover yet; bumps updated_at, no hook."""
    with store.lock:
        scene = store.scenes.get(scene_id)
        if scene is None or scene.cover is not None or not scene.files:
            return
        covered = copy.copy(scene)
        covered.cover = generated_cover(scene_id)
        covered.updated_at = store.clock.now()
        store.scenes[scene_id] = covered
