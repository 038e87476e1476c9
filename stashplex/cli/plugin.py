"""``install-plugin`` and ``uninstall``: the Stash plugin folder from a checkout, and removal.

Installing from Stash's own UI (a plugin source, see the README) needs neither; ``uninstall``
removes what stays behind either way: the data directory with its queues, state, logs,
settings file and the supervisor's Python environment.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

from stashplex.cli.common import EXIT_OK, EXIT_USAGE, CommandError, add_data_dir, data_dir_of

#: Names only a stashplex data directory holds; one of them must be there before we delete.
DATA_DIR_MARKERS = ("mailboxes", "state", "spool", "supervisor.lock", "venv.json", "config.toml")


def register(sub: argparse._SubParsersAction) -> None:
    install = sub.add_parser(
        "install-plugin",
        help="write the Stash plugin into DIR (e.g. ~/.stash/plugins/stashplex)",
    )
    install.add_argument("dir", type=Path, help="the plugin folder to create")
    add_data_dir(install)
    install.set_defaults(func=cmd_install_plugin)

    uninstall = sub.add_parser(
        "uninstall",
        help="stop the supervisor and delete its data directory (with --yes)",
    )
    add_data_dir(uninstall)
    uninstall.add_argument(
        "--yes", action="store_true", help="really delete it; without it, only say what would go"
    )
    uninstall.set_defaults(func=cmd_uninstall)


def cmd_install_plugin(args: argparse.Namespace) -> int:
    from stashplex.plugin import InstallError, install_plugin

    data = data_dir_of(args)
    try:
        manifest = install_plugin(
            args.dir.expanduser(), data_dir=data.root, python=Path(sys.executable)
        )
    except InstallError as exc:
        raise CommandError(str(exc), EXIT_USAGE) from None
    print(f"installed {manifest}; in Stash: Settings > Plugins > Reload plugins")
    return EXIT_OK


def cmd_uninstall(args: argparse.Namespace) -> int:
    from stashplex.cli.daemon import stop_running

    data = data_dir_of(args)
    root = data.root
    if not root.exists():
        print(f"nothing to remove: {root} does not exist")
        return EXIT_OK
    if not root.is_dir() or not any((root / name).exists() for name in DATA_DIR_MARKERS):
        raise CommandError(
            f"{root} does not look like a stashplex data directory (it has none of "
            f"{', '.join(DATA_DIR_MARKERS)}); nothing removed",
            EXIT_USAGE,
        )
    size = _human(_tree_size(root))
    if not args.yes:
        print(
            f"would stop the supervisor if it runs and delete {root} ({size}): its queued work, "
            "state, logs, settings file and Python environment"
        )
        raise CommandError(f"nothing removed: add --yes to delete {root}", EXIT_USAGE)
    pid = stop_running(data)
    if pid is not None:
        print(f"stopped the supervisor (pid {pid})")
    shutil.rmtree(root)
    print(
        f"removed {root} ({size}); if the plugin is still installed in Stash, remove it there "
        "(Settings > Plugins), or its next hook starts over with an empty data directory"
    )
    return EXIT_OK


def _tree_size(root: Path) -> int:
    """Bytes under ``root``, links not followed (a venv links to its interpreter)."""
    total = 0
    for folder, _dirs, files in os.walk(root):
        for name in files:
            try:
                total += (Path(folder) / name).lstat().st_size
            except OSError:
                continue
    return total


def _human(size: float) -> str:
    for unit in ("bytes", "KB", "MB"):
        if size < 1024:
            return f"{size:.0f} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GB"
