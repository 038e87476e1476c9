from stashplex.ops.statusline import status_line


def test_the_status_line_says_everything_an_operator_checks_first():
    status = {
        "mailboxes": {"intake": 0, "plex_gateway": 12},
        "timers": {"scheduled": 3, "by_reason": {"not_found": 2, "transient": 1}},
        "dead_letters": {"ambiguous": 1},
        "breaker": {"state": "open"},
        "last_sync_at": 1000.0,
    }
    line = status_line(status, now=1030.0)
    assert line == ("queued intake=0 plex_gateway=12; timers 3 (not_found 2, transient 1); "
                    "dead letters 1 (ambiguous 1); breaker open; last sync 30 s ago")


def test_a_fresh_install_says_it_never_synced():
    assert "last sync never" in status_line({})


def test_a_dry_run_summary_says_what_would_change_and_never_that_anything_synced():
    from stashplex.ops.control import job_summary

    # Given a finished dry run that found 4 field changes in 1 of 2 scenes
    job = {"total": 2, "synced": 2, "changes": 4, "skipped": 0, "failed": 0, "dry_run": 1}
    # When it is summarised
    text = job_summary(job)
    # Then it says nothing was written and what would be
    assert "dry run, nothing written" in text and "4 field changes would be written" in text
    assert "synced" not in text


def test_a_summary_separates_what_was_written_from_what_was_already_right_and_what_waits():
    from stashplex.ops.control import job_summary

    job = {
        "total": 10, "synced": 5, "changes": 7, "skipped": 3, "failed": 0,
        "queued": 7, "waiting_for_retry": True,
    }  # fmt: skip

    text = job_summary(job)

    assert text.startswith("10 scenes: 5 synced (7 field changes), 3 already right, 0 failed")
    assert "2 waiting to retry" in text
