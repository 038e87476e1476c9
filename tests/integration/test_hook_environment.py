"""The hook and tasks of a plugin folder as Stash's package manager installs it (no
``stashplex-hook.json``), around the supervisor's own environment and version: real ``python -S``
processes, as Stash runs them, against stand-in supervisors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from stashplex.link.ipc import LocalServer
from stashplex.link.version import __version__
from stashplex.plugin import install_plugin
from stashplex.plugin.install import plugin_files

NEWER = "99.0.0"
OLDER = "0.0.1"


@pytest.fixture
def folder(tmp_path):
    """A plugin folder from the zip, Stash's config folder, and the data dir inside it."""
    plugin = tmp_path / "plugins" / "community" / "stashplex"
    for name, data in plugin_files().items():
        (plugin / name).parent.mkdir(parents=True, exist_ok=True)
        (plugin / name).write_bytes(data)
    config = tmp_path / "stash-config"
    return plugin, config, config / "stashplex"


def run(script: Path, payload: dict, *, flags: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "STASHPLEX_DATA_DIR"}
    return subprocess.run(
        [sys.executable, *flags, str(script)],
        input=json.dumps(payload).encode(),
        capture_output=True,
        timeout=60,
        cwd="/",
        env=env,
        check=False,
    )


def hook_payload(config: Path, scene_id: int = 7) -> dict:
    return {
        "server_connection": {"Scheme": "http", "Port": 9999, "Dir": str(config)},
        "args": {"hookContext": {"id": scene_id, "type": "Scene.Update.Post", "input": None}},
    }


def task_payload(config: Path, task: str) -> dict:
    return {"server_connection": {"Port": 9999, "Dir": str(config)}, "args": {"task": task}}


def lines(completed) -> list[str]:
    return completed.stderr.decode().splitlines()


def test_a_broken_environment_gets_one_error_line_naming_the_fix_and_keeps_the_event(folder):
    # Given a recorded environment whose interpreter link points nowhere, and no supervisor
    plugin, config, data = folder
    venv = data / f"venv-{__version__}"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").symlink_to("/nonexistent/bin/python3.11")
    record = {"venv": str(venv), "python": str(venv / "bin" / "python"), "stashplex": __version__}
    (data / "venv.json").write_text(json.dumps(record))

    # When a hook runs
    completed = run(plugin / "stashplex_run_hook.py", hook_payload(config), flags=("-S",))

    # Then it exits 0 with the event spooled, starts nothing, and says in one error line what to do
    assert completed.returncode == 0
    (line,) = lines(completed)
    assert line.startswith("\x01e\x02spooled Scene.Update.Post for scene 7 (")
    assert "is broken (its interpreter /nonexistent/bin/python3.11 is gone)" in line
    assert line.endswith(
        "run the 'Install / repair' task (Settings > Tasks > Plugin Tasks) to rebuild it"
    )
    assert len(list((data / "spool").glob("*.json"))) == 1
    assert not (data / "spawn.lock").exists()


def test_a_newer_supervisor_takes_the_event_and_the_hook_warns_that_downgrades_are_refused(folder):
    # Given a supervisor that reports a newer version than the plugin files
    plugin, config, data = folder
    received = []

    def newer(message: dict) -> dict:
        received.append(message)
        return {"ok": True, "version": NEWER}

    # When a hook runs
    with LocalServer(data, newer):
        completed = run(plugin / "stashplex_run_hook.py", hook_payload(config), flags=("-S",))

    # Then the event is delivered, and one warning says the newer supervisor stays
    assert completed.returncode == 0 and len(received) == 1
    (line,) = lines(completed)
    assert line.startswith(
        f"\x01w\x02the supervisor runs stashplex {NEWER} but the plugin files are {__version__}"
    )
    assert "downgrades are refused" in line


def test_an_older_supervisor_whose_upgrade_just_failed_gets_the_failure_reported_not_retried(
    folder,
):
    # Given an older supervisor and an upgrade to these plugin files that failed a minute ago
    plugin, config, data = folder
    data.mkdir(parents=True)
    attempt = {"version": __version__, "at": time.time() - 60, "error": "pip: no network"}
    (data / "provision.json").write_text(json.dumps(attempt))

    # When a hook runs
    with LocalServer(data, lambda message: {"ok": True, "version": OLDER}):
        completed = run(plugin / "stashplex_run_hook.py", hook_payload(config), flags=("-S",))

    # Then the event is delivered and the failure is one error line with the fix; nothing starts
    assert completed.returncode == 0
    (line,) = lines(completed)
    assert line.startswith("\x01e\x02pip: no network; once fixed, run the 'Install / repair' task")
    assert not (data / "upgrade.lock").exists()


def test_a_task_answered_by_a_newer_supervisor_gets_its_result_and_a_warning(folder):
    # Given a supervisor of a newer version
    plugin, config, data = folder

    # When the status task runs
    with LocalServer(data, lambda message: {"ok": True, "version": NEWER, "summary": "all fine"}):
        completed = run(plugin / "stashplex_task.py", task_payload(config, "status"))

    # Then its result is there, and a warning that the newer supervisor stays
    assert completed.returncode == 0
    assert json.loads(completed.stdout)["output"] == "all fine"
    warning, result = lines(completed)
    assert result == "\x01i\x02all fine"
    assert warning.startswith(f"\x01w\x02the supervisor runs stashplex {NEWER}")


def test_install_repair_in_a_checkout_installed_folder_says_there_is_nothing_to_install(tmp_path):
    # Given a plugin folder written by `stashplex install-plugin` (its config names the Python)
    manifest = install_plugin(
        tmp_path / "plugin", data_dir=tmp_path / "data", python=Path(sys.executable)
    )

    # When "Install / repair" runs
    completed = run(manifest.parent / "stashplex_task.py", task_payload(tmp_path, "install"))

    # Then it says why there is nothing to do
    assert completed.returncode == 0, completed.stderr
    assert "there is no environment to install" in json.loads(completed.stdout)["output"]
