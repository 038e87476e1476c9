"""Build the supervisor's virtualenv with the Python Stash runs, and install stashplex into it.

The plugin runs inside Stash's environment (its container, in Docker), where the project's
dependencies are not installed and must not be installed into the system: so the *Install /
repair* task (or the first start from a hook) creates ``<data>/venv-<version>`` with the Python
Stash runs plugins with, and pip installs the wheel shipped in the plugin folder with the
dependency versions pinned by ``make dist``. Wheels found in ``wheels/`` of the plugin folder
or of the data directory are tried first without the package index (the offline case), then
the package index. pip's output goes to ``<data>/logs/install.log``; what Stash's log gets is
one line per step and, on failure, one line naming the fix.

Standard library only: it runs under Stash's Python, before any dependency exists.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time

try:
    import stashplex_environment as environment
except ImportError:  # not an installed plugin folder: the source tree or the installed package
    if not __package__:
        sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(__file__))))
    from stashplex.plugin import environment

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

    Say = Callable[[str, str], None]

PLUGIN_VERSION = environment.PLUGIN_VERSION
#: ``requires-python`` of the package: checked before building, for a clear message.
MIN_PYTHON = (3, 11)
#: venv creation and pip may be slow on a small NAS; past this a step has hung.
STEP_TIMEOUT_SECONDS = 900.0
#: Imports the whole supervisor stack and prints what the environment runs.
VERIFY_CODE = (
    "import sys, stashplex.host.actor_host, stashplex.cli; "
    "from stashplex.link.version import __version__; "
    "print('stashplex-verify', __version__, sys.version.split()[0])"
)


class ProvisionError(RuntimeError):
    """Provisioning failed; the message is one line that says what to do."""


def base_python() -> str:
    """The real interpreter behind ``sys.executable``, resolved to its versioned file name.

    A venv links to the interpreter it was made with: linking ``/usr/bin/python3.11`` rather
    than ``/usr/bin/python3`` means an image update that brings Python 3.12 leaves a dangling
    link the hook notices with a ``stat``, instead of a venv that starts 3.12 without packages.
    """
    executable = getattr(sys, "_base_executable", "") or sys.executable
    real = os.path.realpath(executable)
    return real if os.path.isfile(real) else sys.executable


def child_env() -> dict[str, str]:
    """Stash's environment without what would make the venv's Python import the wrong things:
    Stash puts its plugins folder on ``PYTHONPATH``."""
    drop = {"PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "__PYVENV_LAUNCHER__"}
    return {key: value for key, value in os.environ.items() if key not in drop}


def run_logged(argv: list[str], data_dir: str, what: str) -> tuple[int, str]:
    """Run one step with its output appended to the install log; (exit code, output)."""
    log_path = os.path.join(data_dir, environment.INSTALL_LOG)
    os.makedirs(os.path.dirname(log_path), mode=0o700, exist_ok=True)
    try:
        completed = subprocess.run(
            argv,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=STEP_TIMEOUT_SECONDS,
            env=child_env(),
            check=False,
        )
        code, output = completed.returncode, completed.stdout + completed.stderr
    except (OSError, subprocess.TimeoutExpired) as exc:
        code, output = -1, f"{type(exc).__name__}: {exc}".encode()
    text = output.decode("utf-8", errors="replace")
    stamp = time.strftime("%Y-%m-%d %H:%M:%S")
    with open(log_path, "a", encoding="utf-8") as log:
        log.write(f"--- {stamp} {what}: {' '.join(argv)}\n{text}--- exit {code}\n")
    return code, text


def last_error(text: str) -> str:
    """The line of a step's output that says what went wrong, for a one-line message."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("ERROR") or "Error" in line]
    return " ".join((errors or lines or ["no output"])[-1].split())[:300]


# -- building ---------------------------------------------------------------------------------


def create_venv(target: str, data_dir: str, say: Say) -> list[str]:
    """Create ``target`` from :func:`base_python`; returns the pip command to install into it.

    Some system Pythons ship without ``ensurepip`` (Debian without ``python3-venv``): then the
    venv is made without pip and the base Python's own pip installs into it (``--python``).
    """
    base = base_python()
    if sys.version_info < MIN_PYTHON:
        raise ProvisionError(
            f"Stash runs plugins with Python {sys.version.split()[0]} ({base}); stashplex needs "
            f"{'.'.join(map(str, MIN_PYTHON))} or newer: point Stash's python_path setting at one"
        )
    if os.path.exists(target):
        shutil.rmtree(target)
    say("info", f"creating {target} with {base}")
    code, _ = run_logged([base, "-m", "venv", target], data_dir, "venv")
    python = environment.venv_python(target)
    if code == 0:
        return [python, "-m", "pip"]
    if os.path.exists(target):
        shutil.rmtree(target)
    code, output = run_logged([base, "-m", "venv", "--without-pip", target], data_dir, "venv")
    if code != 0:
        raise ProvisionError(
            f"Stash's Python {base} cannot create a virtualenv ({last_error(output)})"
        )
    has_pip, _ = run_logged([base, "-m", "pip", "--version"], data_dir, "pip of the base")
    if has_pip != 0:
        raise ProvisionError(
            f"Stash's Python {base} has neither ensurepip nor pip; install python3-venv "
            f"(Debian, Ubuntu) or py3-pip (Alpine), then run the '{environment.INSTALL_TASK}' "
            "task again"
        )
    return [base, "-m", "pip", "--python", python]


