"""File paths as the emulated server's operating system spells and compares them.

A Linux server compares paths byte for byte. A Windows server reports drive letters and
backslashes, compares case-insensitively, and reports paths of MAX_PATH characters or more with
the `\\\\?\\` extended-length prefix (reference/plex-api.md §2.3 and §8.2: "strip `\\\\?\\` on
Windows PMS"). Every path the library keeps goes through `PathRules`, so both spellings of the
same Windows file find the same item.
"""

from __future__ import annotations

import ntpath
import posixpath
import re

LONG_PREFIX = "\\\\?\\"
LONG_UNC_PREFIX = "\\\\?\\UNC\\"
#: Windows MAX_PATH (260, terminating NUL included): longer paths need the `\\?\` prefix.
MAX_PATH = 260
_DRIVE = re.compile(r"^[A-Za-z]:\\")


class PathRules:
    """Spelling and comparison of paths on a Linux (default) or Windows server."""

    def __init__(self, windows: bool = False, long_prefix: bool = True) -> None:
        self.windows = windows
        self.long_prefix = long_prefix
        self.sep = "\\" if windows else "/"
        self._path = ntpath if windows else posixpath

    def _plain(self, path: str) -> str:
        """A Windows path without the extended-length prefix and with backslashes only."""
        path = path.replace("/", "\\")
        if path.startswith(LONG_UNC_PREFIX):
            return "\\\\" + path[len(LONG_UNC_PREFIX) :]
        if path.startswith(LONG_PREFIX):
            return path[len(LONG_PREFIX) :]
        return path

    def is_absolute(self, path: str) -> bool:
        if not self.windows:
            return path.startswith("/")
        plain = self._plain(path)
        return bool(_DRIVE.match(plain)) or (plain.startswith("\\\\") and len(plain) > 2)

    def stored(self, path: str) -> str:
        """How the server reports a path it found: its own separators, `\\?\\` when long."""
        if not self.windows:
            return path
        plain = self._plain(path).rstrip("\\") if len(path) > 3 else self._plain(path)
        if self.long_prefix and (len(plain) >= MAX_PATH or path.startswith(LONG_PREFIX)):
            if plain.startswith("\\\\"):
                return LONG_UNC_PREFIX + plain[2:]
            return LONG_PREFIX + plain
        return plain

    def key(self, path: str) -> str:
        """The comparison key: equal keys are the same file or folder to this server."""
        if not self.windows:
            return path.rstrip("/") or "/"
        plain = self._plain(path)
        return (plain.rstrip("\\") if len(plain) > 3 else plain).casefold()

    def under(self, path: str, folder: str) -> bool:
        """Whether `path` is `folder` or inside it (same comparison as `key`)."""
        inner, outer = self.key(path), self.key(folder)
        if inner == outer:
            return True
        return inner.startswith(outer if outer.endswith(self.sep) else outer + self.sep)

    def relative_parts(self, path: str, folder: str) -> list[str]:
        """The path's segments below `folder` (which must contain it)."""
        plain_path = self._plain(path) if self.windows else path
        plain_folder = self._plain(folder) if self.windows else folder
        rest = plain_path[len(plain_folder.rstrip(self.sep)) :].lstrip(self.sep)
        return [part for part in rest.split(self.sep) if part]

    def basename(self, path: str) -> str:
        return self._path.basename(self._plain(path) if self.windows else path)

    def dirname(self, path: str) -> str:
        return self._path.dirname(self._plain(path) if self.windows else path)

    def splitext(self, name: str) -> tuple[str, str]:
        return self._path.splitext(name)

    def join(self, folder: str, *names: str) -> str:
        return self._path.join(folder, *names)
