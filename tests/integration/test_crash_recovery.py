import os
import signal
import sys
import textwrap

from actors.addresses import INTAKE, PIPELINE_ROUTE, START_ORDER
from stashplex.link.ipc import send_request
from stashplex.runtime.mailbox import PostOffice
from stashplex.runtime.trace import read_traces, trace_envelope
from tests.support.processes import (
    REPO,
    host_pid,
    start_supervisor,
    stop_supervisor,
    wait_for_host,
    write_config,
)
from tests.support.waiting import wait_until


def _status(data) -> dict | None:
    try:
        reply = send_request(data, {"v": 1, "type": "status"}, timeout=2)
    except OSError:
        return None
    return reply if reply.get("ok") else None


def test_sigkill_of_the_actor_host_with_1000_messages_in_flight_loses_none(tmp_path):
    # Given 1,000 probes waiting in Intake, routed through all five actors, and full fsync so
    # the pipeline is slow enough to be caught mid-way
    data = tmp_path / "data"
    write_config(data, mailbox_sync="full")
    post = PostOffice(data / "mailboxes", START_ORDER)
    sent = [trace_envelope(PIPELINE_ROUTE) for _ in range(1000)]
    post[INTAKE].put_many(sent)
    post.close()
    supervisor = start_supervisor(data)
    try:
        first_host = wait_for_host(data)
        trace_file = data / "trace.jsonl"
        wait_until(lambda: len(read_traces(trace_file)) > 0, message="first finished probe")
        # When the actor host is killed while messages are still in flight
        os.kill(first_host, signal.SIGKILL)
        finished_before_kill = {row["id"] for row in read_traces(trace_file)}
        assert len(finished_before_kill) < 1000
        # Then the watchdog starts a new host and every probe finishes at least once
        wait_for_host(data, other_than=first_host)
        wait_until(
            lambda: {row["id"] for row in read_traces(trace_file)} >= {e.id for e in sent},
            timeout=120,
            message="all 1,000 probes finished",
        )
        rows = read_traces(trace_file)
        assert {row["id"] for row in rows} == {e.id for e in sent}
        assert all([h[0] for h in row["hops"]] == list(PIPELINE_ROUTE) for row in rows)
    finally:
        assert stop_supervisor(supervisor) == 0


def test_an_actor_failing_in_on_start_past_the_intensity_limit_restarts_the_host(tmp_path):
    # Given a host whose Matcher cannot start while a marker file exists
    data = tmp_path / "data"
    write_config(data, restart_max=2, restart_period_seconds=30)
    (data / "fail-matcher-start").write_text("")
    argv = [
        sys.executable,
        "-c",
        textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(REPO)!r})
        from stashplex.runtime.datadir import DataDir
        from stashplex.config.settings import load_settings
        from stashplex.runtime.watchdog import Watchdog
        from stashplex.runtime.logs import configure_logging
        data = DataDir(__import__('pathlib').Path(sys.argv[2]))
        configure_logging()
        wd = Watchdog(data, load_settings(config_file=data.config_file),
                      host_argv=[sys.executable, {str(REPO / "tests/support/faulty_host.py")!r}])
        import signal; signal.signal(signal.SIGTERM, wd.request_stop)
        sys.exit(wd.run())
    """),
    ]
    supervisor = start_supervisor(data, argv=argv)
    try:
        # When the Matcher keeps failing, the host escalates and exits non-zero ...
        first_host = wait_for_host(data)
        log = data / "logs" / "host.log"
        wait_until(
            lambda: log.exists() and "escalating to the watchdog" in log.read_text(),
            message="escalation",
        )
        # ... and once the fault is gone, the watchdog's next host runs the whole pipeline
        (data / "fail-matcher-start").unlink()
        second_host = wait_for_host(data, other_than=first_host)
        out = (tmp_path / "data.supervisor.out").read_text()
        assert "actor host exited with code 3" in out
        assert second_host != first_host
        status = wait_until(lambda: _status(data), message="status from the new host")
        assert status["pid"] == host_pid(data)
        assert status["restarts"]["matcher"] == 0
    finally:
        assert stop_supervisor(supervisor) == 0
