"""Stash's stderr log protocol for raw plugins: `\\x01<level letter>\\x02<message>` per line."""

from __future__ import annotations

from dataclasses import dataclass

LEVEL_LETTERS = {"t": "trace", "d": "debug", "i": "info", "w": "warning", "e": "error"}
PROGRESS_LETTER = "p"
START_LEVEL, END_LEVEL = "\x01", "\x02"
# Go's bufio.Scanner gives up on longer lines and Stash then stops reading the plugin's stderr.
MAX_LINE_BYTES = 64 * 1024


@dataclass(frozen=True)
class LogLine:
    level: str
    message: str


@dataclass(frozen=True)
class ParsedLine:
    """Either a log line or a progress value; `None` fields mean "not that kind"."""

    log: LogLine | None = None
    progress: float | None = None


def parse_stderr_line(line: str, unprefixed_level: str) -> ParsedLine:
    """Decode one stderr line; unprefixed lines get the manifest's `errLog` level ("none" drops)."""
    if not line.strip():
        return ParsedLine()
    level: str | None = None
    message = line
    if len(line) >= 4 and line[0] == START_LEVEL and line[2] == END_LEVEL:
        letter = line[1]
        if letter == PROGRESS_LETTER:
            return _progress(line[3:].strip())
        if letter in LEVEL_LETTERS:
            level, message = LEVEL_LETTERS[letter], line[3:]
    message = message.strip()
    if level is None:
        if unprefixed_level == "none":
            return ParsedLine()
        level = unprefixed_level
    return ParsedLine(log=LogLine(level, message))


def _progress(text: str) -> ParsedLine:
    try:
        return ParsedLine(progress=float(text))
    except ValueError:
        return ParsedLine(log=LogLine("error", f"Error parsing progress value: {text!r}"))
