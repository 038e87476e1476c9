"""Plugins run as Stash runs them: stdin JSON, stdout result, stderr logs, synchronous hooks."""

from __future__ import annotations

import signal
import sys
import textwrap
import time
from pathlib import Path

import pytest
import requests

from stashplex.sandbox.stash import StashEmulator
from stashplex.sandbox.stash.mutations import SCENE_UPDATE_INPUT_KEYS
from tests.support.stash_schema import post_graphql
from tests.support.waiting import wait_until

ECHO_DIR = Path(__file__).resolve().parents[1] / "support" / "plugins" / "echo"
ECHO_MANIFEST = ECHO_DIR / "echo.yml"
ECHO_SCRIPT = ECHO_DIR / "echo.py"
SCENE_UPDATE = """
mutation SceneUpdate($input: SceneUpdateInput!) { sceneUpdate(input: $input) { id title } }"""


def hook_manifest(
    folder: Path, plugin_id: str, args: dict[str, str], triggers: str = "[Scene.Update.Post]"
) -> Path:
    """A manifest in `folder` whose hook runs the shared echo script with `args`."""
    default_args = "".join(f"\n      {key}: {value!r}" for key, value in args.items())
    path = folder / plugin_id / f"{plugin_id}.yml"
    path.parent.mkdir(parents=True)
    path.write_text(
        textwrap.dedent(f"""\
        name: {plugin_id}
        exec: [python, "{ECHO_SCRIPT}"]
        hooks:
          - name: on update
            triggeredBy: {triggers}
            defaultArgs:""")
        + default_args
        + "\n",
        encoding="utf-8",
    )
    return path


@pytest.fixture
def stash():
    with StashEmulator(api_key="secret") as emulator:
        yield emulator


def test_a_hook_gets_stashs_stdin_json_exactly(stash):
    # Given the echo plugin and a scene
    runner = stash.attach_plugin(ECHO_MANIFEST)
    scene_id = stash.add_scene(title="Before")

    # When a user changes the title over GraphQL
    post_graphql(
        stash.graphql_url,
        SCENE_UPDATE,
        {"input": {"id": scene_id, "title": "After"}},
        headers={"ApiKey": "secret"},
    )

    # Then the hook saw the server connection and hook context Stash sends
    run = runner.runs[-1]
    connection = run.stdin["server_connection"]
    assert list(connection) == ["Scheme", "Host", "Port", "SessionCookie", "Dir", "PluginDir"]
    assert connection["Host"] == "0.0.0.0"
    assert connection["Port"] == stash.port
    assert connection["SessionCookie"]["Name"] == "session"
    assert connection["PluginDir"] == str(ECHO_DIR)
    assert "ApiKey" not in connection
    assert list(run.stdin["args"]) == ["hookContext", "mode"]
    context = run.stdin["args"]["hookContext"]
    assert context["id"] == int(scene_id)
    assert context["type"] == "Scene.Update.Post"
    assert tuple(context["input"]) == SCENE_UPDATE_INPUT_KEYS
    assert context["input"]["id"] == scene_id
    assert context["input"]["title"] == "After"
    assert context["input"]["details"] is None
    assert sorted(context["inputFields"]) == ["id", "title"]


def test_a_hook_result_and_logs_are_decoded(stash):
    runner = stash.attach_plugin(ECHO_MANIFEST)
    scene_id = stash.add_scene(title="x")

    save = stash.update_scene(scene_id, rating100=80)

    run = save.hook_runs[0]
    assert run.exit_code == 0
    assert run.error is None
    assert run.output["received"] == run.stdin
    assert [(line.level, line.message) for line in run.logs] == [
        ("trace", "trace message"),
        ("debug", "debug message"),
        ("info", "info message"),
        ("warning", "warning message"),
        ("error", "error message"),
        ("warning", "an unprefixed stderr line"),
    ]
    assert runner.saves[-1] is save


