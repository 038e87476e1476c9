"""Every failure a user must fix reaches Stash's log at error level, at the latest with the next
save, once per change, with the one setting or command that fixes it.

The plugin runs as Stash runs it (the plugin runner); the supervisor is a real process, started
by the plugin's own hook as on a fresh install, or by the test. A failure found while a save's
hook still runs may already be in that save's lines (a loaded machine), so a test reads the
lines of the save that causes a failure together with those of the next one.
"""

from __future__ import annotations

import json
import time

import pytest

from stashplex.link.ipc import send_request
from stashplex.runtime.problems import DEAD_LETTERS, PATH_MAP, SETTINGS, ProblemLog
from tests.support.processes import answering, start_supervisor, stop_supervisor, write_config
from tests.support.stash_plugin import StashWithPlugin
from tests.support.waiting import wait_until
from tests.support.world import TOKEN


@pytest.fixture
def stash(tmp_path):
    world = StashWithPlugin(tmp_path)
    yield world
    world.close()


def recorded(data, key: str):
    return ProblemLog(data).active().get(key)


def spawned_pid(data) -> int | None:
    try:
        return json.loads((data / "spawn.lock").read_text()).get("pid")
    except (OSError, ValueError):
        return None


def gone(pid: int | None) -> bool:
    from stashplex.link.notices import _running

    return pid is not None and not _running(pid)


def test_a_plex_url_without_http_saved_in_stash_is_an_error_at_the_next_save(stash):
    # Given a Plex URL without http:// saved in the plugin's settings in Stash
    stash.save_plugin_settings(plex_url="plex:32400")
    # When a scene is saved (its hook starts the supervisor, which refuses the setting)
    first = stash.save()
    wait_until(lambda: recorded(stash.data, SETTINGS), timeout=30, message="settings refused")
    # Then by the next save one error line names the setting, its source and the fix
    (error,) = stash.errors(first + stash.save())
    assert error.startswith("stashplex: the supervisor cannot start: invalid settings: plex_url")
    assert "(from Stash plugin settings): must start with http:// or https://" in error
    assert "Fix: correct plex_url in Stash (Settings > Plugins > Stash to Plex sync)" in error
    # And a third save does not repeat it
    assert stash.errors(stash.save()) == []


def test_the_health_check_without_a_supervisor_runs_the_checks_in_the_task(stash):
    # Given no supervisor running
    # When Stash runs the Health check task
    run = stash.run_task("Health check")
    # Then the task checks Stash, Plex and the path map itself, and says no supervisor answers
    assert run.exit_code == 0, run.logs
    assert "[ok] stash" in run.output and "[ok] plex" in run.output
    errors = [line.message for line in run.logs if line.level == "error"]
    assert errors == [
        line for line in run.output.splitlines() if line.startswith("[FAIL]")
    ] and errors[0].startswith("[FAIL] supervisor: no supervisor answers at")


@pytest.fixture
def running(tmp_path):
    """Our plugin in Stash and a running supervisor (breaker quick to open and to try again)."""
    world = StashWithPlugin(tmp_path, breaker_failures=2, breaker_reset_seconds=1)
    supervisor = start_supervisor(world.data)
    wait_until(lambda: answering(world.data), timeout=30, message="supervisor answering")
    yield world
    stop_supervisor(supervisor)
    world.close()


def test_a_revoked_plex_token_is_an_error_at_the_next_save(running):
    # Given Plex that stops accepting the token
    running.world.plex.faults.revoke_token()
    # When a scene is saved and its sync reaches Plex
    first = running.save()
    wait_until(lambda: recorded(running.data, "plex_token"), timeout=30, message="401 seen")
    # Then by the next save the rejected token is logged at error level, with where to set one
    errors = running.errors(first + running.save())
    (token,) = [line for line in errors if "rejects the token (401)" in line]
    assert "Fix: set a valid Plex token (plex_token) in Stash" in token
    assert "`stashplex dlq retry --reason unauthorized`" in token
    assert TOKEN not in token


