import logging

import pytest

from stashplex.config.settings import Settings
from stashplex.sync.changes import (
    RELATED_INPUT_FIELDS,
    related_edit_matters,
    related_relevant_fields,
    relevant_fields,
    select_changed,
)
from stashplex.sync.fieldmap import MAPPING_TABLE, FieldToggles
from stashplex.sync.fingerprint import fingerprint
from stashplex.sync.scene import StashScene


def test_an_update_of_a_field_we_do_not_sync_is_not_relevant():
    fields = relevant_fields(Settings())
    assert "title" in fields and "tag_ids" in fields and "cover_image" in fields
    assert not {"organized", "o_counter", "urls", "code", "play_count"} & fields


def test_switching_a_field_off_makes_its_updates_irrelevant():
    assert "tag_ids" not in relevant_fields(Settings(sync_tags=False))


def test_a_bulk_edit_of_groups_is_relevant_as_a_single_edit_of_them_is():
    # Given the names sceneUpdate and bulkSceneUpdate use for a scene's groups
    fields = relevant_fields(Settings())
    # Then both spellings (and their deprecated movie forms) count as a change we sync
    assert {"groups", "group_ids", "movies", "movie_ids"} <= fields
    assert not {"group_ids", "movie_ids"} & relevant_fields(Settings(sync_groups=False))


@pytest.mark.parametrize(
    ("kind", "fields", "matters"),
    [
        ("tag", ["id", "name"], True),
        ("tag", ["name", "description", "aliases", "parent_ids"], True),
        ("tag", ["id", "description"], False),
        ("tag", ["id", "aliases", "sort_name", "image", "parent_ids", "favorite"], False),
        ("performer", ["id", "name"], True),
        ("performer", ["id", "disambiguation"], True),
        ("performer", ["id", "alias_list", "gender", "rating100", "image"], False),
        ("studio", ["id", "name"], True),
        ("studio", ["id", "parent_id", "aliases", "image"], False),
        ("group", ["id", "name"], True),
        ("group", ["id", "synopsis", "director", "studio_id", "front_image"], False),
        ("tag", ["id"], False),
        ("tag", [], True),
    ],
    ids=[
        "tag-rename",
        "tag-edit-form",
        "tag-description",
        "tag-unsynced-fields",
        "performer-rename",
        "performer-disambiguation",
        "performer-unsynced-fields",
        "studio-rename",
        "studio-parent-and-aliases",
        "group-rename",
        "group-unsynced-fields",
        "only-the-id",
        "fields-unknown",
    ],
)
def test_a_related_edit_matters_only_when_it_touches_a_name_plex_shows(kind, fields, matters):
    # Given the default settings (every name-bearing field synced)
    relevant = related_relevant_fields(Settings())
    # When an edit of the object names these inputFields, Then it matters exactly as expected
    assert related_edit_matters(kind, fields, relevant) is matters


@pytest.mark.parametrize(
    ("settings", "kind"),
    [
        (Settings(sync_tags=False), "tag"),
        (Settings(sync_performers=False), "performer"),
        (Settings(sync_groups=False), "group"),
        (Settings(sync_studio=False), "studio"),
    ],
    ids=["tags-off", "performers-off", "groups-off", "studio-off"],
)
def test_with_its_field_switched_off_no_edit_of_the_object_matters(settings, kind):
    # Given a field switched off, so nothing of that object reaches Plex
    relevant = related_relevant_fields(settings)
    # Then even a rename, or an edit whose fields are unknown, is irrelevant
    assert not related_edit_matters(kind, ["id", "name", "disambiguation"], relevant)
    assert not related_edit_matters(kind, [], relevant)


def test_a_studio_rename_still_matters_when_the_studio_is_only_a_collection():
    # Given the studio field off but the studio added as a collection
    relevant = related_relevant_fields(Settings(sync_studio=False, studio_as_collection=True))
    # Then renaming the studio changes the collection, so it matters
    assert related_edit_matters("studio", ["id", "name"], relevant)
    assert not related_edit_matters("studio", ["id", "details"], relevant)


def test_the_related_rules_cover_every_toggle_the_mapping_builds_from_a_linked_object():
    # Given the mapping rows whose Plex value comes from a linked object's name
    from_linked = {"studio.name", "performers", "tags", "groups"}
    toggles = {row.toggle for row in MAPPING_TABLE if row.stash_field in from_linked}
    # Then each of those toggles has a relevance rule, and no rule names another toggle
    ruled = {toggle for by_toggle in RELATED_INPUT_FIELDS.values() for toggle in by_toggle}
    assert ruled == toggles


