"""Latest wins at the last step: which writes of a PlexGateway batch go to Plex."""

from stashplex.sync.gateway_rules import JobKey, newest_jobs


def write(scene_id: str, revision: int, dry_run: bool = False) -> tuple[str, JobKey]:
    return f"job {scene_id}@{revision}", JobKey(scene_id, revision, dry_run)


def revisions(jobs) -> list[tuple[str, int]]:
    names = [job if isinstance(job, str) else job[0] for job in jobs]
    return [(name.split()[1].split("@")[0], int(name.split("@")[1])) for name in names]


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
    assert [(revisions([d])[0], d[1]) for d in dropped] == [(("1", 3), 4)]


def test_a_job_delivered_twice_is_written_once_and_not_reported_as_dropped():
    kept, dropped = newest_jobs([write("1", 3), write("1", 3)], lambda scene_id: None)
    assert revisions(kept) == [("1", 3)]
    assert dropped == []


def test_a_dry_run_and_a_write_of_one_scene_never_stand_in_for_each_other():
    # Given a real write and a dry run of the same scene, the dry run newer
    batch = [write("1", 3), write("1", 4, dry_run=True)]
    # When the newest are chosen
    kept, dropped = newest_jobs(batch, lambda scene_id: None)
    # Then both go ahead: neither supersedes the other
    assert revisions(kept) == [("1", 3), ("1", 4)] and dropped == []
