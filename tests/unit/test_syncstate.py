"""Intake's pending table: how events for one scene coalesce into one job."""

import pytest

from actors.intake_state import SyncState
from stashplex.runtime.datadir import DataDir


@pytest.mark.parametrize(
    ("first", "second", "dry_run"),
    [
        (True, False, False),
        (False, True, False),
        (True, True, True),
        (False, False, False),
    ],
    ids=[
        "a real change after a dry run is written",
        "a dry run after a real change does not hide it",
        "two dry runs stay a dry run",
        "two real changes stay real",
    ],
)
def test_coalesced_events_are_a_dry_run_only_if_every_one_of_them_was(
    tmp_path, first, second, dry_run
):
    # Given two events for one scene while it is pending
    state = SyncState(DataDir(tmp_path))
    state.add_pending("7", 1.0, job_id="a", dry_run=first)
    state.add_pending("7", 2.0, dry_run=second)
    # Then they are one pending job, keeping the explicit job id and the latest time
    (pending,) = state.pending()
    assert (pending.scene_id, pending.job_id, pending.received_at) == ("7", "a", 2.0)
    assert pending.dry_run is dry_run


def test_a_scene_s_links_are_replaced_by_each_read_and_forgotten_with_the_scene(tmp_path):
    # Given two scenes read with their performers and tags
    state = SyncState(DataDir(tmp_path))
    state.record_links({"1": {("tag", "5"), ("performer", "9")}, "2": {("tag", "5")}})
    assert state.scenes_linked_to([("tag", "5")]) == ["1", "2"]
    # When scene 1 is read again without the tag, and scene 2 is deleted
    state.record_links({"1": {("performer", "9")}})
    state.forget_links(["2"])
    # Then only what the last reads showed is left
    assert state.scenes_linked_to([("tag", "5")]) == []
    assert state.scenes_linked_to([("performer", "9"), ("tag", "5")]) == ["1"]
    state.store.close()


def test_a_state_file_from_before_the_written_count_gets_the_column_on_open(tmp_path):
    # Given an Intake state file whose jobs table has no "written" column (an older version)
    import sqlite3

    data = DataDir(tmp_path).ensure()
    conn = sqlite3.connect(data.state / "intake.db")
    conn.execute(
        "CREATE TABLE jobs (job_id TEXT PRIMARY KEY, mode TEXT NOT NULL, created_at REAL NOT NULL,"
        " dry_run INTEGER NOT NULL, total INTEGER NOT NULL DEFAULT 0, queued INTEGER NOT NULL"
        " DEFAULT 0, skipped INTEGER NOT NULL DEFAULT 0, done INTEGER NOT NULL DEFAULT 0,"
        " failed INTEGER NOT NULL DEFAULT 0, changes INTEGER NOT NULL DEFAULT 0, enumerated"
        " INTEGER NOT NULL DEFAULT 0, error TEXT, finished_at REAL)"
    )
    conn.execute("INSERT INTO jobs(job_id, mode, created_at, dry_run) VALUES('old', 'all', 1, 0)")
    conn.commit()
    conn.close()
    # When it is opened and a job counts a fixed scene
    state = SyncState(data)
    state.bump_job("old", written=1)
    # Then the count is kept, the old row starting from 0
    assert state.store.scalar("SELECT written FROM jobs WHERE job_id = 'old'") == 1
    state.store.close()