def _raw(scene_id: str, title: str = "T", files: bool = True) -> dict:
    return {
        "id": scene_id,
        "title": title,
        "files": [{"id": f"f{scene_id}", "path": f"/data/{scene_id}.mp4", "basename": "x.mp4"}]
        if files
        else [],
    }


def _fp(raw: dict) -> str:
    return fingerprint(StashScene.from_graphql(raw), FieldToggles())


@pytest.mark.parametrize(
    ("known", "mode", "selected"),
    [
        ({}, "sync", True),
        ({"fingerprint": "SAME"}, "sync", False),
        ({"emitted_fingerprint": "SAME"}, "sync", False),
        ({"failed_fingerprint": "SAME"}, "sync", True),
        ({"failed_fingerprint": "SAME"}, "catching_up", False),
        ({"fingerprint": "SAME"}, "force", True),
        ({"fingerprint": "OTHER"}, "sync", True),
        ({"fingerprint": "SAME"}, "reconcile", True),
        ({}, "reconcile", True),
        ({"fingerprint": "SAME", "emitted_fingerprint": "SAME"}, "reconcile", False),
        ({"failed_fingerprint": "SAME"}, "reconcile", False),
        ({"failed_fingerprint": "OTHER"}, "reconcile", True),
    ],
    ids=[
        "never synced: sent",
        "unchanged since its last sync: skipped",
        "the same job still in flight: skipped",
        "failed before, asked for again: sent",
        "failed before, found by catch-up: skipped",
        "forced: sent",
        "changed since: sent",
        "reconcile, unchanged: sent, so plex-side drift is found",
        "reconcile, never synced: sent",
        "reconcile, the same job in flight: skipped",
        "reconcile, failed unchanged: left to the dead letters",
        "reconcile, changed since it failed: sent",
    ],
)
def test_only_scenes_whose_plex_fields_may_have_changed_get_a_job(known, mode, selected):
    # Given a scene read from Stash and what Intake remembers of it
    raw = _raw("1")
    memory = {k: (_fp(raw) if v == "SAME" else v) for k, v in known.items()}
    # When it is considered by a sync, a forced sync, a catch-up pass or a reconciliation
    flags = {"force": mode == "force", "catching_up": mode == "catching_up",
             "reconcile": mode == "reconcile"}  # fmt: skip
    result = select_changed([raw], {"1": memory}, FieldToggles(), **flags)
    # Then it gets a job, or counts as skipped
    assert [scene.id for scene, _ in result.jobs] == (["1"] if selected else [])
    assert result.skipped == (0 if selected else 1)


def test_a_scene_without_files_is_skipped_and_unreadable_data_fails_with_a_note():
    result = select_changed([_raw("1", files=False), []], {}, FieldToggles())
    assert (result.jobs, result.skipped, result.failed) == ([], 1, 1)
    assert any("has no files" in note for _, note in result.notes)


def test_marking_a_scene_organized_is_relevant_only_with_organized_only():
    # Given the update fields Stash sends when a scene is marked organized
    # Then they matter when only organized scenes are synced, and not otherwise
    assert "organized" in relevant_fields(Settings(organized_only=True))
    assert "organized" not in relevant_fields(Settings())


@pytest.mark.parametrize(
    ("organized", "organized_only", "force", "selected"),
    [
        (False, True, False, False),
        (False, True, True, False),
        (True, True, False, True),
        (False, False, False, True),
    ],
    ids=[
        "not organized, organized only: skipped",
        "not organized, organized only, forced: still skipped",
        "organized, organized only: sent",
        "not organized, every scene synced: sent",
    ],
)
def test_organized_only_leaves_out_scenes_not_marked_organized(
    organized, organized_only, force, selected
):
    raw = {**_raw("1"), "organized": organized}
    result = select_changed([raw], {}, FieldToggles(), force=force, organized_only=organized_only)
    assert [scene.id for scene, _ in result.jobs] == (["1"] if selected else [])
    assert result.skipped == (0 if selected else 1)


def test_what_cleaning_cut_or_dropped_is_logged_as_a_warning():
    raw = {**_raw("1"), "date": "2021-02-30"}
    result = select_changed([raw], {}, FieldToggles())
    assert [(level, note) for level, note in result.notes if "date" in note] == [
        (logging.WARNING, "scene 1: date: ignored, '2021-02-30': day 30 does not exist in "
         "2021-02 (last day 28)")
    ]  # fmt: skip
