"""A loopback Stash emulator: GraphQL subset of the real schema, auth, images, faults, plugin hooks.

Start it with `python -m stashplex.sandbox.stash --port 9999 --scenes 1000 --seed 1`, or in-process:

    with StashEmulator(api_key="secret") as stash:
        stash.seed(100)
        runner = stash.attach_plugin("path/to/plugin.yml")

Names are resolved lazily so that importing one submodule (the plugin runner imports the
manifest and log modules) never loads the whole emulator.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from stashplex.sandbox.stash.contracts import PluginRun, SaveResult
    from stashplex.sandbox.stash.emulator import StashEmulator
    from stashplex.sandbox.stash.faults import StashFaults
    from stashplex.sandbox.stash.request_counter import RequestCounter
    from stashplex.sandbox.stash.scan import ScanResult
    from stashplex.sandbox.stash.store import StashDataError

_EXPORTS = {
    "PluginRun": "stashplex.sandbox.stash.contracts",
    "PluginRunner": "stashplex.sandbox.plugin_runner",
    "SaveResult": "stashplex.sandbox.stash.contracts",
    "ScanResult": "stashplex.sandbox.stash.scan",
    "StashEmulator": "stashplex.sandbox.stash.emulator",
    "StashFaults": "stashplex.sandbox.stash.faults",
    "RequestCounter": "stashplex.sandbox.stash.request_counter",
    "StashDataError": "stashplex.sandbox.stash.store",
}

__all__ = [
    "PluginRun",
    "PluginRunner",
    "RequestCounter",
    "SaveResult",
    "ScanResult",
    "StashDataError",
    "StashEmulator",
    "StashFaults",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
