"""Latest wins at the last step: which writes of a PlexGateway batch go to Plex."""

from actors.messages import SyncJob
from actors.plex_gateway import newest_jobs
from stashplex.runtime.envelope import Envelope


def write(scene_id: str, revision: int) -> tuple[Envelope, SyncJob]:
    job = SyncJob(scene={"id": scene_id}, fingerprint=f"f{revision}", revision=revision)
    return Envelope(kind="sync.write", scene_id=scene_id, payload=job.model_dump()), job


def revisions(pairs) -> list[tuple[str, int]]:
    return [(envelope.scene_id, job.revision) for envelope, job, *_ in pairs]


def test_an_older_write_of_a_scene_in_the_same_batch_is_dropped_whatever_the_order():
    # Given a batch with revisions 3 then 5 of scene 1, and 6 then 4 of scene 2
    batch = [write("1", 3), write("1", 5), write("2", 6), write("2", 4)]
    # When the newest are chosen, with nothing written yet
    kept, dropped = newest_jobs(batch, lambda scene_id: None)
    # Then only the newest of each scene is written, and each older one is reported dropped
    assert revisions(kept) == [("1", 5), ("2", 6)]
    assert sorted(revisions(dropped)) == [("1", 3), ("2", 4)]
    assert sorted(newer for *_, newer in dropped) == [5, 6]


def test_a_write_older_than_what_was_already_written_is_dropped():
    kept, dropped = newest_jobs([write("1", 3), write("2", 3)], {"1": 4, "2": 2}.get)
    assert revisions(kept) == [("2", 3)]
    assert [(revisions([d])[0], d[2]) for d in dropped] == [(("1", 3), 4)]


def test_a_job_delivered_twice_is_written_once_and_not_reported_as_dropped():
    kept, dropped = newest_jobs([write("1", 3), write("1", 3)], lambda scene_id: None)
    assert revisions(kept) == [("1", 3)]
    assert dropped == []
