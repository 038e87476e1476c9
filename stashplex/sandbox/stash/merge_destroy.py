"""Destroying and merging tags, performers, studios and groups, and what that does to scenes.

Sources: internal/api/resolver_mutation_{tag,performer,studio,group}.go, pkg/sqlite/tag.go
(`Merge`, `Destroy`), pkg/sqlite/performer.go (`Merge`), pkg/sqlite/repository.go
(`destroyExisting`), and the foreign keys of the migrations. None of these touches a scene row:

- destroying a tag/performer/group drops its join rows (ON DELETE CASCADE); destroying a studio
  sets `scenes.studio_id`, child studios' `parent_id` and groups' `studio_id` to NULL (SET NULL).
  Linked scenes change what they show but keep their `updated_at`, and no scene hook fires:
  only `<Kind>.Destroy.Post` (groups: also `Movie.Destroy.Post`) with the destroy input.
- `tagsMerge` rewrites `scenes_tags` to the destination, adds the sources' names and aliases to
  the destination's aliases and deletes the sources. Neither the scenes' nor the destination
  tag's `updated_at` moves. One `Tag.Merge.Post` fires, for the destination id, with the
  TagsMergeInput; no Tag.Destroy.Post for the sources.
- `performerMerge` moves the sources' scene links to the destination, applies `values` to the
  destination (its `updated_at` moves) and deletes the sources. No hook at all, and the result
  is the destination as it was read *before* the merge (the resolver returns that struct).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import graphql

from stashplex.sandbox.stash.hook_inputs import DESTROY_INPUT_KEYS, generated_input
from stashplex.sandbox.stash.ids import parse_id_list, parse_stash_id
from stashplex.sandbox.stash.mutation_support import MutationBase, started_now
from stashplex.sandbox.stash.records import PerformerRecord, SceneRecord, TagRecord
from stashplex.sandbox.stash.related_rules import apply_performer, validate_performer
from stashplex.sandbox.stash.resolvers import Resolver
from stashplex.sandbox.stash.store import StashDataError

TABLE_NAMES = {"tag": "tags", "performer": "performers", "studio": "studios", "group": "groups"}
DESTROY_TRIGGERS = {
    "tag": ("Tag.Destroy.Post",),
    "performer": ("Performer.Destroy.Post",),
    "studio": ("Studio.Destroy.Post",),
    "group": ("Group.Destroy.Post", "Movie.Destroy.Post"),
}
LEGACY_PERFORMER_URL_KEYS = ("url", "twitter", "instagram")


class MergeDestroyMutations(MutationBase):
    # -- destroy ------------------------------------------------------------------------------
    def _unlink(self, kind: str, row_id: int) -> None:
        """The foreign-key actions on scenes (and studios/groups) when a row goes away."""
        relink: dict[str, Callable[[SceneRecord], SceneRecord | None]] = {
            "tag": lambda s: (
                _with(s, tag_ids=[t for t in s.tag_ids if t != row_id])
                if row_id in s.tag_ids
                else None
            ),
            "performer": lambda s: (
                _with(s, performer_ids=[p for p in s.performer_ids if p != row_id])
                if row_id in s.performer_ids
                else None
            ),
            "studio": lambda s: _with(s, studio_id=None) if s.studio_id == row_id else None,
            "group": lambda s: (
                _with(s, groups_links=[g for g in s.groups_links if g.group_id != row_id])
                if any(g.group_id == row_id for g in s.groups_links)
                else None
            ),
        }
        for scene_id, scene in list(self.store.scenes.items()):
            changed = relink[kind](scene)
            if changed is not None:
                self.store.scenes[scene_id] = changed  # updated_at deliberately unchanged
        if kind == "studio":
            for table in (self.store.studios, self.store.groups):
                for other_id, other in list(table.items()):
                    key = "parent_id" if table is self.store.studios else "studio_id"
                    if getattr(other, key) == row_id:
                        table[other_id] = _with(other, **{key: None})

    def _destroy(
        self, info: graphql.GraphQLResolveInfo, kind: str, raw_ids: list[str], hook_input: Any
    ) -> bool:
        started = started_now()
        context = "converting id" if hook_input is not None else "converting ids"
        ids = parse_id_list(raw_ids, context)
        table: dict[int, Any] = getattr(self.store, f"{kind}s")
        with self.store.lock:
            for row_id in ids:  # all or nothing: one transaction in Stash
                if row_id not in table:
                    raise StashDataError(f"id {row_id} does not exist in {TABLE_NAMES[kind]}")
            for row_id in ids:
                del table[row_id]
                self._unlink(kind, row_id)
        # the plural mutations hand every hook the bare list of ids (e.g. TagsDestroy)
        payload = hook_input if hook_input is not None else list(raw_ids)
        events = [(row_id, payload, None) for row_id in ids]
        self.run_hooks(info, DESTROY_TRIGGERS[kind], events, started)
        return True

    def _single(self, kind: str) -> Resolver:
        def destroy(_root: Any, info: graphql.GraphQLResolveInfo, input: dict[str, Any]) -> bool:
            hook_input = generated_input(input, DESTROY_INPUT_KEYS, required=("id",))
            return self._destroy(info, kind, [input["id"]], hook_input)

        return destroy

    def _plural(self, kind: str) -> Resolver:
        def destroy(_root: Any, info: graphql.GraphQLResolveInfo, ids: list[str]) -> bool:
            return self._destroy(info, kind, ids, None)

        return destroy

    # -- merge --------------------------------------------------------------------------------
    def tags_merge(
        self, _root: Any, info: graphql.GraphQLResolveInfo, input: dict[str, Any]
    ) -> TagRecord | None:
        started = started_now()
        sources = parse_id_list(input["source"], "converting source ids")
        destination = parse_stash_id(input["destination"], "converting destination id")
        if not sources:
            return None
        with self.store.lock:
            target = self.store.tags.get(destination)
            if target is None:
                raise StashDataError(f"tag with id {destination} not found")
            if destination in sources:
                raise StashDataError("cannot merge where source == destination")
            seen: set[int] = set()
            for source in sources:  # a repeated source is destroyed twice: the second fails
                if source not in self.store.tags or source in seen:
                    raise StashDataError(f"id {source} does not exist in tags")
                seen.add(source)
            merged = [self.store.tags[source] for source in sorted(set(sources))]
            aliases = [tag.name for tag in merged] + [a for tag in merged for a in tag.aliases]
            self.store.tags[destination] = _with(target, aliases=[*target.aliases, *aliases])
            for scene_id, scene in list(self.store.scenes.items()):
                if set(scene.tag_ids) & set(sources):
                    kept = [t for t in scene.tag_ids if t not in sources]
                    if destination not in kept:
                        kept.append(destination)
                    self.store.scenes[scene_id] = _with(scene, tag_ids=kept)
            for source in sources:
                del self.store.tags[source]
        hook_input = generated_input(input, ("source", "destination"), ("source", "destination"))
        self.run_hooks(info, ("Tag.Merge.Post",), [(destination, hook_input, None)], started)
        return self.store.tags.get(destination)

    def performer_merge(
        self, _root: Any, info: graphql.GraphQLResolveInfo, input: dict[str, Any]
    ) -> PerformerRecord:
        started = started_now()
        sources = list(dict.fromkeys(parse_id_list(input["source"], "converting source ids")))
        destination = parse_stash_id(input["destination"], "converting destination id")
        if destination in sources:
            raise StashDataError("destination performer cannot be in source list")
        values = {k: v for k, v in (input.get("values") or {}).items() if k != "id"}
        if any(values.get(key) is not None for key in LEGACY_PERFORMER_URL_KEYS):
            raise StashDataError("Merging legacy performer URLs is not supported")
        with self.store.lock:
            before = self.store.performers.get(destination)
            for source in sources:
                if source not in self.store.performers:
                    raise StashDataError(
                        f"finding source performers: performer with id {source} not found"
                    )
            if before is None:
                raise StashDataError("updating performer: sql: no rows in result set")
            updated = copy.copy(before)
            apply_performer(updated, values)
            validate_performer(self.store, updated, "name" in values, "alias_list" in values)
            updated.updated_at = self.store.clock.now()
            self.store.performers[destination] = updated
            for scene_id, scene in list(self.store.scenes.items()):
                if set(scene.performer_ids) & set(sources):
                    kept = [p for p in scene.performer_ids if p not in sources]
                    if destination not in kept:
                        kept.append(destination)
                    self.store.scenes[scene_id] = _with(scene, performer_ids=kept)
            for source in sources:
                del self.store.performers[source]
        self.run_hooks(info, (), [], started)
        return before

    def field_resolvers(self) -> dict[str, Resolver]:
        resolvers: dict[str, Resolver] = {
            "tagsMerge": self.tags_merge,
            "performerMerge": self.performer_merge,
        }
        for kind, plural in TABLE_NAMES.items():
            resolvers[f"{kind}Destroy"] = self._single(kind)
            resolvers[f"{plural}Destroy"] = self._plural(kind)
        return resolvers


def _with(row: Any, **changes: Any) -> Any:
    """A changed copy, so readers holding the old row never see a half-applied change."""
    changed = copy.copy(row)
    for key, value in changes.items():
        setattr(changed, key, value)
    return changed
