"""The `hookContext.input` JSON: the mutation's Go input struct, marshalled by encoding/json.

Which struct decides the shape (pkg/plugin/plugins.go passes the resolver's `input` as is):

- Hand-written structs in pkg/models (SceneUpdateInput, PerformerCreateInput/UpdateInput,
  StudioCreateInput/UpdateInput) have plain `json:"name"` tags: every key is present, in struct
  order, unset ones `null` (even fields the GraphQL schema no longer has, like `height`).
- gqlgen-generated structs (TagCreateInput, TagUpdateInput, TagsMergeInput, *DestroyInput,
  GroupCreateInput/UpdateInput, BulkSceneUpdateInput) get `json:"name,omitempty,omitzero"` on every
  nullable field (gqlgen v0.17.73 plugin/modelgen, `getStructTagFromField`): null fields and
  empty lists are left out, keys in schema order.
- `tagsDestroy`, `performersDestroy`, ... pass the bare id list; `inputFields` is nil for every
  create, destroy and merge (only updates pass `translator.getFields()`).
"""

from __future__ import annotations

import random
from typing import Any

SCENE_UPDATE_INPUT_KEYS = (
    "clientMutationId", "id", "title", "code", "details", "director", "url", "urls", "date",
    "rating100", "o_counter", "organized", "studio_id", "gallery_ids", "performer_ids", "movies",
    "groups", "tag_ids", "cover_image", "stash_ids", "resume_time", "play_duration", "play_count",
    "primary_file_id",
)  # fmt: skip
BULK_SCENE_UPDATE_INPUT_KEYS = (
    "clientMutationId", "ids", "title", "code", "details", "director", "url", "urls", "date",
    "rating100", "organized", "studio_id", "gallery_ids", "performer_ids", "tag_ids", "group_ids",
    "movie_ids",
)  # fmt: skip
_PERFORMER_FIELDS = (
    "name", "disambiguation", "url", "urls", "gender", "birthdate", "ethnicity", "country",
    "eye_color", "height", "height_cm", "measurements", "fake_tits", "penis_length",
    "circumcised", "career_length", "tattoos", "piercings", "aliases", "alias_list", "twitter",
    "instagram", "favorite", "tag_ids", "image", "stash_ids", "rating100", "details", "death_date",
    "hair_color", "weight", "ignore_auto_tag", "custom_fields",
)  # fmt: skip
PERFORMER_CREATE_INPUT_KEYS = _PERFORMER_FIELDS
PERFORMER_UPDATE_INPUT_KEYS = ("id", *_PERFORMER_FIELDS)
_STUDIO_FIELDS = (
    "name", "url", "urls", "parent_id", "image", "stash_ids", "rating100", "favorite", "details",
    "aliases", "tag_ids", "ignore_auto_tag",
)  # fmt: skip
STUDIO_CREATE_INPUT_KEYS = _STUDIO_FIELDS
STUDIO_UPDATE_INPUT_KEYS = ("id", *_STUDIO_FIELDS)
_TAG_FIELDS = (
    "name", "sort_name", "description", "aliases", "ignore_auto_tag", "favorite", "image",
    "stash_ids", "parent_ids", "child_ids",
)  # fmt: skip
TAG_CREATE_INPUT_KEYS = _TAG_FIELDS
TAG_UPDATE_INPUT_KEYS = ("id", *_TAG_FIELDS)
_GROUP_FIELDS = (
    "name", "aliases", "duration", "date", "rating100", "studio_id", "director", "synopsis", "urls",
    "tag_ids", "containing_groups", "sub_groups", "front_image", "back_image",
)  # fmt: skip
GROUP_CREATE_INPUT_KEYS = _GROUP_FIELDS
GROUP_UPDATE_INPUT_KEYS = ("id", *_GROUP_FIELDS)
TAGS_MERGE_INPUT_KEYS = ("source", "destination")
DESTROY_INPUT_KEYS = ("id",)
#: models.CustomFieldsInput is a struct value (not a pointer) in PerformerUpdateInput.
EMPTY_CUSTOM_FIELDS_INPUT = {"full": None, "partial": None, "remove": None}


def go_struct_input(raw: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    """A pkg/models input struct: every key, in struct order, absent ones null."""
    return {key: raw.get(key) for key in keys}


def generated_input(
    raw: dict[str, Any], keys: tuple[str, ...], required: tuple[str, ...] = ()
) -> dict[str, Any]:
    """A gqlgen-generated input struct: nullable fields omitted when null or an empty list."""
    shaped: dict[str, Any] = {}
    for key in keys:
        if key not in raw:
            if key in required:
                shaped[key] = None
            continue
        value = raw[key]
        if key not in required and (value is None or value == []):
            continue
        shaped[key] = value
    return shaped


def performer_update_input(raw: dict[str, Any]) -> dict[str, Any]:
    shaped = go_struct_input(raw, PERFORMER_UPDATE_INPUT_KEYS)
    custom = raw.get("custom_fields") or {}
    shaped["custom_fields"] = {**EMPTY_CUSTOM_FIELDS_INPUT, **custom}
    return shaped


def shuffled_keys(raw_input: dict[str, Any]) -> list[str]:
    """`inputFields`: Stash collects them from a Go map, so their order is random."""
    keys = list(raw_input)
    random.shuffle(keys)
    return keys