def test_plex_down_through_five_breaker_trials_is_an_error_in_stashs_log(running):
    # Given Plex down
    running.world.plex.faults.down()

    # When scenes keep being saved while the breaker holds every sync
    def reported() -> list[str]:
        time.sleep(0.5)
        return [line for line in running.errors(running.save()) if "has not answered" in line]

    (error,) = wait_until(reported, timeout=40, interval=0, message="Plex down in Stash's log")
    # Then one save logged it at error level, with what to do
    assert "every sync waits for it. Fix: start Plex, or correct plex_url" in error
    running.world.plex.faults.up()


def test_scenes_given_up_on_are_counted_in_stashs_log_since_the_last_report(tmp_path):
    # Given two scenes whose file has a namesake elsewhere in Plex (no sure match), made before
    # the supervisor starts (its catch-up then leaves them alone: only saves sync them)
    running = StashWithPlugin(tmp_path)
    first = running.stash.add_scene(files=[{"path": "/data/nowhere/shared name.mp4"}])
    second = running.stash.add_scene(files=[{"path": "/data/elsewhere2/shared name.mp4"}])
    supervisor = start_supervisor(running.data)
    try:
        wait_until(lambda: answering(running.data), timeout=30, message="supervisor answering")
        given_up_on_one_at_a_time(running, first, second)
    finally:
        stop_supervisor(supervisor)
        running.close()


def given_up_on_one_at_a_time(running: StashWithPlugin, first: str, second: str) -> None:
    # When the first is saved and given up on, then the next save comes
    lines = running.save(first)
    wait_until(lambda: recorded(running.data, DEAD_LETTERS), timeout=30, message="dead letter")
    (error,) = running.errors(lines + running.save())
    # Then that save reports it with its reason in words and the command that lists them
    assert error.startswith("stashplex: 1 scene could not be synced (1 ")
    assert error.split("(", 1)[1].startswith(("1 uncertain match). ", "1 ambiguous match). "))
    assert error.endswith(
        "Fix: `stashplex dlq list` shows each with its reason; `stashplex dlq retry --all` tries "
        "again once that is fixed"
    )
    # And the next one reports only the scene given up on since
    lines = running.save(second)
    wait_until(
        lambda: dead_lettered(running, second)
        and (fresh_problem(running, DEAD_LETTERS) or running.errors(lines)),
        timeout=30,
        message="second dead letter",
    )
    (again,) = running.errors(lines + running.save())
    assert again.startswith("stashplex: 1 scene could not be synced (1 ")


def fresh_problem(world: StashWithPlugin, key: str) -> bool:
    """Whether ``key`` is recorded and not yet logged by a hook."""
    problems = ProblemLog(world.data)
    problem = problems.active().get(key)
    return problem is not None and problem.rev > problems.seen_rev()


def dead_lettered(world: StashWithPlugin, scene_id: str) -> bool:
    items = send_request(world.data, {"v": 1, "type": "dlq", "action": "list"})["items"]
    return any(item["scene_id"] == scene_id for item in items)


def test_files_outside_every_plex_library_are_a_path_map_error_at_the_next_save(tmp_path):
    # Given a supervisor without a path map, Stash's /data/ paths being /media/ in Plex
    world = StashWithPlugin(tmp_path)
    write_config(
        world.data, plex_url=world.world.plex.url, plex_token=TOKEN, stash_url=world.stash.url
    )
    supervisor = start_supervisor(world.data)
    try:
        wait_until(lambda: answering(world.data), timeout=30, message="supervisor answering")
        # When a scene is saved
        first = world.save()
        # Then the path map is reported at once, not after an hour of not-found retries
        wait_until(lambda: recorded(world.data, PATH_MAP), timeout=20, message="path map")
        (error,) = [line for line in world.errors(first + world.save()) if "path_map" in line]
        assert "lies in a Plex library" in error and "(no path-map rule covers it)" in error
        assert "Plex's libraries are at /media" in error
        assert "`stashplex unmatched` lists every scene that does not map" in error
    finally:
        stop_supervisor(supervisor)
        world.close()
