"""A host killed by the watchdog charges the messages it held (issue 16, item 4).

A message that makes the host grow past its memory cap gets it killed; without a charge it
would be served again to every new host, forever. Each kill now counts one attempt against the
messages in flight, so after ``max_attempts`` kills it is a dead letter and the host stays up.
"""

import sys
import textwrap
import time

from actors.addresses import MATCHER, START_ORDER
from stashplex.link.ipc import send_request
from stashplex.runtime.envelope import Envelope
from stashplex.runtime.mailbox import PostOffice
from tests.support.hog_host import HOG, OK
from tests.support.processes import (
    REPO,
    answering,
    host_pid,
    start_supervisor,
    stop_supervisor,
    wait_for_host,
    write_config,
)
from tests.support.waiting import wait_until

MAX_ATTEMPTS = 2
RSS_CAP_MB = 250


def watchdog_argv() -> list[str]:
    """The real watchdog, over the hogging host, with a short grace before its SIGKILL."""
    return [
        sys.executable,
        "-c",
        textwrap.dedent(f"""
        import signal, sys
        from pathlib import Path
        sys.path.insert(0, {str(REPO)!r})
        from stashplex.runtime import watchdog
        from stashplex.runtime.datadir import DataDir
        from stashplex.runtime.logs import configure_logging
        watchdog.UNHEALTHY_STOP_TIMEOUT_S = 1.0
        data = DataDir(Path(sys.argv[2])).ensure()
        configure_logging(log_file=data.logs / "supervisor.log")
        host = [sys.executable, {str(REPO / "tests/support/hog_host.py")!r}]
        wd = watchdog.Watchdog(data, watchdog.Limits({RSS_CAP_MB}, 30.0), host_argv=host)
        signal.signal(signal.SIGTERM, wd.request_stop)
        sys.exit(wd.run())
    """),
    ]


def status(data) -> dict | None:
    try:
        reply = send_request(data, {"v": 1, "type": "status"}, timeout=2)
    except OSError:
        return None
    return reply if reply.get("ok") else None


def test_a_message_that_gets_the_host_killed_reaches_the_dead_letters_after_max_attempts(
    tmp_path,
):
    # Given a message that makes the host grow past the watchdog's memory cap, queued between
    # two harmless ones, and max_attempts = 2
    data = tmp_path / "data"
    write_config(data, max_attempts=MAX_ATTEMPTS)
    post = PostOffice(data / "mailboxes", START_ORDER)
    post[MATCHER].put_many(
        [
            Envelope(kind=OK, payload={"n": 1}),
            Envelope(kind=HOG, payload={}),
            Envelope(kind=OK, payload={"n": 2}),
        ]
    )
    post.close()
    supervisor = start_supervisor(data, argv=watchdog_argv())
    try:
        # When the watchdog kills each host that holds it
        wait_until(
            lambda: (s := status(data)) and s["dead_letters"].get("poison") == 1,
            timeout=90,
            message="the hog in the dead letters",
        )
        # Then it was killed exactly max_attempts times, and then dead-lettered unhandled
        log = (data / "logs" / "supervisor.log").read_text()
        # (one "restarting" line per kill; a kill before the host was ready is also reported)
        kills = log.count(f"over the cap of {RSS_CAP_MB} MB; restarting")
        assert kills == MAX_ATTEMPTS, log
        letters = send_request(data, {"v": 1, "type": "dlq", "action": "list"})["items"]
        (letter,) = letters
        assert letter["reason"] == "poison"
        assert f"the host died {MAX_ATTEMPTS} times" in letter["error"]
        # And the harmless ones went through (the first kill charged them too, but each was
        # then taken alone, so the second charged only the hog; handled-but-unacked ones come
        # again, as at-least-once delivery allows), and the last host stays up
        assert set((data / "ok.log").read_text().split()) == {"1", "2"}
        survivor = wait_for_host(data)
        wait_until(lambda: answering(data), message="the last host answering")
        time.sleep(1.0)  # a host that still held the hog would be over the cap by now
        assert host_pid(data) == survivor and status(data)["pid"] == survivor
        assert "over the cap" not in (data / "logs" / "host.log").read_text()[-2000:]
    finally:
        assert stop_supervisor(supervisor) == 0
