import re

from stashplex.cli.inspect import render_status
from stashplex.ops.statusline import status_line

#: What the status reply names in the code's words.
RAW_NAMES = ("intake", "plex_gateway", "matcher", "scheduler", "dead_letter", "not_found",
             "low_confidence", "unauthorized", "hook_events", "jobs_done", "half_open")

BUSY = {
    "pid": 1240, "host_pid": 1240, "supervisor_pid": 1234, "uptime_s": 400.0, "rss_mb": 52.3,
    "mailboxes": {"intake": 3, "plex_gateway": 12, "matcher": 0, "scheduler": 0,
                  "dead_letter": 0},
    "pending_events": 2,
    "timers": {"scheduled": 3, "by_reason": {"not_found": 2, "transient": 1},
               "next_retry_in_s": 12.0},
    "dead_letters": {"ambiguous": 1, "unauthorized": 4, "low_confidence": 2},
    "breaker": {"state": "half_open", "consecutive_failures": 5},
    "index_items": 1234,
    "restarts": {"intake": 0, "plex_gateway": 2, "dead_letter": 1},
    "last_sync_at": None,
    "counters": {"hook_events": 5, "jobs_done": 3},
    "problems": [{
        "message": "no file of the 3 scenes just synced lies in a Plex library: "
                   "/data/videos/a/rather/long/folder/name/file.mp4 -> "
                   "/data/videos/a/rather/long/folder/name/file.mp4 (no path-map rule covers it)",
        "fix": "set path_map in Stash; `stashplex unmatched` lists every scene that does not map",
    }],
}  # fmt: skip
IDLE = {
    "pid": 9, "host_pid": 9, "supervisor_pid": 8, "uptime_s": 3.0, "rss_mb": 40.0,
    "mailboxes": {"intake": 0, "plex_gateway": 0}, "pending_events": 0,
    "timers": {"scheduled": 0, "by_reason": {}, "next_retry_in_s": None},
    "dead_letters": {}, "breaker": {}, "index_items": 0, "restarts": {},
    "last_sync_at": None, "counters": {}, "problems": [],
}  # fmt: skip


def test_the_status_line_says_everything_an_operator_checks_first_in_user_words():
    # Given a busy pipeline with retries, a dead letter and Plex down
    status = {
        "mailboxes": {"intake": 0, "plex_gateway": 12},
        "timers": {"scheduled": 3, "by_reason": {"not_found": 2, "transient": 1}},
        "dead_letters": {"ambiguous": 1},
        "breaker": {"state": "open", "consecutive_failures": 5},
        "last_sync_at": 1000.0,
    }
    # When it is put on one line
    line = status_line(status, now=1030.0)
    # Then every part is in a user's words
    assert line == (
        "waiting 12 for Plex; timers 2 file not in Plex yet, 1 Plex error; "
        "failed 1 (1 ambiguous match); Plex down: syncs wait for it (breaker open), "
        "5 failures in a row; last sync 30 s ago"
    )


def test_a_fresh_install_says_it_never_synced():
    assert "last sync never" in status_line({})


def test_the_status_table_fits_a_50_column_terminal_in_user_words():
    # Given a busy status with a long problem text, and an idle one
    for status in (BUSY, IDLE):
        # When it is rendered as `stashplex status` shows it
        table = render_status(status)
        # Then no line is wider than 50 columns, nothing is a raw dict, no code word shows
        assert max(len(line) for line in table.splitlines()) <= 50, table
        assert "{" not in table and "}" not in table
        for name in RAW_NAMES:
            assert not re.search(rf"\b{name}\b", table), (name, table)


def test_the_status_table_labels_the_watchdog_as_the_supervisor_and_the_host_apart():
    # When the status of a supervisor (watchdog pid 1234) and its actor host (pid 1240) shows
    table = render_status(BUSY)
    # Then each pid has its own label
    assert "supervisor  pid 1234" in table
    assert "actor host  pid 1240, up 7 min, 52.3 MB" in table
    # And the problem is shown with its fix, and an idle pipeline says so in words
    assert "Fix: set path_map" in " ".join(table.split())
    idle = render_status(IDLE)
    assert "waiting     nothing" in idle and "failed      none" in idle
    assert "restarts    none" in idle


def test_a_wrapped_status_row_never_parts_a_number_from_its_words():
    # Given a status whose activity row is longer than one line of the table
    status = {**BUSY, "counters": {"hook_events": 3, "jobs_done": 303, "jobs_emitted": 303}}
    # When it is rendered
    table = render_status(status)
    # Then each count stays on the line of what it counts, and no line is too wide
    activity = table[table.index("activity") :].split("\nproblem")[0]
    lines = [line.strip() for line in activity.splitlines()]
    assert len(lines) == 2, activity
    assert any(line.endswith("303 syncs sent") or line == "303 syncs sent" for line in lines)
    assert not any(line.endswith(("303", "303,")) for line in lines), activity
    assert max(len(line) for line in table.splitlines()) <= 50, table
    assert "\xa0" not in table


def test_a_dry_run_summary_says_what_would_change_and_never_that_anything_synced():
    from stashplex.ops.control import job_summary

    # Given a finished dry run that found 4 field changes in 1 of 2 scenes
    job = {
        "total": 2, "synced": 2, "written": 1, "changes": 4, "skipped": 0, "failed": 0,
        "dry_run": 1,
    }  # fmt: skip
    # When it is summarised
    text = job_summary(job)
    # Then it says nothing was written and what would be
    assert "dry run, nothing written" in text and "4 field changes would be written" in text
    assert "1 would change" in text and "1 already right" in text
    assert "synced" not in text


def test_a_summary_separates_what_was_written_from_what_was_already_right_and_what_waits():
    from stashplex.ops.control import job_summary

    # Given a job: 4 scenes written, 1 sent and found right, 3 unchanged since their last
    # sync, 1 whose file Plex has not scanned yet and 1 waiting to retry a Plex error
    job = {
        "total": 10, "synced": 5, "written": 4, "changes": 7, "skipped": 3, "failed": 0,
        "queued": 7, "waiting_for_retry": True, "waiting_for_scan": 1, "waiting_to_retry": 1,
    }  # fmt: skip

    # When it is summarised
    text = job_summary(job)

    # Then each scene is counted once, under its own word
    assert text.startswith("10 scenes: 4 synced (7 field changes), 4 already right, 0 failed")
    assert "1 waiting for Plex to scan" in text and "1 waiting to retry" in text
    assert "cancelled" not in text
