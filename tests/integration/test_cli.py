"""Every CLI command and every Stash task, against a real supervisor and the emulators."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from stashplex.cli import main
from stashplex.ipc import send_request
from tests.support.processes import REPO, start_supervisor, stop_supervisor, write_config
from tests.support.waiting import wait_until
from tests.support.world import TOKEN, SyncWorld


def answering(data: Path) -> bool:
    try:
        return bool(send_request(data, {"v": 1, "type": "ping"}, timeout=2).get("ok"))
    except OSError:
        return False


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    """One supervisor for the module: 30 scenes, plus one scene that can only dead-letter."""
    tmp = tmp_path_factory.mktemp("cli")
    world = SyncWorld(tmp, scenes=30)
    ambiguous = world.stash.add_scene(
        title="Two candidates", files=[{"path": "/data/nowhere/shared name.mp4"}]
    )
    data = tmp / "data"
    write_config(
        data,
        plex_url=world.plex.url,
        plex_token=TOKEN,
        stash_url=world.stash.url,
        path_map=["/data/ => /media/"],
        index_refresh_seconds=1,
        scan_on_miss=False,
    )
    supervisor = start_supervisor(data)
    wait_until(lambda: answering(data), timeout=30, message="supervisor answering")
    from stashplex.plugin import install_plugin

    manifest = install_plugin(
        tmp / "plugins" / "stashplex", data_dir=data, python=Path(sys.executable)
    )
    runner = world.stash.attach_plugin(manifest)
    yield world, data, runner, ambiguous
    stop_supervisor(supervisor)
    world.close()


def cli(capsys, *argv) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_sync_all_follows_the_job_to_the_end_and_prints_a_summary(env, capsys):
    _, data, _, _ = env
    code, out, err = cli(capsys, "sync", "--data-dir", str(data))
    assert "31 scenes: 30 synced" in out and "1 failed" in out
    assert code == 1  # the ambiguous scene failed, and the exit code says so
    assert "%" in err  # the progress bar


def test_sync_of_one_scene_as_a_dry_run_shows_the_field_diff(env, capsys):
    world, data, _, _ = env
    scene_id = world.world.scene_ids[0]
    world.stash.update_scene(scene_id, title="Dry run title")
    code, out, _ = cli(capsys, "sync", "--data-dir", str(data), "--scene", scene_id, "--dry-run")
    assert code == 0
    assert "title: " in out and "-> 'Dry run title'" in out


def test_status_prints_a_table_and_json(env, capsys):
    _, data, _, _ = env
    code, out, _ = cli(capsys, "status", "--data-dir", str(data))
    assert code == 0 and "Plex breaker" in out and "closed" in out
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


def test_dead_letters_can_be_listed_shown_retried_and_purged(env, capsys):
    _, data, _, ambiguous = env
    wait_until(
        lambda: (
            main(["dlq", "list", "--data-dir", str(data)]) == 0
            and ambiguous in capsys.readouterr().out
        ),
        message="dead letter listed",
    )
    listed = send_request(data, {"v": 1, "type": "dlq", "action": "list"})["items"]
    (item,) = [i for i in listed if i["scene_id"] == ambiguous]
    code, out, _ = cli(capsys, "dlq", "show", str(item["id"]), "--data-dir", str(data))
    assert code == 0 and "shared name.mp4" in out and '"candidates"' in out
    code, out, _ = cli(capsys, "dlq", "retry", "--id", str(item["id"]), "--data-dir", str(data))
    assert (code, out.strip()) == (0, "retry requested")
    code, out, _ = cli(capsys, "dlq", "purge", "--older-than-days", "0", "--data-dir", str(data))
    assert code == 0
    wait_until(
        lambda: not send_request(data, {"v": 1, "type": "dlq", "action": "list"})["items"],
        message="purged",
    )


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


def test_an_unreachable_supervisor_is_one_clear_line_and_exit_3(capsys, tmp_path):
    code, _, err = cli(capsys, "status", "--data-dir", str(tmp_path / "none"))
    assert code == 3
    assert err.count("\n") == 1 and "not reachable" in err and "stashplex start" in err


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
def test_bad_arguments_exit_2_with_usage(argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    assert "usage:" in capsys.readouterr().err


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


def test_the_demo_runs_in_short_mode_and_exits_0():
    result = subprocess.run(
        [sys.executable, "-m", "stashplex", "demo", "--short"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "what Stash says | what Plex now shows" in result.stdout
    assert "demo finished" in result.stdout
