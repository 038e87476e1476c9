"""Creating and editing performers, studios, tags and groups, with the hooks Stash fires.

Sources: internal/api/resolver_mutation_{performer,studio,tag,group}.go. Each fires its own
`<Kind>.Create.Post` / `<Kind>.Update.Post` (groups also the deprecated `Movie.*` right after),
never a scene hook, and linked scenes keep their `updated_at`: the hook is the only sign a sync
plugin gets that a name it shows changed.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import graphql

from stashplex.sandbox.stash.hook_inputs import (
    GROUP_CREATE_INPUT_KEYS,
    GROUP_UPDATE_INPUT_KEYS,
    PERFORMER_CREATE_INPUT_KEYS,
    STUDIO_CREATE_INPUT_KEYS,
    STUDIO_UPDATE_INPUT_KEYS,
    TAG_CREATE_INPUT_KEYS,
    TAG_UPDATE_INPUT_KEYS,
    generated_input,
    go_struct_input,
    performer_update_input,
    shuffled_keys,
)
from stashplex.sandbox.stash.ids import parse_stash_id
from stashplex.sandbox.stash.mutation_support import MutationBase, started_now
from stashplex.sandbox.stash.records import GroupRecord, PerformerRecord, StudioRecord, TagRecord
from stashplex.sandbox.stash.related_rules import (
    apply_group,
    apply_performer,
    apply_studio,
    apply_tag,
    validate_group,
    validate_performer,
    validate_studio,
    validate_tag,
)
from stashplex.sandbox.stash.resolvers import Resolver
from stashplex.sandbox.stash.scene_edits import validate_date
from stashplex.sandbox.stash.store import StashDataError

GROUP_TRIGGERS = ("Group.{op}.Post", "Movie.{op}.Post")


def _trimmed(input: dict[str, Any], list_key: str) -> dict[str, Any]:
    """Create resolvers trim the name (`strings.TrimSpace`) and every alias."""
    shaped = dict(input)
    shaped["name"] = input["name"].strip()
    if shaped.get(list_key) is not None:
        shaped[list_key] = [alias.strip() for alias in shaped[list_key]]
    return shaped


class RelatedMutations(MutationBase):
    # -- updates ------------------------------------------------------------------------------
    def _update(
        self,
        info: graphql.GraphQLResolveInfo,
        kind: str,
        *,
        input: dict[str, Any],
        apply: Callable[[Any, dict[str, Any]], None],
        validate: Callable[[Any], None],
        hook_input: Any,
        triggers: tuple[str, ...],
    ) -> Any:
        """Edit a copy and swap it in, so a rejected input leaves the row as it was."""
        started = started_now()
        row_id = parse_stash_id(input["id"], "converting id")
        table: dict[int, Any] = getattr(self.store, f"{kind}s")
        with self.store.lock:
            original = table.get(row_id)
            if original is None:
                # Tag/performer/studio validators say "<kind> with id N not found"; the group
                # service returns models.ErrNotFound (pkg/group/validate.go).
                raise StashDataError(
                    "not found" if kind == "group" else f"{kind} with id {row_id} not found"
                )
            row = copy.copy(original)
            apply(row, input)
            validate(row)
            row.updated_at = self.store.clock.now()
            table[row_id] = row
        self.run_hooks(info, triggers, [(row_id, hook_input, shuffled_keys(input))], started)
        return table.get(row_id)

    def performer_update(
        self, _root: Any, info: graphql.GraphQLResolveInfo, input: dict[str, Any]
    ) -> PerformerRecord:
        return self._update(
            info,
            "performer",
            input=input,
            apply=apply_performer,
            validate=lambda row: validate_performer(
                self.store, row, "name" in input or "disambiguation" in input, True
            ),
            hook_input=performer_update_input(input),
            triggers=("Performer.Update.Post",),
        )

    def studio_update(
        self, _root: Any, info: graphql.GraphQLResolveInfo, input: dict[str, Any]
    ) -> StudioRecord:
        return self._update(
            info,
            "studio",
            input=input,
            apply=apply_studio,
            validate=lambda row: validate_studio(
                self.store, row, "name" in input, "aliases" in input
            ),
            hook_input=go_struct_input(input, STUDIO_UPDATE_INPUT_KEYS),
            triggers=("Studio.Update.Post",),
        )

    def tag_update(
        self, _root: Any, info: graphql.GraphQLResolveInfo, input: dict[str, Any]
    ) -> TagRecord:
        return self._update(
            info,
            "tag",
            input=input,
            apply=apply_tag,
            validate=lambda row: validate_tag(self.store, row, "name" in input, "aliases" in input),
            hook_input=generated_input(input, TAG_UPDATE_INPUT_KEYS, required=("id",)),
            triggers=("Tag.Update.Post",),
        )

    def group_update(
        self, _root: Any, info: graphql.GraphQLResolveInfo, input: dict[str, Any]
    ) -> GroupRecord:
        return self._update(
            info,
            "group",
            input=input,
            apply=apply_group,
            validate=lambda row: validate_group(self.store, row),
            hook_input=generated_input(input, GROUP_UPDATE_INPUT_KEYS, required=("id",)),
            triggers=tuple(trigger.format(op="Update") for trigger in GROUP_TRIGGERS),
        )

    # -- creates ------------------------------------------------------------------------------
    def _create(
        self,
        info: graphql.GraphQLResolveInfo,
        kind: str,
        *,
        row: Any,
        input: dict[str, Any],
        apply: Callable[[Any, dict[str, Any]], None],
        validate: Callable[[Any], None],
        hook_input: Any,
        triggers: tuple[str, ...],
    ) -> Any:
        """Build the row, validate it, insert it; then the create hooks (inputFields nil)."""
        started = started_now()
        table: dict[int, Any] = getattr(self.store, f"{kind}s")
        with self.store.lock:
            apply(row, input)
            validate(row)
            row.id = getattr(self.store, f"next_{kind}_id")()
            table[row.id] = row
        self.run_hooks(info, triggers, [(row.id, hook_input, None)], started)
        return table.get(row.id)

    def _stamps(self) -> tuple[str, str]:
        now = self.store.clock.now()
        return now, now

    def tag_create(
        self, _root: Any, info: graphql.GraphQLResolveInfo, input: dict[str, Any]
    ) -> TagRecord:
        shaped = _trimmed(input, "aliases")
        return self._create(
            info,
            "tag",
            row=TagRecord(0, "", *self._stamps()),
            input=shaped,
            apply=apply_tag,
            validate=lambda row: validate_tag(self.store, row, True, True),
            hook_input=generated_input(input, TAG_CREATE_INPUT_KEYS, required=("name",)),
            triggers=("Tag.Create.Post",),
        )

    def performer_create(
        self, _root: Any, info: graphql.GraphQLResolveInfo, input: dict[str, Any]
    ) -> PerformerRecord:
        shaped = _trimmed(input, "alias_list")
        if shaped.get("birthdate"):
            validate_date(shaped["birthdate"])
        return self._create(
            info,
            "performer",
            row=PerformerRecord(0, "", *self._stamps()),
            input=shaped,
            apply=apply_performer,
            validate=lambda row: validate_performer(self.store, row, True, True),
            hook_input=go_struct_input(input, PERFORMER_CREATE_INPUT_KEYS),
            triggers=("Performer.Create.Post",),
        )

    def studio_create(
        self, _root: Any, info: graphql.GraphQLResolveInfo, input: dict[str, Any]
    ) -> StudioRecord:
        shaped = _trimmed(input, "aliases")
        if shaped.get("url") and not shaped.get("urls"):
            shaped["urls"] = [shaped["url"].strip()]
        return self._create(
            info,
            "studio",
            row=StudioRecord(0, "", *self._stamps()),
            input=shaped,
            apply=apply_studio,
            validate=lambda row: validate_studio(self.store, row, True, True),
            hook_input=go_struct_input(input, STUDIO_CREATE_INPUT_KEYS),
            triggers=("Studio.Create.Post",),
        )

    def group_create(
        self, _root: Any, info: graphql.GraphQLResolveInfo, input: dict[str, Any]
    ) -> GroupRecord:
        shaped = _trimmed(input, "urls")
        if shaped.get("date"):
            validate_date(shaped["date"])
        return self._create(
            info,
            "group",
            row=GroupRecord(0, "", *self._stamps()),
            input=shaped,
            apply=apply_group,
            validate=lambda row: validate_group(self.store, row),
            hook_input=generated_input(input, GROUP_CREATE_INPUT_KEYS, required=("name",)),
            triggers=tuple(trigger.format(op="Create") for trigger in GROUP_TRIGGERS),
        )

    def field_resolvers(self) -> dict[str, Resolver]:
        return {
            "performerUpdate": self.performer_update,
            "studioUpdate": self.studio_update,
            "tagUpdate": self.tag_update,
            "groupUpdate": self.group_update,
            "tagCreate": self.tag_create,
            "performerCreate": self.performer_create,
            "studioCreate": self.studio_create,
            "groupCreate": self.group_create,
        }
