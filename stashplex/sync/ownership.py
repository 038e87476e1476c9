"""Who a Plex field belongs to, and so what a sync writes, clears or leaves alone.

The ownership model, in three sentences (the README's "Ownership" section says the same):

1. stashplex owns a field of an item once it has written it, and an owned field follows Stash
   exactly: a Stash value replaces it, a Stash value removed clears it.
2. A field stashplex does not own is only filled, never cleared: an empty Stash value leaves
   Plex's value and its lock alone, unless ``stash_authoritative`` makes Stash authoritative for
   every mapped field, empty included.
3. Collections are owned name by name: stashplex adds and removes only the collection names it
   added (groups, and the studio with ``studio_as_collection``) and never locks the list, so
   other tools' collections and Plex's own stay.

Why: a new user's Plex library already holds an agent's metadata, and a freshly scanned Stash
scene holds none; "Stash is authoritative" would wipe and lock every field on the first sync.

Details a reader of the code needs:

* Empty is ``""`` for text and ``()`` for lists. A scene without a title is titled by its file
  name, and that fallback counts as empty: it never replaces an agent's title on a field we do
  not own, and it is what "cleared" means for a title we do own (Plex cannot show no title).
* Ownership is taken by sending something for the field, a value or a lock. A field that already
  shows Stash's value, locked, costs no write and is not taken.
* ``preserve_plex_edits``: an owned field a person changed in Plex since our last write (to
  something other than what Stash says now) is *preserved*, left alone until it is released
  (``stashplex release``), which forgets our ownership so Stash's value is filled in again.
* Only owned and filled fields are locked; a left-alone field keeps whatever lock it had.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from enum import StrEnum
from typing import Any, NamedTuple

from pydantic import BaseModel, ConfigDict

from stashplex.sync.fieldmap import (
    PLEX_FIELDS,
    FieldChange,
    FieldValue,
    diff_fields,
    field_form,
    same_value,
)
from stashplex.sync.sanitize import name_key

COLLECTION = "collection"
#: Names a person may use for a field besides Plex's own: Stash's and the settings' words.
FIELD_ALIASES: dict[str, str] = {
    "details": "summary",
    "date": "originallyAvailableAt",
    "rating": "userRating",
    "rating100": "userRating",
    "tags": "genre",
    "genres": "genre",
    "performers": "actor",
    "actors": "actor",
    "groups": "collection",
    "collections": "collection",
    "directors": "director",
}


class Verdict(StrEnum):
    """What a sync does with one field of one item."""

    #: Ours already: follows Stash (written, cleared, or already right).
    OWNED = "owned"
    #: Not ours, and Stash has a value: it is written and locked, and becomes ours.
    FILLED = "filled"
    #: Not ours, and Stash has nothing: Plex keeps its value and its lock.
    LEFT_ALONE = "left alone"
    #: Ours, but a person changed it in Plex since, and ``preserve_plex_edits`` keeps that.
    PRESERVED = "preserved"


class OwnershipPolicy(BaseModel):
    """The two settings that change who wins a field."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    stash_authoritative: bool = False
    preserve_plex_edits: bool = False

    @classmethod
    def from_settings(cls, settings: object) -> OwnershipPolicy:
        """Takes any object with those attributes (the settings model sits above this layer)."""
        return cls(
            stash_authoritative=bool(getattr(settings, "stash_authoritative", False)),
            preserve_plex_edits=bool(getattr(settings, "preserve_plex_edits", False)),
        )


def plex_field_names(names: Sequence[str]) -> list[str]:
    """Plex's names for fields a person named in Plex's, Stash's or the settings' words (any
    case), each once; ValueError naming the first unknown one and the known ones."""
    known = {field.casefold(): field for field in PLEX_FIELDS}
    known.update(FIELD_ALIASES)
    result: list[str] = []
    for name in names:
        field = known.get(str(name).strip().casefold())
        if field is None:
            words = ", ".join([*PLEX_FIELDS, *FIELD_ALIASES])
            raise ValueError(f"unknown field {name!r}; known: {words}")
        if field not in result:
            result.append(field)
    return result


def field_verdict(
    *, owned: bool, stash_empty: bool, edited_in_plex: bool, policy: OwnershipPolicy
) -> Verdict:
    """The ownership rule for one field (collections use :func:`plan_collections` instead).

    ``edited_in_plex``: Plex shows neither what we last wrote nor what Stash says now.
    """
    if owned:
        if edited_in_plex and policy.preserve_plex_edits:
            return Verdict.PRESERVED
        return Verdict.OWNED
    if not stash_empty:
        return Verdict.FILLED
    return Verdict.OWNED if policy.stash_authoritative else Verdict.LEFT_ALONE


def empty_fields(desired: Mapping[str, FieldValue], *, titled: bool) -> frozenset[str]:
    """The desired fields that stand for "Stash has nothing here"; ``titled``: the scene has a
    title of its own (else its file-name title counts as empty)."""
    empty = {field for field, value in desired.items() if not value}
    if "title" in desired and not titled:
        empty.add("title")
    return frozenset(empty)


class CollectionPlan(NamedTuple):
    """What happens to an item's collections: names are compared case-insensitively."""

    added: tuple[str, ...]
    removed: tuple[str, ...]
    #: The item's whole collection list afterwards, its other names in their order first.
    result: tuple[str, ...]
    #: The names stashplex owns on the item afterwards.
    ours: tuple[str, ...]


