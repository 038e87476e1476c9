"""Draining the hook spool into the supervisor: order, quarantine, leftovers, failures."""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from actors.addresses import INTAKE
from stashplex.link import handoff
from stashplex.link.spool import DrainReport, drain_spool
from stashplex.ops.control import ControlHandler
from stashplex.runtime.mailbox import PostOffice


def spool(data_dir, *events):
    return [handoff.write_spool(data_dir, event) for event in events]


def test_events_are_delivered_in_the_order_hooks_wrote_them_then_deleted(tmp_path):
    spool(tmp_path, *({"scene_id": str(n)} for n in range(10)))
    delivered: list[dict] = []

    report = drain_spool(tmp_path, delivered.append)

    assert [event["scene_id"] for event in delivered] == [str(n) for n in range(10)]
    assert report == DrainReport(delivered=10)
    assert list((tmp_path / "spool").glob("*.json")) == []


def test_a_missing_spool_folder_is_an_empty_drain(tmp_path):
    assert drain_spool(tmp_path, pytest.fail) == DrainReport()


@pytest.mark.parametrize(
    "content",
    [b"{not json", b'{"v": 1, "event": "nope"}', b'{"v": 9, "event": {}}', b"\xff\xfe"],
    ids=["not-json", "event-not-object", "unknown-version", "not-utf8"],
)
def test_a_corrupt_file_is_quarantined_with_a_logged_reason_and_the_rest_delivered(
    tmp_path, caplog, content
):
    # Given a corrupt file between two good ones
    first, last = spool(tmp_path, {"scene_id": "1"}, {"scene_id": "3"})
    corrupt = tmp_path / "spool" / Path(first).name.replace(".json", "-x.json")
    corrupt.write_bytes(content)
    delivered: list[dict] = []

    # When the spool is drained
    with caplog.at_level(logging.ERROR, logger="stashplex.link.spool"):
        report = drain_spool(tmp_path, delivered.append)

    # Then the good ones arrive and the bad one waits in spool/bad with a reason logged
    assert [event["scene_id"] for event in delivered] == ["1", "3"]
    assert report.quarantined == 1
    assert (tmp_path / "spool" / "bad" / corrupt.name).read_bytes() == content
    assert f"spool file {corrupt.name} is unreadable" in caplog.text
    assert not corrupt.exists()
    assert not Path(last).exists()


def test_only_unfinished_files_older_than_a_minute_are_removed(tmp_path):
    spool_dir = tmp_path / "spool"
    spool_dir.mkdir()
    old_tmp = spool_dir / "1-1-aa.json.tmp"
    fresh_tmp = spool_dir / "2-2-bb.json.tmp"
    old_tmp.write_text("{")
    fresh_tmp.write_text("{")
    two_minutes_ago = time.time() - 120
    os.utime(old_tmp, (two_minutes_ago, two_minutes_ago))

    report = drain_spool(tmp_path, pytest.fail)

    assert report.stale_tmp_removed == 1
    assert not old_tmp.exists()
    assert fresh_tmp.exists()


def test_a_failing_sink_halts_the_drain_and_keeps_the_undelivered_files(tmp_path):
    paths = spool(tmp_path, {"scene_id": "1"}, {"scene_id": "2"}, {"scene_id": "3"})
    delivered: list[dict] = []

    def sink(event: dict) -> None:
        if event["scene_id"] == "2":
            raise OSError("mailbox full")
        delivered.append(event)

    report = drain_spool(tmp_path, sink)

    assert report.delivered == 1
    assert report.halted_by == "sink raised OSError"
    assert [Path(path).exists() for path in paths] == [False, True, True]
    assert drain_spool(tmp_path, delivered.append).delivered == 2
    assert [event["scene_id"] for event in delivered] == ["1", "2", "3"]


def test_an_event_the_sink_finds_invalid_is_set_aside_and_the_rest_delivered(tmp_path, caplog):
    # Given three spooled events whose middle one the sink refuses as invalid
    first, middle, last = spool(
        tmp_path, {"scene_id": "1"}, {"scene_id": "not a number"}, {"scene_id": "3"}
    )
    delivered: list[dict] = []

    def sink(event: dict) -> None:
        if not event["scene_id"].isdigit():
            raise ValueError("malformed hook event: scene_id: should match pattern")
        delivered.append(event)

    # When the spool is drained
    with caplog.at_level(logging.ERROR, logger="stashplex.link.spool"):
        report = drain_spool(tmp_path, sink)

    # Then the invalid one waits in spool/bad with the reason logged, and the one behind it arrives
    assert [event["scene_id"] for event in delivered] == ["1", "3"]
    assert report == DrainReport(delivered=2, quarantined=1)
    assert (tmp_path / "spool" / "bad" / Path(middle).name).exists()
    assert f"spool file {Path(middle).name} holds an event the supervisor refuses" in caplog.text
    assert "scene_id: should match pattern" in caplog.text
    assert not any(Path(path).exists() for path in (first, middle, last))


def test_a_real_control_handler_sets_aside_an_invalid_spooled_event_and_delivers_the_next(
    tmp_path,
):
    # Given the supervisor's real hook-event intake over a real Intake mailbox
    post = PostOffice(tmp_path / "mailboxes", [INTAKE])
    control = ControlHandler(SimpleNamespace(post=post))  # type: ignore[arg-type]
    # And an old hook's spooled event for a trigger the supervisor refuses, then a valid one
    refused, _valid = spool(
        tmp_path,
        {"trigger": "Performer.Update.Post", "scene_id": "7", "input_fields": []},
        {"trigger": "Scene.Update.Post", "scene_id": "8", "input_fields": ["title"]},
    )
    try:
        # When the spool is drained into it
        report = drain_spool(tmp_path, control.accept_hook_event)

        # Then the valid event is in Intake and the refused one is set aside, not in the way
        (delivery,) = post[INTAKE].take(10)
        assert delivery.envelope.payload["scene_id"] == "8"
        assert report == DrainReport(delivered=1, quarantined=1)
        assert (tmp_path / "spool" / "bad" / Path(refused).name).exists()
        assert list((tmp_path / "spool").glob("*.json")) == []
    finally:
        post.close()


def test_a_transient_sink_failure_still_halts_the_drain_and_keeps_the_file(tmp_path):
    # Given a supervisor whose mailboxes are not open yet (the host is still starting)
    control = ControlHandler(SimpleNamespace(post=None))  # type: ignore[arg-type]
    (path,) = spool(tmp_path, {"trigger": "Scene.Update.Post", "scene_id": "8"})

    # When the spool is drained
    report = drain_spool(tmp_path, control.accept_hook_event)

    # Then nothing is set aside: the file stays for the next drain
    assert report == DrainReport(halted_by="sink raised LookupError")
    assert Path(path).exists()
    assert not (tmp_path / "spool" / "bad").exists()
