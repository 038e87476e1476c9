"""Write the Stash plugin folder: manifest, hook and task scripts, hook configuration.

Stash decodes manifests strictly (an unknown key anywhere and the plugin does not load) and
treats every ``.yml`` file under its plugins path as a manifest, so the folder holds exactly
one ``.yml`` and only keys Stash knows. The manifest is written by hand: every scalar is a
JSON string literal, which YAML reads as a double-quoted string, so paths with spaces,
backslashes or colons need no further thought.

Hooks run ``<python> -S stashplex_hook.py`` (no site import: the hook must start fast and needs
only the standard library and the ``stashplex_link`` package beside it). Because Stash appends
``execArgs`` to ``exec``, ``exec`` is the interpreter alone and each entry names its script.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
from pathlib import Path

from stashplex.link import events
from stashplex.plugin import hook as hook_module

logger = logging.getLogger(__name__)

PLUGIN_ID = "stashplex"
MANIFEST_NAME = f"{PLUGIN_ID}.yml"
HOOK_SCRIPT = "stashplex_hook.py"
TASK_SCRIPT = "stashplex_task.py"
#: The stdlib-only modules of :mod:`stashplex.link` the hook and tasks import, as a package.
LINK_PACKAGE = "stashplex_link"
LINK_MODULES = ("wire.py", "handoff.py", "events.py", "notices.py")
HOOK_CONFIG = hook_module.CONFIG_NAME
DESCRIPTION = "Keeps Plex metadata in step with Stash, durably and in the background."
PROJECT_URL = "https://github.com/stashplex/stashplex"

#: The hook refuses any other trigger, so the manifest registers exactly its lists:
#: (name shown in Stash, description, triggers), one entry per kind of event.
HOOKS = (
    (
        "Sync scene to Plex",
        "Hands the changed scene to the stashplex supervisor.",
        events.SCENE_TRIGGERS,
    ),
    (
        "Sync renamed performers, studios, tags and groups to Plex",
        "Hands the edit to the stashplex supervisor, which re-syncs the scenes linked to it.",
        events.RELATED_TRIGGERS,
    ),
)
HOOK_TRIGGERS = tuple(trigger for _name, _description, triggers in HOOKS for trigger in triggers)

#: (task argument, name shown in Stash, description)
TASKS = (
    ("sync_all", "Sync all scenes", "Queue every scene for a sync to Plex."),
    ("sync_recent", "Sync recent changes", "Queue scenes changed since the last sync."),
    ("status", "Status", "Show the supervisor's queues, actors and last errors."),
    ("doctor", "Health check", "Check the connections to Stash and Plex and the data folder."),
    ("dlq_retry", "Process dead letters (retry)", "Send failed syncs through the pipeline again."),
    ("dlq_purge", "Purge old dead letters", "Delete dead letters older than the retention."),
    ("release", "Release preserved fields",
     "Hand every field kept for an edit made in Plex back to Stash, and re-sync those scenes."
     " Through the API, args fields, scene or item narrow it."),
    ("start", "Start supervisor", "Start the background sync process if it is not running."),
    ("stop", "Stop supervisor", "Stop the background sync process after its current work."),
)

_SYNC_FIELDS = ("title", "summary", "studio", "date", "rating", "performers", "tags", "groups")

#: (setting id, type, name shown in Stash, description); defaults live in stashplex.config.settings.
SETTINGS = (
    ("plex_url", "STRING", "Plex URL", "Base URL of the Plex server, e.g. http://plex:32400."),
    ("plex_token", "STRING", "Plex token", "X-Plex-Token of an account that may edit the library."),
    ("plex_libraries", "STRING", "Plex libraries",
     "Comma-separated library titles to sync; empty = all movie and show libraries."),
    ("path_map", "STRING", "Path map",
     "Stash path prefix => Plex path prefix, e.g. /data/ => /media/; separate rules with ';'."),
    ("stash_api_key", "STRING", "Stash API key",
     "When Stash requires a login, set it in the data dir's config.toml (or"
     " STASHPLEX_STASH_API_KEY) instead: settings saved here can only be read with it."),
    *(
        (f"sync_{name}", "BOOLEAN", f"Sync {name}", f"Copy the scene's {name} to Plex.")
        for name in _SYNC_FIELDS
    ),
    ("sync_director", "BOOLEAN", "Sync director", "Copy the scene's director to Plex."),
    ("sync_poster", "BOOLEAN", "Sync poster", "Upload the scene's cover as the Plex poster."),
    (
        "sync_background",
        "BOOLEAN",
        "Sync background",
        "Also upload the cover as the Plex background (off unless ticked).",
    ),
    ("studio_as_collection", "BOOLEAN", "Studio as collection",
     "Also add each item to a Plex collection named after its studio."),
    ("strict_matching", "BOOLEAN", "Strict matching",
     "Sync only scenes matched to a Plex item with high confidence (file path)."),
    ("allow_medium_confidence", "BOOLEAN", "Allow medium-confidence matches",
     "Also accept medium-confidence matches (file name and size) when paths differ."),
    ("preserve_plex_edits", "BOOLEAN", "Preserve Plex edits",
     "Leave a field alone if it was edited in Plex since stashplex last wrote it."),
    ("stash_authoritative", "BOOLEAN", "Stash is authoritative",
     "Write every mapped field, clearing Plex where Stash is empty. Off: an empty Stash value"
     " only clears what stashplex itself wrote."),
    ("organized_only", "BOOLEAN", "Organized scenes only",
     "Sync only scenes marked organized in Stash; a scene is synced once it is organized."),
    ("dry_run", "BOOLEAN", "Dry run", "Log what would change in Plex without changing it."),
    ("transient_retries", "NUMBER", "Retries after transient errors",
     "How often a sync is retried after a timeout or server error."),
    ("transient_base_seconds", "NUMBER", "Transient retry delay (s)",
     "First delay before a retry; doubles each time."),
    ("transient_cap_seconds", "NUMBER", "Transient retry delay cap (s)",
     "Longest delay between retries."),
    ("not_found_retries", "NUMBER", "Retries while Plex lacks the file",
     "How often to look again for a file Plex has not scanned yet."),
    ("not_found_base_seconds", "NUMBER", "Not-found retry delay (s)",
     "First delay before looking again; doubles each time."),
    ("not_found_cap_seconds", "NUMBER", "Not-found retry delay cap (s)",
     "Longest delay between looks."),
    ("dead_letter_retention_days", "NUMBER", "Dead letter retention (days)",
     "Dead letters older than this are purged."),
)  # fmt: skip


class InstallError(RuntimeError):
    """The plugin folder cannot be written as asked."""


def install_plugin(dest_dir: Path, *, data_dir: Path, python: Path) -> Path:
    """Write (or refresh) the plugin folder ``dest_dir``; returns the manifest's path.

    ``python`` is the interpreter of the project's virtualenv; it is used as given (made
    absolute, symlinks kept), since resolving a venv's symlink would lose the venv.
    """
    dest_dir = Path(dest_dir).absolute()
    python_path = str(Path(python).absolute())
    data_path = str(Path(data_dir).absolute())
    dest_dir.mkdir(parents=True, exist_ok=True)
    strays = sorted(p.name for p in dest_dir.glob("*.yml") if p.name != MANIFEST_NAME)
    if strays:
        raise InstallError(
            f"{dest_dir} holds other .yml files ({', '.join(strays)}); Stash would load each as "
            "a plugin. Install into an empty folder."
        )
    package = Path(__file__).resolve().parent
    shutil.copyfile(package / "hook.py", dest_dir / HOOK_SCRIPT)
    shutil.copyfile(package / "task.py", dest_dir / TASK_SCRIPT)
    _copy_link_package(package.parent / "link", dest_dir / LINK_PACKAGE)
    config = {
        "data_dir": data_path,
        "python": python_path,
        "spawn": hook_module.default_spawn(python_path),
    }
    _write_text(dest_dir / HOOK_CONFIG, json.dumps(config, indent=2) + "\n")
    manifest = dest_dir / MANIFEST_NAME
    _write_text(manifest, render_manifest(python_path))
    _precompile(dest_dir, python_path)
    return manifest


def _copy_link_package(source: Path, dest: Path) -> None:
    """The hook's share of :mod:`stashplex.link`, with an empty ``__init__`` of its own.

    ``stashplex/link/__init__.py`` also re-exports the supervisor's side (the socket server), which
    the hook must not load; the copied modules import each other relatively, so they work both
    here and inside the installed package.
    """
    dest.mkdir(exist_ok=True)
    _write_text(dest / "__init__.py", '"""The hook link, copied from stashplex.link."""\n')
    for name in LINK_MODULES:
        shutil.copyfile(source / name, dest / name)


def _precompile(dest_dir: Path, python: str) -> None:
    """Cache the scripts' bytecode with the interpreter that will run them.

    Otherwise every hook run compiles ``stashplex_link`` again (~2 ms, a third of a bare
    ``python -S`` start) wherever the plugin folder is read-only to the hook or
    ``PYTHONDONTWRITEBYTECODE`` is set; compileall writes the cache regardless of that flag.
    """
    if not os.access(python, os.X_OK):
        logger.warning("%s is not executable; the plugin scripts are not precompiled", python)
        return
    completed = subprocess.run(
        [python, "-m", "compileall", "-q", str(dest_dir)],
        capture_output=True,
        check=False,
        timeout=120,
    )
    if completed.returncode != 0:
        logger.warning("precompiling %s failed: %s", dest_dir, completed.stdout.decode()[-500:])


def render_manifest(python: str) -> str:
    """The manifest text; only keys from Stash's strict schema."""
    q = json.dumps
    lines = [
        f"name: {q('Stash to Plex sync')}",
        f"description: {q(DESCRIPTION)}",
        f"version: {q(_version())}",
        f"url: {q(PROJECT_URL)}",
        f"exec: [{q(python)}]",
        "interface: raw",
        "errLog: error",
        "hooks:",
    ]
    for name, description, triggers in HOOKS:
        lines += [
            f"  - name: {q(name)}",
            f"    description: {q(description)}",
            f"    triggeredBy: [{', '.join(q(trigger) for trigger in triggers)}]",
            f"    execArgs: [{q('-S')}, {q('{pluginDir}/' + HOOK_SCRIPT)}]",
        ]
    lines.append("tasks:")
    for task, name, description in TASKS:
        lines += [
            f"  - name: {q(name)}",
            f"    description: {q(description)}",
            f"    execArgs: [{q('{pluginDir}/' + TASK_SCRIPT)}]",
            "    defaultArgs:",
            f"      task: {q(task)}",
        ]
    lines.append("settings:")
    for setting, kind, name, description in SETTINGS:
        lines += [
            f"  {setting}:",
            f"    displayName: {q(name)}",
            f"    description: {q(description)}",
            f"    type: {kind}",
        ]
    return "\n".join(lines) + "\n"


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("stashplex")
    except PackageNotFoundError:
        return "0.0.0"


def _write_text(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
