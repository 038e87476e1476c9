"""The idle stop's parts (issue 19): the setting, the idle clock, the wake record, the front door
holding clients while the host sleeps. The whole, with real processes: tests/integration/
test_idle_stop.py."""

from __future__ import annotations

import os
import socket
import threading
import time

import pytest

from stashplex.config.settings import SettingsError, load_settings
from stashplex.host.idle import IdleClock, note_work_left
from stashplex.link import handover
from stashplex.link.frontdoor import FrontDoor
from stashplex.link.ipc import LocalServer, send_request
from stashplex.runtime.wake import (
    FALLBACK_WAKE_S,
    WORK_LEFT,
    read_wake,
    sleep_until_needed,
    write_wake,
)
from tests.support.actors import Harness
from tests.support.front_door import attach_fake_host


@pytest.mark.parametrize(
    ("minutes", "accepted"),
    [("0", True), ("0.05", True), ("10", True), ("1440", True), ("0.01", False),
     ("1441", False), ("-1", False)],
)  # fmt: skip
def test_the_idle_stop_is_never_at_0_or_after_3_seconds_to_a_day(minutes, accepted):
    env = {"STASHPLEX_IDLE_STOP_MINUTES": minutes}
    if accepted:
        assert load_settings(env=env).idle_stop_minutes == float(minutes)
        return
    with pytest.raises(SettingsError, match="idle_stop_minutes"):
        load_settings(env=env)


def test_the_host_stops_after_2_idle_minutes_by_default():
    assert load_settings(env={}).idle_stop_minutes == 2


def test_the_idle_clock_is_due_only_after_the_whole_idle_time_with_nothing_busy():
    # Given a clock of 0.2 s
    clock = IdleClock(0.2)
    # Then it is not due at once, nor while busy, nor right after being busy
    assert not clock.due(False)
    time.sleep(0.25)
    assert not clock.due(True)
    assert not clock.due(False)
    # And it is due once nothing was busy for the whole idle time
    time.sleep(0.25)
    assert clock.due(False)
    # And a request starts the idle time again
    clock.asked()
    assert not clock.due(False)


def test_a_host_woken_by_its_timer_stops_again_once_its_work_is_done():
    # Given a host woken by its own timer, with a long idle time
    clock = IdleClock(3600, woken_by_timer=True)
    # When its timer's work is done and a few quiet seconds passed
    clock.due(True)
    clock._last_busy -= 10  # its work ended ten seconds ago
    # Then it may stop, unless someone asked for it meanwhile
    assert clock.due(False)
    clock.asked()
    assert not clock.due(False)


def test_an_idle_time_of_0_never_stops_the_host():
    clock = IdleClock(0)
    time.sleep(0.01)
    assert not clock.due(False)


def test_the_wake_record_says_when_and_why_and_an_unreadable_one_wakes_within_the_hour(tmp_path):
    write_wake(tmp_path, 1234.5, "catchup")
    assert read_wake(tmp_path) == (1234.5, "catchup")
    write_wake(tmp_path, None, "")
    assert read_wake(tmp_path)[0] == float("inf")
    (tmp_path / "wake.json").write_text("{not json")
    assert read_wake(tmp_path, now=100.0) == (100.0 + FALLBACK_WAKE_S, "no wake time recorded")


def test_a_sleeping_front_door_answers_ping_and_holds_other_requests_for_the_next_host(data_dir):
    # Given a front door whose host went to sleep
    door = FrontDoor(data_dir)
    server = LocalServer(data_dir, door.handle, divert=door.divert).start()
    try:
        door.fall_asleep()
        # When a ping comes, it is answered there: the supervisor runs
        assert send_request(data_dir, {"v": 1, "type": "ping"}, 2)["asleep"] is True
        assert not door.wait_for_demand(0.05)
        # And when a status request comes, it waits, and the watchdog learns a host is needed
        replies: list[dict] = []
        client = threading.Thread(
            target=lambda: replies.append(send_request(data_dir, {"v": 1, "type": "status"}, 10))
        )
        client.start()
        assert door.wait_for_demand(5)
        assert replies == []
        # Then the next host started answers it
        host = attach_fake_host(door, data_dir)
        client.join(10)
        assert replies and replies[0]["answered_by"] == "host"
        assert host.requests[0]["type"] == "status"
    finally:
        server.stop()
        door.detach()


def test_a_request_the_host_refuses_as_it_goes_to_sleep_is_held_for_the_next_host(data_dir):
    # Given a front door whose host has just shut its end of the channel to go to sleep
    door = FrontDoor(data_dir)
    server = LocalServer(data_dir, door.handle, divert=door.divert).start()
    sender, value, _fds, close_host_ends = handover.open_channel()
    ends = handover.host_ends(",".join(str(os.dup(int(fd))) for fd in value.split(",")))
    close_host_ends()
    assert ends is not None
    channel, _wake_fd = ends
    door.attach(sender)
    channel.shutdown(socket.SHUT_RD)
    try:
        # When a request comes before the watchdog saw the host exit
        replies: list[dict] = []
        client = threading.Thread(
            target=lambda: replies.append(send_request(data_dir, {"v": 1, "type": "jobs"}, 10))
        )
        client.start()
        # Then it is held, not dropped, and the watchdog learns a host is needed
        assert door.wait_for_demand(5)
        door.detach()
        # And the next host answers it
        host = attach_fake_host(door, data_dir)
        client.join(10)
        assert replies and replies[0]["answered_by"] == "host"
        assert host.requests[0]["type"] == "jobs"
    finally:
        server.stop()
        door.detach()
        channel.close()


class Door:
    """A front door nobody asks anything of."""

    def fall_asleep(self) -> None:
        pass

    def wait_for_demand(self, timeout: float) -> bool:
        time.sleep(timeout)
        return False


def test_hooks_drained_into_a_mailbox_as_the_host_stopped_wake_a_host_at_once(tmp_path):
    # Given a host that decided to sleep until its catch-up in five minutes
    h = Harness(tmp_path)
    write_wake(h.data.root, time.time() + 300, "catchup")
    # When, as it stops, a hook the front door spooled meanwhile reaches Intake's mailbox
    h.send("intake", "hook.event", {"scene_id": "1"})
    note_work_left(h.data.root, h.post)
    # Then the watchdog wakes a host at once, as for a save, not for a timer
    started = time.monotonic()
    woken_by_timer = sleep_until_needed(h.data.root, Door(), threading.Event())
    assert time.monotonic() - started < 1 and woken_by_timer is False
    assert read_wake(h.data.root)[1] == WORK_LEFT


def test_a_host_that_stops_with_empty_mailboxes_keeps_its_wake_time(tmp_path):
    # Given a host that decided to sleep until its catch-up, with nothing in its mailboxes
    h = Harness(tmp_path)
    wake_at = time.time() + 300
    write_wake(h.data.root, wake_at, "catchup")
    # When it stops
    note_work_left(h.data.root, h.post)
    # Then the wake record still says the catch-up, five minutes away
    assert read_wake(h.data.root) == (wake_at, "catchup")
