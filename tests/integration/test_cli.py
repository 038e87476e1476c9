"""Every CLI command and every Stash task, against a real supervisor and the emulators."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from actors.dead_letter import open_store as open_dead_letters
from stashplex.cli import main
from stashplex.link.ipc import send_request
from stashplex.runtime.datadir import DataDir
from tests.support.processes import (
    REPO,
    answering,
    configure_for,
    start_supervisor,
    stop_supervisor,
    stop_whatever_owns,
    write_config,
)
from tests.support.waiting import wait_until
from tests.support.world import SyncWorld


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    """One supervisor for the module: 30 scenes, plus one scene that can only dead-letter."""
    tmp = tmp_path_factory.mktemp("cli")
    world = SyncWorld(tmp, scenes=30)
    ambiguous = world.stash.add_scene(
        title="Two candidates", files=[{"path": "/data/nowhere/shared name.mp4"}]
    )
    data = tmp / "data"
    configure_for(world, data, scan_on_miss=False)
    supervisor = start_supervisor(data)
    wait_until(lambda: answering(data), timeout=30, message="supervisor answering")
    from stashplex.plugin import install_plugin

    manifest = install_plugin(
        tmp / "plugins" / "stashplex", data_dir=data, python=Path(sys.executable)
    )
    runner = world.stash.attach_plugin(manifest)
    yield world, data, runner, ambiguous
    stop_supervisor(supervisor)
    stop_whatever_owns(data)  # the Start supervisor task leaves one of its own
    world.close()


def cli(capsys, *argv) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def dead_letters(data: Path) -> dict[str, int]:
    """Scene id -> dead-letter id, as the supervisor lists them."""
    items = send_request(data, {"v": 1, "type": "dlq", "action": "list"})["items"]
    return {item["scene_id"]: item["id"] for item in items}


def dead_letter_of(data: Path, scene_id: str) -> int:
    """The scene's dead-letter id; syncs the scene first when no earlier test has (run alone)."""
    if scene_id not in dead_letters(data):
        send_request(data, {"v": 1, "type": "sync", "mode": "scenes", "scene_ids": [scene_id]})
    return wait_until(lambda: dead_letters(data).get(scene_id), message="dead letter listed")


def backdate_dead_letter(data: Path, item_id: int, days: float) -> None:
    """Make a dead letter look ``days`` old: purge counts in days, and a test cannot wait days."""
    store = open_dead_letters(DataDir(data))
    try:
        with store.transaction() as conn:
            conn.execute(
                "UPDATE dead_letters SET created_at = created_at - ? WHERE id = ?",
                (days * 86_400, item_id),
            )
    finally:
        store.close()


def test_sync_all_follows_the_job_to_the_end_and_prints_a_summary(env, capsys):
    _, data, _, _ = env
    code, out, err = cli(capsys, "sync", "--data-dir", str(data))
    assert "31 scenes: 30 synced" in out and "1 failed" in out
    assert code == 1  # the ambiguous scene failed, and the exit code says so
    assert "progress: 31/31 scenes" in err and "\r" not in err  # plain lines: not a terminal


def test_sync_of_one_scene_as_a_dry_run_shows_the_field_diff(env, capsys):
    world, data, _, _ = env
    scene_id = world.world.scene_ids[0]
    world.stash.update_scene(scene_id, title="Dry run title")
    code, out, _ = cli(capsys, "sync", "--data-dir", str(data), "--scene", scene_id, "--dry-run")
    assert code == 0
    assert "title: " in out and "-> 'Dry run title'" in out


def test_sync_since_a_value_that_is_not_a_time_is_one_clear_line_and_exit_2(env, capsys):
    # Given a running supervisor
    _, data, _, _ = env
    # When a sync is asked for since something that is not a time
    code, out, err = cli(capsys, "sync", "--since", "last tuesday", "--data-dir", str(data))
    # Then it is refused before any job starts, in one line that names the option and the value
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1 and "--since" in err and "'last tuesday'" in err


