"""How an edit in Stash enters the system: plugin runner -> hook -> socket -> supervisor -> Plex."""

import json
import statistics
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from stashplex.cli import main as cli_main
from stashplex.plugin import install_plugin
from stashplex.runtime.datadir import DataDir, read_holder
from tests.support.processes import (
    answering,
    configure_for,
    intake_counters,
    kill_outright,
    start_supervisor,
    stop_supervisor,
)
from tests.support.waiting import wait_until
from tests.support.world import SyncWorld

#: The user's save must never wait longer than this for our hook.
SAVE_BUDGET_S = 0.100


@pytest.fixture
def world(tmp_path):
    w = SyncWorld(tmp_path, scenes=250)
    yield w
    w.close()


def configure(world, data: Path) -> None:
    configure_for(world, data)


def plex_titles_match(world, scene_ids) -> bool:
    for scene_id in scene_ids:
        wanted = world.stash.scene(scene_id)["title"]
        items = world.plex_items_of(scene_id)
        if not items or any(i["fields"].get("title") != wanted for i in items):
            return False
    return True


def install(world, tmp_path, data) -> Path:
    manifest = install_plugin(
        tmp_path / "plugins" / "stashplex", data_dir=data, python=Path(sys.executable)
    )
    world.stash.attach_plugin(manifest)
    return manifest


def test_an_edit_in_stash_runs_the_hook_and_reaches_plex_and_the_save_stays_in_budget(
    world, tmp_path
):
    # Given a running supervisor and the plugin installed in Stash
    data = tmp_path / "data"
    configure(world, data)
    supervisor = start_supervisor(data)
    try:
        wait_until(lambda: answering(data), timeout=30, message="supervisor answering")
        install(world, tmp_path, data)
        scene_ids = world.world.scene_ids[:5]
        # When the user edits scenes in Stash
        saves = [world.stash.update_scene(sid, title=f"Edited ✓ {sid}") for sid in scene_ids]
        # Then each hook ran once, exited cleanly, and the saves waited less than the budget
        for save in saves:
            (run,) = save.hook_runs
            assert (run.exit_code, run.error) == (0, None)
            assert run.stdin["args"]["hookContext"]["type"] == "Scene.Update.Post"
        assert statistics.median(s.waited_s for s in saves) < SAVE_BUDGET_S
        # And the events reached Intake and the new titles reached Plex
        wait_until(
            lambda: intake_counters(data).get("hook_events", 0) >= 5,
            message="events counted by Intake",
        )
        wait_until(
            lambda: plex_titles_match(world, scene_ids), timeout=30, message="titles in Plex"
        )
    finally:
        assert stop_supervisor(supervisor) == 0


def test_edits_made_while_the_supervisor_is_dead_all_reach_plex_after_it_restarts(world, tmp_path):
    # Given a supervisor that is killed outright
    data = tmp_path / "data"
    configure(world, data)
    supervisor = start_supervisor(data)
    wait_until(lambda: answering(data), timeout=30, message="supervisor answering")
    install(world, tmp_path, data)
    kill_outright(supervisor)
    wait_until(lambda: not answering(data), message="supervisor gone")
    # When 50 scenes are edited in Stash meanwhile (the hooks spool and start a new supervisor)
    scene_ids = world.world.scene_ids[:50]
    saves = [world.stash.update_scene(sid, title=f"While down {sid}") for sid in scene_ids]
    assert all(s.hook_runs[0].exit_code == 0 for s in saves)
    try:
        # Then all 50 reach Plex, through the spool (and catch-up for anything else)
        wait_until(
            lambda: plex_titles_match(world, scene_ids), timeout=90, message="all 50 edits in Plex"
        )
        assert intake_counters(data).get("hook_events", 0) >= 50
        assert not list((data / "spool").glob("*.json"))
    finally:
        assert cli_main(["stop", "--data-dir", str(data)]) == 0
        assert read_holder(DataDir(data)) is None


def hook_stdin(world, scene_id: str) -> str:
    return json.dumps(
        {
            "server_connection": world.stash.server_connection(),
            "args": {
                "hookContext": {
                    "id": int(scene_id),
                    "type": "Scene.Update.Post",
                    "input": {"id": scene_id, "title": None},
                    "inputFields": ["id", "title"],
                }
            },
        }
    )


def test_a_burst_of_500_hook_processes_is_acknowledged_whole_and_coalesced(world, tmp_path):
    # Given a running supervisor and 250 scenes, each hit by two hook events in a row
    data = tmp_path / "data"
    configure(world, data)
    supervisor = start_supervisor(data)
    try:
        wait_until(lambda: answering(data), timeout=30, message="supervisor answering")
        manifest = install(world, tmp_path, data)
        hook = manifest.parent / "stashplex_run_hook.py"
        stdins = [hook_stdin(world, sid) for sid in world.world.scene_ids for _ in range(2)]

        def run(stdin: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                [sys.executable, "-S", str(hook)],
                input=stdin,
                text=True,
                capture_output=True,
                timeout=60,
                check=False,
            )

        # When 500 hook processes run at once (as a bulk edit with parallel scans would)
        with ThreadPoolExecutor(max_workers=64) as pool:
            results = list(pool.map(run, stdins))
        # Then every one was acknowledged, none had to spool for itself, and Intake counted
        # all 500 (the front door's spool, which it drains, is empty again)
        assert [r.returncode for r in results] == [0] * 500
        outputs = [json.loads(r.stdout) for r in results]
        assert all(o["error"] is None and o["output"].startswith("queued ") for o in outputs)
        wait_until(
            lambda: intake_counters(data).get("hook_events", 0) == 500,
            message="500 events in Intake",
        )
        wait_until(lambda: not list((data / "spool").glob("*.json")), message="spool drained")
        # And they became at most one job per scene
        wait_until(
            lambda: not world.scenes_not_written(data=DataDir(data)),
            timeout=60,
            message="every scene written to Plex",
        )
        assert intake_counters(data).get("jobs_emitted", 0) <= 250
    finally:
        assert stop_supervisor(supervisor) == 0
