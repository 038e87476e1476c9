"""Plugin manifests (`*.yml`) read with Stash's strict rules.

Stash decodes manifests in strict YAML mode, so one unknown or misspelt key anywhere makes the
whole plugin fail to load. Checking the same way here means a manifest that loads in tests loads
in Stash.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

TOP_LEVEL_KEYS = {
    "name",
    "description",
    "version",
    "url",
    "exec",
    "interface",
    "errLog",
    "tasks",
    "hooks",
    "settings",
    "ui",
}
TASK_KEYS = {"name", "description", "execArgs", "defaultArgs"}
HOOK_KEYS = TASK_KEYS | {"triggeredBy"}
SETTING_KEYS = {"displayName", "description", "type"}
UI_KEYS = {"javascript", "css", "requires", "assets", "csp"}
CSP_KEYS = {"script-src", "style-src", "connect-src"}
INTERFACES = {"raw", "rpc", "js"}
ERR_LOG_LEVELS = {"none", "trace", "debug", "info", "warning", "error"}
SETTING_TYPES = {"STRING", "NUMBER", "BOOLEAN"}


class ManifestError(ValueError):
    """The manifest would fail to load in Stash; the message names the file and the key."""


@dataclass(frozen=True)
class PluginOperation:
    """A task or a hook: both run `exec + execArgs` with `defaultArgs` filled in."""

    name: str
    description: str | None
    exec_args: tuple[str, ...]
    default_args: dict[str, str]
    triggered_by: tuple[str, ...] = ()


@dataclass(frozen=True)
class PluginManifest:
    id: str
    path: Path
    name: str
    exec: tuple[str, ...]
    interface: str
    err_log: str
    description: str | None = None
    version: str | None = None
    url: str | None = None
    tasks: tuple[PluginOperation, ...] = ()
    hooks: tuple[PluginOperation, ...] = ()
    settings: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def directory(self) -> Path:
        return self.path.parent

    def task(self, name: str) -> PluginOperation:
        for task in self.tasks:
            if task.name == name:
                return task
        raise ManifestError(f"plugin {self.id} has no task named {name!r}")

    def hooks_for(self, trigger: str) -> list[PluginOperation]:
        return [hook for hook in self.hooks if trigger in hook.triggered_by]


def _check_keys(mapping: Any, allowed: set[str], where: str) -> dict[str, Any]:
    if not isinstance(mapping, dict):
        raise ManifestError(f"{where}: expected a mapping, got {type(mapping).__name__}")
    unknown = sorted(str(key) for key in mapping if key not in allowed)
    if unknown:
        raise ManifestError(f"{where}: field {unknown[0]} not found in type (strict mode)")
    return mapping


def _scalar_text(value: Any, where: str) -> str:
    """YAML scalars decode into Go string fields as their literal text (`true` -> "true")."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    raise ManifestError(f"{where}: expected a string, got {type(value).__name__}")


def _optional_text(mapping: dict[str, Any], key: str, where: str) -> str | None:
    value = mapping.get(key)
    return None if value is None else _scalar_text(value, f"{where}.{key}")


def _text_list(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise ManifestError(f"{where}: expected a list, got {type(value).__name__}")
    return tuple(_scalar_text(item, where) for item in value)


def _text_map(value: Any, where: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ManifestError(f"{where}: expected a mapping, got {type(value).__name__}")
    return {str(key): _scalar_text(item, f"{where}.{key}") for key, item in value.items()}


def _operations(raw: Any, allowed: set[str], where: str) -> tuple[PluginOperation, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise ManifestError(f"{where}: expected a list")
    operations: list[PluginOperation] = []
    for index, item in enumerate(raw):
        spot = f"{where}[{index}]"
        entry = _check_keys(item, allowed, spot)
        name = _optional_text(entry, "name", spot)
        if not name:
            raise ManifestError(f"{spot}: name is required")
        if any(op.name == name for op in operations):
            raise ManifestError(f"{spot}: duplicate name {name!r}")
        operations.append(
            PluginOperation(
                name=name,
                description=_optional_text(entry, "description", spot),
                exec_args=_text_list(entry.get("execArgs"), f"{spot}.execArgs"),
                default_args=_text_map(entry.get("defaultArgs"), f"{spot}.defaultArgs"),
                triggered_by=_text_list(entry.get("triggeredBy"), f"{spot}.triggeredBy"),
            )
        )
    return tuple(operations)


def _settings(raw: Any, where: str) -> dict[str, dict[str, str]]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ManifestError(f"{where}: expected a mapping")
    settings: dict[str, dict[str, str]] = {}
    for key, spec in raw.items():
        spot = f"{where}.{key}"
        entry = _check_keys(spec or {}, SETTING_KEYS, spot)
        kind = _optional_text(entry, "type", spot) or "STRING"
        if kind not in SETTING_TYPES:
            raise ManifestError(f"{spot}.type: {kind!r} is not one of {sorted(SETTING_TYPES)}")
        settings[str(key)] = {k: _scalar_text(v, spot) for k, v in entry.items()} | {"type": kind}
    return settings


def _check_ui(raw: Any, where: str) -> None:
    if raw is None:
        return
    ui = _check_keys(raw, UI_KEYS, where)
    if ui.get("csp") is not None:
        _check_keys(ui["csp"], CSP_KEYS, f"{where}.csp")


def load_manifest(path: str | Path) -> PluginManifest:
    """Parse one manifest; the plugin ID is the file name without `.yml`, as in Stash."""
    manifest_path = Path(path).resolve()
    if manifest_path.suffix != ".yml":
        raise ManifestError(f"{manifest_path}: Stash only loads files ending in .yml")
    where = manifest_path.name
    try:
        document = yaml.safe_load(manifest_path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise ManifestError(f"{where}: cannot read manifest: {error}") from error
    raw = _check_keys(document, TOP_LEVEL_KEYS, where)
    interface = _optional_text(raw, "interface", where) or "raw"
    if interface not in INTERFACES:
        raise ManifestError(f"{where}.interface: {interface!r} is not one of {sorted(INTERFACES)}")
    err_log = _optional_text(raw, "errLog", where) or "error"
    if err_log not in ERR_LOG_LEVELS:
        raise ManifestError(f"{where}.errLog: {err_log!r} is not one of {sorted(ERR_LOG_LEVELS)}")
    _check_ui(raw.get("ui"), f"{where}.ui")
    plugin_id = manifest_path.stem
    return PluginManifest(
        id=plugin_id,
        path=manifest_path,
        name=_optional_text(raw, "name", where) or plugin_id,
        exec=_text_list(raw.get("exec"), f"{where}.exec"),
        interface=interface,
        err_log=err_log,
        description=_optional_text(raw, "description", where),
        version=_optional_text(raw, "version", where),
        url=_optional_text(raw, "url", where),
        tasks=_operations(raw.get("tasks"), TASK_KEYS, f"{where}.tasks"),
        hooks=_operations(raw.get("hooks"), HOOK_KEYS, f"{where}.hooks"),
        settings=_settings(raw.get("settings"), f"{where}.settings"),
    )
