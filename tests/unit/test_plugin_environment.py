"""What the hook decides about the supervisor's own Python environment, from cheap checks only."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pytest

from stashplex.plugin import environment
from stashplex.plugin.environment import PLUGIN_VERSION, compare_versions, inspect

NEWER = "99.0.0"
OLDER = "0.0.1"


def fake_venv(data: Path, *, python_target: Path, version: str = PLUGIN_VERSION, built_for=None):
    """A recorded environment whose interpreter link points at ``python_target``."""
    venv = data / f"venv-{version}"
    (venv / "bin").mkdir(parents=True)
    python = venv / "bin" / "python"
    python.symlink_to(python_target)
    record = {
        "venv": str(venv),
        "python": str(python),
        "python_version": built_for or "{}.{}.{}".format(*sys.version_info[:3]),
        "stashplex": version,
    }
    (data / "venv.json").write_text(json.dumps(record))
    return python


def versioned_interpreter(folder: Path, name: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / name
    target.write_text("#!/bin/sh\n")
    return target


@pytest.mark.parametrize(
    ("left", "right", "order"),
    [
        ("0.1.0", "0.1.1", -1),
        ("0.1.0", "0.1", 0),
        ("1.10.0", "1.9.3", 1),
        ("0.2.0rc1", "0.2.0", -1),
        ("0.2.0.dev3", "0.2.0", -1),
        ("0.2.0.post1", "0.2.0", 1),
        ("0.2.0.post1", "0.2.1", -1),
        ("v1.0", "1.0.0", 0),
    ],
)
def test_versions_compare_by_release_numbers_then_pre_and_post_release(left, right, order):
    assert compare_versions(left, right) == order
    assert compare_versions(right, left) == -order


def test_without_a_record_the_environment_is_missing(tmp_path):
    # Given an empty data folder, When it is inspected, Then nothing is installed
    assert inspect(str(tmp_path)).state == "missing"


def test_a_record_whose_interpreter_exists_and_matches_is_ok(tmp_path):
    # Given an environment linked to an interpreter named for the version it was built with
    target = versioned_interpreter(tmp_path / "usr" / "bin", "python3.11")
    fake_venv(tmp_path, python_target=target, built_for="3.11.2")

    # When it is inspected, Then it is ok
    found = inspect(str(tmp_path))
    assert (found.state, found.version) == ("ok", PLUGIN_VERSION)


def test_a_dangling_interpreter_link_is_broken_and_says_which_interpreter_is_gone(tmp_path):
    # Given an environment whose interpreter was removed (an image update took Python 3.11)
    fake_venv(tmp_path, python_target=tmp_path / "usr" / "bin" / "python3.11")

    # When it is inspected, Then it is broken, naming the missing file
    found = inspect(str(tmp_path))
    assert found.state == "broken"
    assert found.detail == f"its interpreter {tmp_path}/usr/bin/python3.11 is gone"


def test_an_interpreter_of_another_version_than_the_one_built_for_is_broken(tmp_path):
    # Given an environment built for 3.11 whose link now reaches a python3.12
    target = versioned_interpreter(tmp_path / "usr" / "bin", "python3.12")
    fake_venv(tmp_path, python_target=target, built_for="3.11.2")

    # When it is inspected, Then it is broken, naming both versions
    found = inspect(str(tmp_path))
    assert (found.state, found.detail) == (
        "broken",
        "its interpreter is now Python 3.12, it was built for 3.11.2",
    )


def test_a_healthy_environment_of_this_version_starts_the_supervisor_itself(tmp_path):
    # Given a healthy environment of the plugin files' version
    python = fake_venv(tmp_path, python_target=Path(sys.executable))

    # When a hook must start the supervisor
    plan = environment.start_plan(str(tmp_path), "/plugins/stashplex")

    # Then it starts it from that environment, silently
    assert plan.argv == [str(python), "-m", "stashplex", "run", "--data-dir", str(tmp_path)]
    assert plan.message is None


def test_a_missing_environment_starts_the_installer_first_and_says_so(tmp_path):
    # Given no environment yet, When a hook must start the supervisor
    plan = environment.start_plan(str(tmp_path), "/plugins/stashplex")

    # Then Stash's Python runs the lifecycle process, and the hook says why it takes a while
    assert plan.argv is not None and plan.argv[0] == sys.executable
    assert plan.argv[1].endswith("lifecycle.py") and plan.argv[2:] == [
        "converge", "--data-dir", str(tmp_path),
    ]  # fmt: skip
    assert plan.level == "info"
    assert plan.message.startswith(f"installing stashplex {PLUGIN_VERSION}'s Python environment")


def test_a_broken_environment_starts_nothing_and_names_the_task_that_fixes_it(tmp_path):
    # Given an environment whose interpreter is gone
    fake_venv(tmp_path, python_target=tmp_path / "gone" / "python3.11")

    # When a hook must start the supervisor
    plan = environment.start_plan(str(tmp_path), "/plugins/stashplex")

    # Then nothing starts, and the error names the fix
    assert (plan.argv, plan.level) == (None, "error")
    assert "is broken (its interpreter" in plan.message
    assert "run the 'Install / repair' task" in plan.message


def test_a_failed_install_moments_ago_is_reported_instead_of_retried(tmp_path):
    # Given an install of this version that failed a minute ago
    record = {"version": PLUGIN_VERSION, "at": time.time() - 60, "error": "pip: no network"}
    (tmp_path / "provision.json").write_text(json.dumps(record))

    # When a hook needs the supervisor, Then it starts nothing and repeats the error with the fix
    plan = environment.start_plan(str(tmp_path), "/plugins/stashplex")
    assert (plan.argv, plan.level) == (None, "error")
    assert plan.message.startswith("pip: no network; once fixed, run the 'Install / repair' task")


def test_a_failure_long_ago_is_retried(tmp_path):
    # Given an install that failed an hour ago, Then the next hook tries again
    record = {"version": PLUGIN_VERSION, "at": time.time() - 3600, "error": "pip: no network"}
    (tmp_path / "provision.json").write_text(json.dumps(record))

    assert environment.start_plan(str(tmp_path), "/plugins/stashplex").argv is not None


def test_a_newer_environment_keeps_running_and_the_downgrade_is_refused(tmp_path):
    # Given an environment newer than the plugin files
    fake_venv(tmp_path, python_target=Path(sys.executable), version=NEWER)

    # When a hook must start the supervisor
    plan = environment.start_plan(str(tmp_path), "/plugins/stashplex")

    # Then it starts the newer one, with a warning
    assert plan.argv is not None and plan.argv[1:3] == ["-m", "stashplex"]
    assert plan.level == "warning" and "downgrades are refused" in plan.message


def test_an_older_supervisor_is_restarted_into_the_plugin_files_version(tmp_path):
    # When an older supervisor answered a hook
    plan = environment.upgrade_plan(str(tmp_path), "/plugins/stashplex", OLDER)

    # Then the lifecycle process restarts it into the new version, and the hook says so
    assert plan.argv is not None and plan.argv[2] == "converge"
    assert plan.message == (
        f"the supervisor runs stashplex {OLDER} and the plugin files are {PLUGIN_VERSION}: "
        "restarting it into the new version in the background (its queued work is kept)"
    )


def test_an_upgrade_under_way_is_not_started_again(tmp_path):
    # Given an upgrade to these plugin files that started a moment ago
    record = {"version": PLUGIN_VERSION, "at": time.time(), "error": None, "done": False}
    (tmp_path / "provision.json").write_text(json.dumps(record))

    # When an older supervisor answers the next hook, Then nothing more is started or said
    plan = environment.upgrade_plan(str(tmp_path), "/plugins/stashplex", OLDER)

    assert (plan.argv, plan.message) == (None, None)


def test_a_newer_supervisor_is_kept_with_a_warning(tmp_path):
    # When a newer supervisor answered a hook, Then it is kept and the hook warns
    plan = environment.upgrade_plan(str(tmp_path), "/plugins/stashplex", NEWER)

    assert (plan.argv, plan.level) == (None, "warning")
    assert plan.message.startswith(
        f"the supervisor runs stashplex {NEWER} but the plugin files are {PLUGIN_VERSION}: "
        "downgrades are refused"
    )


def test_the_python_the_installer_demands_is_the_packages_requires_python():
    # Given pyproject.toml, Then the installer's early check names the same minimum
    import tomllib

    from stashplex.plugin import venvs

    pyproject = Path(__file__).resolve().parents[2] / "pyproject.toml"
    project = tomllib.loads(pyproject.read_text())["project"]
    assert project["requires-python"] == ">=" + ".".join(map(str, venvs.MIN_PYTHON))
