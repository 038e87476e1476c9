"""A hook never waits on the actor host: the watchdog's front door answers it (issue 19)."""

import os
import signal
import time

from stashplex.link.ipc import send_request
from tests.support.processes import (
    answering,
    configure_for,
    intake_counters,
    start_supervisor,
    stop_supervisor,
    wait_for_host,
)
from tests.support.waiting import wait_until
from tests.support.world import SyncWorld


def hook_event(scene_id: str) -> dict:
    return {"trigger": "Scene.Update.Post", "scene_id": scene_id, "input_fields": ["title"]}


def test_a_frozen_host_still_gets_hooks_acknowledged_and_a_killed_one_loses_none(tmp_path):
    # Given a running supervisor whose actor host is frozen (SIGSTOP: as busy as a host can be)
    world = SyncWorld(tmp_path, scenes=3)
    data = world.data.root
    configure_for(world, data)
    supervisor = start_supervisor(data)
    try:
        wait_until(lambda: answering(data), timeout=60, message="supervisor answering")
        first_host = wait_for_host(data)
        os.kill(first_host, signal.SIGSTOP)
        # When five hooks arrive
        started = time.monotonic()
        replies = [
            send_request(data, {"v": 1, "type": "hook", "event": hook_event(str(n))}, 5)
            for n in range(1, 6)
        ]
        waited = time.monotonic() - started
        # Then each is acknowledged at once, by a process that is not the host
        assert all(reply["ok"] is True for reply in replies)
        assert waited < 2.0
        # And when the frozen host is killed outright before it took them
        os.kill(first_host, signal.SIGKILL)
        # Then the next host takes all five into Intake: none lost
        wait_for_host(data, other_than=first_host, timeout=60)
        wait_until(
            lambda: intake_counters(data).get("hook_events", 0) >= 5,
            timeout=60,
            message="the five events counted by Intake",
        )
        assert not list((data / "spool").glob("*.json"))
    finally:
        assert stop_supervisor(supervisor) == 0
        world.close()
