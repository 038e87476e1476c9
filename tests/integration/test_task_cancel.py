"""Cancelling the *Sync all scenes* task in Stash cancels the sync it started.

Stash cancels a raw plugin task by killing its process (SIGKILL; the plugin runner does what
pkg/plugin/raw.go does), so the task cannot say goodbye: the supervisor sees the task's
connection drop with the job unfinished, and cancels the job. Run through the plugin runner
against a real supervisor process and both emulators; Plex answers slowly, so the sync is
still running when the task is stopped.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

from actors.intake_state import SyncState, job_progress
from stashplex.plugin import install_plugin
from stashplex.runtime.datadir import DataDir
from tests.support.processes import answering, configure_for, start_supervisor, stop_supervisor
from tests.support.waiting import wait_until
from tests.support.world import SyncWorld

SCENES = 150


@pytest.fixture
def stash_with_plugin(tmp_path):
    world = SyncWorld(tmp_path, scenes=SCENES)
    # Slow enough (one request at a time, 0.1 s each) that the sync outlasts the 3 s the
    # supervisor waits for a dropped task to come back.
    world.plex.configure_latency(base_ms=100, concurrency=1)
    data = tmp_path / "data"
    configure_for(world, data, scan_on_miss=False)
    supervisor = start_supervisor(data)
    try:
        wait_until(lambda: answering(data), timeout=60, message="supervisor answering")
        manifest = install_plugin(
            tmp_path / "plugins" / "stashplex", data_dir=data, python=Path(sys.executable)
        )
        yield world, data, world.stash.attach_plugin(manifest)
    finally:
        stop_supervisor(supervisor)
        world.close()


def newest_job(data: Path) -> dict | None:
    state = SyncState(DataDir(data))
    try:
        rows = state.store.query("SELECT job_id FROM jobs ORDER BY created_at DESC LIMIT 1")
        return job_progress(state.store, rows[0]["job_id"]) if rows else None
    finally:
        state.store.close()


def test_stopping_the_sync_task_in_stash_cancels_its_sync(stash_with_plugin):
    world, data, runner = stash_with_plugin
    # Given the "Sync all scenes" task running, its sync part written
    task = runner.submit_task("stashplex", "Sync all scenes")
    # (seen in Plex: the job counts its writes a whole gateway batch at a time)
    wait_until(
        lambda: len(world.scenes_not_written()) < SCENES, timeout=60, message="a write"
    )

    # When the task is stopped, as Stash's UI does (its process is killed)
    assert runner.stop_job(task)
    run = runner.jobs[task].result(timeout=10)

    # Then the supervisor cancels the sync within seconds, and it ends with scenes cancelled
    job = wait_until(
        lambda: (j := newest_job(data)) and j["finished"] and j["cancelled_at"] and j,
        timeout=30,
        message="the sync cancelled and over",
    )
    assert job["done"] + job["failed"] + job["skipped"] < SCENES
    assert run.error == "signal: killed"
    # And nothing more of it reaches Plex
    written = SCENES - len(world.scenes_not_written())
    time.sleep(3)
    assert SCENES - len(world.scenes_not_written()) == written
    assert "the Stash task following it is gone" in (data / "logs" / "host.log").read_text()


def test_a_sync_task_that_ends_normally_leaves_its_finished_job_alone(stash_with_plugin):
    world, data, runner = stash_with_plugin
    world.plex.configure_latency(base_ms=0)
    # When the sync task runs to its end
    run = runner.run_task("stashplex", "Sync all scenes")

    # Then its job finished whole, and closing the task's connection cancelled nothing
    assert run.exit_code == 0, run.logs
    time.sleep(4)  # past the grace a dropped connection gets to come back
    job = newest_job(data)
    assert job is not None and job["finished"] and job["cancelled_at"] is None
    assert job["done"] + job["skipped"] + job["failed"] == SCENES
