"""Build the plugin package that Stash's package manager installs, and its plugin-source index.

``make dist`` runs ``python -m build`` (sdist and wheel), then::

    python -m stashplex.plugin.dist --wheel dist/stashplex-<v>-py3-none-any.whl --out DIR

which writes ``DIR/stashplex-<v>.zip`` and ``DIR/index.yml``: serve ``DIR`` over HTTP(S) and add
``<url>/index.yml`` as a plugin source in Stash. What Stash does with them (``pkg/pkg`` in its
source): it reads the index (a YAML list of ``RemotePackage``: id, name, version, date, path,
sha256, requires, metadata; the newest ``date`` of an id wins and decides upgrades), downloads
``path`` relative to the index, refuses it unless its SHA-256 matches, and unzips every file
into ``<plugins>/<source folder>/<id>/``, so the zip holds the plugin folder's files at its top.

The zip carries the plugin files (:func:`~stashplex.plugin.install.plugin_files`), the project's
wheel and ``constraints.txt`` with the dependency versions of the environment it was built in
(the one the tests ran in), under ``wheels/``. It holds no path of the build machine and no
bytecode (whose file names would be such paths); entries have a fixed time, so the same inputs
give the same bytes and the same SHA-256.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import sys
import time
import zipfile
from pathlib import Path

from stashplex.link.version import __version__
from stashplex.plugin.environment import CONSTRAINTS_NAME, WHEELS_DIR
from stashplex.plugin.install import DESCRIPTION, DISPLAY_NAME, PLUGIN_ID, plugin_files

#: The format of ``date`` in a Stash package index (Go ``2006-01-02 15:04:05``, UTC).
INDEX_DATE_FORMAT = "%Y-%m-%d %H:%M:%S"
#: Zip entries cannot be dated before 1980.
ZIP_EPOCH = 315532800


class DistError(RuntimeError):
    """The package cannot be built as asked; one line."""


def pinned_dependencies(project: str = "stashplex") -> list[str]:
    """``name==version`` of every runtime dependency of ``project`` as installed here.

    The closure of its requirements without extras, markers evaluated for this interpreter: a
    dependency only another platform needs is not pinned, and pip resolves it there.
    """
    from importlib.metadata import PackageNotFoundError, distribution

    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    pins: dict[str, str] = {}
    pending: list[tuple[str, frozenset[str]]] = [(project, frozenset())]
    while pending:
        name, extras = pending.pop()
        try:
            dist = distribution(name)
        except PackageNotFoundError:
            raise DistError(f"{name} is not installed here; build in the dev venv") from None
        if canonicalize_name(name) != canonicalize_name(project):
            pins[canonicalize_name(name)] = dist.version
        for text in dist.requires or []:
            requirement = Requirement(text)
            wanted = requirement.marker is None or any(
                requirement.marker.evaluate({"extra": extra}) for extra in {"", *extras}
            )
            known = canonicalize_name(requirement.name) in pins
            if wanted and not known and canonicalize_name(requirement.name) != project:
                pending.append((requirement.name, frozenset(requirement.extras)))
    return [f"{name}=={version}" for name, version in sorted(pins.items())]


def wheel_version(wheel: Path) -> str:
    """The version in a wheel's file name (``stashplex-0.1.0-py3-none-any.whl``)."""
    parts = wheel.name.split("-")
    if len(parts) < 5 or parts[0] != "stashplex" or wheel.suffix != ".whl":
        raise DistError(f"{wheel.name} is not a stashplex wheel")
    return parts[1]


def build_zip(wheel: Path, constraints: list[str], epoch: int) -> bytes:
    """The plugin zip: plugin files at the top, the wheel and its pins under ``wheels/``."""
    version = wheel_version(wheel)
    files = plugin_files(version)
    files[f"{WHEELS_DIR}/{wheel.name}"] = wheel.read_bytes()
    header = f"# Dependencies of stashplex {version} as tested; pip -c {CONSTRAINTS_NAME}\n"
    files[f"{WHEELS_DIR}/{CONSTRAINTS_NAME}"] = (header + "\n".join(constraints) + "\n").encode()
    stamp = time.gmtime(max(epoch, ZIP_EPOCH))[:6]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, date_time=stamp)
            info.create_system = 3  # Unix, so the mode below is what Stash's unzip applies
            info.external_attr = 0o100644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, files[name])
    return buffer.getvalue()


def index_entry(version: str, zip_name: str, sha256: str, epoch: int) -> str:
    """One ``RemotePackage`` of Stash's index; every scalar a JSON string (valid YAML)."""
    q = json.dumps
    date = time.strftime(INDEX_DATE_FORMAT, time.gmtime(epoch))
    return (
        "\n".join(
            [
                f"- id: {q(PLUGIN_ID)}",
                f"  name: {q(DISPLAY_NAME)}",
                "  metadata:",
                f"    description: {q(DESCRIPTION)}",
                f"  version: {q(version)}",
                f"  date: {q(date)}",
                f"  path: {q(zip_name)}",
                f"  sha256: {q(sha256)}",
                "  requires: []",
            ]
        )
        + "\n"
    )


def build(wheel: Path, out: Path, epoch: int | None = None) -> tuple[Path, Path]:
    """Write the zip and ``index.yml`` into ``out``; returns their paths."""
    version = wheel_version(wheel)
    if version != __version__:
        raise DistError(f"{wheel.name} is version {version}, but this source is {__version__}")
    if epoch is None:
        epoch = int(os.environ.get("SOURCE_DATE_EPOCH") or time.time())
    data = build_zip(wheel, pinned_dependencies(), epoch)
    out.mkdir(parents=True, exist_ok=True)
    zip_path = out / f"{PLUGIN_ID}-{version}.zip"
    zip_path.write_bytes(data)
    index_path = out / "index.yml"
    digest = hashlib.sha256(data).hexdigest()
    index_path.write_text(index_entry(version, zip_path.name, digest, epoch), encoding="utf-8")
    return zip_path, index_path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m stashplex.plugin.dist", description=__doc__)
    parser.add_argument("--wheel", type=Path, required=True, help="the wheel `build` made")
    parser.add_argument("--out", type=Path, required=True, help="the plugin source folder")
    parser.add_argument("--date-epoch", type=int, default=None, help="default SOURCE_DATE_EPOCH")
    args = parser.parse_args(argv)
    try:
        zip_path, index_path = build(args.wheel, args.out, args.date_epoch)
    except (DistError, OSError) as exc:
        print(f"stashplex dist: {exc}", file=sys.stderr)
        return 1
    print(f"built {zip_path} and {index_path}: add the URL of {index_path.name} as a plugin source")
    return 0


if __name__ == "__main__":
    sys.exit(main())
