"""Package surfaces that load a module only when one of its names is first used.

A long-running process pays in memory for every module it imports. The watchdog, the hook's
fallback path and the CLI's quick commands touch only a corner of a package, so a package's
``__init__`` names its public surface without importing all of it (PEP 562).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(package: str, exports: Mapping[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` for ``package``: ``exports`` maps a public name to its module."""

    def __getattr__(name: str) -> Any:  # noqa: N807 - the module hook's required name
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(f"{package}.{module}"), name)

    return __getattr__
