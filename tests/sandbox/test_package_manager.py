"""The emulated package manager does what Stash's ``pkg/pkg`` does with a plugin source."""

from __future__ import annotations

import hashlib
import io
import zipfile
from pathlib import Path

import pytest
import yaml

from stashplex.sandbox.package_manager import PackageError, PackageManager, file_url


def make_zip(files: dict[str, str], mode: int = 0o644) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            info = zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))
            info.create_system = 3
            info.external_attr = (0o100000 | mode) << 16
            archive.writestr(info, text)
    return buffer.getvalue()


def publish(source: Path, releases: list[tuple[str, str, dict[str, str]]]) -> str:
    """An index listing (version, date, files) releases of package ``demo``; returns its URL."""
    source.mkdir(parents=True, exist_ok=True)
    entries = []
    for version, date, files in releases:
        data = make_zip(files)
        (source / f"demo-{version}.zip").write_bytes(data)
        entries.append(
            {
                "id": "demo",
                "name": "Demo",
                "version": version,
                "date": date,
                "path": f"demo-{version}.zip",
                "sha256": hashlib.sha256(data).hexdigest(),
                "requires": [],
                "metadata": {"description": "a demo"},
            }
        )
    (source / "index.yml").write_text(yaml.safe_dump(entries))
    return file_url(source / "index.yml")


def test_the_newest_date_is_installed_into_its_source_folder_with_a_manifest(tmp_path):
    # Given a source listing two releases of one package
    url = publish(
        tmp_path / "source",
        [
            ("1.1", "2026-02-01 00:00:00", {"demo.yml": "name: new", "lib/a.py": "new"}),
            ("1.0", "2026-01-01 00:00:00", {"demo.yml": "name: old"}),
        ],
    )
    manager = PackageManager(tmp_path / "plugins", {url: "community"})

    # When it is installed
    folder = manager.install(url, "demo")

    # Then the newest is unzipped into <plugins>/<source folder>/<id> and listed in its manifest
    assert folder == tmp_path / "plugins" / "community" / "demo"
    assert (folder / "demo.yml").read_text() == "name: new"
    assert (folder / "lib" / "a.py").stat().st_mode & 0o777 == 0o644
    manifest = manager.installed(url, "demo")
    assert (manifest["version"], manifest["date"]) == ("1.1", "2026-02-01 00:00:00")
    assert sorted(manifest["files"]) == ["demo.yml", "lib/a.py"]


def test_an_upgrade_replaces_the_listed_files_and_keeps_what_the_plugin_made(tmp_path):
    # Given an installed release, and a file the plugin wrote at run time
    source = tmp_path / "source"
    url = publish(source, [("1.0", "2026-01-01 00:00:00", {"demo.yml": "v1", "gone.py": "x"})])
    manager = PackageManager(tmp_path / "plugins", {url: "community"})
    folder = manager.install(url, "demo")
    (folder / "state.json").write_text("{}")

    # When a newer release without gone.py is installed over it
    url = publish(source, [("2.0", "2026-03-01 00:00:00", {"demo.yml": "v2"})])
    manager.install(url, "demo")

    # Then the old files are replaced or gone, the plugin's own file stays
    assert (folder / "demo.yml").read_text() == "v2"
    assert not (folder / "gone.py").exists()
    assert (folder / "state.json").is_file()

    # And uninstalling leaves the folder with only what the plugin made
    manager.uninstall(url, "demo")
    assert sorted(path.name for path in folder.iterdir()) == ["state.json"]


def test_a_zip_entry_outside_the_package_folder_is_refused(tmp_path):
    url = publish(tmp_path / "source", [("1.0", "2026-01-01 00:00:00", {"../evil.py": "x"})])
    manager = PackageManager(tmp_path / "plugins", {url: "community"})

    with pytest.raises(PackageError, match="outside the package folder"):
        manager.install(url, "demo")
    assert not (tmp_path / "plugins" / "community" / "evil.py").exists()
