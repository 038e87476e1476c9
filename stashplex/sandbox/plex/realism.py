"""Which habits of a real Plex Media Server the emulator imitates. Every habit is on by default.

A test may switch one habit off to isolate something else (`Realism.update(habit=...)`), never
to make the product pass. Each knob names the evidence it stands on; where the evidence is thin
the default is the stricter behaviour, so the product is built for the harder server.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

#: How a NEW tag row is spelled. Kometa #201 ("Plex automatically capitalizes labels":
#: `.hidden` became `.Hidden`) and #2676 (collection "The Water of the Hills" came back as
#: "The Water Of The Hills"). Observed, but not on every server: off by default.
CAPITALIZATION_MODES = ("none", "first-letter", "each-word")
#: When a cleared `originallyAvailableAt` comes back as the added date on a metadata refresh.
#: PlexKodiConnect #1395: "If originallyAvailableAt is not obtained, [the] date when a movie was
#: added is used" (year="2013" originallyAvailableAt="2020-06-30"); XBMCnfoMoviesImporter #109:
#: "Originally Available stays as the date Plex first saw the file". A refresh never touches a
#: locked field (plexapi #816), hence "unlocked" by default; "always" is the stricter knob.
DATE_REFILL_MODES = ("off", "unlocked", "always")
#: The name of the cast lock in `<Field locked="1" name=...>`. plexapi sends `actor.locked`
#: (mixins/edit.py `editTags('actor', ...)`, issue #462, PR #510) and its tests assert that the
#: Field name equals the edit prefix for every tag type they lock (tests/test_mixins.py
#: `_test_mixins_tag`). No capture of a cast lock was found, so "role" stays available.
CAST_LOCK_NAMES = ("actor", "role")
#: nginx `large_client_header_buffers 4 8k`: a request line longer than one buffer is answered
#: "414 Request-URI Too Large" (nginx docs, ngx_http_core_module).
DEFAULT_MAX_REQUEST_LINE = 8192


@dataclass
class Realism:
    """The habits; `update()` validates, `describe()` is what the admin API shows."""

    #: Tags are global rows whose identity is case-folded; the first spelling wins (Kometa #201,
    #: #2676, PR #3190 "Sometimes when Collections go into Plex, the casing changes").
    tag_spelling: bool = True
    tag_capitalization: str = "none"
    #: Uploading bytes (or a URL) Plex already holds for the item adds nothing and selects
    #: nothing; only PUT .../poster?url= moves the selection. False is the realistic value.
    reupload_reselects: bool = False
    cast_lock_name: str = "actor"
    date_refill: str = "unlocked"
    #: Whether a moved file (same item, new Part@file) bumps the item's updatedAt. The scanner
    #: logs "Part rename detected" and keeps the item (Absolute-Series-Scanner #441); the
    #: rename touches the media part, not the metadata item, so no bump is the strict default.
    move_bumps_updated_at: bool = False
    #: Longest request line (bytes, no CRLF) before a 414, as a reverse proxy answers. None: off.
    max_request_line: int | None = DEFAULT_MAX_REQUEST_LINE
    #: Largest request body before a 413 (nginx `client_max_body_size`). None: no proxy limit.
    max_body_bytes: int | None = None
    #: The movie scanner's skip rules (samples, extras, .plexignore, ...; see `ignore.py`).
    scanner_ignores: bool = True
    #: `Movie - pt1.mkv` / `- pt2.mkv` in one folder become one item with two Parts.
    stacking: bool = True
    #: A Windows server: drive letters, backslashes, case-insensitive paths. Set it before
    #: adding sections.
    windows: bool = False
    #: On a Windows server, paths of MAX_PATH (260) characters or more are reported with the
    #: `\\?\` prefix (reference/plex-api.md §2.3: `\\?\P:\Anime\...`).
    long_path_prefix: bool = True

    @classmethod
    def lenient(cls) -> Realism:
        """Every habit off: the emulator as it was before it imitated them (for isolation)."""
        return cls(
            tag_spelling=False,
            reupload_reselects=True,
            date_refill="off",
            max_request_line=None,
            scanner_ignores=False,
            stacking=False,
        )

    def update(self, **changes: Any) -> None:
        """Change knobs by name; unknown names and bad values raise ValueError, changing none."""
        known = {f.name for f in fields(self)}
        unknown = set(changes) - known
        if unknown:
            raise ValueError(f"unknown realism knobs {sorted(unknown)}; known: {sorted(known)}")
        candidate = Realism(**{**asdict(self), **changes})
        candidate.validate()
        for name, value in changes.items():
            setattr(self, name, value)

    def validate(self) -> None:
        for name in ("tag_spelling", "reupload_reselects", "move_bumps_updated_at"):
            _check_bool(name, getattr(self, name))
        for name in ("scanner_ignores", "stacking", "windows", "long_path_prefix"):
            _check_bool(name, getattr(self, name))
        _check_choice("tag_capitalization", self.tag_capitalization, CAPITALIZATION_MODES)
        _check_choice("date_refill", self.date_refill, DATE_REFILL_MODES)
        _check_choice("cast_lock_name", self.cast_lock_name, CAST_LOCK_NAMES)
        for name in ("max_request_line", "max_body_bytes"):
            value = getattr(self, name)
            if value is not None and (type(value) is not int or value < 64):
                raise ValueError(f"{name} must be None or an integer >= 64, got {value!r}")

    def describe(self) -> dict[str, object]:
        return asdict(self)


def _check_bool(name: str, value: object) -> None:
    if type(value) is not bool:
        raise ValueError(f"{name} must be true or false, got {value!r}")


def _check_choice(name: str, value: object, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ValueError(f"{name} must be one of {list(choices)}, got {value!r}")
