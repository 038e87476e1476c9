"""Performers, studios, tags and groups: how an input changes a row, and what Stash refuses.

Validation follows pkg/tag/validate.go + update.go, pkg/performer/validate.go,
pkg/studio/validate.go and pkg/group/validate.go + create.go. Name clashes are found with SQL
`LIKE` (the `EQUALS` string criterion), so they are ASCII-case-insensitive and `_`/`%` are
wildcards, exactly as in Stash. Callers hold the store lock.
"""

from __future__ import annotations

from typing import Any

from stashplex.sandbox.stash.ids import parse_stash_id
from stashplex.sandbox.stash.records import GroupRecord, PerformerRecord, StudioRecord, TagRecord
from stashplex.sandbox.stash.scene_edits import decode_image
from stashplex.sandbox.stash.sql_text import like
from stashplex.sandbox.stash.store import StashDataError, StashStore


def _copy_present(row: Any, input: dict[str, Any], keys: tuple[str, ...]) -> None:
    for key in keys:
        if key in input:
            setattr(row, key, input[key])


def apply_performer(performer: PerformerRecord, input: dict[str, Any]) -> None:
    _copy_present(
        performer,
        input,
        ("disambiguation", "gender", "birthdate", "country", "rating100", "details"),
    )
    if input.get("name") is not None:
        performer.name = input["name"]
    if input.get("favorite") is not None:
        performer.favorite = input["favorite"]
    if "urls" in input:
        performer.urls = list(input["urls"] or [])
    if "alias_list" in input:
        performer.alias_list = list(input["alias_list"] or [])
    if "image" in input:
        performer.image = decode_image(input["image"])


def apply_studio(studio: StudioRecord, input: dict[str, Any]) -> None:
    _copy_present(studio, input, ("details", "rating100"))
    if input.get("name") is not None:
        studio.name = input["name"]
    if input.get("favorite") is not None:
        studio.favorite = input["favorite"]
    if "urls" in input:
        studio.urls = list(input["urls"] or [])
    if "aliases" in input:
        studio.aliases = list(input["aliases"] or [])
    if "parent_id" in input:
        studio.parent_id = (
            None if input["parent_id"] is None else parse_stash_id(input["parent_id"])
        )
    if "image" in input:
        studio.image = decode_image(input["image"])


def apply_tag(tag: TagRecord, input: dict[str, Any]) -> None:
    _copy_present(tag, input, ("sort_name", "description"))
    if input.get("name") is not None:
        tag.name = input["name"]
    for flag in ("favorite", "ignore_auto_tag"):
        if input.get(flag) is not None:
            setattr(tag, flag, input[flag])
    if "aliases" in input:
        tag.aliases = list(input["aliases"] or [])
    if "image" in input:
        tag.image = decode_image(input["image"])


def apply_group(group: GroupRecord, input: dict[str, Any]) -> None:
    _copy_present(
        group, input, ("aliases", "duration", "date", "rating100", "director", "synopsis")
    )
    if input.get("name") is not None:
        group.name = input["name"]
    if "studio_id" in input:
        group.studio_id = None if input["studio_id"] is None else parse_stash_id(input["studio_id"])
    if "urls" in input:
        group.urls = list(input["urls"] or [])
    if "front_image" in input:
        group.front_image = decode_image(input["front_image"])


# -- validation ---------------------------------------------------------------------------------
def _ensure_name_unique(
    kind: str, rows: list[TagRecord] | list[StudioRecord], own_id: int, name: str
) -> None:
    """`EnsureTagNameUnique` / `EnsureStudioNameUnique`: no other row has it as name or alias."""
    for row in rows:
        if row.id != own_id and like(name, row.name):
            raise StashDataError(f"{kind} with name '{name}' already exists")
    for row in rows:
        if row.id != own_id and any(like(name, alias) for alias in row.aliases):
            raise StashDataError(f"name '{name}' is used as alias for '{row.name}'")


def validate_tag(store: StashStore, tag: TagRecord, check_name: bool, check_aliases: bool) -> None:
    """pkg/tag/validate.go `ValidateCreate` / `ValidateUpdate`."""
    rows = list(store.tags.values())
    if check_name:
        if tag.name == "":
            raise StashDataError("tag name must not be blank")
        _ensure_name_unique("tag", rows, tag.id, tag.name)
    if check_aliases:
        for alias in tag.aliases:
            _ensure_name_unique("tag", rows, tag.id, alias)


def validate_studio(
    store: StashStore, studio: StudioRecord, check_name: bool, check_aliases: bool
) -> None:
    """pkg/studio/validate.go `ValidateCreate` / `ValidateModify`."""
    rows = list(store.studios.values())
    if check_name:
        if studio.name == "":
            raise StashDataError("studio name must not be blank")
        _ensure_name_unique("studio", rows, studio.id, studio.name)
    if check_aliases:
        for alias in studio.aliases:
            if alias == "":
                raise StashDataError("studio alias must not be an empty string")
            _ensure_name_unique("studio", rows, studio.id, alias)
    if studio.parent_id is not None:
        store.require_studio(studio.parent_id)
        if studio.parent_id == studio.id:
            raise StashDataError("studio cannot be an ancestor of itself")


def validate_performer(
    store: StashStore, performer: PerformerRecord, check_name: bool, check_aliases: bool
) -> None:
    """pkg/performer/validate.go: name + disambiguation unique, aliases distinct from the name."""
    if check_name:
        if performer.name == "":
            raise StashDataError("performer name must not be blank")
        disambiguation = performer.disambiguation or ""
        for row in store.performers.values():
            if row.id == performer.id or not like(performer.name, row.name):
                continue
            other = (row.disambiguation or "").strip()
            if (disambiguation == "" and other == "") or (
                disambiguation != "" and like(disambiguation, row.disambiguation)
            ):
                if disambiguation:
                    raise StashDataError(
                        f"performer with name '{performer.name}' and disambiguation "
                        f"'{disambiguation}' already exists"
                    )
                raise StashDataError(f"performer with name '{performer.name}' already exists")
    if check_aliases:
        seen = {performer.name.lower()}
        for alias in performer.alias_list:
            if alias.lower() in seen:
                raise StashDataError(f"performer contains duplicate alias '{alias}'")
            seen.add(alias.lower())


def validate_group(store: StashStore, group: GroupRecord) -> None:
    """pkg/group/validate.go `validateName`: only a blank name is refused (no uniqueness)."""
    if group.name.strip() == "":
        raise StashDataError("name cannot be empty")
    if group.studio_id is not None:
        store.require_studio(group.studio_id)
