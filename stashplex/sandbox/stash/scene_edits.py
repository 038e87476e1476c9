"""How SceneUpdateInput / BulkSceneUpdateInput / SceneCreateInput change a scene row.

Only keys present in the input change anything (an explicit null clears); every scene update
moves `updated_at`, even one that changes nothing, as Stash's partial update always does.
Callers hold the store lock.
"""

from __future__ import annotations

import base64
import binascii
import copy
import re
from typing import Any

from stashplex.sandbox.stash.ids import parse_stash_id
from stashplex.sandbox.stash.records import SceneGroupLink, SceneRecord, StashIdRecord
from stashplex.sandbox.stash.store import StashDataError, StashStore

PARTIAL_DATE = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?$")
TEXT_FIELDS = ("title", "code", "details", "director")


def validate_date(date: str | None) -> str | None:
    """Stash accepts `YYYY`, `YYYY-MM` and `YYYY-MM-DD` (v0.30+); anything else is an error."""
    if date is None or date == "":
        return None
    if not PARTIAL_DATE.match(date):
        raise StashDataError(f"invalid date {date!r}: expected YYYY, YYYY-MM or YYYY-MM-DD")
    return date


def decode_image(value: str | None) -> bytes | None:
    """Accept a base64 data URL or bare base64; the emulator never fetches remote URLs."""
    if value is None or value == "":
        return None
    if value.startswith(("http://", "https://")):
        raise StashDataError("the emulator does not download images; send a base64 data URL")
    payload = value.split(",", 1)[1] if value.startswith("data:") else value
    try:
        return base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError) as error:
        raise StashDataError(f"invalid image data: {error}") from error


def _ids(store: StashStore, raw_ids: list[Any] | None, kind: str) -> list[int]:
    ids = [parse_stash_id(raw, f"converting {kind} ids") for raw in raw_ids or []]
    lookup = {
        "tag": store.require_tag,
        "performer": store.require_performer,
        "group": store.require_group,
    }.get(kind)
    if lookup is not None:
        for row_id in ids:
            lookup(row_id)
    return list(dict.fromkeys(ids))


def _group_links(store: StashStore, input: dict[str, Any]) -> list[SceneGroupLink] | None:
    if "groups" in input:
        entries = [(item["group_id"], item.get("scene_index")) for item in input["groups"] or []]
    elif "movies" in input:
        entries = [(item["movie_id"], item.get("scene_index")) for item in input["movies"] or []]
    else:
        return None
    links = []
    for raw_id, index in entries:
        group_id = parse_stash_id(raw_id, "converting group ids")
        store.require_group(group_id)
        links.append(SceneGroupLink(group_id, index))
    return links


def _stash_ids(store: StashStore, raw: list[dict[str, Any]] | None) -> list[StashIdRecord]:
    return [
        StashIdRecord(
            item["endpoint"], item["stash_id"], item.get("updated_at") or store.clock.now()
        )
        for item in raw or []
    ]


def _apply_common(store: StashStore, scene: SceneRecord, input: dict[str, Any]) -> None:
    """Fields whose meaning is the same in create and update inputs."""
    _apply_scalars(scene, input)
    _apply_relations(store, scene, input)


def _apply_scalars(scene: SceneRecord, input: dict[str, Any]) -> None:
    for key in TEXT_FIELDS:
        if key in input:
            setattr(scene, key, input[key])
    if "date" in input:
        scene.date = validate_date(input["date"])
    if "rating100" in input:
        scene.rating100 = input["rating100"]
    if input.get("organized") is not None:
        scene.organized = input["organized"]
    if "urls" in input:
        scene.urls = list(input["urls"] or [])
    elif "url" in input:
        scene.urls = [input["url"]] if input["url"] else []
    if input.get("cover_image"):
        scene.cover = decode_image(input["cover_image"])


