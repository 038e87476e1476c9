"""A Stash scene as the sync sees it: every value already cleaned, deduplicated and validated.

Only :meth:`StashScene.from_graphql` reads Stash's raw JSON. Everything downstream (field mapping,
diffing, fingerprints) can then trust that names are non-empty NFC text within their length
limits, lists hold no case-insensitive duplicates, the date exists in the calendar and the rating
is 1..100. Data that merely looks wrong (an impossible date, a rating of 250) is dropped and
reported in ``problems``; data the sync cannot work with at all (no id, ``files`` not a list, a
file without a path) raises :class:`SceneDataError` naming the scene and the field.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict

from stashplex.sync.pathmap import path_basename
from stashplex.sync.sanitize import (
    MAX_NAME_LEN,
    MAX_SUMMARY_LEN,
    PartialDate,
    clean_names,
    clean_text,
    clean_text_cut,
    date_problem,
    names_cut,
    parse_partial_date,
)

#: What separates people in Stash's free-text director field. Not the comma: "Kubrick, Stanley"
#: is one person written surname first, and Stash's own scrapers join several with ", " only
#: rarely, so a comma split would do more harm than good.
DIRECTOR_SEPARATORS = re.compile(r"[;\n]")


class SceneDataError(ValueError):
    """Stash returned a scene the sync cannot accept; the message names the scene and field."""


class SceneFile(BaseModel):
    """One file of a scene; the first one is the scene's primary file, as in Stash."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    path: str
    basename: str
    size: int | None = None
    duration_s: float | None = None


