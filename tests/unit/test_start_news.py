"""The record of supervisor starts: a start that died without a word is news once per reason.

``stashplex.link.starts`` decides what the next hook logs about the supervisor it (or a task)
started last; these tests give it real dead processes and real files in a data directory.
"""

from __future__ import annotations

import subprocess
import time

import pytest

from stashplex.link import starts
from stashplex.plugin import environment
from stashplex.runtime.problems import SETTINGS, ProblemLog
from stashplex.runtime.watchdog import install_fix


@pytest.fixture
def data(tmp_path):
    (tmp_path / "logs").mkdir()
    return tmp_path


def log_path(data) -> str:
    return str(data / "logs" / "supervisor.log")


def dead_start(data, said: str) -> dict:
    """A start recorded as a hook records it, whose process printed ``said`` and died."""
    log = data / "logs" / "supervisor.log"
    log_from = log.stat().st_size if log.exists() else 0
    at = time.time()
    process = subprocess.Popen(["true"])
    process.wait()
    with log.open("a") as handle:
        handle.write(f"Traceback (most recent call last):\n  File x\n{said}\n")
    return {"at": at, "pid": process.pid, "log_from": log_from}


def test_a_mute_death_is_news_once_and_a_new_reason_is_news_again(data):
    # Given a start that died printing an import error
    attempt = dead_start(data, "ImportError: pydantic is broken")
    # When hooks look at it, Then the first one gets the reason and the next one nothing
    assert starts.start_news(str(data), attempt, log_path(data)) == (
        "ImportError: pydantic is broken"
    )
    assert starts.start_news(str(data), attempt, log_path(data)) is None
    # When the next start dies the same way, Then that is no news either
    again = {**dead_start(data, "ImportError: pydantic is broken"), "reported": attempt["reported"]}
    assert starts.start_news(str(data), again, log_path(data)) is None
    # When one dies for another reason, Then that is news
    other = dead_start(data, "ModuleNotFoundError: No module named 'pykka'")
    other["reported"] = again["reported"]
    assert starts.start_news(str(data), other, log_path(data)) == (
        "ModuleNotFoundError: No module named 'pykka'"
    )


def test_a_start_that_came_up_forgets_the_failure_so_the_same_one_is_news_again(data):
    # Given a failure already reported, then a start whose actor host became ready
    attempt = dead_start(data, "ImportError: pydantic is broken")
    starts.start_news(str(data), attempt, log_path(data))
    came_up = {**dead_start(data, "supervisor stopped"), "reported": attempt["reported"]}
    (data / "host.pid").write_text("123")
    assert starts.start_news(str(data), came_up, log_path(data)) is None
    assert "reported" not in came_up
    # When a later start dies as the first did, Then it is news again
    (data / "host.pid").unlink()
    later = dead_start(data, "ImportError: pydantic is broken")
    assert starts.start_news(str(data), later, log_path(data)) == "ImportError: pydantic is broken"


def test_an_installer_or_a_supervisor_that_recorded_its_own_problem_is_no_news_here(data):
    # Given a start that died, after writing provision.json (the installer reports itself)
    attempt = dead_start(data, "ProvisionError: pip could not install stashplex")
    environment.write_record(str(data / environment.PROVISION_RECORD), {"error": "pip"})
    assert starts.start_news(str(data), attempt, log_path(data)) is None
    (data / environment.PROVISION_RECORD).unlink()
    # And one that recorded a refused setting (the hook logs the record instead)
    attempt = dead_start(data, "stashplex run: invalid settings")
    ProblemLog(data).report(SETTINGS, "the supervisor cannot start: plex_url", "correct it")
    assert starts.start_news(str(data), attempt, log_path(data)) is None


def test_a_start_that_still_runs_is_no_news(data):
    # Given a start whose process is still running
    process = subprocess.Popen(["sleep", "30"])
    try:
        attempt = {"at": time.time(), "pid": process.pid, "log_from": 0}
        # Then there is nothing to say about it yet
        assert starts.start_news(str(data), attempt, log_path(data)) is None
    finally:
        process.kill()
        process.wait()


def test_the_fix_for_an_import_error_depends_on_whose_environment_it_is():
    # Given an import error, Then the plugin's own environment is rebuilt by its task
    managed = starts.start_fix(
        "ImportError: x", "/d/logs/supervisor.log", python="/p", managed=True
    )
    assert f"run the '{environment.INSTALL_TASK}' task" in managed
    # And a checkout's is repaired with pip
    checkout = starts.start_fix(
        "No module named 'x'", "/l", python="/venv/bin/python", managed=False
    )
    assert "`/venv/bin/python -m pip install -e <your stashplex checkout>`" in checkout
    # And any other reason points at the log that has the whole output
    other = starts.start_fix("OSError: disk full", "/l", python="/p", managed=True)
    assert other.startswith("its whole output is in /l")
    assert starts.INSTALL_TASK == environment.INSTALL_TASK
    assert starts.PROVISION_FILE == environment.PROVISION_RECORD


def test_an_actor_host_missing_a_package_in_the_plugins_own_environment_is_fixed_by_its_task(
    tmp_path,
):
    # Given the watchdog runs from the environment the plugin built in its data directory
    venv = tmp_path / "venv-1.2.3"
    venv.mkdir()
    # Then the fix for a missing package is the Install / repair task, naming that environment
    fix = install_fix(tmp_path, prefix=str(venv))
    assert fix.startswith(f"run the '{environment.INSTALL_TASK}' task in Stash")
    assert str(venv) in fix
    # And from any other environment (this checkout's) it is pip, from the checkout
    assert "-m pip install -e " in install_fix(tmp_path, prefix=str(tmp_path / "elsewhere"))
