"""Translate the path Stash knows a file by into the path Plex knows it by.

Stash and Plex often see the same disk through different mounts (two Docker containers, a NAS
share, a Windows drive letter), so the sync matches files through prefix rules such as
``/data/ => /media/``. Paths are compared only after normalisation: macOS and some SMB shares
hand out NFD file names, Windows adds ``\\\\?\\`` prefixes and backslashes, and a stray double
slash or trailing slash must not turn one file into two.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

RULE_SEPARATOR = "=>"

_EXTENDED_UNC_PREFIX = re.compile(r"^[\\/]{2}\?[\\/]UNC[\\/]", re.IGNORECASE)
_EXTENDED_PREFIX = re.compile(r"^[\\/]{2}\?[\\/]")
_DRIVE = re.compile(r"^([A-Za-z]):(?:[\\/]|$)")
_UNC = re.compile(r"^[\\/]{2}[^\\/]")
_DRIVE_ROOT = re.compile(r"^[A-Za-z]:/$")
_ABSOLUTE_DRIVE = re.compile(r"^[A-Za-z]:/")


class PathMapError(ValueError):
    """A path-map rule that cannot be used; the message names the rule and what is wrong."""


def is_windows_path(path: str) -> bool:
    """Drive-letter (``D:\\x``) or UNC (``\\\\server\\share``) path, with or without ``\\\\?\\``."""
    return bool(_DRIVE.match(path) or _UNC.match(path))


def normalize_path(path: str, *, case_insensitive: bool = False) -> str:
    """The canonical spelling used for every path comparison in the sync.

    A UNC path keeps its leading ``//``, since collapsing it would turn ``\\\\nas\\share`` into
    the unrelated ``/nas/share``; drive letters are upper-cased because Windows ignores their case.
    """
    if not isinstance(path, str):
        msg = f"path must be a string, got {type(path).__name__}"
        raise TypeError(msg)
    if not path:
        msg = "path is empty"
        raise ValueError(msg)
    text = unicodedata.normalize("NFC", path)
    if _EXTENDED_UNC_PREFIX.match(text):
        text = "//" + _EXTENDED_UNC_PREFIX.sub("", text)
    elif _EXTENDED_PREFIX.match(text):
        text = _EXTENDED_PREFIX.sub("", text)
    text = text.replace("\\", "/")
    unc = bool(_UNC.match(text))
    text = re.sub(r"/{2,}", "/", text)
    if unc:
        text = "/" + text
    if len(text) > 1 and text.endswith("/") and not _DRIVE_ROOT.match(text):
        text = text.rstrip("/") or "/"
    drive = _DRIVE.match(text)
    if drive:
        text = drive.group(1).upper() + text[1:]
    return text.lower() if case_insensitive else text


def path_basename(path: str) -> str:
    """The file name, whichever separator the path uses (``os.path`` only knows the host's)."""
    return re.split(r"[\\/]", path.rstrip("\\/"))[-1]


def _segments(normalized: str) -> tuple[str, ...]:
    if normalized == "/":
        return ("",)
    return tuple(normalized.rstrip("/").split("/"))


def _is_absolute(normalized: str) -> bool:
    return normalized.startswith("/") or bool(_ABSOLUTE_DRIVE.match(normalized))


@dataclass(frozen=True)
class PathRule:
    """Files under ``stash_prefix`` appear in Plex under ``plex_prefix``."""

    stash_prefix: str
    plex_prefix: str

    def __post_init__(self) -> None:
        for side in ("stash_prefix", "plex_prefix"):
            value = getattr(self, side)
            if not isinstance(value, str) or not value.strip():
                msg = f"{side} is empty"
                raise PathMapError(msg)
            if not _is_absolute(normalize_path(value.strip())):
                msg = f"{side} {value!r} is not an absolute path (start with /, D:\\ or \\\\server)"
                raise PathMapError(msg)


class PathMap:
    """An ordered set of prefix rules where the most specific (longest) prefix wins.

    Windows stash prefixes always match case-insensitively, because Windows file names are;
    ``case_insensitive=True`` extends that to every rule (e.g. a case-insensitive NAS share).
    """

    def __init__(self, rules: Iterable[PathRule] = (), *, case_insensitive: bool = False) -> None:
        self._case_insensitive = case_insensitive
        compiled: list[tuple[tuple[str, ...], bool, str, PathRule]] = []
        seen: dict[tuple[str, ...], PathRule] = {}
        for rule in rules:
            stash = normalize_path(rule.stash_prefix.strip())
            fold = case_insensitive or is_windows_path(stash)
            segments = _segments(stash.lower() if fold else stash)
            if segments in seen:
                msg = (
                    f"two rules map the same stash prefix: {seen[segments].stash_prefix!r} and "
                    f"{rule.stash_prefix!r}"
                )
                raise PathMapError(msg)
            seen[segments] = rule
            plex = normalize_path(rule.plex_prefix.strip())
            compiled.append((segments, fold, plex, rule))
        compiled.sort(key=lambda item: len(item[0]), reverse=True)
        self._compiled = compiled

    @classmethod
    def parse(cls, specs: Iterable[str], *, case_insensitive: bool = False) -> PathMap:
        """Build from configuration strings such as ``"/data/ => /media/"``."""
        if isinstance(specs, str):
            msg = "path map specs must be a list of rules, not a single string"
            raise PathMapError(msg)
        rules = []
        for number, spec in enumerate(specs, start=1):
            rules.append(_parse_rule(number, spec))
        return cls(rules, case_insensitive=case_insensitive)

    @property
    def rules(self) -> tuple[PathRule, ...]:
        """The rules, most specific first (the order in which they are tried)."""
        return tuple(item[3] for item in self._compiled)

    @property
    def case_insensitive(self) -> bool:
        return self._case_insensitive

    def __len__(self) -> int:
        return len(self._compiled)

    def map(self, stash_path: str) -> str:
        """The Plex-side path; an unmapped path comes back normalised, as Plex may share it."""
        normalized = normalize_path(stash_path)
        match = self._match(normalized)
        if match is None:
            return normalized
        plex, remainder = match
        if not remainder:
            return plex
        joiner = "" if plex.endswith("/") else "/"
        return plex + joiner + "/".join(remainder)

    def covers(self, path: str) -> bool:
        """Whether some rule applies to ``path`` (a Stash-side path)."""
        return self._match(normalize_path(path)) is not None

    def _match(self, normalized: str) -> tuple[str, tuple[str, ...]] | None:
        exact = _segments(normalized)
        folded = _segments(normalized.lower())
        for segments, fold, plex, _rule in self._compiled:
            candidate = folded if fold else exact
            if candidate[: len(segments)] == segments:
                return plex, exact[len(segments) :]
        return None

    def __repr__(self) -> str:
        specs = ", ".join(f"{r.stash_prefix!r} => {r.plex_prefix!r}" for r in self.rules)
        return f"PathMap([{specs}], case_insensitive={self._case_insensitive})"


def _parse_rule(number: int, spec: str) -> PathRule:
    where = f"path map rule #{number} {spec!r}"
    if not isinstance(spec, str):
        msg = f"path map rule #{number} must be a string, got {type(spec).__name__}"
        raise PathMapError(msg)
    if spec.count(RULE_SEPARATOR) != 1:
        problem = "is missing" if RULE_SEPARATOR not in spec else "has more than one"
        msg = f'{where} {problem} "{RULE_SEPARATOR}" (expected "STASH_PREFIX => PLEX_PREFIX")'
        raise PathMapError(msg)
    stash, plex = (side.strip() for side in spec.split(RULE_SEPARATOR))
    try:
        return PathRule(stash, plex)
    except PathMapError as error:
        msg = f"{where}: {error}"
        raise PathMapError(msg) from error


def in_server_spelling(path: str, like: str) -> str:
    """``path`` with the separators of ``like`` (a section location as the server reports it).

    Mapped paths use ``/`` throughout; a Windows server reports and expects ``D:\\Media\\...``,
    so what we send back to it (a folder to scan) is spelled its way.
    """
    return path.replace("/", "\\") if "\\" in like and "/" not in like else path
