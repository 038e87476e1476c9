"""Every bad invocation is one line on stderr, the documented exit code, and no traceback."""

from __future__ import annotations

import io
import subprocess
import sys

import pytest

from stashplex.cli.progress import PlainProgress

BAD_INVOCATIONS = [
    (["run", "--log-level", "LOUD"], 2, "--log-level"),
    (["demo", "--scenes", "-5"], 2, "--scenes"),
    (["sync", "--scene", "abc"], 2, "not a Stash scene id"),
    (["sync", "--scene", "0"], 2, "not a Stash scene id"),
    (["sync", "--since", "yesterday"], 2, "is not a time"),
    (["dlq", "list", "--reason", "nope"], 2, "invalid choice"),
    (["dlq", "retry", "--reason", "nope"], 2, "invalid choice"),
    (["no-such-command"], 2, "invalid choice"),
    (["journal", "undo", "not-a-key"], 2, "not a whole number"),
    (["install-plugin", "{file}"], 1, "File exists"),
    (["install-plugin", "{file}/below"], 1, "Not a directory"),
    (["status"], 3, "not reachable"),
]


def run_cli(args: list[str], data_dir) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "stashplex", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={"STASHPLEX_DATA_DIR": str(data_dir), "PATH": "/usr/bin:/bin"},
        check=False,
    )


@pytest.mark.parametrize(("args", "code", "says"), BAD_INVOCATIONS)
def test_a_bad_invocation_exits_with_its_code_and_one_line_without_a_traceback(
    tmp_path, args, code, says
):
    # Given a file where a folder is expected, and no supervisor running
    a_file = tmp_path / "a-file"
    a_file.write_text("")
    args = [arg.replace("{file}", str(a_file)) for arg in args]
    # When the command is run as a user would
    completed = run_cli(args, tmp_path / "data")
    # Then it exits with the documented code and says what is wrong in one line
    lines = completed.stderr.strip().splitlines()
    assert completed.returncode == code, completed.stderr
    assert len(lines) == 1 and says in lines[0], completed.stderr
    assert "Traceback" not in completed.stderr


def test_the_version_is_printed_and_exits_zero(tmp_path):
    completed = run_cli(["--version"], tmp_path)

    assert completed.returncode == 0
    assert completed.stdout.startswith("stashplex ")


def test_progress_written_into_a_pipe_is_whole_lines_without_carriage_returns():
    # Given a progress view on a stream that is not a terminal, printing every update
    stream = io.StringIO()
    view = PlainProgress(stream, every_s=0.0)
    # When a job advances and ends
    for done in (0, 5, 10):
        view.update({"total": 10, "synced": done, "skipped": 0, "failed": 0, "done": done == 10})
    view.close()
    # Then each update is a complete line and no carriage return reaches the pipe
    text = stream.getvalue()
    assert "\r" not in text
    assert text.splitlines()[-1].startswith("progress: 10/10 scenes")
    assert len(text.splitlines()) == 3
