"""The Stash plugin: the scripts Stash runs, the supervisor's environment, the folder and the zip.

``hook.py``, ``task.py``, ``environment.py``, ``venvs.py`` and ``lifecycle.py`` are copied into
Stash's plugin folder as ``stashplex_<name>.py`` and run there with the standard library alone,
under Stash's own Python; ``install.py`` writes that folder from a checkout and ``dist.py``
packs it into the zip Stash's package manager installs. Only ``install_plugin`` is meant to be
imported from here.
"""

from stashplex.plugin.install import InstallError, install_plugin

__all__ = ["InstallError", "install_plugin"]