class StashScene(BaseModel):
    """The cleaned scene; build it with :meth:`from_graphql`, never from raw JSON directly."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    title: str = ""
    code: str = ""
    details: str = ""
    director: str = ""
    date: PartialDate | None = None
    rating100: int | None = None
    organized: bool = False
    studio: str | None = None
    parent_studio: str | None = None
    performers: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    files: tuple[SceneFile, ...] = ()
    screenshot_url: str | None = None
    updated_at: str = ""
    #: Values dropped or cut while cleaning (invalid date, out-of-range rating, a summary or a name
    #: past its limit), so the caller can warn; what was dropped never reaches Plex.
    problems: tuple[str, ...] = ()

    @property
    def display_title(self) -> str:
        """What Stash shows as the scene's name: its title, else the primary file's name without
        its extension."""
        if self.title or not self.files:
            return self.title
        basename = self.files[0].basename
        stem, dot, _extension = basename.rpartition(".")
        return clean_text(stem if dot and stem else basename, max_len=None)

    @property
    def directors(self) -> tuple[str, ...]:
        """The people in the director field: one per line or per ``;`` (never per comma)."""
        return clean_names(DIRECTOR_SEPARATORS.split(self.director))

    @classmethod
    def from_graphql(cls, data: Mapping[str, Any]) -> StashScene:
        """Build a scene from one element of our ``findScenes`` query (see the module notes)."""
        if not isinstance(data, Mapping):
            msg = f"a Stash scene must be a JSON object, got {type(data).__name__}"
            raise SceneDataError(msg)
        reader = _SceneReader(data)
        return reader.scene()


class _SceneReader:
    """Reads one raw scene, collecting non-fatal problems and failing with the scene's id."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        self.data = data
        self.scene_id = self._scene_id()
        self.problems: list[str] = []

    def fail(self, field: str, problem: str) -> SceneDataError:
        return SceneDataError(f"Stash scene {self.scene_id}: field {field!r} {problem}")

    def _scene_id(self) -> str:
        raw = self.data.get("id")
        if isinstance(raw, int) and not isinstance(raw, bool):
            raw = str(raw)
        if not isinstance(raw, str) or not raw.strip():
            msg = f"a Stash scene needs a non-empty 'id', got {raw!r}"
            raise SceneDataError(msg)
        return raw.strip()

    def text(
        self,
        source: Mapping[str, Any],
        field: str,
        *,
        max_len: int | None,
        multiline: bool = False,
        label: str | None = None,
    ) -> str:
        raw = source.get(field)
        if raw is not None and not isinstance(raw, str):
            raise self.fail(label or field, f"must be text or null, got {type(raw).__name__}")
        text, cut = clean_text_cut(raw, max_len=max_len, multiline=multiline)
        if cut:
            self.problems.append(f"{label or field}: cut to {max_len} characters")
        return text

    def objects(self, field: str) -> list[Mapping[str, Any]]:
        raw = self.data.get(field)
        if raw is None:
            return []
        if not isinstance(raw, list):
            raise self.fail(field, f"must be a list, got {type(raw).__name__}")
        for index, entry in enumerate(raw):
            if not isinstance(entry, Mapping):
                raise self.fail(
                    f"{field}[{index}]", f"must be an object, got {type(entry).__name__}"
                )
        return raw

    def names(self, field: str, raw_names: Sequence[str | None]) -> tuple[str, ...]:
        self.report_cut(field, raw_names)
        return clean_names(raw_names)

    def report_cut(self, field: str, raw_names: Sequence[str | None]) -> None:
        cut = names_cut(raw_names)
        if cut:
            shown = ", ".join(repr(name) for name in cut[:3])
            self.problems.append(
                f"{field}: {len(cut)} name(s) cut to {MAX_NAME_LEN} characters ({shown})"
            )

    def scene(self) -> StashScene:
        data = self.data
        studio, parent_studio = self.studios()
        paths = data.get("paths")
        screenshot = paths.get("screenshot") if isinstance(paths, Mapping) else None
        return StashScene(
            id=self.scene_id,
            title=self.text(data, "title", max_len=None),
            code=self.text(data, "code", max_len=MAX_NAME_LEN),
            details=self.text(data, "details", max_len=MAX_SUMMARY_LEN, multiline=True),
            director=self.director(),
            date=self.date(),
            rating100=self.rating(),
            organized=self.organized(),
            studio=studio,
            parent_studio=parent_studio,
            performers=self.names("performers", self.performer_names()),
            tags=self.names("tags", [self.entry_name("tags", tag) for tag in self.objects("tags")]),
            groups=self.names("groups", self.group_names()),
            files=self.files(),
            screenshot_url=screenshot if isinstance(screenshot, str) and screenshot else None,
            updated_at=self.text(data, "updated_at", max_len=MAX_NAME_LEN),
            problems=tuple(self.problems),
        )

    def director(self) -> str:
        """The free text as typed, lines kept (a line break separates two people)."""
        text = self.text(self.data, "director", max_len=None, multiline=True)
        self.report_cut("director", DIRECTOR_SEPARATORS.split(text))
        return text

    def date(self) -> PartialDate | None:
        raw = self.data.get("date")
        problem = date_problem(raw)
        if problem:
            self.problems.append(f"date: ignored, {problem}")
            return None
        return parse_partial_date(raw)

    def rating(self) -> int | None:
        raw = self.data.get("rating100")
        if raw is None:
            return None
        if isinstance(raw, bool) or not isinstance(raw, int | float) or not math.isfinite(raw):
            self.problems.append(f"rating100: ignored {raw!r}, not a number")
            return None
        rating = round(raw)
        if not 1 <= rating <= 100:
            self.problems.append(f"rating100: ignored {raw!r}, outside 1..100")
            return None
        return rating

    def organized(self) -> bool:
        raw = self.data.get("organized")
        if raw is None:
            return False
        if not isinstance(raw, bool):
            raise self.fail("organized", f"must be true or false, got {raw!r}")
        return raw

    def studios(self) -> tuple[str | None, str | None]:
        studio = self.data.get("studio")
        if studio is None:
            return None, None
        if not isinstance(studio, Mapping):
            raise self.fail("studio", f"must be an object or null, got {type(studio).__name__}")
        parent = studio.get("parent_studio")
        if parent is not None and not isinstance(parent, Mapping):
            raise self.fail("studio.parent_studio", "must be an object or null")
        name = self.text(studio, "name", max_len=MAX_NAME_LEN, label="studio.name")
        parent_name = (
            self.text(parent, "name", max_len=MAX_NAME_LEN, label="studio.parent_studio.name")
            if parent is not None
            else ""
        )
        return name or None, parent_name or None

    def entry_name(self, field: str, entry: Mapping[str, Any]) -> str | None:
        name = entry.get("name")
        if name is not None and not isinstance(name, str):
            raise self.fail(f"{field}.name", f"must be text, got {type(name).__name__}")
        return name

    def performer_names(self) -> list[str | None]:
        """``Name (Disambiguation)``, as Stash itself tells two performers of one name apart."""
        names: list[str | None] = []
        for performer in self.objects("performers"):
            # Uncut here: :meth:`names` cuts the whole "Name (Disambiguation)" and reports it.
            name = clean_text(self.entry_name("performers", performer), max_len=None)
            disambiguation = self.text(
                performer, "disambiguation", max_len=None, label="performers.disambiguation"
            )
            names.append(f"{name} ({disambiguation})" if name and disambiguation else name)
        return names

    def group_names(self) -> list[str | None]:
        """Ordered by the scene's position in each group, then by name, so the collections a
        scene shows do not depend on the order Stash happened to return them in."""
        entries: list[tuple[int | None, str]] = []
        for index, membership in enumerate(self.objects("groups")):
            group = membership.get("group")
            if not isinstance(group, Mapping):
                raise self.fail(f"groups[{index}].group", "must be an object")
            scene_index = membership.get("scene_index")
            if isinstance(scene_index, bool) or not isinstance(scene_index, int | None):
                raise self.fail(f"groups[{index}].scene_index", "must be an integer or null")
            name = clean_text(self.entry_name("groups", group), max_len=None)
            entries.append((scene_index, name))
        entries.sort(key=lambda entry: (entry[0] is None, entry[0] or 0, entry[1].casefold()))
        return [name for _index, name in entries]

    def files(self) -> tuple[SceneFile, ...]:
        raw = self.data.get("files")
        if raw is None:
            return ()
        if not isinstance(raw, list):
            raise self.fail("files", f"must be a list, got {type(raw).__name__}")
        return tuple(self.file(index, entry) for index, entry in enumerate(raw))

    def file(self, index: int, entry: Any) -> SceneFile:
        where = f"files[{index}]"
        if not isinstance(entry, Mapping):
            raise self.fail(where, f"must be an object, got {type(entry).__name__}")
        file_id, path = entry.get("id"), entry.get("path")
        if isinstance(file_id, int) and not isinstance(file_id, bool):
            file_id = str(file_id)
        if not isinstance(file_id, str) or not file_id:
            raise self.fail(f"{where}.id", f"must be a non-empty id, got {file_id!r}")
        if not isinstance(path, str) or not path.strip():
            raise self.fail(f"{where}.path", f"must be a non-empty path, got {path!r}")
        basename = entry.get("basename")
        if not isinstance(basename, str) or not basename:
            basename = path_basename(path)
        size, duration = entry.get("size"), entry.get("duration")
        valid_size = isinstance(size, int) and not isinstance(size, bool) and size >= 0
        valid_duration = (
            isinstance(duration, int | float)
            and not isinstance(duration, bool)
            and math.isfinite(duration)
            and duration >= 0
        )
        return SceneFile(
            id=file_id,
            path=path,
            basename=basename,
            size=size if valid_size else None,
            duration_s=float(duration) if valid_duration else None,
        )
