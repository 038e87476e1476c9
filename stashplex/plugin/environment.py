"""The supervisor's own Python environment, as the hook sees it: cheap checks, no subprocess.

A plugin folder installed by Stash's package manager carries no path of the machine it was
built on: the supervisor's virtualenv is created at run time under the data directory
(``<data>/venv-<version>``) with the Python Stash runs, and ``<data>/venv.json`` records which
interpreter it was built with. The hook consults this module only on its rare paths (no
supervisor answers, or one of another version does), so a save never pays for it; what it
checks is a ``stat`` and a small JSON read: the interpreter link still points at a file, and
that file is still the Python version the environment was built for (a Docker image update
that replaces Python leaves a venv whose link dangles or whose ``site-packages`` no longer
match). Building, repairing and upgrading are in :mod:`venvs` and :mod:`lifecycle`.

Standard library only, copied into the plugin folder as ``stashplex_environment.py``.
"""

from __future__ import annotations

import os
import sys
import time

try:
    from stashplex_link import version, wire
except ImportError:  # not an installed plugin folder: the source tree or the installed package
    if not __package__:
        sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(__file__))))
    from stashplex.link import version, wire

#: The version of these plugin files (and of the stashplex wheel shipped with them).
PLUGIN_VERSION = version.__version__

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

#: What ``venv.json`` in the data directory is called: the environment the supervisor runs in.
VENV_RECORD = "venv.json"
#: The last install, repair or upgrade attempt and its outcome, so hooks can report a failure.
PROVISION_RECORD = "provision.json"
#: Offline wheels: ``wheels/`` in the plugin folder (shipped in the zip) and in the data dir.
WHEELS_DIR = "wheels"
#: The pinned versions of the dependencies, written by ``make dist`` next to the wheel.
CONSTRAINTS_NAME = "constraints.txt"
#: Where pip's output and every provisioning step are logged.
INSTALL_LOG = os.path.join("logs", "install.log")
#: A failed (or just finished) attempt is not repeated by hooks for this long.
RETRY_AFTER_SECONDS = 600.0
#: The plugin task that builds or repairs the environment, as Stash shows it.
INSTALL_TASK = "Install / repair"
#: The file names of the plugin's scripts in a plugin folder (``stashplex/plugin/<name>.py``).
SCRIPT_PREFIX = "stashplex_"
#: One hook of a burst starts an upgrade: its own stamp, apart from the supervisor start's.
UPGRADE_LOCK = "upgrade.lock"
#: The detached process that installs, upgrades and (re)starts the supervisor.
LIFECYCLE = "lifecycle"


class Plan:
    """What a hook should do about the supervisor: run ``argv`` (or nothing), and say ``message``
    at ``level`` in Stash's log (or nothing)."""

    __slots__ = ("argv", "level", "message")

    def __init__(
        self, argv: list[str] | None, level: str = "info", message: str | None = None
    ) -> None:
        self.argv = argv
        self.level = level
        self.message = message


class Environment:
    """What ``venv.json`` says and whether it still holds: ``state`` is ``missing``, ``broken``
    (``detail`` says why) or ``ok``; ``version`` is the stashplex version installed in it."""

    __slots__ = ("detail", "python", "record", "state", "version")

    def __init__(self, state: str, record: dict[str, Any] | None, detail: str = "") -> None:
        self.state = state
        self.record = record or {}
        self.detail = detail
        python = self.record.get("python")
        self.python = python if isinstance(python, str) else ""
        version = self.record.get("stashplex")
        self.version = version if isinstance(version, str) else ""

    @property
    def venv(self) -> str:
        venv = self.record.get("venv")
        return venv if isinstance(venv, str) else ""


# -- paths and records --------------------------------------------------------------------------


def venv_dir(data_dir: str, version: str = PLUGIN_VERSION) -> str:
    """One folder per version: an upgrade builds the new one while the old supervisor runs."""
    return os.path.join(data_dir, f"venv-{version}")


def venv_python(venv: str) -> str:
    if sys.platform == "win32":  # pragma: no cover - Windows
        return os.path.join(venv, "Scripts", "python.exe")
    return os.path.join(venv, "bin", "python")


