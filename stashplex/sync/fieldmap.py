"""What a Plex item should show for a Stash scene, and what must change to get there.

Keys are Plex's own edit field names, so a desired value goes straight into the edit grammar
(:mod:`stashplex.sync.plexedit`) and a diff reads the same names Plex reports as locked.

Rules that are not one-to-one copies:

* **Rating.** Stash rates 1..100, Plex 0..10 with one decimal: ``userRating = rating100 / 10``
  (85 → ``"8.5"``, 100 → ``"10.0"``, 1 → ``"0.1"``). No rating in Stash is the empty value
  ``""``. Plex may report ``8`` for ``8.0``; both compare equal.
* **Partial dates.** Stash may hold only a year (``2021``) or a year and month (``2021-03``);
  Plex stores whole days, so the missing parts become the first: ``2021`` → ``2021-01-01``,
  ``2021-03`` → ``2021-03-01``. No or an invalid Stash date is the empty value.
* **Title.** A scene without a title gets the primary file's name without its extension, which
  is what Stash itself shows; that fallback is the title's *empty* value, so it only reaches a
  title stashplex owns (see :mod:`stashplex.sync.ownership`). A scene with neither leaves the
  Plex title alone.
* **Director.** Stash keeps one free-text field; one person per line or per ``;``. A comma
  stays inside a name ("Kubrick, Stanley" is one person).
* **Collections.** Stash groups, ordered by the scene's index in each group; with
  ``studio_as_collection`` the studio name is added after them. These are the names stashplex
  adds and removes; other collections on the item are never touched.

What is written, cleared or left alone is decided by :mod:`stashplex.sync.ownership`; this
module only says what Stash's values are, in Plex's vocabulary.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any, NamedTuple

from pydantic import BaseModel, ConfigDict

from stashplex.sync.sanitize import clean_names, name_key
from stashplex.sync.scene import StashScene

FieldValue = str | tuple[str, ...]
#: The desired or current state of one Plex item, keyed by Plex edit field name.
PlexFields = Mapping[str, FieldValue]

SCALAR_FIELDS: tuple[str, ...] = (
    "title",
    "summary",
    "studio",
    "originallyAvailableAt",
    "year",
    "userRating",
)
TAG_FIELDS: tuple[str, ...] = ("genre", "actor", "collection", "director")
#: Every field the sync can write, in the order changes are reported and sent.
PLEX_FIELDS: tuple[str, ...] = SCALAR_FIELDS + TAG_FIELDS
#: Tag lists whose order means nothing to Plex; the cast keeps its billing order.
UNORDERED_TAG_FIELDS = frozenset({"genre", "collection", "director"})

_DAY_PREFIX = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


class FieldToggles(BaseModel):
    """Which Stash fields the user wants synced; a field switched off is never read or written."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    title: bool = True
    summary: bool = True
    studio: bool = True
    date: bool = True
    rating: bool = True
    performers: bool = True
    tags: bool = True
    groups: bool = True
    director: bool = True
    poster: bool = True
    #: The cover as the item's background too (off by default: Stash has no separate one).
    background: bool = False
    studio_as_collection: bool = False

    @classmethod
    def from_settings(cls, settings: object) -> FieldToggles:
        """The toggles from settings' ``sync_<field>`` and ``studio_as_collection`` values.

        Takes any object with those attributes, so this layer needs nothing from the settings
        model (which sits above it).
        """
        names = [name for name in cls.model_fields if name != "studio_as_collection"]
        values = {name: getattr(settings, f"sync_{name}") for name in names}
        return cls(**values, studio_as_collection=settings.studio_as_collection)


class MappingRow(NamedTuple):
    stash_field: str
    plex_field: str
    rule: str
    toggle: str


