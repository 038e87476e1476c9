"""A scan that finds new files: bare scenes, one Scene.Create.Post each, covers afterwards.

Source: pkg/scene/scan.go (`ScanHandler.Handle`), internal/manager/task_scan.go
(`sceneGenerators`), internal/manager/task_generate_screenshot.go (`GenerateCoverTask`).
"""

from __future__ import annotations

from stashplex.sandbox.stash import StashEmulator
from tests.support.stash_realism import data, echo_manifest, probe_manifest

SCENE = "query ($id: ID) { findScene(id: $id) { title updated_at files { path } } }"
COVERLESS = """
query Coverless($id: Int!) {
  findScenes(scene_filter: {is_missing: "cover", id: {value: $id, modifier: EQUALS}}) { count }
}"""
PROBE_QUERY = """
query Probe($id: ID) {
  findScene(id: $id) { title }
  findScenes(scene_filter: {is_missing: "cover"}) { scenes { id } }
}"""


def test_a_scan_creates_a_bare_scene_per_new_file_and_fires_one_create_hook_each(tmp_path):
    # Given a plugin hooked on Scene.Create.Post
    with StashEmulator() as stash:
        runner = stash.attach_plugin(echo_manifest(tmp_path, "scan", ["Scene.Create.Post"]))

        # When a scan finds two new files
        result = stash.scan_new_files(["/data/new/a.mp4", "/data/new/b.mkv"])

        # Then two scenes exist, each with its file and no metadata
        assert len(result.scene_ids) == 2
        for scene_id, path in zip(
            result.scene_ids, ["/data/new/a.mp4", "/data/new/b.mkv"], strict=True
        ):
            scene = data(stash, SCENE, {"id": scene_id})["findScene"]
            assert scene["title"] == ""
            assert scene["files"] == [{"path": path}]

    # And one Scene.Create.Post ran per scene: int id, input null, no inputFields
    contexts = [run.stdin["args"]["hookContext"] for run in runner.runs]
    assert contexts == [
        {"id": int(scene_id), "type": "Scene.Create.Post", "input": None}
        for scene_id in result.scene_ids
    ]
    assert result.hook_runs == runner.runs


def test_the_create_hook_runs_before_the_cover_exists(tmp_path):
    # Given a plugin that, from its Create hook, asks Stash which scenes miss a cover
    with StashEmulator() as stash:
        runner = stash.attach_plugin(
            probe_manifest(tmp_path, "probe", ["Scene.Create.Post"], PROBE_QUERY)
        )

        # When a scan adds one file
        (scene_id,) = stash.scan_new_files(["/data/new/c.mp4"]).scene_ids
        after_scan = data(stash, COVERLESS, {"id": int(scene_id)})["findScenes"]["count"]

    # Then during the hook the scene had no title and no cover, and the scan generated one after
    answer = runner.runs[0].output["body"]["data"]
    assert answer["findScene"]["title"] == ""
    assert {"id": scene_id} in answer["findScenes"]["scenes"]
    assert after_scan == 0


def test_the_generated_cover_moves_updated_at_without_a_hook(tmp_path):
    # Given a plugin hooked on every scene event, and a clock that moves between steps
    with StashEmulator() as stash:
        runner = stash.attach_plugin(
            echo_manifest(tmp_path, "all", ["Scene.Create.Post", "Scene.Update.Post"])
        )
        stash.clock.freeze()
        created = stash.clock.now()

        # When a scan without cover generation adds a file, and one with it (ffmpeg taking 5 s)
        # adds another
        (bare,) = stash.scan_new_files(["/data/x.mp4"], generate_covers=False).scene_ids
        (covered,) = stash.scan_new_files(["/data/y.mp4"], cover_after_s=5).scene_ids
        scenes = {sid: stash.scene(sid) for sid in (bare, covered)}

    # Then the covered scene's updated_at moved past its creation when the cover arrived, the
    # bare one's did not, and the only hooks that ran were the two creates
    assert (scenes[bare]["has_cover"], scenes[covered]["has_cover"]) == (False, True)
    assert scenes[bare]["updated_at"] == scenes[bare]["created_at"] == created
    assert scenes[covered]["created_at"] == created
    assert scenes[covered]["updated_at"] > created
    assert [run.trigger for run in runner.runs] == ["Scene.Create.Post", "Scene.Create.Post"]


def test_a_path_stash_already_has_is_skipped_on_rescan():
    # Given a scanned file
    with StashEmulator() as stash:
        first = stash.scan_new_files(["/data/a.mp4"])

        # When it is scanned again with a new one
        second = stash.scan_new_files(["/data/a.mp4", "/data/b.mp4"])

        # Then only the new file makes a scene
        assert len(stash.scene_ids()) == 2
    assert second.skipped_paths == ["/data/a.mp4"]
    assert second.scene_ids != first.scene_ids
