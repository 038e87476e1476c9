"""A supervisor that cannot start says why, at once: from the *Start supervisor* task, from
`stashplex start`, and (when a save's hook started it and nobody waited) in Stash's log at the
next save, once per change.

The plugin runs as Stash runs it (the plugin runner); the CLI runs as a user runs it, in a
subprocess. A broken environment is an interpreter whose ``PYTHONPATH`` holds a module that
fails to import, as ``stashplex install-plugin`` would record a broken virtualenv's Python.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from stashplex.link.notices import running
from stashplex.link.version import __version__
from stashplex.plugin import install_plugin
from stashplex.plugin.hook import SPAWN_COOLDOWN_SECONDS
from stashplex.plugin.install import plugin_files
from stashplex.runtime.datadir import DataDir, read_holder
from stashplex.runtime.problems import CANNOT_START, ProblemLog
from tests.support.processes import REPO, configure_for, stashplex
from tests.support.stash_plugin import StashWithPlugin, broken_module
from tests.support.waiting import wait_until
from tests.support.world import SyncWorld

#: What the task and the CLI may take to say a start failed (not the 20-30 s answer wait).
QUICK_SECONDS = 10


def python_without(folder: Path, module: str, why: str = "is broken here") -> Path:
    """An interpreter (a wrapper of ours) in whose environment ``module`` cannot be imported;
    children inherit the breakage, so it reaches the actor host too."""
    broken = folder / "broken"
    broken_module(broken, module)
    (broken / f"{module}.py").write_text(f"raise ImportError('{module} {why}')\n")
    wrapper = folder / "python"
    wrapper.write_text(
        f"#!/bin/sh\nPYTHONPATH={shlex.quote(str(broken))} exec {shlex.quote(sys.executable)} "
        '"$@"\n'
    )
    wrapper.chmod(0o755)
    return wrapper


@pytest.fixture
def stash(tmp_path):
    world = StashWithPlugin(tmp_path)
    yield world
    world.close()


def plugin_runs_with(stash: StashWithPlugin, python: Path) -> None:
    """Reinstall the plugin folder: its hook and tasks start the supervisor with ``python``."""
    install_plugin(stash.runner.plugin("stashplex").directory, data_dir=stash.data, python=python)


def started_pid(data: Path) -> int | None:
    """The supervisor the last hook started (its record in ``spawn.lock``)."""
    try:
        return json.loads((data / "spawn.lock").read_text()).get("pid")
    except (OSError, ValueError, AttributeError):
        return None


def dead(pid: int | None) -> bool:
    return pid is not None and not running(pid)


# -- the Start supervisor task ------------------------------------------------------------------


def test_the_start_task_returns_at_once_with_the_import_error_of_a_supervisor_that_dies(
    stash, tmp_path
):
    # Given a plugin whose supervisor's Python cannot import pydantic
    plugin_runs_with(stash, python_without(tmp_path, "pydantic"))
    # When Stash runs the Start supervisor task
    began = time.monotonic()
    run = stash.run_task("Start supervisor")
    # Then it fails within seconds with the import error, its fix, and the one log with more
    assert time.monotonic() - began < QUICK_SECONDS
    assert run.exit_code == 1
    assert (
        "the supervisor exited at start (code 1): stashplex run: ImportError: pydantic is broken "
        "here (a package stashplex needs cannot be imported by " in run.error
    )
    assert "-m pip install" in run.error
    assert str(stash.data / "logs" / "supervisor.log") in run.error
    assert run.error.count("\n") == 0


def test_the_start_task_returns_at_once_with_a_refused_setting_and_its_fix(stash):
    # Given a refused setting in Stash and no supervisor
    stash.save_plugin_settings(plex_url="plex:32400")
    # When Stash runs the Start supervisor task
    began = time.monotonic()
    run = stash.run_task("Start supervisor")
    # Then it fails within seconds with the setting, where it comes from and its fix
    assert time.monotonic() - began < QUICK_SECONDS + 5  # the host reads Stash's settings first
    assert run.exit_code == 1
    assert "the supervisor cannot start: invalid settings: plex_url" in run.error
    assert "(from Stash plugin settings)" in run.error
    assert "Fix: correct plex_url in Stash" in run.error
    assert "details in " in run.error


def test_the_start_task_says_a_supervisor_runs_but_its_actor_host_cannot_start(stash, tmp_path):
    # Given a supervisor started by a save, whose actor host cannot import pykka
    plugin_runs_with(stash, python_without(tmp_path, "pykka"))
    stash.save()
    wait_until(
        lambda: ProblemLog(stash.data).active().get(CANNOT_START), timeout=30, message="host dies"
    )
    # When Stash runs the Start supervisor task
    began = time.monotonic()
    run = stash.run_task("Start supervisor")
    # Then it says at once that a supervisor runs but its host cannot start, and why
    assert time.monotonic() - began < QUICK_SECONDS
    assert run.exit_code == 1
    assert "a supervisor runs (pid " in run.error
    assert "but the actor host exited with code 1 before it was ready" in run.error
    assert "ImportError: pykka is broken here" in run.error
    assert "'Stop supervisor' task stops it" in run.error
    # And the Stop supervisor task does stop it, after which no supervisor takes over
    stopped = stash.run_task("Stop supervisor")
    assert stopped.exit_code == 0, stopped.error
    assert stopped.output == "stopped the supervisor (its actor host was not answering)"
    time.sleep(3)  # what a late start would take to reach the data directory's lock
    assert read_holder(DataDir(stash.data)) is None


# -- the next save ------------------------------------------------------------------------------


def test_a_supervisor_that_died_without_a_word_is_an_error_at_the_next_save_once_per_change(
    stash, tmp_path
):
    # Given a plugin whose supervisor's Python cannot import pydantic
    plugin_runs_with(stash, python_without(tmp_path, "pydantic"))
    # When a save starts the supervisor, which dies at once without recording anything
    first = stash.save()
    began = time.monotonic()
    wait_until(lambda: dead(started_pid(stash.data)), timeout=30, message="the start to fail")
    # Then the next save logs why at error level, with the fix and the log that has more
    (error,) = stash.errors(first + stash.save())
    assert error.startswith(
        "stashplex: the supervisor exited at start: stashplex run: ImportError: pydantic is broken "
        "here (a package stashplex needs cannot be imported by "
    )
    assert "). Fix: " in error
    assert "-m pip install" in error
    assert str(stash.data / "logs" / "supervisor.log") in error
    # And the save after that does not repeat it
    assert stash.errors(stash.save()) == []
    # When the reason changes, and a save after the hooks' start cooldown starts it again
    python_without(tmp_path, "pydantic", why="is broken differently")
    time.sleep(max(0.0, SPAWN_COOLDOWN_SECONDS + 0.5 - (time.monotonic() - began)))
    before = started_pid(stash.data)
    lines = stash.save()
    wait_until(
        lambda: started_pid(stash.data) != before and dead(started_pid(stash.data)),
        timeout=30,
        message="the second start to fail",
    )
    # Then the next save logs the new reason, once
    (error,) = stash.errors(lines + stash.save())
    assert "ImportError: pydantic is broken differently" in error


def test_the_plugins_own_environment_that_cannot_import_is_an_error_naming_install_repair(
    tmp_path,
):
    # Given a plugin folder as Stash's package manager installs it, whose environment in the
    # data directory passes the hook's cheap checks but cannot import pydantic
    plugin = tmp_path / "plugins" / "stashplex"
    for name, content in plugin_files().items():
        (plugin / name).parent.mkdir(parents=True, exist_ok=True)
        (plugin / name).write_bytes(content)
    config = tmp_path / "stash-config"
    data = config / "stashplex"
    venv = data / f"venv-{__version__}"
    (venv / "bin").mkdir(parents=True)
    python = python_without(venv / "bin", "pydantic")
    record = {"venv": str(venv), "python": str(python), "stashplex": __version__}
    (data / "venv.json").write_text(json.dumps(record))
    payload = {
        "server_connection": {"Scheme": "http", "Port": 9999, "Dir": str(config)},
        "args": {"hookContext": {"id": 7, "type": "Scene.Update.Post", "input": None}},
    }

    def save() -> list[str]:
        completed = subprocess.run(
            [sys.executable, "-S", str(plugin / "stashplex_run_hook.py")],
            input=json.dumps(payload).encode(), capture_output=True, timeout=60, check=True,
        )  # fmt: skip
        return completed.stderr.decode().splitlines()

    # When a save's hook starts the supervisor, which dies at once
    first = save()
    wait_until(lambda: dead(started_pid(data)), timeout=30, message="the start to fail")
    # Then the next save says why in one error line, and the fix is the Install / repair task
    (error,) = [line for line in first + save() if line.startswith("\x01e\x02")]
    reason = "stashplex run: ImportError: pydantic is broken here"
    assert f"the supervisor exited at start: {reason}" in error
    assert "Fix: run the 'Install / repair' task (Settings > Tasks > Plugin Tasks)" in error


# -- stashplex start ----------------------------------------------------------------------------



@pytest.fixture
def world(tmp_path):
    w = SyncWorld(tmp_path, scenes=1)
    yield w
    stashplex("stop", "--data-dir", str(tmp_path / "data"))
    w.close()


def test_start_of_a_supervisor_that_cannot_import_its_packages_says_why_at_once(world, tmp_path):
    # Given a data directory whose supervisor cannot import requests (`start` and the watchdog
    # need not: the actor host is the first to fail)
    data = tmp_path / "data"
    configure_for(world, data)
    python_without(tmp_path, "requests")
    broken = {"PYTHONPATH": str(tmp_path / "broken")}
    # When `stashplex start` runs
    began = time.monotonic()
    result = stashplex("start", "--data-dir", str(data), env=broken)
    # Then it fails within seconds in one line with the import error and the log with more
    assert time.monotonic() - began < QUICK_SECONDS
    assert result.returncode == 1, result.stderr
    (line,) = result.stderr.splitlines()
    assert "the actor host exited with code 1 before it was ready: ImportError: requests is " \
        "broken here" in line
    assert line.endswith(f"(details in {data / 'logs' / 'supervisor.log'})")


def read_only_start(data: Path) -> subprocess.CompletedProcess:
    """``stashplex start`` on ``data`` made read-only for it: a read-only bind mount in a mount
    namespace of its own when run as root (root writes through any mode), else under a parent
    of mode 0500."""
    command = [sys.executable, "-m", "stashplex", "start", "--data-dir", str(data)]
    if os.geteuid() != 0:  # its owner may chmod it back: make its parent unwritable instead
        shutil.rmtree(data)
        data.parent.chmod(0o500)
        try:
            return subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=False)
        finally:
            data.parent.chmod(0o700)
    unshare = shutil.which("unshare")
    if unshare is None:
        pytest.skip("no unshare(1) to make a read-only mount for root")
    target = shlex.quote(str(data))
    script = (
        f"mount --bind {target} {target} && mount -o remount,bind,ro {target} && "
        f"exec {shlex.join(command)}"
    )
    result = subprocess.run(
        [unshare, "--mount", "sh", "-c", script],
        cwd=REPO, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    if "mount:" in result.stderr or "unshare:" in result.stderr:
        pytest.skip(f"cannot make a read-only mount here: {result.stderr.strip()}")
    return result


def test_start_on_a_read_only_data_dir_is_one_line_and_exit_2(tmp_path):
    # Given a data directory stashplex cannot write (set up once, then made read-only)
    data = tmp_path / "data"
    (data / "logs").mkdir(parents=True)
    data.chmod(0o700)
    # When `stashplex start` runs on it
    result = read_only_start(data)
    # Then it exits 2 (an unusable data directory is a setting to fix) with one line, no traceback
    assert result.returncode == 2, result.stderr
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"stashplex start: cannot write the data directory {data}: ")
    assert "read-only" in line.lower() or "permission denied" in line.lower()
    assert "--data-dir" in line and "STASHPLEX_DATA_DIR" in line
    assert "Traceback" not in result.stderr and "--debug" not in line
