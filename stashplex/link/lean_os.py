"""The operating-system calls of the hook link, without importing ``os``.

Under ``python -S`` nothing imports ``os`` at start-up, and importing it costs every save about
1.4 ms of CPU (``os.py`` builds ``os.environ`` and loads ``_collections_abc`` and ``posixpath``):
a tenth of the hook Stash waits for. Every call the link makes is a C function of the built-in
``posix`` module that ``os`` re-exports; the few helpers ``os.py`` adds on top (joining paths,
``makedirs``, the environment as text) are written out here for POSIX, with ``os``'s semantics.
Windows Python has no ``posix`` module: there this module hands out ``os``'s own functions.

Part of the stdlib-only hook link (see :mod:`stashplex.link.wire`): copied next to the hook.
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from os import PathLike

    StrPath = str | PathLike[str]

if sys.platform == "win32":  # pragma: no cover - Windows
    from os import (
        O_APPEND,
        O_BINARY,
        O_CREAT,
        O_EXCL,
        O_RDONLY,
        O_RDWR,
        O_WRONLY,
        close,
        environ,
        fsencode,
        fspath,
        fsync,
        ftruncate,
        getpid,
        kill,
        lseek,
        makedirs,
        read,
        replace,
        stat,
        urandom,
        write,
    )
    from os import _exit as exit_now
    from os import open as open_fd
    from os.path import abspath, dirname, isabs, join

    O_NOFOLLOW = 0

    def getenv(name: str) -> str | None:
        return environ.get(name)

else:
    from posix import (
        O_APPEND,
        O_CREAT,
        O_EXCL,
        O_NOFOLLOW,
        O_RDONLY,
        O_RDWR,
        O_WRONLY,
        close,
        environ,
        fspath,
        fsync,
        ftruncate,
        getcwd,
        getpid,
        kill,
        lseek,
        mkdir,
        read,
        replace,
        stat,
        urandom,
        write,
    )
    from posix import _exit as exit_now
    from posix import open as open_fd

    O_BINARY = 0
    _FS_ENCODING = sys.getfilesystemencoding()

    def fsencode(path: str) -> bytes:
        """``os.fsencode``: how the kernel sees a path (undecodable bytes survive a round trip)."""
        return path.encode(_FS_ENCODING, "surrogateescape")

    def getenv(name: str) -> str | None:
        """``os.environ.get``: ``posix.environ`` holds bytes, decoded as ``os`` decodes them."""
        value = environ.get(fsencode(name))
        return None if value is None else value.decode(_FS_ENCODING, "surrogateescape")

    def isabs(path: StrPath) -> bool:
        return fspath(path).startswith("/")

    def join(first: StrPath, *rest: str) -> str:
        """``os.path.join`` for POSIX: an absolute part starts the path again."""
        path = fspath(first)
        for part in rest:
            if part.startswith("/") or not path:
                path = part
            elif path.endswith("/"):
                path += part
            else:
                path += "/" + part
        return path

    def dirname(path: StrPath) -> str:
        """``os.path.dirname`` for POSIX: everything before the last slash, trailing ones cut
        unless the result is only slashes."""
        path = fspath(path)
        head = path[: path.rfind("/") + 1]
        return head.rstrip("/") or head

    def abspath(path: StrPath) -> str:
        """``os.path.abspath`` for POSIX: absolute and normalized (``.``, ``..``, ``//``).

        Exactly two leading slashes are kept, as POSIX leaves their meaning to the system.
        """
        path = fspath(path)
        if not path.startswith("/"):
            path = join(getcwd(), path)
        lead = "//" if path.startswith("//") and not path.startswith("///") else "/"
        parts: list[str] = []
        for part in path.split("/"):
            if part == "..":
                if parts:
                    parts.pop()
            elif part and part != ".":
                parts.append(part)
        return lead + "/".join(parts)

    def makedirs(path: StrPath, mode: int = 0o777, exist_ok: bool = False) -> None:
        """``os.makedirs``: missing parents too; ``mode`` applies to the last folder only."""
        path = fspath(path).rstrip("/") or "/"
        parent = dirname(path)
        if parent and parent != path:
            try:
                stat(parent)
            except FileNotFoundError:
                makedirs(parent, exist_ok=True)
        try:
            mkdir(path, mode)
        except OSError:
            # Like os.makedirs: an existing folder is fine when asked; anything else is not.
            if not exist_ok or not _is_dir(path):
                raise


#: ``stat.S_IFMT`` and ``stat.S_IFDIR`` (the ``stat`` module is one more import for the hook).
_FILE_TYPE_BITS, _DIRECTORY = 0o170000, 0o040000


def _is_dir(path: str) -> bool:
    try:
        return stat(path).st_mode & _FILE_TYPE_BITS == _DIRECTORY
    except OSError:
        return False


#: ``os.SEEK_SET`` / ``os.SEEK_END`` (``os.py`` defines them; they are the same everywhere).
SEEK_SET = 0
SEEK_END = 2

__all__ = [
    "O_APPEND", "O_BINARY", "O_CREAT", "O_EXCL", "O_NOFOLLOW", "O_RDONLY", "O_RDWR", "O_WRONLY",
    "SEEK_END", "SEEK_SET", "abspath", "close", "dirname", "exit_now", "fsencode", "fspath",
    "fsync", "ftruncate", "getenv", "getpid", "isabs", "join", "kill", "lseek", "makedirs",
    "open_fd", "read", "replace", "stat", "urandom", "write",
]  # fmt: skip
