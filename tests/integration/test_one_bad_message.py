"""One bad message never restarts the host (issue 16, item 3).

A hook event with a cookie no HTTP header can carry once crashed Intake six times and escalated
to a host restart; so did ``journal undo 9223372036854775808``. What cannot be encoded is now
refused where it enters (the hook, the socket, the spool, the CLI), with the same rules on both
sides; and a handler crash that one message causes is charged to that message alone.
"""

import subprocess
import sys

import pytest
from pydantic import ValidationError

from actors.addresses import INTAKE, PLEX_GATEWAY, START_ORDER
from actors.messages import HOOK_EVENT, JOURNAL_UNDO, HookEvent
from stashplex.link import handoff
from stashplex.link.events import BadInputError, build_event
from stashplex.link.ipc import send_request
from stashplex.runtime.envelope import Envelope
from stashplex.runtime.mailbox import PostOffice
from tests.support.processes import (
    REPO,
    answering,
    configure_for,
    intake_counters,
    start_supervisor,
    stop_supervisor,
    wait_for_host,
)
from tests.support.waiting import wait_until
from tests.support.world import SyncWorld

BAD_COOKIE = "MTc0NDg5NTk0N3xEdi1CQkFFQ180SUFBUkFCRUFBQU_-\u00e9\u4e2d"
HUGE = 2**63  # one past SQLite's largest integer


def hook_event(scene_id: str, cookie: str) -> dict:
    return {
        "trigger": "Scene.Update.Post",
        "scene_id": scene_id,
        "input_fields": ["title"],
        "connection": {
            "scheme": "http",
            "host": "127.0.0.1",
            "port": 9999,
            "session_cookie": cookie,
        },
    }


@pytest.fixture
def world(tmp_path):
    w = SyncWorld(tmp_path, scenes=3)
    configure_for(w, w.data.root, restart_max=1, restart_period_seconds=60)
    yield w
    w.close()


def status(data) -> dict:
    return send_request(data, {"v": 1, "type": "status"}, timeout=5)


def stashplex(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "stashplex", *argv],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_hook_and_the_supervisor_refuse_the_same_unusable_cookie():
    # Given hook input whose session cookie no HTTP header can carry
    payload = {
        "args": {"hookContext": {"id": 5, "type": "Scene.Update.Post"}},
        "server_connection": {"SessionCookie": {"Value": BAD_COOKIE}},
    }
    # When the hook builds its event, Then it refuses it (exit 2, never spooled)
    with pytest.raises(BadInputError, match="not a usable cookie"):
        build_event(payload)
    # And the supervisor refuses the same event, however it arrives
    with pytest.raises(ValidationError, match="session_cookie is not a usable cookie"):
        HookEvent.model_validate(hook_event("5", BAD_COOKIE))


def test_a_bad_cookie_and_a_huge_id_leave_the_host_up_with_no_restart(world):
    # Given a running supervisor
    data = world.data.root
    supervisor = start_supervisor(data)
    try:
        wait_until(lambda: answering(data), timeout=30, message="supervisor answering")
        first_host = wait_for_host(data)
        # When a hook event with an unusable cookie arrives on the socket and in the spool
        reply = send_request(data, {"v": 1, "type": "hook", "event": hook_event("1", BAD_COOKIE)})
        handoff.write_spool(data, hook_event("2", BAD_COOKIE))
        # And ids too large for any store arrive through the CLI and the socket
        undo = stashplex("journal", "undo", str(HUGE), "--data-dir", str(data))
        show = stashplex("dlq", "show", str(HUGE), "--data-dir", str(data))
        scene = stashplex("sync", "--scene", "9" * 19, "--data-dir", str(data))
        raw_undo = send_request(
            data, {"v": 1, "type": "journal", "action": "undo", "rating_key": HUGE}
        )
        raw_retry = send_request(data, {"v": 1, "type": "dlq", "action": "retry", "ids": [HUGE]})
        # Then each is refused where it entered, in one line
        assert reply["ok"] is False and "session_cookie" in reply["error"]
        wait_until(lambda: list((data / "spool" / "bad").glob("*")), message="spool set aside")
        for completed in (undo, show, scene):
            assert completed.returncode == 2
            assert len(completed.stderr.strip().splitlines()) == 1
            assert "Traceback" not in completed.stderr
        assert "out of range" in undo.stderr
        assert "not a Stash scene id" in scene.stderr
        assert raw_undo["ok"] is False and "rating_key" in raw_undo["error"]
        assert raw_retry["ok"] is False
        # And a good event still goes through, on the same host, with no actor restarted
        good = send_request(data, {"v": 1, "type": "hook", "event": hook_event("3", "abc")})
        assert good["ok"] is True
        wait_until(lambda: intake_counters(data).get("hook_events") == 1, message="handled")
        after = status(data)
        assert after["pid"] == first_host
        assert set(after["restarts"].values()) == {0}
        assert "restarting" not in (data / "logs" / "supervisor.log").read_text()
    finally:
        assert stop_supervisor(supervisor) == 0


def test_bad_messages_already_in_the_mailboxes_end_as_dead_letters_without_a_host_restart(world):
    # Given messages that slipped past the door (an older version queued them): two events
    # with unusable cookies and an undo of an impossible item, with restart_max = 1
    data = world.data.root
    post = PostOffice(data / "mailboxes", START_ORDER)
    post[INTAKE].put_many(
        Envelope(kind=HOOK_EVENT, scene_id=str(n), payload=hook_event(str(n), BAD_COOKIE))
        for n in (1, 2)
    )
    post[PLEX_GATEWAY].put(Envelope(kind=JOURNAL_UNDO, payload={"rating_key": HUGE}))
    post.close()
    supervisor = start_supervisor(data)
    try:
        wait_until(lambda: answering(data), timeout=30, message="supervisor answering")
        first_host = wait_for_host(data)
        # When the actors meet them (each crashes its handler until it is dead-lettered)
        wait_until(
            lambda: sum(status(data)["dead_letters"].values()) == 3,
            timeout=60,
            message="three poison dead letters",
        )
        # Then every crash was charged to its message: the host never restarted
        after = status(data)
        assert after["dead_letters"] == {"poison": 3}
        assert after["pid"] == first_host
        assert after["restarts"][INTAKE] >= 3 and after["restarts"][PLEX_GATEWAY] == 3
        assert "restarting" not in (data / "logs" / "supervisor.log").read_text()
        # And the stored dead letters keep no cookie
        dump = stashplex("dlq", "list", "--data-dir", str(data)).stdout
        assert BAD_COOKIE not in dump
    finally:
        assert stop_supervisor(supervisor) == 0
