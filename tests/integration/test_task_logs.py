"""A Stash task's result must be readable in Stash's log at its default Info level.

Stash logs a task's ``output`` only at DEBUG (see the plugin protocol notes, 1.6), so the task
script also logs its result through the stderr log protocol. These tests run the tasks the way
Stash does (the plugin runner) against a real supervisor and the emulators.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from stashplex.plugin import install_plugin
from stashplex.sandbox.plugin_runner import LogLine, PluginRun
from tests.support.processes import (
    answering,
    configure_for,
    start_supervisor,
    stop_supervisor,
)
from tests.support.waiting import wait_until
from tests.support.world import SyncWorld

#: Stash's default log level: lines below it never reach the user.
VISIBLE_LEVELS = ("info", "warning", "error")


@pytest.fixture(scope="module")
def runner(tmp_path_factory):
    """Stash's plugin runner with the plugin installed, and one supervisor behind it."""
    tmp = tmp_path_factory.mktemp("task-logs")
    world = SyncWorld(tmp, scenes=5)
    data = tmp / "data"
    configure_for(world, data, scan_on_miss=False)
    supervisor = start_supervisor(data)
    try:
        wait_until(lambda: answering(data), timeout=30, message="supervisor answering")
        manifest = install_plugin(
            tmp / "plugins" / "stashplex", data_dir=data, python=Path(sys.executable)
        )
        yield world.stash.attach_plugin(manifest)
    finally:
        stop_supervisor(supervisor)
        world.close()


def visible_stash_log(run: PluginRun) -> list[LogLine]:
    """The run's decoded log lines that Stash at Info level shows (its DEBUG ones are hidden)."""
    return [line for line in run.logs if line.level in VISIBLE_LEVELS]


def test_a_sync_task_logs_its_job_summary_at_info_level(runner):
    # Given a supervisor whose job replies carry no progress messages
    # When Stash runs the "Sync all scenes" task
    run = runner.run_task("stashplex", "Sync all scenes")

    # Then the job's summary is in the task's output and also an info line in Stash's log
    assert run.exit_code == 0, run.logs
    assert "scenes:" in str(run.output)
    assert LogLine("info", run.output) in visible_stash_log(run)
    name = runner.plugin("stashplex").name
    assert LogLine("info", f"[Plugin / {name}] {run.output}") in runner.stash_log


def test_a_task_answered_at_once_logs_its_summary_at_info_level(runner):
    # When Stash runs the "Status" task, which the supervisor answers without a job
    run = runner.run_task("stashplex", "Status")

    # Then its one-line summary is an info line as well as the output
    assert run.exit_code == 0, run.logs
    assert run.output
    assert LogLine("info", run.output) in visible_stash_log(run)


def test_a_multi_line_summary_is_logged_one_info_line_per_line(runner):
    # When Stash runs the "Health check" task, whose report has one line per check
    run = runner.run_task("stashplex", "Health check")

    # Then every line of the report is its own info line, in order
    assert run.exit_code == 0, run.logs
    report = [line for line in str(run.output).splitlines() if line.strip()]
    assert len(report) > 1
    info = [line.message for line in visible_stash_log(run) if line.level == "info"]
    assert info[-len(report) :] == [" ".join(line.split()) for line in report]


def test_a_task_the_supervisor_refuses_logs_the_reason_at_error_level(runner):
    # When a task runs with a task name the supervisor does not know
    run = runner.run_task("stashplex", "Status", {"task": "no_such_task"})

    # Then the reason is an error line in Stash's log and the task's error
    assert run.exit_code == 1
    errors = [line.message for line in visible_stash_log(run) if line.level == "error"]
    assert len(errors) == 1
    assert "unknown task 'no_such_task'" in errors[0]
    assert "unknown task 'no_such_task'" in str(run.error)
