"""``stashplex sync --cancel``: a running sync stops sending to Plex, and says so.

A real supervisor process against both emulators; the CLI runs in-process (its exit code and
output are what a user sees). Plex answers slowly, so a 300-scene sync is still running when
it is cancelled: PlexGateway writes one batch (``PlexGateway.batch_size`` scenes) at a time, and
reads the next while it does, which is what is "in flight".
"""

from __future__ import annotations

import time

import pytest

from actors.intake_state import SyncState, job_progress
from actors.plex_gateway import PlexGateway
from stashplex.cli import main
from stashplex.link.ipc import send_request
from stashplex.runtime.datadir import DataDir
from tests.support.processes import answering, configure_for, start_supervisor, stop_supervisor
from tests.support.waiting import wait_until
from tests.support.world import SyncWorld

SCENES = 300


@pytest.fixture
def slow_world(tmp_path):
    world = SyncWorld(tmp_path, scenes=SCENES)
    world.plex.configure_latency(base_ms=40)
    data = tmp_path / "data"
    configure_for(world, data, scan_on_miss=False)
    supervisor = start_supervisor(data)
    try:
        wait_until(lambda: answering(data), timeout=60, message="supervisor answering")
        yield world, data
    finally:
        stop_supervisor(supervisor)
        world.close()


def cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def job(data, job_id: str) -> dict:
    return send_request(data, {"v": 1, "type": "job", "job": job_id})


def stored_job(data, job_id: str) -> dict | None:
    state = SyncState(DataDir(data))
    try:
        return job_progress(state.store, job_id)
    finally:
        state.store.close()


def started(capsys, data, *argv: str) -> str:
    code, out, _ = cli(capsys, "sync", "--no-wait", "--data-dir", str(data), *argv)
    assert code == 0, out
    return out.split("job ")[1].split(";")[0]


def test_cancel_drops_what_has_not_reached_plex_and_leaves_other_syncs_alone(slow_world, capsys):
    world, data = slow_world
    last_scene = max(world.world.scene_ids, key=int)
    # Given a full sync under way (some scenes written, most not), and a sync of the last
    # scene alone started after it
    whole = started(capsys, data)
    wait_until(lambda: job(data, whole).get("synced", 0) >= 1, timeout=60, message="a write")
    alone = started(capsys, data, "--scene", last_scene)

    # When the full sync is cancelled by its id
    code, out, err = cli(capsys, "sync", "--cancel", whole, "--data-dir", str(data))

    # Then the command says so with the job's summary, in one line
    assert code == 0, err
    assert out.startswith(f"job {whole} cancelled: {SCENES} scenes: ") and out.count("\n") == 1
    # And the job ended with its unsent scenes cancelled, every scene counted once
    final = stored_job(data, whole)
    assert final is not None and final["finished"] and final["cancelled_at"]
    cancelled = int(out.rsplit(", ", 1)[1].split(" cancelled")[0])
    assert cancelled >= SCENES - 2 * PlexGateway.batch_size  # two batches were on their way
    assert final["written"] + final["failed"] + cancelled <= SCENES
    # And nothing of it reaches Plex afterwards
    written_then = SCENES - len(world.scenes_not_written())
    time.sleep(3)
    assert SCENES - len(world.scenes_not_written()) <= written_then + 1  # the last scene's own
    # And the other sync still wrote its scene
    wait_until(lambda: job(data, alone).get("done"), timeout=60, message="the other sync")
    assert world.scenes_not_written([last_scene]) == []
    # And following the cancelled job shows it cancelled, and not all synced
    code, out, _ = cli(capsys, "sync", "--follow", whole, "--data-dir", str(data))
    assert code == 1 and f"{cancelled} cancelled" in out


def test_cancel_of_a_finished_job_says_so_and_of_an_unknown_id_is_one_line_and_exit_1(
    slow_world, capsys
):
    _, data = slow_world
    # Given a sync that has finished
    world_job = started(capsys, data, "--scene", "1")
    # ("done" also covers a job waiting to retry, which a cancel does cancel)
    wait_until(lambda: job(data, world_job).get("finished"), timeout=60, message="the sync")

    # When it is cancelled
    code, out, _ = cli(capsys, "sync", "--cancel", world_job, "--data-dir", str(data))
    # Then that says it had finished, and how
    assert code == 0
    assert out.startswith(f"job {world_job} had already finished: 1 scenes: ")

    # When an id nobody started is cancelled, or followed
    for option in ("--cancel", "--follow"):
        code, out, err = cli(capsys, "sync", option, "0badc0ffee00", "--data-dir", str(data))
        # Then it is one line naming the id, exit 1
        assert code == 1 and out == ""
        assert err.count("\n") == 1 and "no sync job '0badc0ffee00'" in err


def test_a_sync_cancelled_the_moment_it_starts_ends_cancelled(tmp_path):
    # Given a host and a library, and a sync just asked for
    world = SyncWorld(tmp_path, scenes=20)
    try:
        world.start()
        job_id = world.ask(type="sync", mode="all")["job"]
        # When it is cancelled at once (before or while Intake reads Stash for it)
        assert world.ask(type="cancel", job=job_id)["ok"]
        # Then it ends, cancelled, with every scene it did not reach counted as cancelled
        reply = wait_until(
            lambda: (r := world.ask(type="job", job=job_id)).get("done") and r,
            timeout=30,
            message="the sync over",
        )
        assert reply["cancelled_at"] and reply["summary"].endswith(" cancelled")
        cancelled = int(reply["summary"].rsplit(", ", 1)[1].split()[0])
        assert cancelled == reply["total"] - reply["synced"] - reply["skipped"] - reply["failed"]
    finally:
        world.close()
