"""``install-plugin``: write the Stash plugin folder, wired to this environment."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from stashplex.cli.common import EXIT_OK, EXIT_USAGE, CommandError, add_data_dir, data_dir_of


def register(sub: argparse._SubParsersAction) -> None:
    install = sub.add_parser(
        "install-plugin",
        help="write the Stash plugin into DIR (e.g. ~/.stash/plugins/stashplex)",
    )
    install.add_argument("dir", type=Path, help="the plugin folder to create")
    add_data_dir(install)
    install.set_defaults(func=cmd_install_plugin)


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