MAPPING_TABLE: tuple[MappingRow, ...] = (
    MappingRow(
        "title",
        "title",
        "the title; without one the primary file name without extension, which counts as empty",
        "title",
    ),
    MappingRow(
        "details",
        "summary",
        "text as typed, line breaks and blank lines kept; cut at 10,000 characters (a warning)",
        "summary",
    ),
    MappingRow("studio.name", "studio", "studio name", "studio"),
    MappingRow(
        "date",
        "originallyAvailableAt",
        "YYYY-MM-DD; a year or year-month gets day/month 01 (`2024-05` → `2024-05-01`); "
        "an invalid date counts as empty (a warning)",
        "date",
    ),
    MappingRow("date", "year", "the date's year (Plex keeps it apart from the date)", "date"),
    MappingRow(
        "rating100",
        "userRating",
        "rating100 / 10, one decimal (85 → 8.5); 0 means unrated and counts as empty",
        "rating",
    ),
    MappingRow(
        "performers",
        "actor",
        "names in Stash's order, `Name (Disambiguation)` when set",
        "performers",
    ),
    MappingRow("tags", "genre", "tag names, duplicates (any case) dropped", "tags"),
    MappingRow(
        "groups",
        "collection",
        "group names, added to the item's collections; only names stashplex added are removed, "
        "and the list is never locked",
        "groups",
    ),
    MappingRow(
        "studio.name", "collection", "added to the collections, same rule", "studio_as_collection"
    ),
    MappingRow(
        "director",
        "director",
        "one person per line or per `;`; a comma stays in the name (`Kubrick, Stanley`)",
        "director",
    ),
    MappingRow(
        "paths.screenshot",
        "poster",
        "the cover, uploaded as bytes when its SHA-1 differs from our last upload; "
        "scenes without a cover of their own are skipped",
        "poster",
    ),
    MappingRow(
        "paths.screenshot",
        "art",
        "the cover as the background, same rule; off by default, since Stash has no separate "
        "background and Plex may have one from elsewhere",
        "background",
    ),
)


def setting_of(toggle: str) -> str:
    """The setting behind a toggle: ``sync_<toggle>``, except the one that is not a field."""
    return toggle if toggle == "studio_as_collection" else f"sync_{toggle}"


def mapping_table_markdown() -> str:
    """The README's mapping table, generated so documentation and code cannot drift apart."""
    lines = [
        "| Stash field | Plex field | Rule | Setting |",
        "| --- | --- | --- | --- |",
    ]
    lines.extend(
        f"| `{row.stash_field}` | `{row.plex_field}` | {row.rule} | `{setting_of(row.toggle)}` |"
        for row in MAPPING_TABLE
    )
    return "\n".join(lines) + "\n"


def plex_user_rating(rating100: int | None) -> str:
    """Stash's 1..100 as Plex's 0..10 with one decimal; ``""`` clears the Plex rating."""
    if not rating100:  # Stash's UI never sets 0: it is "no rating", not "zero stars"
        return ""
    return f"{rating100 / 10:.1f}"


def desired_fields(scene: StashScene, toggles: FieldToggles) -> dict[str, FieldValue]:
    """The Plex fields this scene should produce, only for the fields switched on."""
    fields: dict[str, FieldValue] = {}
    if toggles.title and scene.display_title:
        fields["title"] = scene.display_title
    if toggles.summary:
        fields["summary"] = scene.details
    if toggles.studio:
        fields["studio"] = scene.studio or ""
    if toggles.date:
        fields["originallyAvailableAt"] = scene.date.plex_date() if scene.date else ""
        # Plex shows and sorts by ``year``, a field of its own that a date edit leaves alone.
        fields["year"] = str(scene.date.year) if scene.date else ""
    if toggles.rating:
        fields["userRating"] = plex_user_rating(scene.rating100)
    if toggles.tags:
        fields["genre"] = scene.tags
    if toggles.performers:
        fields["actor"] = scene.performers
    if toggles.groups or toggles.studio_as_collection:
        groups = scene.groups if toggles.groups else ()
        studio = (scene.studio,) if toggles.studio_as_collection and scene.studio else ()
        fields["collection"] = clean_names(groups + studio)
    if toggles.director:
        fields["director"] = scene.directors
    return fields


