"""Telling a damaged SQLite file from a failing disk, and setting damaged files aside.

Moving a file aside throws away what it held (the catch-up cursor re-reads Stash afterwards), so
it is only right for a file SQLite cannot read. A busy database, a full disk or an I/O error is
an ``OperationalError``: the operation fails, the message is retried, and nothing is discarded.
"""

from __future__ import annotations

import shutil
import sqlite3
import time
from pathlib import Path

#: What SQLite says about a file it cannot read, whatever exception class carries it.
_CORRUPTION_WORDS = ("malformed", "not a database", "integrity check failed")


def is_corruption(exc: sqlite3.Error) -> bool:
    """True only for a damaged file, never for a locked database or a full disk."""
    text = str(exc).lower()
    if any(word in text for word in _CORRUPTION_WORDS):
        return True
    # Plain DatabaseError is what sqlite3 raises for unreadable files; its subclasses
    # (OperationalError, IntegrityError, ProgrammingError, ...) are something else.
    return type(exc) is sqlite3.DatabaseError


def set_aside(path: Path, reason: BaseException) -> Path:
    """Move ``path`` (a file or a folder) to ``<name>.corrupt-<time>`` and say why beside it."""
    stamp = time.strftime("%Y%m%dT%H%M%S")
    target = path.with_name(f"{path.name}.corrupt-{stamp}")
    suffix = 0
    while target.exists():
        suffix += 1
        target = path.with_name(f"{path.name}.corrupt-{stamp}-{suffix}")
    shutil.move(str(path), str(target))
    if target.is_dir():
        note = target / "REASON.txt"
    else:
        note = target.with_name(f"{target.name}.REASON.txt")
    note.write_text(f"{type(reason).__name__}: {reason}\n", encoding="utf-8")
    return target