def script_path(plugin_dir: str, name: str) -> str:
    """``stashplex_<name>.py`` in a plugin folder, ``<name>.py`` in the source tree."""
    if os.path.basename(__file__).startswith(SCRIPT_PREFIX):
        return os.path.join(plugin_dir, f"{SCRIPT_PREFIX}{name}.py")
    return os.path.join(plugin_dir, f"{name}.py")


def read_record(path: str) -> dict[str, Any] | None:
    """A small JSON object, or None if it is missing or not one (a torn write is no record)."""
    try:
        with open(path, encoding="utf-8") as handle:
            record = wire.from_json(handle.read())
    except (OSError, UnicodeDecodeError, wire.FrameError):
        return None
    return record if isinstance(record, dict) else None


def write_record(path: str, record: dict[str, Any]) -> None:
    """Atomically replace ``path``: a reader sees the old record or the new one."""
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(wire.to_json(record) + "\n")
    os.replace(tmp, path)


# -- versions -----------------------------------------------------------------------------------


def version_key(text: str) -> tuple[tuple[int, ...], int]:
    """``"1.2.3"`` -> ``((1, 2, 3), 1)``: the release numbers, then 0 for a pre-release
    (``1.2.3rc1``, ``1.2.3.dev0``), 1 for the release, 2 for a post or local one."""
    text = text.strip().lstrip("vV")
    release = ""
    for char in text:
        if not (char.isdigit() or char == "."):
            break
        release += char
    numbers = [int(part) for part in release.split(".") if part]
    while numbers and numbers[-1] == 0:
        numbers.pop()
    suffix = text[len(release) :].lstrip(".-_").lower()
    phase = 1 if not suffix else 2 if suffix.startswith(("post", "+")) else 0
    return tuple(numbers), phase


def compare_versions(left: str, right: str) -> int:
    a, b = version_key(left), version_key(right)
    return (a > b) - (a < b)


def downgrade_message(newer: str) -> str:
    return (
        f"the supervisor runs stashplex {newer} but the plugin files are {PLUGIN_VERSION}: "
        f"downgrades are refused (its queues and state may be in a newer format), so it keeps "
        f"running {newer}; install stashplex {newer} or later from the plugin source"
    )


# -- checks -------------------------------------------------------------------------------------


def inspect(data_dir: str) -> Environment:
    """The recorded environment and whether its interpreter is still there and still the same.

    Cheap on purpose: a ``stat`` through the interpreter link (a dangling link means the Python
    it was built with is gone) and the version in the link target's name (``python3.11``) against
    the version it was built with. Whether it can really import stashplex is checked by the
    *Install / repair* task, which may take seconds.
    """
    record = read_record(os.path.join(data_dir, VENV_RECORD))
    environment = Environment("ok", record)
    if not environment.python or not environment.version:
        return Environment("missing", record)
    try:
        os.stat(environment.python)
    except OSError:
        target = os.path.realpath(environment.python)
        return Environment("broken", record, f"its interpreter {target} is gone")
    built_for = str(environment.record.get("python_version") or "")
    runs = _named_version(os.path.realpath(environment.python))
    if runs and built_for and not (built_for == runs or built_for.startswith(runs + ".")):
        return Environment(
            "broken", record, f"its interpreter is now Python {runs}, it was built for {built_for}"
        )
    return environment


def _named_version(path: str) -> str:
    """``3.11`` from ``.../python3.11``; empty when the name carries no version."""
    name = os.path.basename(path).lower().removesuffix(".exe")
    version = name.removeprefix("python")
    parts = version.split(".")
    if name == version or len(parts) != 2 or not all(part.isdigit() for part in parts):
        return ""
    return version


def broken_message(data_dir: str, environment: Environment) -> str:
    venv = environment.venv or venv_dir(data_dir)
    return (
        f"the supervisor's Python environment {venv} is broken ({environment.detail}); "
        f"run the '{INSTALL_TASK}' task (Settings > Tasks > Plugin Tasks) to rebuild it"
    )


