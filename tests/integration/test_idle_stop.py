"""An idle actor host stops to give its memory back; the watchdog starts it on demand (issue 19).

``idle_stop_minutes = 0.05`` (3 s, the least the setting allows) keeps these tests quick.
"""

import json
import os
import time
from pathlib import Path

import pytest

from actors.scheduler import open_store
from stashplex.link.ipc import send_request
from stashplex.runtime.datadir import DataDir
from tests.support.processes import (
    configure_for,
    host_pid,
    intake_counters,
    start_supervisor,
    stop_supervisor,
    wait_for_host,
)
from tests.support.waiting import wait_until
from tests.support.world import SyncWorld

IDLE_MIN = 0.05


@pytest.fixture
def world(tmp_path):
    w = SyncWorld(tmp_path, scenes=3)
    yield w
    w.close()


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    try:  # a zombie is no host: the watchdog reaps it
        return Path(f"/proc/{pid}/stat").read_bytes().rpartition(b")")[2].split()[0] != b"Z"
    except (OSError, IndexError):
        return False


def asleep(data: Path, host: int) -> bool:
    return not alive(host) and "asleep (idle)" in supervisor_log(data)


def supervisor_log(data: Path) -> str:
    try:
        return (data / "logs" / "supervisor.log").read_text(errors="replace")
    except OSError:
        return ""


def hook(scene_id: str) -> dict:
    return {
        "v": 1,
        "type": "hook",
        "event": {"trigger": "Scene.Update.Post", "scene_id": scene_id, "input_fields": ["title"]},
    }


def title_in_plex(world, scene_id: str, title: str) -> bool:
    items = world.plex_items_of(scene_id)
    return bool(items) and all(i["fields"].get("title") == title for i in items)


def start(world, **settings) -> tuple[Path, object, int]:
    data = world.data.root
    configure_for(world, data, idle_stop_minutes=IDLE_MIN, **settings)
    supervisor = start_supervisor(data)
    return data, supervisor, wait_for_host(data, timeout=60)


def test_an_idle_host_stops_the_watchdog_stays_and_a_hook_then_is_acknowledged_and_reaches_plex(
    world,
):
    # Given a supervisor whose actor host had nothing to do for idle_stop_minutes
    data, supervisor, first_host = start(world)
    try:
        wait_until(lambda: asleep(data, first_host), timeout=60, message="the host asleep")
        # Then the watchdog stays, says why the host will wake, and "is it running" says yes
        assert supervisor.poll() is None
        assert json.loads((data / "wake.json").read_text())["why"] == "catchup"
        assert "stopping to free its memory" in (data / "logs" / "host.log").read_text()
        ping = send_request(data, {"v": 1, "type": "ping"}, 2)
        assert ping["ok"] is True and ping["asleep"] is True
        # When the user saves a scene
        scene_id = world.world.scene_ids[0]
        world.stash.update_scene(scene_id, title="Saved while asleep")
        started = time.monotonic()
        reply = send_request(data, hook(scene_id), 5)
        # Then the hook is acknowledged at once, and a new host takes it to Plex
        assert reply["ok"] is True
        assert time.monotonic() - started < 1.0
        wait_for_host(data, other_than=first_host, timeout=60)
        wait_until(
            lambda: title_in_plex(world, scene_id, "Saved while asleep"),
            timeout=60,
            message="the edit in Plex",
        )
    finally:
        assert stop_supervisor(supervisor) == 0


def test_a_cli_request_to_a_sleeping_supervisor_wakes_its_host_and_is_answered(world):
    # Given a supervisor whose host sleeps
    data, supervisor, first_host = start(world)
    try:
        wait_until(lambda: asleep(data, first_host), timeout=60, message="the host asleep")
        # When `stashplex status` asks it
        reply = send_request(data, {"v": 1, "type": "status"}, 30)
        # Then a new host answers it: the client only waited longer
        assert reply["ok"] is True
        assert reply["host_pid"] not in (None, first_host)
        assert alive(reply["host_pid"])
    finally:
        assert stop_supervisor(supervisor) == 0


def test_a_pending_retry_timer_keeps_the_host_awake_until_it_is_gone(world):
    # Given a supervisor whose scheduler holds a retry due in an hour
    data = world.data.root
    store = open_store(DataDir(data).ensure())
    job = {"to": "intake", "kind": "intake.catchup", "payload": {}}
    with store.transaction() as conn:
        conn.execute(
            "INSERT INTO timers (id, scene_id, revision, due_at, reason, job, every_s, created_at)"
            " VALUES ('retry-1', NULL, NULL, ?, 'transient', ?, NULL, ?)",
            (time.time() + 3600, json.dumps(job), time.time()),
        )
    store.close()
    data, supervisor, first_host = start(world)
    try:
        # When it waits well past idle_stop_minutes
        time.sleep(IDLE_MIN * 60 + 6)
        # Then its host still runs
        assert alive(first_host) and host_pid(data) == first_host
        # And once the retry is gone, it sleeps
        store = open_store(DataDir(data))
        with store.transaction() as conn:
            conn.execute("DELETE FROM timers WHERE id = 'retry-1'")
        store.close()
        wait_until(lambda: asleep(data, first_host), timeout=60, message="the host asleep")
    finally:
        assert stop_supervisor(supervisor) == 0


def test_a_sleeping_host_is_started_again_when_its_own_timer_is_due(world):
    # Given a supervisor whose catch-up runs every 5 s, and whose host fell asleep
    data, supervisor, first_host = start(world, catchup_interval_seconds=5)
    try:
        wait_until(lambda: asleep(data, first_host), timeout=60, message="the host asleep")
        # When nobody asks anything, a host runs again at the catch-up's due time
        second = wait_for_host(data, other_than=first_host, timeout=30)
        # Then it was woken by its timer, and sleeps again soon after its work
        assert "its catchup timer is due" in supervisor_log(data)
        wait_until(lambda: not alive(second), timeout=30, message="the woken host asleep again")
    finally:
        assert stop_supervisor(supervisor) == 0


def test_hooks_that_arrive_while_the_host_goes_to_sleep_are_still_drained(world):
    # Given a supervisor whose host has just decided to sleep (its log says so)
    data, supervisor, first_host = start(world)
    host_log = data / "logs" / "host.log"
    try:
        wait_until(
            lambda: "stopping to free its memory" in host_log.read_text(errors="replace"),
            timeout=60,
            interval=0.005,
            message="the host deciding to sleep",
        )
        # When hooks arrive while it stops
        replies = [send_request(data, hook(str(n)), 5) for n in (1, 2, 3)]
        assert all(r["ok"] is True for r in replies)
        stopping = alive(first_host)
        # Then none is lost: a host drains all three
        wait_until(
            lambda: intake_counters(data).get("hook_events", 0) >= 3 and not alive(first_host),
            timeout=30,
            message="the three hooks counted by Intake",
        )
        wait_until(lambda: not list((data / "spool").glob("*.json")), timeout=30)
        assert stopping, "the hooks arrived after the host was gone: the race was not exercised"
    finally:
        assert stop_supervisor(supervisor) == 0
