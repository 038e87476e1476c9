import os
import time

import psutil
import pytest

from stashplex.runtime.datadir import AlreadyRunningError, DataDir, InstanceLock, read_holder
from stashplex.runtime.watchdog import check_host


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


def test_a_second_supervisor_on_the_same_data_directory_is_refused_with_the_owner_s_pid(
    tmp_path,
):
    data = DataDir(tmp_path / "data")
    with InstanceLock(data):
        assert read_holder(data).pid == os.getpid()
        with pytest.raises(AlreadyRunningError, match=f"pid {os.getpid()}"):
            InstanceLock(data).acquire()
    # And once released, nobody holds it and a new owner can take it
    assert read_holder(data) is None
    with InstanceLock(data):
        pass


def test_a_stale_lock_record_of_a_dead_process_is_not_an_owner(tmp_path):
    data = DataDir(tmp_path / "data").ensure()
    data.lock_file.write_text('{"pid": 999999, "create_time": 1.0}')
    assert read_holder(data) is None
    with InstanceLock(data):
        assert read_holder(data).pid == os.getpid()


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