def test_status_prints_a_table_and_json(env, capsys):
    _, data, _, _ = env
    code, out, _ = cli(capsys, "status", "--data-dir", str(data))
    assert code == 0 and "Plex" in out and "(breaker closed)" in out
    code, out, _ = cli(capsys, "status", "--data-dir", str(data), "--json")
    status = json.loads(out)
    assert set(status) >= {
        "mailboxes",
        "timers",
        "dead_letters",
        "breaker",
        "restarts",
        "last_sync_at",
        "index_items",
        "rss_mb",
    }


def test_dead_letters_can_be_listed_and_shown(env, capsys):
    # Given the ambiguous scene dead-lettered by the full sync
    _, data, _, ambiguous = env
    item_id = dead_letter_of(data, ambiguous)
    # When the dead letters are listed
    code, out, _ = cli(capsys, "dlq", "list", "--data-dir", str(data))
    # Then the scene is there, and its entry can be shown with its path and its candidates
    assert code == 0 and f"scene {ambiguous} " in out
    code, out, _ = cli(capsys, "dlq", "show", str(item_id), "--data-dir", str(data))
    assert code == 0 and "shared name.mp4" in out and '"candidates"' in out


def test_dlq_show_of_an_unknown_id_is_one_clear_line_and_exit_1(env, capsys):
    # Given a running supervisor with no dead letter 999999
    _, data, _, _ = env
    # When that dead letter is asked for
    code, out, err = cli(capsys, "dlq", "show", "999999", "--data-dir", str(data))
    # Then the command fails in one line naming the id
    assert (code, out) == (1, "")
    assert err == "stashplex dlq: no dead letter with id 999999\n"


def test_a_retried_dead_letter_is_synced_again_and_dead_letters_under_a_new_id(env, capsys):
    # Given the ambiguous scene's dead letter
    _, data, _, ambiguous = env
    old_id = dead_letter_of(data, ambiguous)
    # When it is retried
    code, out, _ = cli(capsys, "dlq", "retry", "--id", str(old_id), "--data-dir", str(data))
    assert (code, out.strip()) == (0, "retry requested")
    # Then the scene is synced again, still cannot be matched, and comes back as a new entry
    wait_until(
        lambda: dead_letters(data).get(ambiguous, old_id) > old_id,
        message="the retried scene dead-lettered again",
    )
    # And the old entry is gone
    code, _, err = cli(capsys, "dlq", "show", str(old_id), "--data-dir", str(data))
    assert code == 1 and f"no dead letter with id {old_id}" in err


def test_purge_removes_exactly_the_dead_letters_older_than_the_cutoff(env, capsys):
    # Given two dead letters, one three days old and one fresh, and no retry asked for
    world, data, _, ambiguous = env
    fresh = world.stash.add_scene(
        title="Also two candidates", files=[{"path": "/data/elsewhere/shared name.mp4"}]
    )
    code, out, _ = cli(capsys, "sync", "--scene", fresh, "--data-dir", str(data))
    assert code == 1 and "1 failed" in out
    dead_letter_of(data, ambiguous)
    before = dead_letters(data)
    assert set(before) == {ambiguous, fresh}
    backdate_dead_letter(data, before[ambiguous], days=3)
    code, out, _ = cli(capsys, "dlq", "list", "--older-than-days", "2", "--data-dir", str(data))
    assert code == 0 and f"scene {ambiguous} " in out and f"scene {fresh} " not in out
    # When dead letters older than 2 days are purged
    code, out, _ = cli(capsys, "dlq", "purge", "--older-than-days", "2", "--data-dir", str(data))
    assert (code, out.strip()) == (0, "purge of dead letters older than 2 days requested")
    # Then the old one goes, and the fresh one (same purge, same transaction) stays
    wait_until(lambda: ambiguous not in dead_letters(data), message="old dead letter purged")
    assert dead_letters(data) == {fresh: before[fresh]}
    # When everything older than 0 days is purged
    code, _, _ = cli(capsys, "dlq", "purge", "--older-than-days", "0", "--data-dir", str(data))
    assert code == 0
    # Then the list is empty
    wait_until(lambda: not dead_letters(data), message="all dead letters purged")
    code, out, _ = cli(capsys, "dlq", "list", "--data-dir", str(data))
    assert (code, out.strip()) == (0, "no dead letters")


