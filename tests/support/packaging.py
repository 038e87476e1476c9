"""The plugin as users get it: ``make dist``, a plugin source, Stash's package manager, Stash's
own Python. Shared by the packaging tests."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

from stashplex.sandbox.package_manager import (
    PackageManager,
    attach_runner,
    file_url,
    reload_plugins,
)
from stashplex.sandbox.plugin_runner import PluginRun, SaveResult
from tests.support.processes import configure_for, stop_whatever_owns
from tests.support.world import SyncWorld

REPO = Path(__file__).resolve().parents[2]
#: The Python "Stash" runs plugins with: the interpreter this test venv was made from, which has
#: none of the project's packages in reach of the plugin (it is not this venv).
STASH_PYTHON = os.path.realpath(getattr(sys, "_base_executable", "") or sys.executable)
PIP_WHEEL = (sys.executable, "-m", "pip", "wheel", "--no-deps", "-q")
#: Stash's default source folder for packages of a source (the community source uses it too).
SOURCE_FOLDER = "community"


@dataclass(frozen=True)
class Dist:
    """What ``make dist`` left in one folder."""

    root: Path

    @property
    def source(self) -> Path:
        return self.root / "plugin-source"

    @property
    def index(self) -> Path:
        return self.source / "index.yml"

    @property
    def zip(self) -> Path:
        (found,) = self.source.glob("stashplex-*.zip")
        return found

    @property
    def wheel(self) -> Path:
        (found,) = self.root.glob("stashplex-*.whl")
        return found

    @property
    def sdist(self) -> Path:
        (found,) = self.root.glob("stashplex-*.tar.gz")
        return found

    def constraints(self) -> str:
        with zipfile.ZipFile(self.zip) as archive:
            return archive.read("wheels/constraints.txt").decode()


def make_dist(source_tree: Path, out: Path) -> Dist:
    """``make dist`` in ``source_tree`` with this interpreter (which has the dev extra); on the
    build machine, so with the package index (``build`` fetches setuptools)."""
    completed = subprocess.run(
        ["make", "--no-print-directory", "dist", f"DIST={out}", f"PY={sys.executable}"],
        cwd=source_tree,
        env={key: value for key, value in os.environ.items() if key != "PIP_NO_INDEX"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    return Dist(out)


def copy_source_tree(destination: Path, version: str) -> Path:
    """The project's source at ``destination`` with its version set to ``version``."""
    ignore = shutil.ignore_patterns(
        ".git", ".venv", "dist", "build", "*.egg-info", "__pycache__", ".*cache", ".hypothesis"
    )
    shutil.copytree(REPO, destination, ignore=ignore)
    (destination / "stashplex" / "link" / "version.py").write_text(f'__version__ = "{version}"\n')
    return destination


def download_wheels(dist: Dist, folder: Path) -> Path:
    """The dependencies' wheels at the pinned versions, as a user without network would put
    them into the data folder (pip's cache makes this quick after the first time)."""
    constraints = folder.parent / "constraints.txt"
    constraints.write_text(dist.constraints())
    completed = subprocess.run(
        [*PIP_WHEEL, "-w", str(folder), "-r", str(constraints)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    return folder


class StashWithPluginSource:
    """A Stash (emulator) with a plugin source added, the Plex emulator, Stash's Python."""

    def __init__(self, root: Path, dist: Dist, wheels: Path) -> None:
        self.world = SyncWorld(root, scenes=6)
        self.stash = self.world.stash
        self.plex = self.world.plex
        self.source_dir = root / "source"
        shutil.copytree(dist.source, self.source_dir)
        self.source = file_url(self.source_dir / "index.yml")
        self.plugins = self.stash.config_dir / "plugins"
        self.manager = PackageManager(self.plugins, {self.source: SOURCE_FOLDER})
        self.runner = attach_runner(self.stash, STASH_PYTHON)
        self.data = self.stash.config_dir / "stashplex"
        self.wheels = wheels
        self.prepare_data()
        self.installed = False

    def prepare_data(self) -> None:
        """What the user puts into the data folder: settings, and the wheels (being offline)."""
        # Quick breaker trials: the upgrade test takes Plex down and brings it back.
        configure_for(self.world, self.data, scan_on_miss=False, breaker_reset_seconds=1)
        shutil.copytree(self.wheels, self.data / "wheels")

    @property
    def plugin_dir(self) -> Path:
        return self.manager.package_dir(self.source, "stashplex")

    def publish(self, dist: Dist) -> None:
        """A new release in the same plugin source (its index lists only the newest)."""
        shutil.copy(dist.zip, self.source_dir / dist.zip.name)
        shutil.copy(dist.index, self.source_dir / "index.yml")

    def install_package(self) -> Path:
        """What the user's click on *Install* (or *Update*) does, then *Reload plugins*."""
        folder = self.manager.install(self.source, "stashplex")
        reload_plugins(self.runner, self.plugins)
        return folder

    def task(self, name: str) -> PluginRun:
        return self.runner.run_task("stashplex", name)

    def ensure_installed(self) -> None:
        if not self.installed:
            self.install_package()
            run = self.task("Install / repair")
            assert run.exit_code == 0, run.logs
            self.installed = True

    def edit(self, scene_id: str, title: str) -> SaveResult:
        return self.stash.update_scene(scene_id, title=title)

    def plex_title(self, scene_id: str) -> str | None:
        items = self.world.plex_items_of(scene_id)
        return items[0]["fields"].get("title") if items else None

    def close(self) -> None:
        stop_whatever_owns(self.data)
        self.world.close()