def test_a_hook_runs_outside_the_plugin_folder_with_stashs_python_and_pythonpath(stash):
    stash.attach_plugin(ECHO_MANIFEST)
    scene_id = stash.add_scene(title="x")

    run = stash.update_scene(scene_id, title="y").hook_runs[0]

    assert run.argv[0] == sys.executable
    assert run.output["argv"] == []
    assert Path(run.argv[1]) == ECHO_SCRIPT
    assert Path(run.output["cwd"]) != ECHO_DIR
    assert run.output["pythonpath"].endswith(f":{ECHO_DIR.parent}")


def test_the_mutation_response_waits_for_the_hook_process(stash, tmp_path):
    # Given a hook that leaves a marker file just before it exits
    marker = tmp_path / "marker.txt"
    runner = stash.attach_plugin(hook_manifest(tmp_path, "marker", {"marker": str(marker)}))
    scene_id = stash.add_scene(title="x")

    # When the user saves over HTTP
    response = post_graphql(
        stash.graphql_url,
        SCENE_UPDATE,
        {"input": {"id": scene_id, "title": "saved"}},
        headers={"ApiKey": "secret"},
    )

    # Then the response came only after the hook had run, and the wait was recorded
    assert response.json()["data"]["sceneUpdate"]["title"] == "saved"
    assert marker.read_text() == f"{scene_id}\n"
    save = runner.saves[-1]
    assert save.mutation == "sceneUpdate"
    assert len(save.hook_runs) == 1
    assert save.waited_s >= save.hook_runs[0].wall_s > 0


def test_bulk_update_runs_one_hook_per_scene_sequentially(stash, tmp_path):
    marker = tmp_path / "order.txt"
    runner = stash.attach_plugin(hook_manifest(tmp_path, "bulk", {"marker": str(marker)}))
    scene_ids = [stash.add_scene(title=f"s{i}") for i in range(3)]
    tag = stash.add_tag("t")

    post_graphql(
        stash.graphql_url,
        "mutation ($input: BulkSceneUpdateInput!) { bulkSceneUpdate(input: $input) { id } }",
        {"input": {"ids": scene_ids, "tag_ids": {"ids": [tag], "mode": "ADD"}}},
        headers={"ApiKey": "secret"},
    )

    save = runner.saves[-1]
    assert marker.read_text().split() == scene_ids
    assert [run.stdin["args"]["hookContext"]["id"] for run in save.hook_runs] == [
        int(s) for s in scene_ids
    ]
    context = save.hook_runs[0].stdin["args"]["hookContext"]
    assert context["input"] == {"ids": scene_ids, "tag_ids": {"ids": [tag], "mode": "ADD"}}
    assert sorted(context["inputFields"]) == ["ids", "tag_ids"]


def test_destroy_and_create_hooks_carry_stashs_inputs(stash, tmp_path):
    runner = stash.attach_plugin(ECHO_MANIFEST)
    scene_id = stash.add_scene(title="x", files=[{"path": "/data/a/x.mp4", "oshash": "ab12"}])

    post_graphql(
        stash.graphql_url,
        "mutation ($input: SceneDestroyInput!) { sceneDestroy(input: $input) }",
        {"input": {"id": scene_id}},
        headers={"ApiKey": "secret"},
    )
    post_graphql(
        stash.graphql_url,
        "mutation ($input: SceneCreateInput!) { sceneCreate(input: $input) { id } }",
        {"input": {"title": "new"}},
        headers={"ApiKey": "secret"},
    )

    destroyed, created = (run.stdin["args"]["hookContext"] for run in runner.runs[-2:])
    assert destroyed["type"] == "Scene.Destroy.Post"
    assert destroyed["input"] == {
        "id": scene_id,
        "delete_file": None,
        "delete_generated": None,
        "checksum": f"{1:032x}",
        "oshash": "ab12",
        "path": "/data/a/x.mp4",
    }
    assert "inputFields" not in destroyed
    assert created["type"] == "Scene.Create.Post"
    assert created["input"] is None
    assert "inputFields" not in created