def test_the_journal_shows_a_write_and_undo_puts_it_back(env, capsys):
    world, data, _, _ = env
    scene_id = world.world.scene_ids[1]
    rating_key = world.world.files_of(scene_id)[0].rating_key
    code, out, _ = cli(capsys, "journal", "show", str(rating_key), "--data-dir", str(data))
    assert code == 0 and "genre: [] -> [" in out
    assert world.plex.item(rating_key)["tags"]["genre"]
    code, _, _ = cli(capsys, "journal", "undo", str(rating_key), "--data-dir", str(data))
    assert code == 0
    wait_until(
        lambda: not world.plex.item(rating_key)["tags"].get("genre"),
        message="genres removed again by the undo",
    )


def test_doctor_reports_reachability_libraries_and_path_map_coverage(env, capsys):
    _, data, _, _ = env
    code, out, _ = cli(capsys, "doctor", "--data-dir", str(data))
    assert "[ok] stash" in out and "[ok] plex" in out and "[ok] libraries" in out
    assert "Stash files map to a Plex item" in out
    assert "first unmapped: /data/nowhere/shared name.mp4" in out
    assert code == 1


def test_doctor_names_a_wrong_plex_token(env, capsys, tmp_path):
    world, _, _, _ = env
    bad = tmp_path / "bad"
    write_config(bad, plex_url=world.plex.url, plex_token="wrong-token", stash_url=world.stash.url)
    code, out, _ = cli(capsys, "doctor", "--data-dir", str(bad))
    assert code == 1 and "[FAIL] plex: Plex rejected the token (401)" in out
    assert "wrong-token" not in out


@pytest.mark.parametrize(
    "argv",
    [["status"], ["sync"], ["dlq", "list"], ["journal", "show", "1"]],
    ids=["status", "sync", "dlq list", "journal show"],
)
def test_an_unreachable_supervisor_is_one_clear_line_and_exit_3(argv, capsys, tmp_path):
    # Given a data directory no supervisor owns
    data = tmp_path / "none"
    # When a command that needs the supervisor runs against it
    code, out, err = cli(capsys, *argv, "--data-dir", str(data))
    # Then it says so in one line that tells how to start one, and exits 3
    assert (code, out) == (3, "")
    assert err.count("\n") == 1 and "not reachable" in err and "stashplex start" in err
    assert err.startswith(f"stashplex {argv[0]}: ")


@pytest.mark.parametrize(
    ("argv", "expect"),
    [
        (["--help"], ["usage: stashplex", "sync", "dlq", "journal", "doctor", "demo"]),
        (["sync", "--help"], ["usage: stashplex sync", "--since", "--scene", "--dry-run"]),
    ],
    ids=["stashplex --help", "stashplex sync --help"],
)
def test_help_exits_0_and_lists_the_commands_and_options(argv, expect, capsys):
    # Given nothing running
    # When help is asked for
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    # Then it exits 0 and shows usage with what can be typed next
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert all(word in out for word in expect), out