class FieldChange(BaseModel):
    """One field to write. ``lock_only``: the value is already right but unlocked, so only the
    lock is sent (an unlocked field is overwritten by the next agent refresh). ``lock``: the
    lock to send with it; None sends none, leaving the field's lock as it is (collections, whose
    one lock covers other tools' names too)."""

    model_config = ConfigDict(frozen=True)

    field: str
    old: FieldValue
    new: FieldValue
    lock_only: bool = False
    lock: bool | None = True


class FieldDiff(BaseModel):
    model_config = ConfigDict(frozen=True)

    changes: tuple[FieldChange, ...] = ()

    @property
    def needs_write(self) -> bool:
        return bool(self.changes)


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def _scalar_form(field: str, value: Any) -> str:
    """The value as the sync compares it; Plex hands dates and ratings back in other spellings."""
    if value is None:
        return ""
    if field == "originallyAvailableAt":
        if isinstance(value, date | datetime):
            return value.strftime("%Y-%m-%d")
        text = str(value).strip()
        day = _DAY_PREFIX.match(text)
        return day.group(0) if day else text
    if field == "userRating" and not isinstance(value, bool):
        try:
            return f"{float(value):.1f}" if str(value).strip() else ""
        except ValueError:
            return _nfc(str(value))
    if not isinstance(value, str):
        msg = f"Plex field {field!r} must be text, got {type(value).__name__}"
        raise TypeError(msg)
    return _nfc(value)


def _tag_form(field: str, value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str) or not all(isinstance(name, str) for name in value):
        msg = f"Plex field {field!r} must be a list of names, got {value!r}"
        raise TypeError(msg)
    return tuple(_nfc(name) for name in value)


def field_form(field: str, value: Any) -> FieldValue:
    """A current or desired value in the sync's canonical spelling (NFC, YYYY-MM-DD, "8.5")."""
    if field in TAG_FIELDS:
        return _tag_form(field, value)
    if field in SCALAR_FIELDS:
        return _scalar_form(field, value)
    msg = f"unknown Plex field {field!r}; known: {', '.join(PLEX_FIELDS)}"
    raise ValueError(msg)


def same_value(field: str, left: Any, right: Any) -> bool:
    """Equality as Plex means it: genres, collections and directors are sets, the cast is a
    list, scalars compare after canonical spelling.

    Tag names compare without case: a tag is a server-wide row, and Plex answers with the
    spelling it already holds (Kometa #201, #2676), so ``action`` written where ``Action``
    exists comes back ``Action``. Comparing case-sensitively would rewrite it on every sync and
    take the server's spelling for a person's edit.
    """
    left_form, right_form = field_form(field, left), field_form(field, right)
    if field in TAG_FIELDS:
        left_form = tuple(name_key(name) for name in left_form)
        right_form = tuple(name_key(name) for name in right_form)
    if field in UNORDERED_TAG_FIELDS:
        return set(left_form) == set(right_form)
    return left_form == right_form


def diff_fields(
    current: Mapping[str, Any],
    locked: frozenset[str],
    desired: Mapping[str, FieldValue],
) -> FieldDiff:
    """The writes that bring the Plex item to ``desired``; nothing when it is already there and
    locked, so re-syncing an unchanged scene costs no request. Which fields are desired at all
    is the ownership rules' decision (:mod:`stashplex.sync.ownership`)."""
    unknown = sorted(set(desired) - set(PLEX_FIELDS))
    if unknown:
        msg = f"unknown Plex field(s) {unknown}; known: {', '.join(PLEX_FIELDS)}"
        raise ValueError(msg)
    changes: list[FieldChange] = []
    for field in PLEX_FIELDS:
        if field not in desired:
            continue
        plex_value, wanted = current.get(field), desired[field]
        old, new = field_form(field, plex_value), field_form(field, wanted)
        if same_value(field, plex_value, wanted):
            if field not in locked:
                changes.append(FieldChange(field=field, old=old, new=new, lock_only=True))
            continue
        changes.append(FieldChange(field=field, old=old, new=new))
    return FieldDiff(changes=tuple(changes))
