"""A supervisor killed during a sync's walk counts the library once (issue 17).

The walk of ``stashplex sync`` reads Stash page by page inside one Intake message. If the host
dies mid-walk, the message is served again by the next host: the job must go on after the last
page it counted, not count the library twice ("2000 scenes").
"""

from __future__ import annotations

import os
import signal

from actors.intake_state import SyncState, job_progress
from stashplex.link.ipc import send_request
from stashplex.runtime.datadir import DataDir
from tests.support.processes import (
    answering,
    configure_for,
    host_pid,
    start_supervisor,
    stop_supervisor,
    wait_for_host,
)
from tests.support.waiting import wait_until
from tests.support.world import SyncWorld

#: Three of the walk's pages (500 scenes each).
SCENES = 1100


def stored_job(data, job_id: str) -> dict | None:
    state = SyncState(DataDir(data))
    try:
        return job_progress(state.store, job_id)
    finally:
        state.store.close()


def test_sigkill_of_the_host_mid_walk_leaves_the_job_counting_the_library_once(tmp_path):
    # Given a library of 1,100 scenes and a Stash that answers slowly, so the walk takes a while
    world = SyncWorld(tmp_path, scenes=SCENES)
    data = tmp_path / "data"
    configure_for(world, data, scan_on_miss=False, sync_poster=False)
    supervisor = start_supervisor(data)
    try:
        wait_until(lambda: answering(data), timeout=60, message="supervisor answering")
        first_host = wait_for_host(data)
        world.stash.faults.slow(0.7)
        job_id = send_request(data, {"v": 1, "type": "sync", "mode": "all"})["job"]
        # When the actor host is killed after the walk counted its first page, before its end
        wait_until(
            lambda: (job := stored_job(data, job_id)) and job["total"] and job["queued"],
            timeout=60,
            interval=0.02,
            message="the first page counted",
        )
        assert not stored_job(data, job_id)["enumerated"], "the walk ended before the kill"
        os.kill(host_pid(data), signal.SIGKILL)
        world.stash.faults.slow(0)
        # Then the next host finishes the job, with the library counted once
        wait_for_host(data, other_than=first_host, timeout=60)
        job = wait_until(
            lambda: (j := stored_job(data, job_id)) and j["finished"] and j,
            timeout=240,
            message="the sync to finish",
        )
        assert job["total"] == SCENES
        assert job["done"] + job["skipped"] + job["failed"] + job["superseded"] == SCENES
        assert world.scenes_not_written() == []
    finally:
        stop_supervisor(supervisor)
        world.close()
