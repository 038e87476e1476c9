"""The problems record: written by the supervisor, read by the stdlib-only hook, once per change."""

from __future__ import annotations

import fcntl
import json
import os
import threading

import pytest

from actors.problem_reports import dead_letter_report, report_dead_letter
from stashplex.link import notices
from stashplex.runtime import problems as record
from stashplex.runtime.problems import DEAD_LETTERS, SETTINGS, ProblemLog


def test_the_hook_and_the_supervisor_name_the_same_files():
    assert (notices.PROBLEMS_FILE, notices.SEEN_FILE) == (record.PROBLEMS_FILE, record.SEEN_FILE)


def test_nothing_wrong_means_no_file_so_the_hook_pays_one_failed_open(tmp_path):
    # Given a problem that was reported and then fixed
    problems = ProblemLog(tmp_path)
    problems.report(SETTINGS, "plex_url is wrong", "correct it")
    problems.resolve(SETTINGS)
    # Then the record is gone, and the hook finds nothing to say
    assert not (tmp_path / record.PROBLEMS_FILE).exists()
    assert notices.unreported_problems(str(tmp_path)) == []


def test_a_new_problem_is_logged_once_and_again_only_when_its_text_changes(tmp_path):
    # Given a problem in the record
    problems = ProblemLog(tmp_path)
    problems.report(SETTINGS, "plex_url is wrong", "correct it in Stash")
    # When hooks read the record three times, the text changing before the third
    first = notices.unreported_problems(str(tmp_path))
    second = notices.unreported_problems(str(tmp_path))
    assert problems.report(SETTINGS, "plex_url is wrong", "correct it in Stash") is False
    third = notices.unreported_problems(str(tmp_path))
    problems.report(SETTINGS, "plex_token is wrong", "correct it in Stash")
    fourth = notices.unreported_problems(str(tmp_path))
    # Then the first logs it with its fix, the same text again is no news, a new text is
    assert first == ["stashplex: plex_url is wrong. Fix: correct it in Stash"]
    assert second == third == []
    assert fourth == ["stashplex: plex_token is wrong. Fix: correct it in Stash"]


def test_a_problem_fixed_and_back_again_is_logged_again(tmp_path):
    problems = ProblemLog(tmp_path)
    problems.report("plex_down", "Plex is down", "start it")
    assert len(notices.unreported_problems(str(tmp_path))) == 1
    problems.resolve("plex_down")
    problems.report("plex_down", "Plex is down", "start it")
    assert len(notices.unreported_problems(str(tmp_path))) == 1


