"""Settings as the supervisor and the CLI see them: file and environment, then Stash's own.

The plugin's settings live in Stash (``configuration { plugins }``), but reaching Stash needs
its URL and key first, so those come from the environment or the config file.
"""

from __future__ import annotations

import logging
from pathlib import Path

from stashplex.config.settings import Settings, load_settings
from stashplex.stash import StashClient, StashError

log = logging.getLogger(__name__)

PLUGIN_ID = "stashplex"


def stash_client(settings: Settings, *, timeout: float = 30.0) -> StashClient:
    """A Stash client with the settings' credentials and bounds on every answer."""
    return StashClient(
        settings.stash_url,
        api_key=settings.stash_api_key.get_secret_value(),
        timeout=timeout,
        max_bytes=settings.max_response_mb * 2**20,
        max_cover_bytes=settings.max_cover_mb * 2**20,
        deadline_s=settings.request_deadline_seconds,
        follow_plugin_connection=(
            settings.source_of("stash_url") == "default"
            and settings.stash_url == type(settings).model_fields["stash_url"].default
        ),
    )


def load_effective_settings(config_file: Path | None) -> Settings:
    """Validated settings with Stash's plugin settings layered in when Stash is reachable."""
    return read_effective_settings(config_file)[0]


def read_effective_settings(
    config_file: Path | None, *, quiet: bool = False
) -> tuple[Settings, bool]:
    """The settings, and whether Stash's plugin settings could be read at all.

    A watcher comparing settings must tell "Stash has nothing saved" from "Stash could not be
    asked"; ``quiet`` keeps a watcher that asks every minute out of the log.
    """
    base = load_settings(config_file=config_file)
    say = log.debug if quiet else log.info
    client = stash_client(base, timeout=5)
    try:
        from_stash = client.plugin_settings(PLUGIN_ID)
    except StashError as exc:
        (log.debug if quiet else log.warning)(
            "plugin settings not read from Stash (%s); using file and environment", exc
        )
        return base, False
    if not from_stash:
        return base, True
    say("using %d plugin settings saved in Stash", len(from_stash))
    return load_settings(config_file=config_file, stash_plugin_config=from_stash), True
