"""Every setting, its default and its valid range, validated once at start.

Sources, first found wins: the plugin's settings saved in Stash (``configuration { plugins }``),
then ``STASHPLEX_<NAME>`` environment variables, then ``<data dir>/config.toml``, then the
defaults below. The connection to Stash itself can only come from the environment, the file or
the hook (it is needed to read Stash's settings in the first place).

Secrets are ``SecretStr``: their ``repr`` is masked, and :func:`secret_values` feeds the log
filter that masks them in every log line whatever code path prints them.

Secrets stay with their URLs. Anyone who can reach Stash can save plugin settings through its
API (``configurePlugin``), so a value from Stash is trusted less than one from this machine (the
environment, ``config.toml``, the command line, a default). Each value remembers its source
(:meth:`Settings.source_of`): a secret may be sent to a URL from the same or a more trusted
source (:meth:`Settings.secret_may_reach`), and the Stash URL and API key are never taken from
Stash at all, since they are what reads Stash's settings in the first place.
"""

from __future__ import annotations

import logging
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    SecretStr,
    ValidationError,
    field_validator,
)

from stashplex.runtime.validation import error_words

log = logging.getLogger(__name__)

ENV_PREFIX = "STASHPLEX_"
#: The source name of values saved through Stash's plugin settings: the least trusted one.
STASH_SOURCE = "Stash plugin settings"
#: Settings Stash's plugin settings can never set: they say where Stash and its key are.
LOCAL_ONLY = frozenset({"stash_url", "stash_api_key"})
#: The shortest reconciliation interval (15 minutes): a full diff-based sync is not a poll.
MIN_RECONCILE_HOURS = 0.25
#: The shortest idle time before the actor host stops (3 s: tests use fractions of a minute).
MIN_IDLE_STOP_MINUTES = 0.05