def test_a_tag_edit_fires_only_the_tag_hook(stash):
    runner = stash.attach_plugin(ECHO_MANIFEST)
    tag = stash.add_tag("old")
    stash.add_scene(title="x", tag_ids=[tag])

    post_graphql(
        stash.graphql_url,
        "mutation ($input: TagUpdateInput!) { tagUpdate(input: $input) { id } }",
        {"input": {"id": tag, "name": "new"}},
        headers={"ApiKey": "secret"},
    )

    assert [run.trigger for run in runner.runs] == ["Tag.Update.Post"]
    assert runner.runs[0].output["argv"] == ["--tag"]


def test_a_hook_can_read_the_saved_scene_back_with_its_session_cookie(stash, tmp_path):
    stash.attach_plugin(hook_manifest(tmp_path, "reader", {"mode": "callback"}))
    scene_id = stash.add_scene(title="x")

    run = stash.update_scene(scene_id, title="committed before the hook").hook_runs[0]

    assert run.error is None, run.logs
    assert run.output["seen_title"] == "committed before the hook"


def test_a_hook_editing_its_own_scene_stops_after_ten_nested_runs(stash, tmp_path):
    runner = stash.attach_plugin(hook_manifest(tmp_path, "looper", {"mode": "edit"}))
    scene_id = stash.add_scene(title="x")

    stash.update_scene(scene_id, title="start")

    assert len(runner.runs) == 10
    assert all(run.error is None for run in runner.runs)
    assert stash.scene(scene_id)["details"] == "edited by hook"


def test_a_plugin_that_cannot_start_aborts_later_hooks_but_not_the_save(stash, tmp_path):
    broken = tmp_path / "broken" / "broken.yml"
    broken.parent.mkdir()
    broken.write_text(
        "exec: [/nonexistent/program]\nhooks:\n  - name: h\n    triggeredBy: [Scene.Update.Post]\n",
        encoding="utf-8",
    )
    runner = stash.attach_plugin(broken)
    stash.attach_plugin(ECHO_MANIFEST)
    scene_id = stash.add_scene(title="x")

    save = stash.update_scene(scene_id, title="saved anyway")

    assert save.hook_runs == []
    assert stash.scene(scene_id)["title"] == "saved anyway"
    assert any("aborting remaining hooks" in line.message for line in runner.stash_log)


def test_raw_stdout_and_a_bad_exit_code_are_reported_like_stash(stash, tmp_path):
    folder = tmp_path / "raw"
    folder.mkdir()
    (folder / "raw.py").write_text("import sys\nprint('plain text')\nsys.exit(2)\n")
    (folder / "raw.yml").write_text(
        textwrap.dedent("""\
        exec: [python3, "{pluginDir}/raw.py"]
        tasks:
          - name: Go
        """),
        encoding="utf-8",
    )
    runner = stash.attach_plugin(folder / "raw.yml")

    run = runner.run_task("raw", "Go")

    assert run.output == "plain text\n"
    assert run.error == "exit status 2"
    assert run.exit_code == 2


def test_a_task_gets_default_args_merged_with_given_args_and_reports_progress(stash):
    runner = stash.attach_plugin(ECHO_MANIFEST)

    run = runner.run_task("echo", "Count", {"steps": "2", "extra": 1})

    assert run.stdin["args"] == {"extra": 1, "mode": "count", "steps": "2", "verbose": "true"}
    assert "hookContext" not in run.stdin["args"]
    assert run.progress == [0.5, 1.0]
    assert run.kind == "task"


def test_a_task_returning_an_error_is_reported(stash):
    runner = stash.attach_plugin(ECHO_MANIFEST)

    run = runner.run_task("echo", "Fail")

    assert run.error == "echo was asked to fail"
    assert run.exit_code == 3
    assert any("Plugin returned error" in line.message for line in runner.stash_log)