@pytest.mark.parametrize(
    "argv",
    [
        ["sync", "--scene"],
        ["dlq", "show", "not-a-number"],
        ["journal"],
        ["no-such-command"],
        ["dlq", "retry"],
    ],
    ids=[
        "a missing value",
        "a bad number",
        "a missing action",
        "an unknown command",
        "a retry that names nothing",
    ],
)
def test_bad_arguments_exit_2_with_one_line_pointing_at_help(argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and "--help" in lines[0]


def test_install_plugin_writes_a_manifest_stash_accepts(tmp_path, capsys):
    code, _, _ = cli(
        capsys, "install-plugin", str(tmp_path / "p"), "--data-dir", str(tmp_path / "d")
    )
    assert code == 0 and (tmp_path / "p" / "stashplex.yml").exists()
    from stashplex.sandbox.plugin_runner import PluginRunner

    runner = PluginRunner(lambda *_: {}, cwd=tmp_path)
    assert runner.load(tmp_path / "p" / "stashplex.yml").id == "stashplex"


@pytest.mark.parametrize(
    ("task", "expect"),
    [
        ("Sync all scenes", "scenes:"),
        ("Sync recent changes", "scenes:"),
        ("Status", "breaker"),
        ("Health check", "[ok] plex"),
        ("Process dead letters (retry)", "retrying"),
        ("Purge old dead letters", "purging dead letters older than 30 days"),
    ],
)
def test_each_stash_task_runs_through_the_plugin_runner(env, task, expect):
    _, _, runner, _ = env
    run = runner.run_task("stashplex", task)
    assert run.exit_code == 0, run.logs
    assert run.error is None
    assert expect in str(run.output)
    if task.startswith("Sync"):
        assert run.progress and run.progress[-1] == pytest.approx(1.0)


def test_the_stop_and_start_tasks_stop_and_start_the_supervisor(env):
    _, data, runner, _ = env
    stop = runner.run_task("stashplex", "Stop supervisor")
    assert stop.exit_code == 0, stop.logs
    wait_until(lambda: not answering(data), timeout=40, message="supervisor stopped")
    start = runner.run_task("stashplex", "Start supervisor")
    assert start.exit_code == 0, start.logs
    assert answering(data)


def test_start_and_stop_commands_run_the_supervisor_detached(tmp_path, capsys):
    data = tmp_path / "d"
    write_config(data, stash_url="http://127.0.0.1:9")
    code, out, _ = cli(capsys, "start", "--data-dir", str(data))
    assert code == 0 and "started" in out
    assert main(["status", "--data-dir", str(data)]) == 0
    code, out, _ = cli(capsys, "stop", "--data-dir", str(data))
    assert code == 0 and "stopped" in out
    assert main(["status", "--data-dir", str(data)]) == 3


def edited_rows(stdout: str) -> list[tuple[str, str, str]]:
    """(field, what Stash says, what Plex shows) for each row the demo marks as just edited."""
    _, heading, table = stdout.partition("what Stash says | what Plex now shows")
    assert heading, stdout
    rows = []
    for line in table.splitlines():
        if line.startswith("* "):
            name, _, rest = line[2:].partition(" ")
            stash_value, _, plex_value = rest.partition(" | ")
            rows.append((name, stash_value.strip(), plex_value.strip()))
    return rows


def test_the_demo_runs_in_short_mode_and_plex_shows_every_edit():
    # Given nothing but the repository
    # When the demo runs in its short CI mode
    result = subprocess.run(
        [sys.executable, "-m", "stashplex", "demo", "--short"],
        cwd=REPO,
        capture_output=True,
        text=True,
        encoding="utf-8",
        env={**os.environ, "PYTHONIOENCODING": "utf-8"},
        timeout=180,
        check=False,
    )
    # Then it exits 0, and for every field it edited Plex shows Stash's value in Plex's spelling
    assert result.returncode == 0, result.stderr[-2000:]
    title = "Edited in Stash: Ünïcode ✓ 日本語"
    details = "New details written in Stash, synced by the hook."
    assert sorted(edited_rows(result.stdout)) == sorted(
        [
            ("title", title, title),
            ("rating", "90", "9.0"),
            ("details", details, details),
            ("date", "2024-05", "2024-05-01"),
            ("title", "Partial date demo", "Partial date demo"),
        ]
    ), result.stdout
    assert "Plex shows all 5 edited fields of 3 scenes" in result.stdout
    assert "demo finished" in result.stdout
