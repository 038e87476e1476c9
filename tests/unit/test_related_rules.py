"""Which scenes an event about a performer, studio, tag or group re-reads, and where from."""

from __future__ import annotations

import pytest

from stashplex.link.events import RELATED_TRIGGERS
from stashplex.sync.related import RelatedReads, merge_sources, related_reads, scene_links


@pytest.mark.parametrize(
    ("trigger", "hook_input", "expected"),
    [
        (
            "Tag.Update.Post",
            {"id": "5", "name": "New"},
            RelatedReads(ask_stash=(("tag", "5"),), what="edited"),
        ),
        (
            "Performer.Update.Post",
            None,
            RelatedReads(ask_stash=(("performer", "5"),), what="edited"),
        ),
        (
            "Tag.Merge.Post",
            {"source": ["3", "4", "3"], "destination": "5"},
            RelatedReads(
                ask_stash=(("tag", "5"),),
                ask_table=(("tag", "5"), ("tag", "3"), ("tag", "4")),
                what="merged",
                sources=("3", "4"),
            ),
        ),
        (
            "Tag.Merge.Post",
            "<input omitted: 900000 bytes>",
            RelatedReads(ask_stash=(("tag", "5"),), ask_table=(("tag", "5"),), what="merged"),
        ),
        ("Tag.Destroy.Post", {"id": "5"}, RelatedReads(ask_table=(("tag", "5"),), what="deleted")),
        (
            "Performer.Destroy.Post",
            ["5", "6"],  # performersDestroy hands every hook the bare list of ids
            RelatedReads(ask_table=(("performer", "5"),), what="deleted"),
        ),
        ("Studio.Destroy.Post", None, RelatedReads(ask_table=(("studio", "5"),), what="deleted")),
        ("Group.Destroy.Post", None, RelatedReads(ask_table=(("group", "5"),), what="deleted")),
        ("Tag.Create.Post", None, RelatedReads()),
    ],
    ids=[
        "a rename asks stash",
        "a rename without input",
        "a merge asks stash for the destination and our table for every tag",
        "a merge whose input was cut asks about the destination only",
        "a tag delete asks our table: stash dropped the links",
        "a bulk performer delete: one hook per id",
        "a studio delete: stash cleared the scenes' studio",
        "a group delete",
        "a create links nothing yet",
    ],
)
def test_each_object_event_reads_the_scenes_from_where_they_can_still_be_found(
    trigger, hook_input, expected
):
    assert related_reads(trigger, "5", hook_input) == expected


def test_every_object_trigger_we_register_reads_something():
    for trigger in RELATED_TRIGGERS:
        reads = related_reads(trigger, "1", {"source": ["2"]})
        assert reads.ask_stash or reads.ask_table, trigger


@pytest.mark.parametrize(
    ("hook_input", "sources"),
    [
        ({"source": ["1", 2, True, "x", None, "3"]}, ("1", "2", "3")),
        ({"source": "1"}, ()),
        ({}, ()),
        (None, ()),
    ],
)
def test_merge_sources_are_the_ids_named_in_the_input_and_nothing_else(hook_input, sources):
    assert merge_sources(hook_input) == sources


def test_a_scene_read_names_its_studio_performers_tags_and_groups():
    raw = {
        "id": "9",
        "studio": {"id": "2", "name": "S", "parent_studio": {"id": "1", "name": "P"}},
        "performers": [{"id": "3", "name": "A"}, {"id": "4", "name": "B"}],
        "tags": [{"id": "5", "name": "T"}],
        "groups": [{"group": {"id": "6", "name": "G"}, "scene_index": 1}],
    }
    # The parent studio is not linked: Plex never shows it, and its delete changes nothing
    assert scene_links(raw) == {
        ("studio", "2"),
        ("performer", "3"),
        ("performer", "4"),
        ("tag", "5"),
        ("group", "6"),
    }
    assert scene_links({"id": "1", "studio": None, "tags": None}) == set()
