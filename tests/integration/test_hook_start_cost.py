"""What a save pays for: the modules the installed hook loads on its every-save path.

Stash waits for the hook process on every save, and under ``python -S`` each module the hook
imports is start-up time the user waits through (``os`` alone is about 1.4 ms of CPU, ``json``
pulls in ``re``). So the delivered-event path may load only the cheap part of the standard
library; anything else may load only on the rare paths (spooling, starting the supervisor).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from stashplex.link.ipc import LocalServer
from stashplex.plugin import install_plugin
from stashplex.plugin.install import LINK_PACKAGE

#: Modules whose import the every-save path must never pay for.
EXPENSIVE = {"os", "json", "re", "pathlib", "subprocess", "contextlib", "typing", "socket"}

#: Runs the installed hook as Stash does (``-S``, stdin), then prints what it had loaded.
WRAPPER = """
import sys
sys.path.insert(0, sys.argv[1])
import stashplex_hook
code = stashplex_hook.main()
sys.stderr.write("MODULES " + " ".join(sorted(sys.modules)) + "\\n")
sys.exit(code)
"""


@pytest.fixture
def plugin_with_supervisor():
    root = Path(tempfile.mkdtemp(prefix="sphc-", dir="/tmp"))
    plugin_dir = root / "plugins" / "stashplex"
    install_plugin(plugin_dir, data_dir=root / "data", python=Path(sys.executable))
    received: list[dict] = []
    with LocalServer(root / "data", lambda message: received.append(message) or {"ok": True}):
        yield plugin_dir, received
    shutil.rmtree(root, ignore_errors=True)


def test_a_delivered_save_loads_no_expensive_module(plugin_with_supervisor):
    # Given an installed plugin and a supervisor listening
    plugin_dir, received = plugin_with_supervisor
    stdin = {
        "server_connection": {"Dir": "/root/.stash", "PluginDir": str(plugin_dir)},
        "args": {"hookContext": {"id": 7, "type": "Scene.Update.Post",
                                 "input": {"id": "7"}, "inputFields": ["id", "title"]}},
    }  # fmt: skip
    # When the hook runs for one save
    done = subprocess.run(
        [sys.executable, "-S", "-c", WRAPPER, str(plugin_dir)],
        input=json.dumps(stdin).encode(),
        capture_output=True,
        timeout=60,
        check=False,
        cwd="/",
    )
    # Then the event was delivered
    assert done.returncode == 0, done.stderr.decode()
    assert [m["event"]["scene_id"] for m in received] == ["7"]
    # And the hook loaded its own link package but none of the expensive modules
    loaded = set(done.stderr.decode().split("MODULES ", 1)[1].split())
    assert f"{LINK_PACKAGE}.lean_os" in loaded
    assert loaded & EXPENSIVE == set()
