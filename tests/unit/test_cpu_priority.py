"""A background process lowers the CPU priority of every thread it has, never raises it.

Each case runs in a child process: a lowered priority cannot be raised back without privileges,
and the test process must keep its own.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.processes import REPO

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux scheduling")

#: The test runner's own nice value, which its children start with.
BASE_NICE = os.getpriority(os.PRIO_PROCESS, 0) if hasattr(os, "getpriority") else 0

CHILD = """
import json, os, sys, threading
from stashplex.runtime.cpu_priority import lower_cpu_priority, thread_ids
setup, priority = sys.argv[1], sys.argv[2]
exec(setup)
started = threading.Event()
early = threading.Thread(target=started.wait, daemon=True)  # a thread that exists already
early.start()
said = lower_cpu_priority(priority)
late = []
spawned = threading.Thread(target=lambda: late.append(
    (os.sched_getscheduler(0), os.getpriority(os.PRIO_PROCESS, 0))))
spawned.start(); spawned.join()
spawned_tid = spawned.native_id
threads = [(os.sched_getscheduler(t), os.getpriority(os.PRIO_PROCESS, t))
           for t in thread_ids() if t != spawned_tid]  # it may linger in /proc as it ends
started.set()
from pathlib import Path
group = Path("/proc/self/autogroup")
group = group.read_text().split() if group.exists() else []
print(json.dumps({"said": said, "threads": threads, "late": late[0], "group": group}))
"""


def lowered(priority: str, setup: str = "pass", *, own_session: bool = False) -> dict:
    done = subprocess.run(
        start_new_session=own_session,
        args=[sys.executable, "-c", CHILD, setup, priority],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return json.loads(done.stdout)


def test_idle_puts_every_thread_under_sched_idle_including_one_started_before_and_after():
    # Given a process with a second thread already running
    # When it lowers its priority to idle
    result = lowered("idle")
    # Then every thread it had, and one it starts later, runs under SCHED_IDLE
    assert len(result["threads"]) >= 2
    assert {policy for policy, _nice in result["threads"]} == {os.SCHED_IDLE}
    assert result["late"][0] == os.SCHED_IDLE
    assert "SCHED_IDLE" in result["said"]


@pytest.mark.skipif(BASE_NICE > 10, reason="the test itself runs below nice 10")
def test_low_sets_nice_10_on_every_thread_and_keeps_the_normal_policy():
    # Given a process at a nice value under 10, with a second thread running
    # When it lowers its priority to low
    result = lowered("low")
    # Then every thread, and a later one, runs at nice 10 under the ordinary policy
    assert {tuple(t) for t in result["threads"]} == {(os.SCHED_OTHER, 10)}
    assert tuple(result["late"]) == (os.SCHED_OTHER, 10)
    assert result["said"] == "low CPU priority (nice 10)"


def test_low_never_raises_a_thread_that_was_started_lower_still():
    # Given a process already at nice 15 (a user started it with `nice -n 15`)
    # When it asks for low (nice 10)
    result = lowered("low", setup="os.setpriority(os.PRIO_PROCESS, 0, max(15, os.nice(0)))")
    # Then it stays at 15: the setting only ever lowers the priority
    assert {nice for _policy, nice in result["threads"]} == {15}


@pytest.mark.skipif(BASE_NICE > 19, reason="unreachable")
def test_idle_falls_back_to_nice_19_where_the_system_has_no_sched_idle():
    # Given a system without SCHED_IDLE (as the os module reports it)
    # When the process asks for idle
    result = lowered("idle", setup="del os.SCHED_IDLE")
    # Then it gets the lowest nice value instead
    assert {tuple(t) for t in result["threads"]} == {(os.SCHED_OTHER, 19)}
    assert result["said"] == "low CPU priority (nice 19)"


def test_normal_leaves_the_priority_as_it_was():
    # Given a process one step below the test's own priority
    # When it asks for normal
    result = lowered("normal", setup="os.nice(1)")
    # Then nothing changed
    assert {tuple(t) for t in result["threads"]} == {(os.SCHED_OTHER, min(BASE_NICE + 1, 19))}


AUTOGROUP = Path("/proc/self/autogroup")
HAS_AUTOGROUP = AUTOGROUP.exists()


@pytest.mark.skipif(not HAS_AUTOGROUP, reason="this kernel has no autogroup scheduling")
def test_a_process_leading_its_own_session_lowers_the_whole_session_to_nice_10():
    # Given a process started in a session of its own (as the watchdog starts the actor host)
    # When it lowers its priority to idle
    result = lowered("idle", own_session=True)
    # Then its session's group, which the kernel shares the CPU between, is at nice 10
    assert result["group"][-2:] == ["nice", "10"]
    assert result["said"].endswith("its session at nice 10")


@pytest.mark.skipif(not HAS_AUTOGROUP, reason="this kernel has no autogroup scheduling")
def test_a_process_in_someone_elses_session_leaves_that_session_alone():
    # Given a process in the test runner's session (a terminal's, say)
    before = AUTOGROUP.read_text().split()
    # When it lowers its priority to low
    result = lowered("low")
    # Then the session's group keeps its nice value: it is not the process's to lower
    assert result["group"] == before
    assert "session" not in result["said"]
