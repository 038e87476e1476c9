"""The Stash plugin: the hook and task scripts Stash runs, and their installer.

``hook.py`` and ``task.py`` are copied into Stash's plugin folder and run there with the
standard library alone; only ``install_plugin`` is meant to be imported from here.
"""

from stashplex.plugin.install import InstallError, install_plugin

__all__ = ["InstallError", "install_plugin"]
