import os
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from stashplex.runtime.datadir import (
    AlreadyRunningError,
    DataDir,
    InstanceLock,
    is_our_process,
    read_holder,
)
from stashplex.runtime.host_health import check_host


@pytest.fixture
def me():
    return psutil.Process(os.getpid())


def test_a_live_host_with_a_fresh_heartbeat_under_its_cap_is_healthy(tmp_path, me):
    beat = tmp_path / "heartbeat"
    beat.touch()
    health = check_host(me, heartbeat=beat, started_at=time.time(), heartbeat_timeout_s=5,
                        rss_cap_bytes=10 * 2**30)
    assert health.healthy


def test_a_stale_heartbeat_makes_the_host_unhealthy(tmp_path, me):
    beat = tmp_path / "heartbeat"
    beat.touch()
    old = time.time() - 60
    os.utime(beat, (old, old))
    health = check_host(me, heartbeat=beat, started_at=old, heartbeat_timeout_s=5,
                        rss_cap_bytes=10 * 2**30)
    assert not health.healthy and "heartbeat stale" in health.reason


def test_a_host_over_its_memory_cap_is_unhealthy(tmp_path, me):
    health = check_host(me, heartbeat=tmp_path / "none", started_at=time.time(),
                        heartbeat_timeout_s=5, rss_cap_bytes=1024)
    assert not health.healthy and "over the cap" in health.reason


def test_a_host_that_just_started_gets_grace_before_its_first_heartbeat(tmp_path, me):
    health = check_host(me, heartbeat=tmp_path / "none", started_at=time.time(),
                        heartbeat_timeout_s=5, rss_cap_bytes=10 * 2**30)
    assert health.healthy


HOLDER = (
    "import sys, time; from pathlib import Path; "
    "from stashplex.runtime.datadir import DataDir, InstanceLock; "
    "lock = InstanceLock(DataDir(Path(sys.argv[1]))); lock.acquire(); "
    "print('held', flush=True); time.sleep(60)"
)


@pytest.fixture
def holder(tmp_path):
    """A stashplex process (its command line says so) that holds the data directory's lock."""
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(tmp_path / "data")],
        stdout=subprocess.PIPE,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert proc.stdout.readline().strip() == b"held"
    yield proc
    proc.kill()
    proc.wait()


def test_a_second_supervisor_on_the_same_data_directory_is_refused_with_the_owner_s_pid(
    tmp_path, holder
):
    data = DataDir(tmp_path / "data")
    assert read_holder(data).pid == holder.pid
    with pytest.raises(AlreadyRunningError, match=f"pid {holder.pid}"):
        InstanceLock(data).acquire()
    # And once released, nobody holds it and a new owner can take it
    holder.kill()
    holder.wait()
    assert read_holder(data) is None
    with InstanceLock(data):
        pass


def test_a_stale_lock_record_of_a_dead_process_is_not_an_owner(tmp_path):
    data = DataDir(tmp_path / "data").ensure()
    data.lock_file.write_text('{"pid": 999999, "create_time": 1.0}')
    assert read_holder(data) is None
    with InstanceLock(data):
        pass


def test_a_lock_record_naming_a_live_process_that_is_not_stashplex_is_never_an_owner(tmp_path):
    # Given a lock record naming a live process of ours that is not stashplex (pid reuse, or
    # an edited file): exactly the pid and start time `stashplex stop` would signal
    data = DataDir(tmp_path / "data").ensure()
    other = subprocess.Popen(["sleep", "30"])
    try:
        started = psutil.Process(other.pid).create_time()
        data.lock_file.write_text(f'{{"pid": {other.pid}, "create_time": {started}}}')
        # When its owner is looked up, Then nobody owns the directory, so nothing is signalled
        assert read_holder(data) is None
        assert not is_our_process(other.pid)
        assert other.poll() is None
    finally:
        other.kill()
        other.wait()


def test_the_data_directory_is_private_to_its_owner(tmp_path):
    data = DataDir(tmp_path / "data").ensure()
    assert (data.root.stat().st_mode & 0o777) == 0o700


def test_a_host_that_refuses_its_settings_is_not_restarted_and_the_watchdog_exits_2(tmp_path):
    # Given an actor host that exits 2, as one does with a bad setting
    import sys

    from stashplex.config.settings import Settings
    from stashplex.runtime.watchdog import EXIT_CONFIG, Watchdog

    data = DataDir(tmp_path / "data")
    data.ensure()
    starts = tmp_path / "starts"
    host = f"open({str(starts)!r}, 'a').write('x'); raise SystemExit(2)"
    watchdog = Watchdog(data, Settings(), host_argv=[sys.executable, "-c", host])
    # When the watchdog runs it
    code = watchdog.run()
    # Then it gives up at once with the same exit code instead of restarting it forever
    assert code == EXIT_CONFIG
    assert starts.read_text() == "x"
    assert watchdog.restarts == 0


def test_a_host_that_exits_2_between_the_poll_and_the_health_check_is_still_a_refused_setting(
    tmp_path,
):
    # Given an actor host that exits 2 (a refused setting) and is still running when the
    # watchdog polls it, but has exited, unreaped (a zombie), when its health is checked
    import sys

    from stashplex.config.settings import Settings
    from stashplex.runtime.problems import ProblemLog
    from stashplex.runtime.watchdog import EXIT_CONFIG, PlainDoor, Watchdog

    class LatePoll(subprocess.Popen):
        polls = 0

        def poll(self):
            LatePoll.polls += 1
            if LatePoll.polls == 1:
                while psutil.Process(self.pid).status() != psutil.STATUS_ZOMBIE:
                    time.sleep(0.01)
                return None  # it was running an instant ago
            return super().poll()

    class Door(PlainDoor):
        def popen(self, argv):
            return LatePoll(argv, stderr=subprocess.PIPE)

    data = DataDir(tmp_path / "data")
    data.ensure()
    watchdog = Watchdog(
        data, Settings(), host_argv=[sys.executable, "-c", "raise SystemExit(2)"], door=Door()
    )
    # When the watchdog runs it
    code = watchdog.run()
    # Then it is the refused setting it is: no restart, no "zombie" start failure on record
    assert code == EXIT_CONFIG
    assert watchdog.restarts == 0
    assert ProblemLog(data.root).active() == {}
