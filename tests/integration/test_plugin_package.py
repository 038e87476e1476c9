"""The plugin as users install it from Stash's UI: ``make dist``, a plugin source, Stash's package
manager, Stash's own Python, offline wheels; then repair, upgrade and removal.

Real processes throughout: ``make dist`` (``python -m build``), the emulated package manager
(SHA-256, unzip, strict manifest loading), the plugin runner running the hook and tasks with the
Python the test venv was made from, pip building the supervisor's venv with ``PIP_NO_INDEX=1``
from wheels in the data folder, and that venv's supervisor syncing to the Plex emulator.

The tests of this module share one Stash and run in file order: install, repair, upgrade,
removal (each starts from what the one before left, and would set it up if run alone).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import psutil
import pytest
import yaml

from stashplex.link.notices import supervisor_alive
from stashplex.link.version import __version__
from stashplex.sandbox.package_manager import PackageError, PackageManager, file_url
from stashplex.sandbox.stash.plugin_manifest import load_manifest
from tests.support.packaging import (
    REPO,
    STASH_PYTHON,
    Dist,
    StashWithPluginSource,
    copy_source_tree,
    download_wheels,
    make_dist,
)
from tests.support.processes import answering, intake_counters
from tests.support.waiting import wait_until

pytestmark = pytest.mark.slow

#: ``RemotePackage``'s YAML fields in Stash's pkg/pkg (pkg.go), with the inlined version/location.
REMOTE_PACKAGE_FIELDS = {"id", "name", "metadata", "version", "date", "path", "sha256", "requires"}
NEXT_VERSION = "0.1.1"


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> Dist:
    return make_dist(REPO, tmp_path_factory.mktemp("dist"))


@pytest.fixture(scope="module")
def wheels(dist, tmp_path_factory) -> Path:
    return download_wheels(dist, tmp_path_factory.mktemp("offline") / "wheels")


@pytest.fixture(scope="module")
def stash(dist, wheels, tmp_path_factory):
    # No package index anywhere below: every pip run must make do with the wheels at hand.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PIP_NO_INDEX", "1")
        installation = StashWithPluginSource(tmp_path_factory.mktemp("stash"), dist, wheels)
        try:
            yield installation
        finally:
            installation.close()


def supervisor_version(data: Path) -> str | None:
    from stashplex.link.ipc import send_request

    try:
        return send_request(data, {"v": 1, "type": "ping"}, timeout=2).get("version")
    except OSError:
        return None


def venv_record(data: Path) -> dict:
    return json.loads((data / "venv.json").read_text())


# -- the package itself ---------------------------------------------------------------------------


def test_make_dist_builds_the_python_package_and_a_plugin_source_stash_can_read(dist):
    # Given what `make dist` built
    # When its index is read as Stash reads a plugin source
    (entry,) = yaml.safe_load(dist.index.read_text())

    # Then it has the RemotePackage fields, dated as Stash parses dates, pointing at the zip
    assert set(entry) == REMOTE_PACKAGE_FIELDS
    assert (entry["id"], entry["version"], entry["requires"]) == ("stashplex", __version__, [])
    assert len(entry["date"]) == 19 and entry["date"][4] == "-" and entry["date"][13] == ":"
    assert entry["path"] == dist.zip.name
    # And the sdist and the wheel exist; the wheel needs no emulator package unless asked
    assert dist.sdist.name == f"stashplex-{__version__}.tar.gz"
    with zipfile.ZipFile(dist.wheel) as wheel:
        metadata = wheel.read(f"stashplex-{__version__}.dist-info/METADATA").decode()
    requires = [line for line in metadata.splitlines() if line.startswith("Requires-Dist:")]
    emulator_only = [line for line in requires if "graphql" in line or "PyYAML" in line]
    assert emulator_only and all('extra == "sandbox"' in line for line in emulator_only)


def test_the_zip_holds_the_plugin_folder_and_no_path_of_the_build_machine(dist):
    # Given the plugin zip
    with zipfile.ZipFile(dist.zip) as archive:
        names = archive.namelist()
        blobs = {name: archive.read(name) for name in names}
    wheel_name = f"wheels/{dist.wheel.name}"
    with zipfile.ZipFile(dist.wheel) as wheel:
        blobs |= {f"{wheel_name}!{name}": wheel.read(name) for name in wheel.namelist()}

    # Then its top is the plugin folder: one manifest, the stdlib scripts, the wheel and its pins
    assert [name for name in names if name.endswith(".yml")] == ["stashplex.yml"]
    assert {"stashplex_hook.py", "stashplex_task.py", "stashplex_link/wire.py"} <= set(names)
    assert {wheel_name, "wheels/constraints.txt"} <= set(names)
    assert not [name for name in names if name.endswith(".pyc") or "__pycache__" in name]
    # And no byte of it, nor of the wheel inside, names a folder of this machine
    # (the home folder itself is no test: the README names Stash's Docker config, /root/.stash)
    machine_paths = {str(REPO), sys.prefix, sys.base_prefix, STASH_PYTHON, str(dist.root)}
    leaks = {
        (name, path) for name, blob in blobs.items() for path in machine_paths
        if path.encode() in blob
    }  # fmt: skip
    assert leaks == set()


def test_the_manifest_runs_stashs_python3_and_the_hook_without_site(dist, tmp_path):
    # Given the manifest in the zip
    with zipfile.ZipFile(dist.zip) as archive:
        archive.extract("stashplex.yml", tmp_path)

    # When it is loaded with Stash's strict rules
    manifest = load_manifest(tmp_path / "stashplex.yml")

    # Then it runs python3 (Stash's python_path), the hook with -S, and has the install task
    assert manifest.exec == ("python3",)
    entry = ("-S", "{pluginDir}/stashplex_run_hook.py")
    assert {hook.exec_args for hook in manifest.hooks} == {entry}
    assert "Install / repair" in {task.name for task in manifest.tasks}


def test_the_package_manager_refuses_a_zip_whose_sha256_differs_from_the_index(dist, tmp_path):
    # Given a plugin source whose zip was changed after the index was written
    source = tmp_path / "source"
    shutil.copytree(dist.source, source)
    with zipfile.ZipFile(source / dist.zip.name, "a") as archive:
        archive.writestr("extra.txt", "tampered")
    manager = PackageManager(tmp_path / "plugins", {file_url(source / "index.yml"): "community"})

    # When it is installed, Then it is refused and nothing is written
    with pytest.raises(PackageError, match="does not match expected SHA256"):
        manager.install(file_url(source / "index.yml"), "stashplex")
    assert not (tmp_path / "plugins").exists()


# -- install, repair, upgrade, removal ------------------------------------------------------------


def test_installed_from_the_plugin_source_it_builds_its_environment_offline_and_a_hook_syncs(
    stash,
):
    # Given the plugin source added to Stash, the package installed by its package manager
    folder = stash.install_package()
    assert (folder / "manifest").is_file()
    assert folder == stash.plugins / "community" / "stashplex"
    # When the "Install / repair" task runs (no package index: the wheels are in the data folder)
    run = stash.task("Install / repair")

    # Then a venv of Stash's Python holds this version, built from the wheels at hand
    assert (run.exit_code, run.error) == (0, None), run.logs
    record = venv_record(stash.data)
    assert record["stashplex"] == __version__
    assert record["base_python"] == STASH_PYTHON
    assert record["source"].startswith("the wheels in ")
    assert record["venv"] == str(stash.data / f"venv-{__version__}")
    assert f"installed stashplex {__version__}" in run.output
    stash.installed = True

    # When a scene is edited in Stash
    scene = stash.world.world.scene_ids[0]
    save = stash.edit(scene, "Synced from the plugin package")

    # Then the hook spooled it and started the supervisor from that venv, which syncs it
    (hook,) = save.hook_runs
    assert (hook.exit_code, hook.error) == (0, None)
    assert hook.output.endswith("; starting the supervisor")
    wait_until(
        lambda: stash.plex_title(scene) == "Synced from the plugin package",
        timeout=60,
        message="the title in Plex",
    )
    host = psutil.Process(json.loads((stash.data / "host.pid").read_text()))
    assert host.cmdline()[0] == record["python"]


def test_a_venv_whose_interpreter_is_gone_is_reported_by_the_hook_and_rebuilt_by_the_task(stash):
    # Given the installed environment, no supervisor, and its interpreter link broken (as when
    # an image update removes the Python it was built with)
    stash.ensure_installed()
    stash.task("Stop supervisor")
    # (the watchdog outlives its host by a moment, and its front door keeps taking hooks)
    wait_until(
        lambda: not answering(stash.data) and not supervisor_alive(str(stash.data)),
        message="the supervisor to stop",
    )
    record = venv_record(stash.data)
    link = Path(record["venv"]) / "bin" / f"python{record['python_version'].rsplit('.', 1)[0]}"
    link.unlink()
    link.symlink_to("/nonexistent/python3/bin/python3.11")
    scene = stash.world.world.scene_ids[1]

    # When a scene is edited
    save = stash.edit(scene, "Edited while the venv is broken")

    # Then the hook keeps the event, starts nothing and logs one error line naming the fix
    (hook,) = save.hook_runs
    assert hook.exit_code == 0
    errors = [line.message for line in hook.logs if line.level == "error"]
    assert len(errors) == 1 and len(hook.logs) == 1
    assert "is broken (its interpreter /nonexistent/python3/bin/python3.11 is gone)" in errors[0]
    assert "run the 'Install / repair' task" in errors[0]
    assert len(list((stash.data / "spool").glob("*.json"))) == 1
    assert not answering(stash.data)

    # When "Install / repair" runs
    run = stash.task("Install / repair")

    # Then the environment is rebuilt, and the next hook starts a supervisor that syncs both
    assert (run.exit_code, run.error) == (0, None), run.logs
    assert venv_record(stash.data)["installed_at"] > record["installed_at"]
    assert link.resolve().is_file()
    after = stash.edit(stash.world.world.scene_ids[2], "After the repair")
    log = stash.data / "logs" / "supervisor.log"
    wait_until(
        lambda: stash.plex_title(scene) == "Edited while the venv is broken"
        and stash.plex_title(stash.world.world.scene_ids[2]) == "After the repair",
        timeout=120,  # a supervisor started from a fresh venv, on a loaded 2-core machine
        message=lambda: f"both titles in Plex; the hook said {[r.output for r in after.hook_runs]}"
        f"; {log} ends {log.read_text()[-2000:] if log.exists() else '(no log)'!r}",
    )


def test_an_upgrade_from_the_plugin_source_restarts_the_supervisor_and_loses_no_event(
    stash, tmp_path
):
    # Given a running supervisor of this version with work pending (Plex is down), and a newer
    # release published in the same plugin source
    stash.ensure_installed()
    stash.task("Start supervisor")
    assert supervisor_version(stash.data) == __version__
    newer = make_dist(copy_source_tree(tmp_path / "src", NEXT_VERSION), tmp_path / "dist")
    stash.publish(newer)
    stash.plex.faults.down()
    scenes = stash.world.world.scene_ids
    before = intake_counters(stash.data).get("hook_events", 0)
    for scene in scenes[:3]:
        stash.edit(scene, f"Pending {scene}")

    # When Stash updates the package, and the next edit's hook meets the old supervisor
    stash.install_package()
    save = stash.edit(scenes[3], f"Pending {scenes[3]}")
    (hook,) = save.hook_runs
    assert hook.exit_code == 0
    assert any("restarting it into the new version" in line.message for line in hook.logs)
    for scene in scenes[4:]:  # edits during the upgrade: the old supervisor, or the spool
        stash.edit(scene, f"Pending {scene}")

    # Then the supervisor is restarted into the new version
    wait_until(
        lambda: supervisor_version(stash.data) == NEXT_VERSION,
        timeout=120,
        message=f"a supervisor of {NEXT_VERSION}",
    )
    assert venv_record(stash.data)["stashplex"] == NEXT_VERSION
    # And once Plex is back, every edit reaches it: nothing queued was lost
    stash.plex.faults.up()
    wait_until(
        lambda: all(stash.plex_title(scene) == f"Pending {scene}" for scene in scenes),
        timeout=120,
        message="every pending edit in Plex",
    )
    assert intake_counters(stash.data).get("hook_events", 0) - before >= len(scenes)
    # And the old environment is removed once the new supervisor runs (the upgrade deletes its
    # thousands of files last, after the restart it must not delay)
    wait_until(
        lambda: not (stash.data / f"venv-{__version__}").exists(),
        timeout=60,
        message="the previous environment removed",
    )


def test_older_plugin_files_never_replace_a_newer_supervisor(stash, dist):
    # Given a supervisor of a newer version than the plugin files (Stash reinstalled an older zip)
    if supervisor_version(stash.data) != NEXT_VERSION:
        pytest.skip("needs the upgraded supervisor of the test before")
    stash.publish(dist)
    stash.install_package()

    # When a scene is edited, and when "Install / repair" runs
    save = stash.edit(stash.world.world.scene_ids[0], "Still synced by the newer one")
    run = stash.task("Install / repair")

    # Then the hook delivers the event and warns, the task refuses, the supervisor stays
    (hook,) = save.hook_runs
    assert hook.exit_code == 0
    warning = f"the supervisor runs stashplex {NEXT_VERSION} but the plugin files are {__version__}"
    assert [line.level for line in hook.logs] == ["warning"]
    assert warning in hook.logs[0].message and "downgrades are refused" in hook.logs[0].message
    assert run.exit_code == 1 and "downgrades are refused" in run.error
    assert supervisor_version(stash.data) == NEXT_VERSION


def test_the_supervisors_environment_runs_without_the_emulators_packages(stash, tmp_path):
    # Given the environment the plugin built (only the runtime dependencies)
    stash.ensure_installed()
    python = venv_record(stash.data)["python"]

    # When the demo, which needs the emulators, is started from it
    completed = subprocess.run(
        [python, "-m", "stashplex", "demo", "--short"],
        capture_output=True, text=True, timeout=60, check=False,
        env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
    )  # fmt: skip

    # Then it says in one line which extra to install
    assert completed.returncode == 1
    assert completed.stderr.strip().splitlines() == [
        "stashplex demo: the demo needs the emulators' packages (graphql-core, PyYAML): "
        "pip install 'stashplex[sandbox]'"
    ]


def test_prepare_removal_stops_the_supervisor_and_the_cli_deletes_what_is_left(stash):
    # Given the installed plugin
    stash.ensure_installed()
    python = venv_record(stash.data)["python"]

    # When "Prepare removal" runs
    run = stash.task("Prepare removal")

    # Then the supervisor is stopped and Stash's log lists what stays on disk and what to do
    assert (run.exit_code, run.error) == (0, None), run.logs
    assert not answering(stash.data)
    assert f"left on disk: {stash.data} (" in run.output
    assert "uninstall it in Settings > Plugins" in run.output

    # When Stash's package manager removes the plugin, and the CLI is told to delete the data
    stash.manager.uninstall(stash.source, "stashplex")
    refused = subprocess.run(
        [python, "-m", "stashplex", "uninstall", "--data-dir", str(stash.data)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    removed = subprocess.run(
        [python, "-m", "stashplex", "uninstall", "--data-dir", str(stash.data), "--yes"],
        capture_output=True, text=True, timeout=60, check=False, cwd="/",
    )  # fmt: skip

    # Then without --yes nothing is deleted, with it everything is
    assert refused.returncode == 2 and "add --yes" in refused.stderr
    assert removed.returncode == 0, removed.stderr
    assert not stash.data.exists()
    assert not (stash.plugin_dir / "stashplex.yml").exists()
    stash.installed = False


def test_reinstalled_after_removal_the_first_hook_builds_the_environment_and_syncs(stash):
    # Given the plugin installed again after a removal, and a data folder with only the
    # settings and the wheels: nobody ran "Install / repair"
    stash.prepare_data()
    stash.install_package()
    scene = stash.world.world.scene_ids[5]

    # When a scene is edited
    save = stash.edit(scene, "First start from a hook")

    # Then the hook spools the event and says it installs the environment first
    (hook,) = save.hook_runs
    assert (hook.exit_code, hook.error) == (0, None)
    assert f"installing stashplex {__version__}'s Python environment first" in hook.output
    # And the environment is built, the supervisor started, and the scene reaches Plex
    wait_until(
        lambda: stash.plex_title(scene) == "First start from a hook",
        timeout=120,
        message="the title in Plex",
    )
    assert venv_record(stash.data)["stashplex"] == __version__
    stash.installed = True

