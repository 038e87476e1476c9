"""Undo as tables: which journaled writes are reverted, and the edit that reverts each."""

import pytest

from stashplex.sync.fieldmap import FieldChange
from stashplex.sync.plexedit import edit_params
from stashplex.sync.undo_rules import Restore, Skip, plan_undo, undo_change


def row(id, field, old, new, *, key=7, locked=False, owned=None, job="j1", scene="1"):
    return {
        "id": id, "rating_key": key, "field": field, "old": old, "new": new,
        "old_locked": locked, "owned_before": owned, "job_id": job, "scene_id": scene,
    }  # fmt: skip


def restore(field, value, written, *, locked=False, owned=None, key=7):
    return Restore(key, "1", field, value, written, locked, owned)


def test_the_first_write_s_old_value_lock_and_ownership_are_what_comes_back():
    # Given two writes of one field, the first over an agent's unlocked value
    rows = [
        row(1, "title", "Agent", "Stash 1", locked=False, owned=None),
        row(2, "title", "Stash 1", "Stash 2", locked=True, owned="Stash 1"),
    ]
    # When both are undone
    restores, skipped = plan_undo(rows)
    # Then the agent's value comes back, unlocked and not ours, if Plex still shows our last
    assert restores == [restore("title", "Agent", "Stash 2", locked=False, owned=None)]
    assert skipped == []


def test_a_field_written_again_later_is_skipped_naming_the_later_job():
    later = [row(5, "title", "B", "C", job="j2")]
    restores, skipped = plan_undo([row(1, "title", "A", "B")], later)
    assert restores == []
    assert skipped == [Skip(7, "title", "written again since by job j2; undo that first")]


def test_posters_are_never_reverted_and_say_so():
    restores, skipped = plan_undo([row(1, "poster", None, "abc"), row(2, "genre", [], ["A"])])
    assert [r.field for r in restores] == ["genre"]
    assert restores[0].value == () and restores[0].written == ("A",)
    assert [s.field for s in skipped] == ["poster"]


def test_rows_from_before_locks_were_journaled_have_an_unknown_lock():
    (only,), _ = plan_undo([row(1, "title", "A", "B", locked=None)])
    assert only.locked is None


@pytest.mark.parametrize(
    ("restore_", "current", "locked", "expected"),
    [
        pytest.param(
            restore("title", "Agent", "Stash", locked=False), {"title": "Stash"}, {"title"},
            FieldChange(field="title", old="Stash", new="Agent", lock=False),
            id="the value comes back unlocked as it was",
        ),
        pytest.param(
            restore("title", "Mine", "Stash", locked=True), {"title": "Stash"}, {"title"},
            FieldChange(field="title", old="Stash", new="Mine", lock=True),
            id="a person's locked value comes back locked",
        ),
        pytest.param(
            restore("title", "Agent", "Stash", locked=None), {"title": "Stash"}, {"title"},
            FieldChange(field="title", old="Stash", new="Agent", lock=True),
            id="an old row without a lock record locks, as undo always did",
        ),
        pytest.param(
            restore("title", "Same", "Same", locked=False), {"title": "Same"}, {"title"},
            FieldChange(field="title", old="Same", new="Same", lock_only=True, lock=False),
            id="a lock-only write is undone by unlocking",
        ),
        pytest.param(
            restore("title", "Agent", "Stash"), {"title": "Agent"}, set(), None,
            id="nothing to do when it is already back",
        ),
        pytest.param(
            restore("title", "Agent", "Stash"), {"title": "Person"}, {"title"},
            "changed in Plex since (now 'Person'), left as it is",
            id="a value changed since is never overwritten",
        ),
        pytest.param(
            restore("collection", ("Old",), ("Ours",)),
            {"collection": ("Ours", "Kometa")}, set(),
            FieldChange(field="collection", old=("Ours", "Kometa"), new=("Kometa", "Old"),
                        lock=None),
            id="collections: ours off, removed ones back, others kept, lock untouched",
        ),
    ],
)  # fmt: skip
def test_one_field_is_reverted_with_its_lock_unless_it_changed_since(
    restore_, current, locked, expected
):
    assert undo_change(restore_, current, frozenset(locked)) == expected


@pytest.mark.parametrize(
    ("change", "current", "params"),
    [
        pytest.param(
            FieldChange(field="title", old="A", new="B", lock=False), {"title": "A"},
            {"title.value": "B", "title.locked": "0"}, id="an unlock is sent as locked=0",
        ),
        pytest.param(
            FieldChange(field="collection", old=("K",), new=("K", "Ours"), lock=None),
            {"collection": ("K",)},
            {"collection[0].tag.tag": "K", "collection[1].tag.tag": "Ours"},
            id="a collection edit sends no lock",
        ),
        pytest.param(
            FieldChange(field="collection", old=("K", "Ours"), new=("K",), lock=None),
            {"collection": ("K", "Ours")}, {"collection[].tag.tag-": "Ours"},
            id="only removing sends a removal, so a name added meanwhile survives",
        ),
    ],
)  # fmt: skip
def test_edits_carry_the_lock_each_change_asks_for(change, current, params):
    assert edit_params([change], current) == params
