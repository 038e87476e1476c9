"""Settings: one validated model, and where its values come from.

:mod:`~stashplex.config.settings` is the model with its ranges and the layering of sources
(plugin settings saved in Stash, ``STASHPLEX_*`` environment variables, ``config.toml``,
defaults); :mod:`~stashplex.config.loading` reads those sources, Stash's included.
:func:`load_effective_settings` is imported on first use: it brings the Stash client and
``requests`` (~90 ms, ~10 MB), which ``stashplex run`` does not need before it becomes the
watchdog, and a restarted supervisor answers hooks that much sooner.
"""

from typing import Any

from stashplex.config.settings import Settings, SettingsError, load_settings, secret_values

__all__ = ["Settings", "SettingsError", "load_effective_settings", "load_settings", "secret_values"]


def __getattr__(name: str) -> Any:
    if name == "load_effective_settings":
        from stashplex.config.loading import load_effective_settings

        return load_effective_settings
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