def _apply_relations(store: StashStore, scene: SceneRecord, input: dict[str, Any]) -> None:
    if "studio_id" in input:
        studio = input["studio_id"]
        scene.studio_id = (
            None
            if studio is None
            else store.require_studio(parse_stash_id(studio, "converting studio id")).id
        )
    if "performer_ids" in input:
        scene.performer_ids = _ids(store, input["performer_ids"], "performer")
    if "tag_ids" in input:
        scene.tag_ids = _ids(store, input["tag_ids"], "tag")
    if "gallery_ids" in input:
        scene.gallery_ids = _ids(store, input["gallery_ids"], "gallery")
    links = _group_links(store, input)
    if links is not None:
        scene.groups_links = links
    if "stash_ids" in input:
        scene.stash_ids = _stash_ids(store, input["stash_ids"])


def apply_scene_update(
    store: StashStore, original: SceneRecord, input: dict[str, Any]
) -> SceneRecord:
    """Return the updated row; the original is untouched if the input is rejected (a rollback)."""
    scene = copy.copy(original)
    _apply_common(store, scene, input)
    for key in ("resume_time", "play_duration"):
        if key in input:
            setattr(scene, key, input[key])
    if input.get("primary_file_id") is not None:
        file_id = parse_stash_id(input["primary_file_id"], "converting primary file id")
        primary = next((file for file in scene.files if file.id == file_id), None)
        if primary is None:
            raise StashDataError(f"file with id {file_id} not associated with scene")
        scene.files = [primary] + [file for file in scene.files if file is not primary]
    scene.updated_at = store.clock.now()
    return scene


def _bulk_ids(current: list[int], update: dict[str, Any] | None, ids: list[int]) -> list[int]:
    mode = update["mode"] if update else "SET"
    if mode == "SET":
        return ids
    if mode == "ADD":
        return list(dict.fromkeys([*current, *ids]))
    return [row_id for row_id in current if row_id not in set(ids)]


def apply_bulk_scene_update(
    store: StashStore,
    original: SceneRecord,
    input: dict[str, Any],
    now: str,
) -> SceneRecord:
    """BulkUpdateIds modes: SET replaces, ADD appends missing ids, REMOVE drops the given ids."""
    scene = copy.copy(original)
    simple = {
        key: value
        for key, value in input.items()
        if key in {*TEXT_FIELDS, "date", "rating100", "organized", "studio_id", "url"}
    }
    _apply_common(store, scene, simple)
    for key, kind in (
        ("tag_ids", "tag"),
        ("performer_ids", "performer"),
        ("gallery_ids", "gallery"),
    ):
        update = input.get(key)
        if update is not None:
            ids = _ids(store, update.get("ids"), kind)
            setattr(scene, key, _bulk_ids(getattr(scene, key), update, ids))
    group_update = input.get("group_ids") or input.get("movie_ids")
    if group_update is not None:
        ids = _ids(store, group_update.get("ids"), "group")
        current = [link.group_id for link in scene.groups_links]
        indexes = {link.group_id: link.scene_index for link in scene.groups_links}
        scene.groups_links = [
            SceneGroupLink(gid, indexes.get(gid)) for gid in _bulk_ids(current, group_update, ids)
        ]
    url_update = input.get("urls")
    if url_update is not None:
        values = list(url_update.get("values") or [])
        mode = url_update["mode"]
        if mode == "SET":
            scene.urls = values
        elif mode == "ADD":
            scene.urls = list(dict.fromkeys([*scene.urls, *values]))
        else:
            scene.urls = [url for url in scene.urls if url not in values]
    scene.updated_at = now
    return scene


def new_scene_from_input(store: StashStore, input: dict[str, Any]) -> SceneRecord:
    """sceneCreate: file_ids move the files from their current scenes (first one is primary)."""
    now = store.clock.now()
    scene = SceneRecord(id=store.next_scene_id(), created_at=now, updated_at=now)
    _apply_common(store, scene, input)
    owners = {file.id: owner for owner in store.scenes.values() for file in owner.files}
    for raw_id in input.get("file_ids") or []:
        file_id = parse_stash_id(raw_id, "converting file ids")
        if file_id not in owners:
            raise StashDataError(f"file with id {file_id} not found")
    for raw_id in input.get("file_ids") or []:
        owner = owners[int(raw_id)]
        moved = next(file for file in owner.files if file.id == int(raw_id))
        owner.files = [file for file in owner.files if file is not moved]
        scene.files = [*scene.files, moved]
    store.scenes[scene.id] = scene
    return scene
