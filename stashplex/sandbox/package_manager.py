"""Stash's plugin package manager (``pkg/pkg`` in Stash's source), emulated for tests and demos.

What Stash does with a plugin source, and so what this does:

- a source is the URL of an ``index.yml``: a YAML list of packages (id, name, version, date
  ``YYYY-MM-DD HH:MM:SS`` in UTC, path, sha256, requires, metadata); of several entries with one
  id, the newest date wins, and a newer date than the installed one is what makes an upgrade;
- installing downloads ``path`` (relative to the index), refuses it unless its SHA-256 is the
  one listed, then, if the package is installed already, deletes the files its ``manifest``
  lists (not the others: files a plugin made at run time survive) and unzips every file into
  ``<plugins>/<source's local path>/<id>/``, with the zip's file modes, then writes the
  ``manifest`` (id, name, metadata, version, date, requires, source URL, files);
- uninstalling deletes the listed files and the manifest, then the folder if it is empty;
- plugins are loaded by walking the plugins path for ``*.yml``, each strictly
  (:func:`~stashplex.sandbox.stash.plugin_manifest.load_manifest`).

One difference: a zip entry that would land outside the package folder is refused here; Stash
joins the cleaned name onto the folder without that check.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import stat
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlparse
from urllib.request import url2pathname, urlopen

import yaml

from stashplex.sandbox.plugin_runner import PluginRunner
from stashplex.sandbox.stash.plugin_manifest import PluginManifest

if TYPE_CHECKING:
    from stashplex.sandbox.stash.emulator import StashEmulator

#: The file Stash writes into each installed package's folder.
MANIFEST_FILE = "manifest"
#: Go's ``2006-01-02 15:04:05``, always UTC.
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"


class PackageError(RuntimeError):
    """What Stash would answer the install request with."""


@dataclass(frozen=True)
class RemotePackage:
    id: str
    name: str
    version: str
    date: datetime
    path: str
    sha256: str
    source_url: str
    requires: tuple[str, ...] = ()
    metadata: dict[str, Any] = field(default_factory=dict)


def file_url(path: Path) -> str:
    return path.resolve().as_uri()


def _read_url(url: str) -> bytes:
    parsed = urlparse(url)
    if parsed.scheme == "file":
        return Path(url2pathname(parsed.path)).read_bytes()
    if parsed.scheme in ("http", "https"):
        with urlopen(url, timeout=30) as response:  # noqa: S310 - http(s) only, checked above
            return response.read()
    raise PackageError(f"{url}: only file, http and https sources are supported")


def _parse_date(value: Any, where: str) -> datetime:
    try:
        return datetime.strptime(str(value), TIME_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        raise PackageError(f"reading package list: {where}: bad date {value!r}") from None


def read_index(source_url: str) -> dict[str, RemotePackage]:
    """The packages of a source, newest date per id."""
    try:
        document = yaml.safe_load(_read_url(source_url))
    except (OSError, yaml.YAMLError) as error:
        raise PackageError(f"failed to get package list: {error}") from error
    if not isinstance(document, list):
        raise PackageError("reading package list: expected a list of packages")
    packages: dict[str, RemotePackage] = {}
    for index, entry in enumerate(document):
        if not isinstance(entry, dict) or not entry.get("id"):
            raise PackageError(f"reading package list: entry {index} has no id")
        package = RemotePackage(
            id=str(entry["id"]),
            name=str(entry.get("name") or ""),
            version=str(entry.get("version") or ""),
            date=_parse_date(entry.get("date"), f"entry {index}"),
            path=str(entry.get("path") or ""),
            sha256=str(entry.get("sha256") or ""),
            source_url=source_url,
            requires=tuple(str(r) for r in entry.get("requires") or ()),
            metadata=dict(entry.get("metadata") or {}),
        )
        known = packages.get(package.id)
        if known is None or not known.date > package.date:
            packages[package.id] = package
    return packages


def _zip_mode(info: zipfile.ZipInfo) -> int:
    """Go's ``FileHeader.Mode()``: Unix bits when the zip has them, else 0666 (0444 read-only)."""
    if info.create_system == 3 and info.external_attr >> 16:
        return stat.S_IMODE(info.external_attr >> 16)
    return 0o444 if info.external_attr & 0x01 else 0o666


