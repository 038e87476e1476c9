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
