"""Logging set-up, with every configured secret masked in every line.

Masking happens in a handler-level filter on the fully formatted message, so a token that
slips into an exception text, a URL or a third-party library's log line is still caught.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import IO

MASK = "***"
LOG_FORMAT = "%(asctime)s %(levelname)s [%(process)d %(threadName)s] %(name)s: %(message)s"


class SecretMaskingFilter(logging.Filter):
    """Replaces each known secret by ``***`` in the rendered message and its exception text."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.secrets: list[str] = []
        self.add(secrets)

    def add(self, secrets: Iterable[str]) -> None:
        # Longest first, so a secret that contains another is masked whole.
        merged = {s for s in [*self.secrets, *secrets] if s and len(s) >= 4}
        self.secrets = sorted(merged, key=len, reverse=True)

    def mask(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, MASK)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets:
            return True
        message = self.mask(record.getMessage())
        record.msg, record.args = message, None
        if record.exc_info:
            record.exc_text = self.mask(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


class PrivateRotatingFileHandler(logging.handlers.RotatingFileHandler):
    """A log file opened owner-only and never through a symlink (a link there is set aside)."""

    def _open(self) -> IO[str]:
        from stashplex.runtime.private_files import open_private

        flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if "a" in self.mode else os.O_TRUNC)
        return os.fdopen(open_private(Path(self.baseFilename), flags), "a", encoding=self.encoding)


_masker = SecretMaskingFilter()


def mask_secrets(secrets: Iterable[str]) -> None:
    """Register more secrets (e.g. once settings are loaded) with every configured handler."""
    _masker.add(secrets)


def configure_logging(
    *, level: str = "INFO", log_file: Path | None = None, stderr: bool = True
) -> None:
    root = logging.getLogger()
    root.setLevel(level.upper())
    for handler in list(root.handlers):
        root.removeHandler(handler)
    handlers: list[logging.Handler] = []
    if stderr:
        handlers.append(logging.StreamHandler(sys.stderr))
    if log_file is not None:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        handlers.append(
            PrivateRotatingFileHandler(
                log_file, maxBytes=10_000_000, backupCount=5, encoding="utf-8"
            )
        )
    for handler in handlers:
        handler.setFormatter(logging.Formatter(LOG_FORMAT))
        handler.addFilter(_masker)
        root.addHandler(handler)
    # pykka logs every captured exception at INFO; WARNING is its recommended production level.
    logging.getLogger("pykka").setLevel(logging.WARNING)
    logging.getLogger("urllib3").setLevel(logging.WARNING)


def stderr_is(path: Path) -> bool:
    """Whether this process's stderr already writes into ``path``."""
    try:
        ours, theirs = os.fstat(sys.stderr.fileno()), path.stat()
    except (OSError, ValueError, AttributeError):
        return False
    return (ours.st_dev, ours.st_ino) == (theirs.st_dev, theirs.st_ino)


def configure_process_logging(*, level: str, log_file: Path) -> None:
    """One log file per process, even for a process started detached into that very file.

    The hook, the task and ``stashplex start`` send a detached supervisor's stdout and stderr
    into its log, so that what it prints before logging is set up (an import error, a
    traceback) is where its log lines are. Logging to the file as well would write every line
    twice, so such a process logs to stderr alone; its starter rotates the file.
    """
    if stderr_is(log_file):
        configure_logging(level=level)
    else:
        configure_logging(level=level, log_file=log_file)
