"""The product's version: one constant that the package metadata, the supervisor and the hook share.

``pyproject.toml`` reads it (setuptools ``attr:``), the supervisor puts it in its ``ping`` and
``hook`` replies, and the hook, which Stash runs from the plugin folder with ``python -S``
(no package metadata there), compares the two to notice that Stash installed newer plugin files
than the running supervisor. Standard library only, like the rest of the hook link.
"""

__version__ = "0.1.0"