class PackageManager:
    """The plugin package manager of one Stash: its plugins path and its plugin sources."""

    def __init__(self, plugins_path: Path, sources: dict[str, str] | None = None) -> None:
        self.plugins_path = Path(plugins_path)
        #: source URL -> local path under the plugins path (Stash's ``plugin_package_sources``)
        self.sources = dict(sources or {})

    def add_source(self, url: str, local_path: str) -> None:
        self.sources[url] = local_path

    def package_dir(self, source_url: str, package_id: str) -> Path:
        return self.plugins_path / self.sources.get(source_url, "") / package_id

    def installed(self, source_url: str, package_id: str) -> dict[str, Any] | None:
        path = self.package_dir(source_url, package_id) / MANIFEST_FILE
        if not path.is_file():
            return None
        return yaml.safe_load(path.read_text(encoding="utf-8"))

    def install(self, source_url: str, package_id: str) -> Path:
        """Install (or upgrade to) the source's newest ``package_id``; returns its folder."""
        package = read_index(source_url).get(package_id)
        if package is None:
            raise PackageError(f"getting remote package: {package_id} not found in {source_url}")
        data = _read_url(urljoin(source_url, package.path))
        digest = hashlib.sha256(data).hexdigest()
        if digest != package.sha256:
            raise PackageError(
                f"package data ({digest}) does not match expected SHA256 ({package.sha256})"
            )
        try:
            archive = zipfile.ZipFile(io.BytesIO(data))
        except zipfile.BadZipFile as error:
            raise PackageError(f"reading zip data: {error}") from error
        if self.installed(source_url, package_id) is not None:
            self._delete_files(source_url, package_id)
        folder = self.package_dir(source_url, package_id)
        files = []
        for info in archive.infolist():
            if info.is_dir():
                continue
            name = os.path.normpath(info.filename)
            target = (folder / name).resolve()
            if not target.is_relative_to(folder.resolve()):
                raise PackageError(f"writing file {name!r}: outside the package folder")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(archive.read(info))
            target.chmod(_zip_mode(info) & ~_umask())
            files.append(name)
        manifest = {
            "id": package.id,
            "name": package.name,
            "metadata": package.metadata,
            "version": package.version,
            "date": package.date.strftime(TIME_FORMAT),
            "requires": list(package.requires),
            "source_repository": source_url,
            "files": files,
        }
        (folder / MANIFEST_FILE).write_text(yaml.safe_dump(manifest), encoding="utf-8")
        return folder

    def uninstall(self, source_url: str, package_id: str) -> None:
        self._delete_files(source_url, package_id)
        with contextlib.suppress(OSError):  # Stash ignores it: what the plugin left there stays
            self.package_dir(source_url, package_id).rmdir()

    def _delete_files(self, source_url: str, package_id: str) -> None:
        manifest = self.installed(source_url, package_id)
        if manifest is None:
            raise PackageError(f"package {package_id!r} does not exist")
        folder = self.package_dir(source_url, package_id)
        for name in [*(manifest.get("files") or []), MANIFEST_FILE]:
            try:
                (folder / name).unlink()
            except OSError:
                continue


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def attach_runner(stash: StashEmulator, python_path: str) -> PluginRunner:
    """A plugin runner for ``stash`` whose ``python``/``python3`` is ``python_path`` (Stash's
    ``python_path`` setting): hooks then fire from the emulator's mutations."""
    runner = PluginRunner(
        stash.server_connection, cwd=stash.config_dir.parent, python_path=python_path
    )
    if stash.runner is not None:
        stash.runner.close()
    stash.runner = runner
    return runner


def reload_plugins(runner: PluginRunner, plugins_path: Path) -> list[PluginManifest]:
    """Stash's *Reload plugins*: forget them all, then load every ``*.yml`` under the path."""
    runner.plugins.clear()
    return [runner.load(path) for path in sorted(Path(plugins_path).rglob("*.yml"))]