class SettingsError(ValueError):
    """Settings that cannot work; the message names each bad setting, its source and range."""


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    #: Where each value came from (setting name -> source); unset names are defaults.
    _sources: dict[str, str] = PrivateAttr(default_factory=dict)

    # -- connections -----------------------------------------------------------------------
    plex_url: str = ""
    plex_token: SecretStr = SecretStr("")
    plex_libraries: tuple[str, ...] = ()
    plex_connect_timeout_seconds: float = Field(5.0, ge=0.1, le=120)
    plex_read_timeout_seconds: float = Field(30.0, ge=0.1, le=600)
    #: Longest query string of one Plex request; proxies in front of Plex cap the request line.
    plex_max_request_bytes: int = Field(7 * 1024, ge=2048, le=65536)
    #: Requests in flight to Plex at once: a real server spends tens of ms per edit and serves
    #: several; a few more than it serves at once keep it busy while answers travel and parse.
    plex_concurrency: int = Field(6, ge=1, le=16)
    stash_url: str = "http://127.0.0.1:9999"
    stash_api_key: SecretStr = SecretStr("")
    path_map: tuple[str, ...] = ()
    case_insensitive_paths: bool = False

    # -- what to sync ----------------------------------------------------------------------
    sync_title: bool = True
    sync_summary: bool = True
    sync_studio: bool = True
    sync_date: bool = True
    sync_rating: bool = True
    sync_performers: bool = True
    sync_tags: bool = True
    sync_groups: bool = True
    sync_director: bool = True
    sync_poster: bool = True
    sync_background: bool = False
    studio_as_collection: bool = False

    # -- how to decide ---------------------------------------------------------------------
    strict_matching: bool = True
    allow_medium_confidence: bool = False
    preserve_plex_edits: bool = False
    #: Off: an empty Stash value only clears a field stashplex wrote (see the README's
    #: "Ownership"). On: Stash is authoritative for every mapped field, empty included.
    stash_authoritative: bool = False
    #: Write only scenes marked organized in Stash; a scene is synced when it becomes organized.
    organized_only: bool = False
    dry_run: bool = False
    scan_on_miss: bool = True

    # -- retries, breaker, retention -----------------------------------------------------------
    transient_retries: int = Field(5, ge=0, le=100)
    transient_base_seconds: float = Field(5.0, ge=1, le=3600)
    transient_cap_seconds: float = Field(80.0, ge=1, le=86400)
    not_found_retries: int = Field(12, ge=0, le=100)
    not_found_base_seconds: float = Field(30.0, ge=1, le=3600)
    not_found_cap_seconds: float = Field(600.0, ge=1, le=86400)
    breaker_failures: int = Field(5, ge=1, le=100)
    breaker_reset_seconds: float = Field(60.0, ge=1, le=3600)
    dead_letter_retention_days: int = Field(30, ge=1, le=365)
    catchup_interval_seconds: float = Field(300.0, ge=5, le=86400)
    #: A diff-based sync of the whole library for what no hook or cursor sees; 0 turns it off.
    reconcile_interval_hours: float = Field(24.0, ge=0, le=720)
    index_refresh_seconds: float = Field(30.0, ge=1, le=3600)
    # -- bounded reads: what one answer from Stash or Plex may cost ----------------------------
    max_response_mb: int = Field(64, ge=1, le=4096)
    max_cover_mb: int = Field(20, ge=1, le=1024)
    request_deadline_seconds: float = Field(120.0, ge=1, le=3600)
    status_every_jobs: int = Field(500, ge=1, le=1_000_000)

    # -- runtime ---------------------------------------------------------------------------
    mailbox_sync: Literal["normal", "full"] = "normal"
    max_attempts: int = Field(3, ge=1, le=50)
    restart_max: int = Field(5, ge=0, le=100)
    restart_period_seconds: float = Field(30.0, ge=1, le=3600)
    heartbeat_timeout_seconds: float = Field(20.0, ge=2, le=600)
    rss_cap_mb: int = Field(512, ge=64, le=65536)
    #: Minutes with nothing to do before the actor host stops (the watchdog answers hooks and
    #: starts it again on demand or when its next timer is due); 0 keeps it running. Short: a
    #: sleeping host delays no save, only the next sync's start by a second or two, and an
    #: idle supervisor is then the watchdog alone (~18 MB instead of ~70).
    idle_stop_minutes: float = Field(2.0, ge=0, le=1440)
    #: How the actor host shares the CPU while it syncs (``runtime.cpu_priority``): ``idle``
    #: gives way at once to any other process that wants it, so a save never waits on a sync;
    #: ``low`` (nice 10) keeps a share inside a container busy for hours; ``normal`` competes.
    host_cpu_priority: Literal["idle", "low", "normal"] = "idle"

    @field_validator("plex_libraries", "path_map", mode="before")
    @classmethod
    def _split_lists(cls, value: Any) -> Any:
        if isinstance(value, str):
            separators = (";", "\n") if "=>" in value else (",",)
            for sep in separators[1:]:
                value = value.replace(sep, separators[0])
            return tuple(part.strip() for part in value.split(separators[0]) if part.strip())
        return value

    @field_validator("path_map")
    @classmethod
    def _valid_path_map(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        from stashplex.sync.pathmap import PathMap, PathMapError

        try:
            PathMap.parse(value)
        except PathMapError as exc:
            raise ValueError(str(exc)) from None
        return value

    @field_validator("plex_url", "stash_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value

    @field_validator("plex_token", "stash_api_key", mode="before")
    @classmethod
    def _bare_token(cls, value: Any, info: Any) -> Any:
        """A token pasted with a trailing newline looked like "Plex down" forever: strip it."""
        raw = value.get_secret_value() if isinstance(value, SecretStr) else value
        if not isinstance(raw, str):
            return value
        bare = raw.strip()
        if bare != raw:
            log.warning("%s: whitespace around the value removed", info.field_name)
        if any(not 0x21 <= ord(ch) <= 0x7E for ch in bare):
            raise ValueError(
                "must be the token alone: it contains a space, a line break or a character "
                "that cannot be sent in an HTTP header"
            )
        return bare

    @field_validator("reconcile_interval_hours")
    @classmethod
    def _off_or_a_sane_interval(cls, value: float) -> float:
        if 0 < value < MIN_RECONCILE_HOURS:
            raise ValueError(
                f"must be 0 (off) or from {MIN_RECONCILE_HOURS:g} to 720 hours: each run reads "
                "the whole library"
            )
        return value

    @field_validator("idle_stop_minutes")
    @classmethod
    def _never_or_a_sane_idle_time(cls, value: float) -> float:
        if 0 < value < MIN_IDLE_STOP_MINUTES:
            raise ValueError(
                f"must be 0 (never stop) or from {MIN_IDLE_STOP_MINUTES:g} to 1440 minutes: "
                "the actor host takes a second or two to start again"
            )
        return value

    @field_validator("transient_cap_seconds", "not_found_cap_seconds")
    @classmethod
    def _cap_not_below_base(cls, value: float, info: Any) -> float:
        base_name = info.field_name.replace("_cap_", "_base_")
        base = info.data.get(base_name)
        if base is not None and value < base:
            raise ValueError(f"must not be below {base_name} ({base:g})")
        return value

    def source_of(self, name: str) -> str:
        """Where ``name``'s value came from: ``default`` if nobody set it."""
        return self._sources.get(name, "default")

    def from_stash(self, name: str) -> bool:
        return self.source_of(name) == STASH_SOURCE

    def secret_may_reach(self, secret: str, url: str) -> bool:
        """Whether secret ``secret`` may be sent to URL ``url`` on the strength of its source.

        True when the URL comes from the same or a more trusted source than the secret (or
        there is no secret): whoever could set the URL could set the secret too. Otherwise the
        caller must prove the server is the one the secret was meant for, or refuse.
        """
        value = getattr(self, secret)
        if not value.get_secret_value():
            return True
        return not self.from_stash(url) or self.from_stash(secret)


def secret_values(settings: Settings) -> list[str]:
    """The raw secrets, for the log filter. Never log what this returns."""
    values = [settings.plex_token.get_secret_value(), settings.stash_api_key.get_secret_value()]
    return [v for v in values if v]


def _env_layer(env: Mapping[str, str]) -> dict[str, tuple[Any, str]]:
    names = Settings.model_fields
    layer: dict[str, tuple[Any, str]] = {}
    for key, value in env.items():
        if key.startswith(ENV_PREFIX):
            name = key[len(ENV_PREFIX) :].lower()
            if name in names:
                layer[name] = (value, f"environment {key}")
    return layer


def _file_layer(path: Path | None) -> dict[str, tuple[Any, str]]:
    if path is None or not path.exists():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise SettingsError(f"config file {path} cannot be read: {exc}") from exc
    unknown = sorted(set(data) - set(Settings.model_fields))
    if unknown:
        raise SettingsError(f"config file {path}: unknown setting(s) {', '.join(unknown)}")
    return {name: (value, f"config file {path}") for name, value in data.items()}


def _stash_layer(plugin_config: Mapping[str, Any] | None) -> dict[str, tuple[Any, str]]:
    # Stash keeps whatever a user saved, including keys of older versions: ignore unknown ones.
    if not plugin_config:
        return {}
    ignored = sorted(name for name in LOCAL_ONLY if plugin_config.get(name) not in (None, ""))
    if ignored:
        log.warning(
            "ignoring %s saved in Stash's plugin settings: set them in config.toml or the "
            "environment",
            ", ".join(ignored),
        )
    return {
        name: (value, STASH_SOURCE)
        for name, value in plugin_config.items()
        if name in Settings.model_fields and name not in LOCAL_ONLY and value not in (None, "")
    }


def load_settings(
    *,
    config_file: Path | None = None,
    env: Mapping[str, str] | None = None,
    stash_plugin_config: Mapping[str, Any] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Settings:
    """Merge the sources (Stash, then environment, then file) and validate, or explain why not."""
    merged: dict[str, tuple[Any, str]] = {}
    for layer in (
        _file_layer(config_file),
        _env_layer(os.environ if env is None else env),
        _stash_layer(stash_plugin_config),
        {k: (v, "command line") for k, v in (overrides or {}).items()},
    ):
        merged.update(layer)
    try:
        settings = Settings(**{name: value for name, (value, _) in merged.items()})
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            name = str(error["loc"][0]) if error["loc"] else "?"
            source = merged.get(name, (None, "default"))[1]
            problems.append(f"{name} (from {source}): {error_words(error)}")
        raise SettingsError("invalid settings: " + "; ".join(problems)) from None
    sources = {name: source for name, (_, source) in merged.items()}
    settings._sources.update(sources)  # noqa: SLF001 - the model's own loader
    return settings