def test_concurrent_hooks_log_each_problem_exactly_once(tmp_path):
    # Given a problem, and 16 hooks reading the record at the same moment
    ProblemLog(tmp_path).report(SETTINGS, "plex_url is wrong", "correct it")
    lines: list[str] = []
    barrier = threading.Barrier(16)

    def hook() -> None:
        barrier.wait()
        lines.extend(notices.unreported_problems(str(tmp_path)))

    threads = [threading.Thread(target=hook) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Then exactly one of them logs it
    assert len(lines) == 1


def test_dead_letters_are_counted_since_the_last_report(tmp_path):
    # Given two dead letters, reported by a hook, then one more
    problems = ProblemLog(tmp_path)
    report_dead_letter(problems, "ambiguous")
    report_dead_letter(problems, "unauthorized")
    reported = notices.unreported_problems(str(tmp_path))
    report_dead_letter(problems, "ambiguous")
    # Then the first report counts two by reason in user words, the next only the new one
    assert reported == [
        "stashplex: 2 scenes could not be synced (1 ambiguous match, 1 token rejected). "
        "Fix: `stashplex dlq list` shows each with its reason; `stashplex dlq retry --all` "
        "tries again once that is fixed"
    ]
    (line,) = notices.unreported_problems(str(tmp_path))
    assert line.startswith("stashplex: 1 scene could not be synced (1 ambiguous match).")
    assert problems.active()[DEAD_LETTERS].message == dead_letter_report({"ambiguous": 1})[0]


def test_a_count_made_while_a_hook_logs_it_is_never_shown_twice(tmp_path):
    # Given a scene given up on, and a hook in the middle of logging it (holding its lock, the
    # record read, the line logged, not yet marked seen)
    problems = ProblemLog(tmp_path)
    report_dead_letter(problems, "ambiguous")
    seen = tmp_path / record.SEEN_FILE
    fd = os.open(seen, os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)
    logged_rev = problems.active()[DEAD_LETTERS].rev
    # When the next scene is given up on meanwhile
    counting = threading.Thread(target=report_dead_letter, args=(problems, "ambiguous"))
    counting.start()
    counting.join(0.3)
    still_counting = counting.is_alive()
    os.write(fd, str(logged_rev).encode("ascii"))  # the hook marks what it logged as seen
    os.close(fd)
    counting.join(10)
    # Then the count waited for the hook, and the next report holds the new scene alone
    assert still_counting
    (line,) = notices.unreported_problems(str(tmp_path))
    assert line.startswith("stashplex: 1 scene could not be synced (1 ambiguous match).")


def test_an_unreadable_record_reads_as_nothing_wrong(tmp_path):
    (tmp_path / record.PROBLEMS_FILE).write_text("{half a file")
    assert notices.unreported_problems(str(tmp_path)) == []
    assert ProblemLog(tmp_path).active() == {}
    # And the next report replaces it with a whole one
    ProblemLog(tmp_path).report(SETTINGS, "x", "y")
    assert json.loads((tmp_path / record.PROBLEMS_FILE).read_text())["v"] == 1


def test_reporting_the_same_text_again_moves_only_its_last_time(tmp_path):
    # A start that waits for news of itself sees a repeated failure; Stash's log does not
    problems = ProblemLog(tmp_path)
    problems.report("cannot_start", "the host exits", "reinstall")
    before = problems.active()["cannot_start"]
    problems.report("cannot_start", "the host exits", "reinstall")
    after = problems.active()["cannot_start"]
    assert (after.rev, after.since) == (before.rev, before.since)
    assert after.last >= before.last


@pytest.mark.parametrize(
    ("output", "reason"),
    [
        (
            ["Traceback (most recent call last):", '  File "x.py", line 1', "  import pydantic",
             "ModuleNotFoundError: No module named 'pydantic'"],
            "ModuleNotFoundError: No module named 'pydantic'",
        ),
        (["stashplex run: invalid settings: plex_url (from x): y", ""],
         "stashplex run: invalid settings: plex_url (from x): y"),
        (
            ["2026-01-01 10:00:00,000 ERROR [12 MainThread] stashplex.host: lock held; giving up",
             "2026-01-01 10:00:00,001 INFO [12 MainThread] stashplex.host: stopped"],
            "lock held; giving up",
        ),
        (["just a line", "  "], "just a line"),
        (
            ["requests.exceptions.HTTPError: 500 for http://plex:32400/x?X-Plex-Token=s3cr3t&a=1"],
            "requests.exceptions.HTTPError: 500 for http://plex:32400/x?X-Plex-Token=***&a=1",
        ),
        ([], ""),
    ],
    ids=["traceback", "one-line error", "logged error", "anything", "credential", "nothing"],
)
def test_the_reason_a_process_died_is_read_alike_by_the_hook_and_the_watchdog(output, reason):
    assert notices.reason_from_output(output) == reason
    assert record.reason_from_output(output) == reason


def test_a_credential_in_a_reported_text_never_reaches_the_record(tmp_path):
    ProblemLog(tmp_path).report("cannot_start", "died: GET /?X-Plex-Token=s3cr3t-t0ken", "fix")
    assert "s3cr3t" not in (tmp_path / record.PROBLEMS_FILE).read_text()


def test_a_problem_reported_after_the_clock_went_back_is_still_logged(tmp_path):
    # Given a hook that has logged a problem stamped in the future (the clock was ahead)
    (tmp_path / record.SEEN_FILE).write_text(str(10**30))
    # When a problem is reported now
    ProblemLog(tmp_path).report(SETTINGS, "plex_url is wrong", "correct it")
    # Then the next hook still logs it
    assert notices.unreported_problems(str(tmp_path)) == [
        "stashplex: plex_url is wrong. Fix: correct it"
    ]
