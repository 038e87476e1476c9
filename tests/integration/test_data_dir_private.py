"""A running supervisor keeps its data directory private (issue 16, item 6)."""

import stat
import subprocess
import sys

from stashplex.link import handoff
from stashplex.link.ipc import send_request
from tests.support.processes import (
    REPO,
    answering,
    configure_for,
    intake_counters,
    start_supervisor,
    stop_supervisor,
)
from tests.support.waiting import wait_until
from tests.support.world import SyncWorld

COOKIE = "MTc0NDg5-only-for-its-one-use-Q0FBQU"


def hook_event(scene_id: str) -> dict:
    return {
        "trigger": "Scene.Update.Post",
        "scene_id": scene_id,
        "input_fields": ["title"],
        "connection": {
            "scheme": "http",
            "host": "127.0.0.1",
            "port": 9999,
            "session_cookie": COOKIE,
        },
    }


def test_every_file_is_owner_only_and_no_session_cookie_outlives_its_use(tmp_path):
    # Given a supervisor syncing a small world, and one hook event left in the spool
    world = SyncWorld(tmp_path, scenes=3)
    data = world.data.root
    configure_for(world, data)
    handoff.write_spool(data, hook_event("1"))
    supervisor = start_supervisor(data)
    try:
        wait_until(lambda: answering(data), timeout=30, message="supervisor answering")
        # When another hook event arrives on the socket, both carrying Stash's session cookie
        assert send_request(data, {"v": 1, "type": "hook", "event": hook_event("2")})["ok"]
        wait_until(lambda: intake_counters(data).get("hook_events") == 2, message="handled")
        assert send_request(data, {"v": 1, "type": "sync", "mode": "all"})["ok"]
        wait_until(
            lambda: intake_counters(data).get("jobs_done", 0) >= 3, timeout=60, message="the sync"
        )
    finally:
        assert stop_supervisor(supervisor) == 0
        world.close()
    # Then no file in the data directory holds the cookie, and all are the owner's alone
    for path in data.rglob("*"):
        mode = path.lstat().st_mode
        if stat.S_ISDIR(mode):
            assert stat.S_IMODE(mode) == 0o700, path
            continue
        if path.name != "config.toml":  # the user's own file
            assert stat.S_IMODE(mode) == 0o600, f"{path} is {stat.S_IMODE(mode):o}"
        if stat.S_ISREG(mode):
            assert COOKIE.encode() not in path.read_bytes(), f"{path} keeps the cookie"


def test_run_refuses_a_data_directory_others_can_write_to_in_one_line(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    data.chmod(0o777)
    completed = subprocess.run(
        [sys.executable, "-m", "stashplex", "run", "--data-dir", str(data)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 2
    assert completed.stderr.strip().splitlines() == [
        f"stashplex run: {data} can be written by other users (mode 777); run `chmod 700 {data}`"
    ]
