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
