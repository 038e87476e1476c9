"""The Stash plugin folder: manifest, stdlib-only scripts, and (from a checkout) a hook config.

:func:`plugin_files` is the folder as Stash's package manager installs it from the zip that
``make dist`` builds: nothing in it depends on the machine it was built on. The manifest runs
``python3``, which Stash replaces by its ``python_path`` setting (else the first ``python3`` or
``python`` on its PATH), and the scripts find the data directory and the supervisor's own
environment at run time. :func:`install_plugin` (``stashplex install-plugin``) writes the same
files plus ``stashplex-hook.json``, which points the hook at a checkout's virtualenv instead.

Stash decodes manifests strictly (an unknown key anywhere and the plugin does not load) and
treats every ``.yml`` file under its plugins path as a manifest, so the folder holds exactly
one ``.yml`` and only keys Stash knows. The manifest is written by hand: every scalar is a
JSON string literal, which YAML reads as a double-quoted string.

Hooks run ``python3 -S stashplex_run_hook.py`` (no site import: the hook must start fast and
needs only the standard library and the ``stashplex_link`` package beside it). That script is a
two-line stub importing ``stashplex_hook``: Python never caches the bytecode of the script it is
given, and compiling the whole hook again cost every save about 3 ms (a fifth of the hook).
Because Stash appends ``execArgs`` to ``exec`` and substitutes ``python_path`` only for an
``exec`` of exactly ``python``/``python3``, ``exec`` is ``[python3]`` and each entry names its
script.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
from pathlib import Path

from stashplex.link import events
from stashplex.link.version import __version__
from stashplex.plugin import hook as hook_module

logger = logging.getLogger(__name__)

PLUGIN_ID = "stashplex"
MANIFEST_NAME = f"{PLUGIN_ID}.yml"
HOOK_SCRIPT = "stashplex_hook.py"
#: What Stash runs for a hook: imports :data:`HOOK_SCRIPT`, whose bytecode is cached.
HOOK_ENTRY = "stashplex_run_hook.py"
HOOK_ENTRY_SOURCE = (
    '"""Stash runs this for each hook; the hook itself is imported, from cached bytecode."""\n'
    "from stashplex_hook import run\n\n"
    "run()\n"
)
TASK_SCRIPT = "stashplex_task.py"
#: The stdlib-only modules of :mod:`stashplex.plugin` copied as ``stashplex_<name>.py``.
SCRIPTS = ("hook", "task", "environment", "venvs", "lifecycle")
#: The stdlib-only modules of :mod:`stashplex.link` the hook and tasks import, as a package.
LINK_PACKAGE = "stashplex_link"
LINK_MODULES = (
    "wire.py", "lean_os.py", "handoff.py", "events.py", "version.py", "notices.py", "starts.py"
)
LINK_INIT = '"""The hook link, copied from stashplex.link."""\n'
#: Stash passes it for ``python``/``python3`` as its ``python_path`` setting, else its PATH's.
STASH_PYTHON = "python3"
HOOK_CONFIG = hook_module.CONFIG_NAME
DISPLAY_NAME = "Stash to Plex sync"
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
        events.UPDATE_TRIGGERS,
    ),
    (
        "Sync merged and deleted performers, studios, tags and groups to Plex",
        "Hands the merge or delete to the stashplex supervisor, which re-syncs the scenes that"
        " were linked to it, so the old names leave Plex.",
        events.MERGE_TRIGGERS + events.DESTROY_TRIGGERS,
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
    (
        "install",
        "Install / repair",
        "Build (or rebuild) the sync process's Python environment in the data folder with the"
        " Python Stash runs, from the wheels shipped with the plugin or the package index.",
    ),
    (
        "uninstall",
        "Prepare removal",
        "Stop the sync process and list what stays on disk; then remove the plugin.",
    ),
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
    ("reconcile_interval_hours", "NUMBER", "Reconciliation interval (hours)",
     "How often the whole library is compared with Plex and what differs is fixed, for changes"
     " no hook announces (merges, edits made while Stash could not reach stashplex). 0: never."),
    ("idle_stop_minutes", "NUMBER", "Stop the worker when idle (minutes)",
     "Minutes with nothing to do before the worker process stops to free its memory; saves are"
     " still answered at once and wake it. 0: never."),
)  # fmt: skip


class InstallError(RuntimeError):
    """The plugin folder cannot be written as asked."""


def plugin_files(version: str = __version__) -> dict[str, bytes]:
    """Every file of the plugin folder (``/``-separated names) as the zip carries it.

    ``stashplex/link/__init__.py`` also re-exports the supervisor's side (the socket server),
    which the hook must not load, so ``stashplex_link`` gets an empty ``__init__`` of its own;
    the copied modules import each other relatively, so they work both there and here.
    """
    package = Path(__file__).resolve().parent
    files = {f"stashplex_{name}.py": (package / f"{name}.py").read_bytes() for name in SCRIPTS}
    files[HOOK_ENTRY] = HOOK_ENTRY_SOURCE.encode()
    files[f"{LINK_PACKAGE}/__init__.py"] = LINK_INIT.encode()
    for name in LINK_MODULES:
        files[f"{LINK_PACKAGE}/{name}"] = (package.parent / "link" / name).read_bytes()
    files[MANIFEST_NAME] = render_manifest(version).encode()
    return files


def install_plugin(dest_dir: Path, *, data_dir: Path, python: Path) -> Path:
    """Write (or refresh) the plugin folder ``dest_dir`` for a checkout; returns the manifest.

    Besides :func:`plugin_files`, ``stashplex-hook.json`` names ``data_dir`` and the supervisor's
    command: ``python`` is the interpreter of the checkout's virtualenv, used as given (made
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
    for name, data in plugin_files().items():
        target = dest_dir / name
        target.parent.mkdir(exist_ok=True)
        _write_bytes(target, data)
    config = {
        "data_dir": data_path,
        "python": python_path,
        "spawn": hook_module.default_spawn(python_path),
    }
    _write_bytes(dest_dir / HOOK_CONFIG, (json.dumps(config, indent=2) + "\n").encode())
    _precompile(dest_dir, python_path)
    return dest_dir / MANIFEST_NAME


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


def render_manifest(version: str = __version__) -> str:
    """The manifest text; only keys from Stash's strict schema."""
    q = json.dumps
    lines = [
        f"name: {q(DISPLAY_NAME)}",
        f"description: {q(DESCRIPTION)}",
        f"version: {q(version)}",
        f"url: {q(PROJECT_URL)}",
        f"exec: [{q(STASH_PYTHON)}]",
        "interface: raw",
        "errLog: error",
        "hooks:",
    ]
    for name, description, triggers in HOOKS:
        lines += [
            f"  - name: {q(name)}",
            f"    description: {q(description)}",
            f"    triggeredBy: [{', '.join(q(trigger) for trigger in triggers)}]",
            f"    execArgs: [{q('-S')}, {q('{pluginDir}/' + HOOK_ENTRY)}]",
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


def _write_bytes(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)
