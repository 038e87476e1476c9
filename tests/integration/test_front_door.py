"""A hook never waits on the actor host: the watchdog's front door answers it (issue 19)."""

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

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


@contextmanager
def running_supervisor(tmp_path: Path, scenes: int) -> Iterator[tuple[Path, subprocess.Popen]]:
    """A supervisor answering on a data dir synced with ``scenes`` emulated scenes; stopped
    (cleanly: exit 0) and cleaned up afterwards."""
    world = SyncWorld(tmp_path, scenes=scenes)
    data = world.data.root
    configure_for(world, data)
    supervisor = start_supervisor(data)
    try:
        wait_until(lambda: answering(data), timeout=60, message="supervisor answering")
        yield data, supervisor
    finally:
        assert stop_supervisor(supervisor) == 0
        world.close()


def test_a_frozen_host_still_gets_hooks_acknowledged_and_a_killed_one_loses_none(tmp_path):
    # Given a running supervisor whose actor host is frozen (SIGSTOP: as busy as a host can be)
    with running_supervisor(tmp_path, scenes=3) as (data, _supervisor):
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


def thread_policies(pid: int) -> list[int]:
    """The scheduling policy of each thread ``pid`` has (one that ends meanwhile is skipped)."""
    policies = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(ProcessLookupError):
            policies.append(os.sched_getscheduler(int(task.name)))
    return policies


def test_the_actor_host_behind_the_front_door_yields_the_cpu_and_the_watchdog_does_not(tmp_path):
    # Given a supervisor started with the default settings
    with running_supervisor(tmp_path, scenes=1) as (data, supervisor):
        host = wait_for_host(data)
        # When its actor host has started its threads (actors, socket, pools)
        policies = thread_policies(host)
        # Then each of them yields the CPU to any other process (a save's hook first)
        assert len(policies) > 5
        assert set(policies) == {os.SCHED_IDLE}
        # And it leads a session of its own, whose share of the CPU is lowered as a whole
        assert os.getsid(host) == host
        if Path("/proc/self/autogroup").exists():
            assert Path(f"/proc/{host}/autogroup").read_text().split()[-2:] == ["nice", "10"]
            assert Path(f"/proc/{supervisor.pid}/autogroup").read_text().split()[-1] == "0"
        # And the watchdog, whose front door answers the hooks, keeps its priority
        assert os.sched_getscheduler(supervisor.pid) == os.SCHED_OTHER