def plan_collections(
    current: Sequence[str], ours: Sequence[str], wanted: Sequence[str]
) -> CollectionPlan:
    """Add Stash's names that are missing, remove the names we added that Stash dropped, leave
    every other name alone. A wanted name that was already there (another tool's, or Plex's) is
    not ours: we did not add it, so we will never remove it."""
    present = {name_key(name) for name in current}
    owned = {name_key(name) for name in ours}
    wanted_keys = {name_key(name) for name in wanted}
    added = tuple(name for name in wanted if name_key(name) not in present)
    removed = tuple(
        name for name in current if name_key(name) in owned and name_key(name) not in wanted_keys
    )
    gone = {name_key(name) for name in removed}
    result = tuple(name for name in current if name_key(name) not in gone) + added
    after = tuple(
        name for name in wanted if name_key(name) in owned or name_key(name) not in present
    )
    return CollectionPlan(added, removed, result, after)


class FieldDecision(BaseModel):
    """One field's verdict, with what Plex shows now and what Stash says (for the dry run)."""

    model_config = ConfigDict(frozen=True)

    field: str
    verdict: Verdict
    plex_value: FieldValue
    stash_value: FieldValue


class OwnershipPlan(BaseModel):
    """A whole item's decisions, the edits they need, and the ownership they leave behind."""

    model_config = ConfigDict(frozen=True)

    decisions: tuple[FieldDecision, ...] = ()
    changes: tuple[FieldChange, ...] = ()
    #: Every field stashplex owns after the write, with the value it wrote (collections: our
    #: names). Fields outside this sync (switched off, not on this item type) keep their entry.
    owned: dict[str, FieldValue] = {}

    @property
    def preserved(self) -> tuple[str, ...]:
        return tuple(d.field for d in self.decisions if d.verdict is Verdict.PRESERVED)


def plan_ownership(
    current: Mapping[str, Any],
    locked: frozenset[str],
    desired: Mapping[str, FieldValue],
    *,
    empty: frozenset[str],
    owned: Mapping[str, FieldValue],
    policy: OwnershipPolicy,
) -> OwnershipPlan:
    """Decide every desired field of one item; ``owned`` is what we own now (field -> the value
    we last wrote), ``current`` and ``locked`` what Plex shows now."""
    decisions: dict[str, FieldDecision] = {}
    followed: dict[str, FieldValue] = {}
    for field in PLEX_FIELDS:
        if field not in desired or field == COLLECTION:
            continue
        plex_value, wanted = current.get(field), desired[field]
        is_owned = field in owned
        edited = (
            is_owned
            and not same_value(field, plex_value, owned[field])
            and not same_value(field, plex_value, wanted)
        )
        verdict = field_verdict(
            owned=is_owned, stash_empty=field in empty, edited_in_plex=edited, policy=policy
        )
        decisions[field] = _decision(field, verdict, plex_value, wanted)
        if verdict in (Verdict.OWNED, Verdict.FILLED):
            followed[field] = wanted
    changes = list(diff_fields(current, locked, followed).changes)
    after = dict(owned)
    sent = {change.field for change in changes}
    after.update({f: field_form(f, v) for f, v in followed.items() if f in sent or f in owned})
    if COLLECTION in desired:
        decision, change, ours = _collection_field(current, desired[COLLECTION], owned, policy)
        decisions[COLLECTION] = decision
        changes += [change] if change else []
        if decision.verdict is not Verdict.PRESERVED:
            after[COLLECTION] = ours
            if not ours:
                del after[COLLECTION]
    order = {field: index for index, field in enumerate(PLEX_FIELDS)}
    return OwnershipPlan(
        decisions=tuple(sorted(decisions.values(), key=lambda d: order[d.field])),
        changes=tuple(sorted(changes, key=lambda c: order[c.field])),
        owned=after,
    )


def _decision(field: str, verdict: Verdict, plex_value: Any, wanted: Any) -> FieldDecision:
    return FieldDecision(
        field=field,
        verdict=verdict,
        plex_value=field_form(field, plex_value),
        stash_value=field_form(field, wanted),
    )


def _collection_field(
    current: Mapping[str, Any],
    desired: FieldValue,
    owned: Mapping[str, FieldValue],
    policy: OwnershipPolicy,
) -> tuple[FieldDecision, FieldChange | None, tuple[str, ...]]:
    """The collection list's decision, its edit (never a lock), and the names ours after it."""
    plex = field_form(COLLECTION, current.get(COLLECTION))
    ours = field_form(COLLECTION, owned.get(COLLECTION, ()))
    wanted = field_form(COLLECTION, desired)
    plan = plan_collections(plex, ours, wanted)
    present = {name_key(name) for name in plex}
    wanted_keys = {name_key(name) for name in wanted}
    # A person took one of our names off the item and Stash still has it.
    edited = any(name_key(n) not in present and name_key(n) in wanted_keys for n in ours)
    if edited and policy.preserve_plex_edits:
        verdict = Verdict.PRESERVED
    elif ours:
        verdict = Verdict.OWNED
    else:
        verdict = Verdict.FILLED if plan.added else Verdict.LEFT_ALONE
    decision = _decision(COLLECTION, verdict, plex, wanted)
    if verdict is Verdict.PRESERVED or not (plan.added or plan.removed):
        return decision, None, plan.ours
    return decision, FieldChange(field=COLLECTION, old=plex, new=plan.result, lock=None), plan.ours