def recent_attempt(data_dir: str) -> dict[str, Any] | None:
    """The last provisioning attempt for these plugin files if it is recent enough to wait for."""
    record = read_record(os.path.join(data_dir, PROVISION_RECORD))
    if not record or record.get("version") != PLUGIN_VERSION:
        return None
    at = record.get("at")
    if not isinstance(at, int | float) or not 0 <= time.time() - at < RETRY_AFTER_SECONDS:
        return None
    return record


# -- plans for the hook -------------------------------------------------------------------------


def supervisor_command(python: str, data_dir: str) -> list[str]:
    return [python, "-m", "stashplex", "run", "--data-dir", data_dir]


def lifecycle_command(plugin_dir: str, data_dir: str) -> list[str]:
    """Stash's own Python runs the installer: it is the one the venv is built with."""
    return [sys.executable, script_path(plugin_dir, LIFECYCLE), "converge", "--data-dir", data_dir]


def start_plan(data_dir: str, plugin_dir: str) -> Plan:
    """How a hook that found no supervisor starts one, for a folder from the package manager.

    A healthy environment of these plugin files' version: the supervisor itself. None yet, or
    an older one: the installer, detached, which builds it and then starts the supervisor
    (hooks meanwhile spool). A broken one, or an install that failed a moment ago: nothing, and
    an error line that names the fix. A newer one: that supervisor, since downgrades are refused.
    """
    environment = inspect(data_dir)
    if environment.state == "broken":
        return Plan(None, "error", broken_message(data_dir, environment))
    if environment.state == "ok":
        order = compare_versions(environment.version, PLUGIN_VERSION)
        command = supervisor_command(environment.python, data_dir)
        if order == 0:
            return Plan(command)
        if order > 0:
            return Plan(command, "warning", downgrade_message(environment.version))
    attempt = recent_attempt(data_dir)
    if attempt is not None and attempt.get("error"):
        return Plan(None, "error", _failed(attempt))
    log = os.path.join(data_dir, INSTALL_LOG)
    if environment.state == "missing":
        what = f"installing stashplex {PLUGIN_VERSION}'s Python environment first"
    else:
        what = f"upgrading the supervisor from {environment.version} to {PLUGIN_VERSION} first"
    return Plan(lifecycle_command(plugin_dir, data_dir), "info", f"{what} (see {log})")


def upgrade_plan(data_dir: str, plugin_dir: str, running: str) -> Plan:
    """What to do about a supervisor that answered with version ``running``, not ours.

    Older: restart it into these plugin files, in the background (the event at hand is already
    in its durable mailbox; queued work stays where it is). Newer: keep it, say so. An attempt
    for this version in the last minutes is not repeated: its failure is reported instead.
    """
    order = compare_versions(running, PLUGIN_VERSION)
    if order > 0:
        return Plan(None, "warning", downgrade_message(running))
    if order == 0:
        return Plan(None, message=None)
    attempt = recent_attempt(data_dir)
    if attempt is not None:
        return Plan(None, "error", _failed(attempt)) if attempt.get("error") else Plan(None)
    return Plan(
        lifecycle_command(plugin_dir, data_dir),
        "info",
        f"the supervisor runs stashplex {running} and the plugin files are {PLUGIN_VERSION}: "
        "restarting it into the new version in the background (its queued work is kept)",
    )


def follow_version(
    config: Any, running: str, start_detached: Callable[..., bool], log: Callable[[str, str], None]
) -> None:
    """The hook's answer to a supervisor of another version that took its event: Stash installed
    other plugin files. An older one is restarted into them by the detached lifecycle process
    (``start_detached`` lets one hook of a burst start it); a newer one is kept. One log line."""
    plan = upgrade_plan(config.data_dir, config.plugin_dir, running)
    if plan.argv is not None:
        config.spawn = plan.argv
        try:
            if not start_detached(config, lock=UPGRADE_LOCK):
                return
        except OSError as exc:
            log("error", f"could not start the upgrade of the supervisor: {exc}")
            return
    if plan.message:
        log(plan.level, plan.message)


def _failed(attempt: dict[str, Any]) -> str:
    return (
        f"{attempt.get('error')}; once fixed, run the '{INSTALL_TASK}' task "
        f"(hooks retry on their own after {RETRY_AFTER_SECONDS / 60:.0f} minutes)"
    )