def wheel_dirs(plugin_dir: str, data_dir: str) -> list[str]:
    candidates = (
        os.path.join(plugin_dir, environment.WHEELS_DIR),
        os.path.join(data_dir, environment.WHEELS_DIR),
    )
    return [path for path in candidates if os.path.isdir(path)]


def install_stashplex(pip: list[str], plugin_dir: str, data_dir: str, say: Say) -> str:
    """pip-install ``stashplex==<plugin version>``; returns where it came from.

    Wheels beside the plugin or in the data directory first, without the index (fast, and the
    only way offline); then the package index, still with those folders as extra sources (the
    stashplex wheel itself is only in the plugin folder).
    """
    links = wheel_dirs(plugin_dir, data_dir)
    constraints = os.path.join(plugin_dir, environment.WHEELS_DIR, environment.CONSTRAINTS_NAME)
    common = ["--disable-pip-version-check", "--no-input"]
    if os.path.isfile(constraints):
        common += ["--constraint", constraints]
    for link in links:
        common += ["--find-links", link]
    requirement = f"stashplex=={PLUGIN_VERSION}"
    attempts = [(f"the wheels in {', '.join(links)}", ["--no-index"])] if links else []
    attempts.append(("the package index", []))
    failures = []
    for source, extra in attempts:
        say("info", f"installing stashplex {PLUGIN_VERSION} and its dependencies from {source}")
        argv = [*pip, "install", *extra, *common, requirement]
        code, output = run_logged(argv, data_dir, "pip install")
        if code == 0:
            return source
        failures.append(f"from {source}: {last_error(output)}")
    offline = os.path.join(data_dir, environment.WHEELS_DIR)
    raise ProvisionError(
        f"pip could not install stashplex {PLUGIN_VERSION} ({'; '.join(failures)}; full output "
        f"in {os.path.join(data_dir, environment.INSTALL_LOG)}); without network, put the "
        f"wheels into {offline} (see the README) and run the '{environment.INSTALL_TASK}' task"
    )


def verify(python: str, data_dir: str) -> tuple[str, str]:
    """(stashplex version, Python version) the environment really runs, or ProvisionError."""
    code, output = run_logged([python, "-c", VERIFY_CODE], data_dir, "verify")
    if code != 0:
        raise ProvisionError(
            f"the environment of {python} cannot run stashplex ({last_error(output)})"
        )
    for line in output.splitlines():
        fields = line.split()
        if len(fields) == 3 and fields[0] == "stashplex-verify":
            return fields[1], fields[2]
    raise ProvisionError(f"the environment of {python} answered {last_error(output)!r}")


def healthy_version(python: str, data_dir: str) -> str | None:
    """The stashplex version a working environment runs, None if it does not work."""
    try:
        return verify(python, data_dir)[0]
    except ProvisionError:
        return None


def build(plugin_dir: str, data_dir: str, say: Say) -> dict[str, object]:
    """A fresh ``venv-<version>`` with stashplex installed and checked; returns its record.

    The record goes to ``venv.json`` only after the check passed, so a half-built environment
    is never the one hooks start the supervisor from.
    """
    target = environment.venv_dir(data_dir)
    pip = create_venv(target, data_dir, say)
    source = install_stashplex(pip, plugin_dir, data_dir, say)
    python = environment.venv_python(target)
    installed, python_version = verify(python, data_dir)
    if installed != PLUGIN_VERSION:
        raise ProvisionError(
            f"{target} runs stashplex {installed}, not {PLUGIN_VERSION}: the wheels offered "
            "another version"
        )
    record: dict[str, object] = {
        "venv": target,
        "python": python,
        "base_python": base_python(),
        "python_version": python_version,
        "stashplex": installed,
        "source": source,
        "installed_at": time.time(),
    }
    environment.write_record(os.path.join(data_dir, environment.VENV_RECORD), record)
    return record
