"""Settings: one validated model, and where its values come from.

:mod:`~stashplex.config.settings` is the model with its ranges and the layering of sources
(plugin settings saved in Stash, ``STASHPLEX_*`` environment variables, ``config.toml``,
defaults); :mod:`~stashplex.config.loading` reads those sources, Stash's included.
"""

from stashplex.config.loading import load_effective_settings
from stashplex.config.settings import Settings, SettingsError, load_settings, secret_values

__all__ = ["Settings", "SettingsError", "load_effective_settings", "load_settings", "secret_values"]
