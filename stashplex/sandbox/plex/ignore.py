"""What the Plex movie and series scanners skip, and how they stack split movies.

A skipped file is a "scan finished, file not added" case: the scan runs, the file stays on disk,
no item appears. The rules modelled, each with its source:

* not a video file (`.nfo`, `.jpg`, ...): the Movie scanner first runs the "Video Files" scanner
  to drop non-video files (plex.tv blog "Continuing the Conversation", 2010);
* disk images `.iso`, `.img`, `.dvdmedia` and anything under `VIDEO_TS` / `BDMV` (Plexopedia
  "How to Ignore Files or Folders", "What Plex automatically ignores");
* a file whose name contains "sample" and is under 300 MB (same Plexopedia page);
* extras: a folder named Behind The Scenes, Deleted Scenes, Featurettes, Interviews, Scenes,
  Shorts, Trailers, Other or Extras, a folder whose name includes the words extras, samples,
  bonus or bonus disc (Plexopedia), and files ending in -behindthescenes, -deleted, -featurette,
  -interview, -scene, -short, -trailer or -other (Plex support "Local Files for Trailers and
  Extras"), all below the section location;
* in a movie section, names like TV episodes (`s03e07`, `3x07`): "Video files named like TV
  episodes ... are intentionally ignored by movie scanners" (Plex support "Scanners"), and names
  that are only a date (`2021-03-04.mkv`), which the movie scanner takes for a dated episode
  (PlexNine wiki "PMS ScannerAgent": it skips "filenames that have a date in them"; only the
  narrower date-only case is modelled);
* in a show section, names without an episode mark (Plex support "Scanners": the series scanner
  "will only add items that are named like a TV episode");
* `.plexignore` patterns (Plexopedia): one pattern per line, `#` comments, `*` matches within a
  name; a pattern without `/` matches a file or folder name anywhere below the `.plexignore`'s
  folder, one with `/` matches the path relative to it.

Stacking (Plex naming "Split movie files": `cdX`, `discX`, `diskX`, `dvdX`, `partX`, `ptX`):
files in one folder whose names differ only in that part number become one item with one Media
holding several Parts. A file without a part mark never stacks.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from stashplex.sandbox.plex.paths import PathRules

VIDEO_EXTENSIONS = frozenset(
    {"3gp", "asf", "avi", "divx", "flv", "m2ts", "m4v", "mkv", "mov", "mp4", "mpeg", "mpg"}
    | {"mts", "ogv", "ts", "vob", "webm", "wmv"}
)
DISC_IMAGE_EXTENSIONS = frozenset({"iso", "img", "dvdmedia"})
DISC_FOLDERS = frozenset({"video_ts", "bdmv"})
EXTRAS_FOLDERS = frozenset(
    {
        "behind the scenes",
        "deleted scenes",
        "featurettes",
        "interviews",
        "scenes",
        "shorts",
        "trailers",
        "other",
        "extras",
    }
)
EXTRAS_FOLDER_WORDS = re.compile(r"\b(extras|samples|bonus|bonus disc)\b", re.IGNORECASE)
EXTRAS_SUFFIXES = (
    "behindthescenes",
    "deleted",
    "featurette",
    "interview",
    "scene",
    "short",
    "trailer",
    "other",
)
SAMPLE_LIMIT_BYTES = 300 * 1024 * 1024
_EXTRA_SUFFIX = re.compile(r"-(" + "|".join(EXTRAS_SUFFIXES) + r")$", re.IGNORECASE)
_SAMPLE = re.compile(r"sample", re.IGNORECASE)
EPISODE_MARK = re.compile(r"(?:\b|_)(?:[Ss](\d{1,3})[Ee](\d{1,4})|(\d{1,2})x(\d{2,3}))(?:\b|_)")
_DATE_ONLY = re.compile(
    r"^\s*(?:\d{4}[-. _]\d{1,2}[-. _]\d{1,2}|\d{1,2}[-. _]\d{1,2}[-. _]\d{4})\s*$"
)
STACK_MARK = re.compile(r"[ _.-]*\b(?:cd|disc|disk|dvd|part|pt)[ _.-]*(\d{1,2})\b", re.IGNORECASE)


@dataclass(frozen=True)
class Seen:
    """A file as the scanner sees it: where it sits and what the section is."""

    file: str
    size: int
    location: str
    section_type: str
    paths: PathRules
    plexignores: dict[str, list[str]]
    #: In a show section: the season and episode were read from the path (or given).
    episode_known: bool = False

    @property
    def name(self) -> str:
        return self.paths.basename(self.file)

    @property
    def stem(self) -> str:
        return self.paths.splitext(self.name)[0]

    @property
    def extension(self) -> str:
        return self.paths.splitext(self.name)[1].lstrip(".").lower()

    @property
    def folders(self) -> list[str]:
        return self.paths.relative_parts(self.paths.dirname(self.file), self.location)


def _disc(seen: Seen) -> str | None:
    if seen.extension in DISC_IMAGE_EXTENSIONS:
        return f"disc image (.{seen.extension})"
    if any(folder.casefold() in DISC_FOLDERS for folder in seen.folders):
        return "inside a disc folder (VIDEO_TS/BDMV)"
    return None


def _not_video(seen: Seen) -> str | None:
    if seen.extension in VIDEO_EXTENSIONS:
        return None
    return f"not a video file (.{seen.extension or 'no extension'})"


def _extras(seen: Seen) -> str | None:
    for folder in seen.folders:
        if folder.casefold() in EXTRAS_FOLDERS or EXTRAS_FOLDER_WORDS.search(folder):
            return f"extras folder {folder!r}"
    suffix = _EXTRA_SUFFIX.search(seen.stem)
    return None if suffix is None else f"extras file suffix {suffix[0]!r}"


def _sample(seen: Seen) -> str | None:
    if _SAMPLE.search(seen.name) and seen.size < SAMPLE_LIMIT_BYTES:
        return "a sample (name contains 'sample', under 300 MB)"
    return None


def _plexignore(seen: Seen) -> str | None:
    pattern = ignored_by(seen.file, seen.paths, seen.plexignores)
    return None if pattern is None else f".plexignore pattern {pattern!r}"


def _wrong_kind(seen: Seen) -> str | None:
    if seen.section_type != "movie":
        return None if seen.episode_known else "no episode mark (series scanner)"
    if EPISODE_MARK.search(seen.stem):
        return "named like a TV episode (movie scanner)"
    if _DATE_ONLY.match(seen.stem):
        return "named only by a date (movie scanner takes it for a dated episode)"
    return None


RULES: tuple[Callable[[Seen], str | None], ...] = (
    _disc,
    _not_video,
    _extras,
    _sample,
    _plexignore,
    _wrong_kind,
)


def skip_reason(seen: Seen) -> str | None:
    """Why the scanner would not add the file (None: it adds it); the first rule that fires."""
    for rule in RULES:
        reason = rule(seen)
        if reason is not None:
            return reason
    return None


def ignored_by(file: str, paths: PathRules, plexignores: dict[str, list[str]]) -> str | None:
    """The first `.plexignore` pattern (from any folder above the file) that matches it."""
    for folder, patterns in plexignores.items():
        if not paths.under(file, folder) or paths.key(file) == paths.key(folder):
            continue
        relative = paths.relative_parts(file, folder)
        for pattern in patterns:
            if _matches(pattern, relative, paths):
                return pattern
    return None


def _matches(pattern: str, relative: Sequence[str], paths: PathRules) -> bool:
    fold = paths.windows
    pattern = pattern.replace("\\", "/") if paths.windows else pattern
    if fold:
        pattern, relative = pattern.casefold(), [part.casefold() for part in relative]
    if "/" not in pattern:
        return any(fnmatch.fnmatchcase(part, pattern) for part in relative)
    segments = [segment for segment in pattern.strip("/").split("/") if segment]
    if len(segments) > len(relative):
        return False
    return all(
        fnmatch.fnmatchcase(part, seg) for part, seg in zip(relative, segments, strict=False)
    )


def parse_plexignore(text: str | Iterable[str]) -> list[str]:
    """The patterns of a `.plexignore` file: blank lines and `#` comments dropped."""
    lines = text.splitlines() if isinstance(text, str) else list(text)
    return [line.strip() for line in lines if line.strip() and not line.strip().startswith("#")]


def stack_key(file: str, paths: PathRules) -> tuple[str, str, int] | None:
    """(folder key, name without the part mark, part number) for a stackable file, else None."""
    name = paths.basename(file)
    stem, extension = paths.splitext(name)
    marks = list(STACK_MARK.finditer(stem))
    if not marks:
        return None
    mark = marks[-1]
    rest = (stem[: mark.start()] + stem[mark.end() :]).strip(" _.-")
    if not rest:
        return None
    return (paths.key(paths.dirname(file)), (rest + extension).casefold(), int(mark[1]))


def stacked_title(file: str, paths: PathRules) -> str:
    """The name a stacked movie gets: the file name without its part mark."""
    stem = paths.splitext(paths.basename(file))[0]
    marks = list(STACK_MARK.finditer(stem))
    if not marks:
        return stem
    return (stem[: marks[-1].start()] + stem[marks[-1].end() :]).strip(" _.-")


def episode_numbers(name: str) -> tuple[int, list[int]] | None:
    """Season and episode numbers from `S01E02`, `S01E02-E03` or `1x02`; None without a mark."""
    mark = EPISODE_MARK.search(name)
    if mark is None:
        return None
    season = int(mark[1] if mark[1] is not None else mark[3])
    first = int(mark[2] if mark[2] is not None else mark[4])
    last = first
    tail = re.match(r"\s*-?\s*[Ee](\d{1,4})", name[mark.end() :])
    if tail and int(tail[1]) > first:
        last = int(tail[1])
    return season, list(range(first, last + 1))