def test_run_plugin_task_over_graphql_queues_a_job(stash):
    runner = stash.attach_plugin(ECHO_MANIFEST)

    response = post_graphql(
        stash.graphql_url,
        'mutation { runPluginTask(plugin_id: "echo", task_name: "Count", args_map: {steps: "4"}) }',
        headers={"ApiKey": "secret"},
    )

    job_id = response.json()["data"]["runPluginTask"]
    assert runner.jobs[job_id].result(timeout=60).progress == [0.25, 0.5, 0.75, 1.0]


def test_stop_job_kills_a_running_task_at_once_with_no_signal_it_could_catch(stash, tmp_path):
    # Given a task that notes every SIGTERM, SIGINT or SIGHUP it gets, running
    runner = stash.attach_plugin(ECHO_MANIFEST)
    marker = tmp_path / "linger.txt"
    job_id = post_graphql(
        stash.graphql_url,
        "mutation ($m: String) { runPluginTask(plugin_id: \"echo\", task_name: \"Linger\", "
        "args_map: {notes: $m}) }",
        {"m": str(marker)},
        headers={"ApiKey": "secret"},
    ).json()["data"]["runPluginTask"]
    wait_until(lambda: marker.exists() and "started" in marker.read_text(), message="task runs")

    # When the job is stopped, as Stash's UI does (stopJob)
    started = time.monotonic()
    stopped = post_graphql(
        stash.graphql_url,
        f'mutation {{ stopJob(job_id: "{job_id}") }}',
        headers={"ApiKey": "secret"},
    ).json()
    run = runner.jobs[job_id].result(timeout=10)

    # Then the process was killed (SIGKILL) at once, having been sent nothing it could catch
    assert stopped == {"data": {"stopJob": True}}
    assert time.monotonic() - started < 2
    assert run.exit_code == -signal.SIGKILL
    assert marker.read_text() == "started\n"
    # And Stash logs what Go's exec says of it
    assert run.error == "signal: killed"
    assert any("Plugin returned error: signal: killed" in line.message for line in runner.stash_log)


def test_stop_job_of_a_queued_task_means_it_never_runs(stash, tmp_path):
    # Given a running task, and a second one queued behind it (Stash runs one job at a time)
    runner = stash.attach_plugin(ECHO_MANIFEST)
    first = runner.submit_task("echo", "Linger", {"notes": str(tmp_path / "first.txt")})
    second = runner.submit_task("echo", "Linger", {"notes": str(tmp_path / "second.txt")})
    wait_until((tmp_path / "first.txt").exists, message="first task runs")

    # When the queued one is stopped, then the running one
    assert runner.stop_job(second) and runner.stop_job(first)

    # Then the queued one never started
    runner.jobs[first].result(timeout=10)
    assert runner.jobs[second].cancelled()
    assert not (tmp_path / "second.txt").exists()


def test_loading_the_same_plugin_id_twice_is_refused(stash, tmp_path):
    stash.attach_plugin(ECHO_MANIFEST)
    twin = tmp_path / "ECHO.yml"
    twin.write_text("name: twin\n", encoding="utf-8")

    with pytest.raises(ValueError, match="already loaded"):
        stash.attach_plugin(twin)


def test_a_session_cookie_handed_to_a_plugin_authenticates_against_a_secured_stash(stash):
    stash.attach_plugin(ECHO_MANIFEST)
    scene_id = stash.add_scene(title="x")
    cookie = (
        stash.update_scene(scene_id, title="y")
        .hook_runs[0]
        .stdin["server_connection"]["SessionCookie"]["Value"]
    )

    response = requests.post(
        stash.graphql_url,
        json={"query": "{ version { hash } }"},
        cookies={"session": cookie},
        timeout=10,
    )

    assert response.status_code == 200
