"""The installed plugin folder loads under Stash's strict manifest rules."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import yaml

from stashplex.link import events
from stashplex.plugin import InstallError, install_plugin

# Keys Stash's strict YAML decoding knows (stash-plugin-protocol.md 1.2); anything else fails.
TOP_KEYS = {
    "name", "description", "version", "url", "exec", "interface", "errLog",
    "tasks", "hooks", "settings", "ui",
}  # fmt: skip
TASK_KEYS = {"name", "description", "execArgs", "defaultArgs"}
HOOK_KEYS = TASK_KEYS | {"triggeredBy"}
SETTING_KEYS = {"displayName", "description", "type"}
SETTING_TYPES = {"STRING", "NUMBER", "BOOLEAN"}

EXPECTED_TASKS = {
    "sync_all": "Sync all scenes",
    "sync_recent": "Sync recent changes",
    "status": "Status",
    "doctor": "Health check",
    "dlq_retry": "Process dead letters (retry)",
    "dlq_purge": "Purge old dead letters",
    "release": "Release preserved fields",
    "start": "Start supervisor",
    "stop": "Stop supervisor",
    "install": "Install / repair",
    "uninstall": "Prepare removal",
}
EXPECTED_SETTINGS = {
    "plex_url": "STRING", "plex_token": "STRING", "plex_libraries": "STRING",
    "path_map": "STRING", "stash_api_key": "STRING",
    "sync_title": "BOOLEAN", "sync_summary": "BOOLEAN", "sync_studio": "BOOLEAN",
    "sync_date": "BOOLEAN", "sync_rating": "BOOLEAN", "sync_performers": "BOOLEAN",
    "sync_tags": "BOOLEAN", "sync_groups": "BOOLEAN", "sync_director": "BOOLEAN",
    "sync_poster": "BOOLEAN", "sync_background": "BOOLEAN",
    "studio_as_collection": "BOOLEAN", "strict_matching": "BOOLEAN",
    "allow_medium_confidence": "BOOLEAN", "preserve_plex_edits": "BOOLEAN", "dry_run": "BOOLEAN",
    "stash_authoritative": "BOOLEAN", "organized_only": "BOOLEAN",
    "transient_retries": "NUMBER", "transient_base_seconds": "NUMBER",
    "transient_cap_seconds": "NUMBER", "not_found_retries": "NUMBER",
    "not_found_base_seconds": "NUMBER", "not_found_cap_seconds": "NUMBER",
    "dead_letter_retention_days": "NUMBER", "reconcile_interval_hours": "NUMBER",
    "idle_stop_minutes": "NUMBER",
}  # fmt: skip


@pytest.fixture
def installed(tmp_path):
    plugin_dir = tmp_path / "plugins" / "stashplex"
    manifest_path = install_plugin(
        plugin_dir, data_dir=tmp_path / "data", python=Path(sys.executable)
    )
    return plugin_dir, manifest_path, yaml.safe_load(manifest_path.read_text())


def test_the_manifest_uses_only_keys_stash_knows(installed):
    _, _, manifest = installed

    assert set(manifest) <= TOP_KEYS
    for task in manifest["tasks"]:
        assert set(task) <= TASK_KEYS
    for hook in manifest["hooks"]:
        assert set(hook) <= HOOK_KEYS
    for setting in manifest["settings"].values():
        assert set(setting) <= SETTING_KEYS
        assert setting["type"] in SETTING_TYPES
    assert manifest["interface"] == "raw"
    assert manifest["errLog"] == "error"
    assert all(isinstance(manifest[key], str) for key in ("name", "description", "version", "url"))


def test_the_plugin_id_is_stashplex_and_no_other_yml_is_in_the_folder(installed):
    plugin_dir, manifest_path, _ = installed

    assert manifest_path.name == "stashplex.yml"
    assert [path.name for path in plugin_dir.glob("*.yml")] == ["stashplex.yml"]
    assert {path.name for path in plugin_dir.iterdir()} == {
        "stashplex.yml",
        "stashplex_hook.py",
        "stashplex_run_hook.py",
        "stashplex_task.py",
        "stashplex_environment.py",
        "stashplex_venvs.py",
        "stashplex_lifecycle.py",
        "stashplex_link",
        "stashplex-hook.json",
        "__pycache__",
    }


def test_hooks_run_the_hook_script_without_site_and_tasks_run_the_task_script(installed):
    _, _, manifest = installed

    scenes, related, gone = manifest["hooks"]
    # python3 is what Stash replaces with its python_path setting (else its PATH's python3)
    assert manifest["exec"] == ["python3"]
    assert scenes["name"] == "Sync scene to Plex"
    assert scenes["triggeredBy"] == [
        "Scene.Create.Post", "Scene.Update.Post", "Scene.Destroy.Post",
    ]  # fmt: skip
    assert related["name"] == "Sync renamed performers, studios, tags and groups to Plex"
    assert related["triggeredBy"] == [
        "Performer.Update.Post", "Studio.Update.Post", "Tag.Update.Post", "Group.Update.Post",
    ]  # fmt: skip
    assert gone["name"] == "Sync merged and deleted performers, studios, tags and groups to Plex"
    assert gone["triggeredBy"] == [
        "Tag.Merge.Post", "Performer.Destroy.Post", "Studio.Destroy.Post", "Tag.Destroy.Post",
        "Group.Destroy.Post",
    ]  # fmt: skip
    for hook in (scenes, related, gone):
        assert manifest["exec"] + hook["execArgs"] == [
            "python3", "-S", "{pluginDir}/stashplex_run_hook.py",
        ]  # fmt: skip
    for task in manifest["tasks"]:
        assert manifest["exec"] + task["execArgs"] == ["python3", "{pluginDir}/stashplex_task.py"]


def test_the_manifest_registers_exactly_the_triggers_the_hook_accepts(installed):
    # Given the installed manifest
    _, _, manifest = installed

    # When its hooks' triggers are collected
    registered = [trigger for hook in manifest["hooks"] for trigger in hook["triggeredBy"]]

    # Then they are the hook's list, each once: no event Stash sends is refused, none is missed
    assert registered == list(events.HOOK_TRIGGERS)


def test_every_task_names_its_job_in_default_args(installed):
    _, _, manifest = installed

    tasks = {task["defaultArgs"]["task"]: task["name"] for task in manifest["tasks"]}

    assert tasks == EXPECTED_TASKS
    assert all(set(task["defaultArgs"]) == {"task"} for task in manifest["tasks"])


def test_every_setting_is_declared_with_its_type_and_no_default(installed):
    _, _, manifest = installed

    declared = {name: setting["type"] for name, setting in manifest["settings"].items()}

    assert declared == EXPECTED_SETTINGS
    assert all(
        setting["displayName"] and setting["description"]
        for setting in manifest["settings"].values()
    )


def test_the_hook_config_names_the_data_dir_the_venv_python_and_the_supervisor_command(
    installed, tmp_path
):
    plugin_dir, _, _ = installed

    config = json.loads((plugin_dir / "stashplex-hook.json").read_text())

    data_dir = str(tmp_path / "data")
    assert config == {
        "data_dir": data_dir,
        "python": sys.executable,
        "spawn": [sys.executable, "-m", "stashplex", "run", "--data-dir", "{data_dir}"],
    }


def test_the_copied_scripts_are_the_packaged_ones(installed):
    plugin_dir, _, _ = installed
    package = Path(__file__).resolve().parents[2] / "stashplex"

    for name in ("hook", "task", "environment", "venvs", "lifecycle"):
        assert (plugin_dir / f"stashplex_{name}.py").read_text() == (
            package / "plugin" / f"{name}.py"
        ).read_text()
    for name in ("wire.py", "handoff.py", "events.py", "version.py"):
        assert (plugin_dir / "stashplex_link" / name).read_text() == (
            package / "link" / name
        ).read_text()


def test_awkward_paths_survive_the_hand_written_json(tmp_path):
    python = tmp_path / 'odd: dir # "quoted" \\ back' / "python"

    install_plugin(tmp_path / "plugin", data_dir=tmp_path / "data", python=python)

    config = json.loads((tmp_path / "plugin" / "stashplex-hook.json").read_text())
    assert config["python"] == str(python)


def test_a_venv_python_symlink_is_kept_not_resolved(tmp_path):
    real = tmp_path / "real-python"
    real.write_text("")
    link = tmp_path / "venv-python"
    link.symlink_to(real)

    install_plugin(tmp_path / "plugin", data_dir=tmp_path / "data", python=link)

    config = json.loads((tmp_path / "plugin" / "stashplex-hook.json").read_text())
    assert config["spawn"][0] == str(link)


def test_reinstalling_refreshes_the_folder_but_a_stray_yml_is_refused(tmp_path):
    plugin_dir = tmp_path / "plugin"
    install_plugin(plugin_dir, data_dir=tmp_path / "data", python=Path(sys.executable))
    install_plugin(plugin_dir, data_dir=tmp_path / "other", python=Path(sys.executable))
    assert json.loads((plugin_dir / "stashplex-hook.json").read_text())["data_dir"].endswith(
        "other"
    )

    (plugin_dir / "compose.yml").write_text("services: {}\n")

    with pytest.raises(InstallError, match=r"other \.yml files \(compose\.yml\)"):
        install_plugin(plugin_dir, data_dir=tmp_path / "data", python=Path(sys.executable))


def test_the_scripts_are_precompiled_for_the_target_interpreter(installed):
    plugin_dir, _, _ = installed

    cached = {path.name.split(".")[0] for path in (plugin_dir / "__pycache__").glob("*.pyc")}

    linked = {
        path.name.split(".")[0]
        for path in (plugin_dir / "stashplex_link" / "__pycache__").glob("*.pyc")
    }

    assert {"stashplex_hook", "stashplex_task"} <= cached
    assert {"wire", "handoff", "events"} <= linked
