"""Stash with our plugin installed, as a user has it: saves run the hook, tasks run the task
script, and Stash's log records each plugin line with its level."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from stashplex.plugin import install_plugin
from stashplex.sandbox.plugin_runner import LogLine, PluginRun
from tests.support.processes import REPO, configure_for
from tests.support.world import SyncWorld

CONFIGURE_PLUGIN = (
    "mutation ($id: ID!, $input: Map!) { configurePlugin(plugin_id: $id, input: $input) }"
)


class StashWithPlugin:
    """Both emulators, a data directory configured for them, and our plugin in Stash.

    No supervisor runs at first: the first save's hook starts one, as in a fresh install.
    """

    def __init__(self, tmp: Path, scenes: int = 3, **settings: Any) -> None:
        self.world = SyncWorld(tmp, scenes=scenes)
        self.stash = self.world.stash
        self.data = tmp / "data"
        configure_for(self.world, self.data, **settings)
        manifest = install_plugin(
            tmp / "plugins" / "stashplex", data_dir=self.data, python=Path(sys.executable)
        )
        self.runner = self.stash.attach_plugin(manifest)
        self.name = self.runner.plugin("stashplex").name
        self.scene_id = self.world.world.scene_ids[0]
        self._saves = 0

    def save(self, scene_id: str | None = None, **fields: Any) -> list[LogLine]:
        """A user's edit of a scene; what it added to Stash's log (its hook's lines)."""
        self._saves += 1
        mark = len(self.runner.stash_log)
        self.stash.update_scene(scene_id or self.scene_id, title=f"Edit {self._saves}", **fields)
        return self.runner.stash_log[mark:]

    def run_task(self, name: str) -> PluginRun:
        return self.runner.run_task("stashplex", name)

    def save_plugin_settings(self, **values: Any) -> None:
        """What the user saves on the plugin's settings page in Stash (it replaces them all)."""
        self.stash.graphql(CONFIGURE_PLUGIN, {"id": "stashplex", "input": values})

    def errors(self, lines: list[LogLine]) -> list[str]:
        """The error lines among ``lines``, as Stash prints them, without the plugin prefix."""
        prefix = f"[Plugin / {self.name}] "
        return [line.message.removeprefix(prefix) for line in lines if line.level == "error"]

    def stop_supervisor(self) -> None:
        """Stop whatever supervisor runs for the data directory (in a clean environment:
        a test may have broken the one Stash runs the plugin in)."""
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        subprocess.run(
            [sys.executable, "-m", "stashplex", "stop", "--data-dir", str(self.data)],
            cwd=REPO,
            env=env,
            capture_output=True,
            timeout=60,
            check=False,
        )

    def close(self) -> None:
        self.stop_supervisor()
        self.world.close()


def broken_module(folder: Path, name: str) -> str:
    """A folder whose ``name`` module fails to import: on PYTHONPATH, it breaks the package."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.py").write_text(f"raise ImportError('{name} is broken here')\n")
    return str(folder)
