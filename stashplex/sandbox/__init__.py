"""Faithful loopback emulators of Plex and Stash, used by tests, benchmarks and the demo.

They ship in the package so `stashplex demo` works on a machine with neither server.
"""

from __future__ import annotations

from stashplex.runtime.lazy import lazy_exports

_EXPORTS = {"PlexEmulator": "plex", "StashEmulator": "stash", "seed_world": "seed"}

__all__ = sorted(_EXPORTS)  # noqa: PLE0605 - the names are the keys above
__getattr__ = lazy_exports(__name__, _EXPORTS)
