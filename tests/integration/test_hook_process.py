"""The installed hook and task scripts, run as Stash runs them: a fresh ``python -S`` process,
JSON on stdin, stdout read to EOF, log lines on stderr."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import get_args

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from actors.messages import HookEvent
from stashplex.link import handoff, wire
from stashplex.link.events import HOOK_TRIGGERS, RELATED_TRIGGERS, SCENE_TRIGGERS
from stashplex.link.ipc import LocalServer
from stashplex.plugin import hook as hook_module
from stashplex.plugin import install_plugin
from tests.support.waiting import wait_until

REPO = Path(__file__).resolve().parents[2]
COOKIE = "MTczNjU4-session-cookie-value"

SPAWN_MARKER_SCRIPT = """
import os, sys
with open(sys.argv[1], "a") as marker:
    marker.write(f"{os.getpid()}\\n")
"""

MINI_SUPERVISOR_SCRIPT = f"""
import sys, threading
sys.path.insert(0, {str(REPO)!r})
from pathlib import Path
from stashplex.link.ipc import LocalServer

stop = threading.Event()

def handler(message):
    if message.get("type") == "task" and message.get("task") == "stop":
        stop.set()
        return {{"ok": True, "summary": "stopping"}}
    return {{"ok": True}}

with LocalServer(Path(sys.argv[1]), handler):
    stop.wait(60)
"""


class Plugin:
    """An installed plugin folder whose supervisor command is a harmless stand-in."""

    def __init__(self, root: Path, spawn_script: str) -> None:
        self.root = root
        self.data_dir = root / "data"
        self.dir = root / "plugins" / "stash plex"
        install_plugin(self.dir, data_dir=self.data_dir, python=Path(sys.executable))
        self.hook = self.dir / "stashplex_run_hook.py"
        self.task = self.dir / "stashplex_task.py"
        self.marker = root / "spawned.txt"
        script = root / "spawn_stand_in.py"
        script.write_text(spawn_script)
        config = json.loads((self.dir / "stashplex-hook.json").read_text())
        config["spawn"] = [sys.executable, "-S", str(script), str(self.marker)]
        (self.dir / "stashplex-hook.json").write_text(json.dumps(config))

    def use_spawn(self, argv: list[str]) -> None:
        config = json.loads((self.dir / "stashplex-hook.json").read_text())
        config["spawn"] = argv
        (self.dir / "stashplex-hook.json").write_text(json.dumps(config))

    def spawned(self) -> list[str]:
        return self.marker.read_text().split() if self.marker.exists() else []

    def spool(self) -> list[dict]:
        files = sorted((self.data_dir / "spool").glob("*.json"))
        return [handoff.read_spool_record(path.read_bytes()) for path in files]


@pytest.fixture
def plugin():
    root = Path(tempfile.mkdtemp(prefix="sph-", dir="/tmp"))
    yield Plugin(root, SPAWN_MARKER_SCRIPT)
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def server(plugin):
    received: list[dict] = []
    lock = threading.Lock()

    def handler(message: dict) -> dict:
        with lock:
            received.append(message)
        return {"ok": True}

    with LocalServer(plugin.data_dir, handler):
        yield received


def stash_env(**extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key != "STASHPLEX_DATA_DIR"}
    return {**env, **extra}


def run_script(script: Path, stdin: bytes, env: dict[str, str] | None = None):
    return subprocess.run(
        [sys.executable, "-S", str(script)],
        check=False,
        input=stdin,
        capture_output=True,
        timeout=60,
        cwd="/",
        env=env or stash_env(),
    )


def hook_input(scene_id: int = 45, trigger: str = "Scene.Update.Post", **context) -> bytes:
    hook_context = {
        "id": scene_id,
        "type": trigger,
        "input": {"id": str(scene_id), "title": "New title"},
        "inputFields": ["id", "title"],
        **context,
    }
    payload = {
        "server_connection": {
            "Scheme": "http",
            "Host": "0.0.0.0",
            "Port": 9999,
            "SessionCookie": {"Name": "session", "Value": COOKIE, "MaxAge": 3600},
            "Dir": "/root/.stash",
            "PluginDir": "/root/.stash/plugins/stashplex",
        },
        "args": {"hookContext": hook_context},
    }
    return json.dumps(payload).encode()


def task_input(task: str, **extra: str) -> bytes:
    return json.dumps(
        {"server_connection": {"Port": 9999}, "args": {"task": task, **extra}}
    ).encode()


def result_of(completed) -> dict:
    """Stash's reading of stdout: exactly one JSON object."""
    return json.loads(completed.stdout)


def log_lines(completed) -> list[str]:
    return completed.stderr.decode().splitlines()


# -- delivery -----------------------------------------------------------------------------------


def test_with_the_supervisor_up_the_event_arrives_and_the_hook_exits_0(plugin, server):
    completed = run_script(plugin.hook, hook_input(45))

    assert completed.returncode == 0
    assert result_of(completed) == {
        "output": "queued Scene.Update.Post for scene 45",
        "error": None,
    }
    assert completed.stderr == b""
    (message,) = server
    event = message["event"]
    assert message["type"] == "hook"
    assert event["trigger"] == "Scene.Update.Post"
    assert event["scene_id"] == "45"
    assert event["input_fields"] == ["id", "title"]
    assert event["input"] == {"id": "45", "title": "New title"}
    assert event["connection"] == {
        "scheme": "http",
        "host": "127.0.0.1",
        "port": 9999,
        "session_cookie": COOKIE,
    }
    assert isinstance(event["received_at"], float)
    assert isinstance(event["hook_pid"], int)


def test_a_huge_cover_image_is_replaced_by_a_short_marker(plugin, server):
    cover = "data:image/jpeg;base64," + "A" * 3_000_000
    stdin = hook_input(7, input={"id": "7", "cover_image": cover}, inputFields=["cover_image"])

    completed = run_script(plugin.hook, stdin)

    assert completed.returncode == 0
    assert server[0]["event"]["input"] == {
        "id": "7",
        "cover_image": f"<data URL omitted: {len(cover)} chars>",
    }


def test_a_create_hook_without_input_fields_is_delivered_with_an_empty_list(plugin, server):
    stdin = json.dumps(
        {"args": {"hookContext": {"id": 3, "type": "Scene.Create.Post", "input": None}}}
    )

    completed = run_script(plugin.hook, stdin.encode())

    assert completed.returncode == 0
    event = server[0]["event"]
    assert (event["input_fields"], event["input"], event["connection"]) == ([], None, None)


@pytest.mark.parametrize(
    ("trigger", "kind"),
    [
        ("Tag.Update.Post", "tag"),
        ("Performer.Update.Post", "performer"),
        ("Studio.Update.Post", "studio"),
        ("Group.Update.Post", "group"),
    ],
)
def test_a_related_object_edit_is_delivered_under_object_id_never_as_a_scene(
    plugin, server, trigger, kind
):
    # Given Stash's hook input for a renamed tag (performer, studio, group) with id 12
    stdin = hook_input(
        12, trigger, input={"id": "12", "name": "New name"}, inputFields=["name", "id"]
    )

    # When the hook runs with the supervisor up
    completed = run_script(plugin.hook, stdin)

    # Then the event names the object in object_id, not as a scene, and the output says which
    assert completed.returncode == 0
    assert result_of(completed) == {"output": f"queued {trigger} for {kind} 12", "error": None}
    (message,) = server
    event = message["event"]
    assert (event["trigger"], event["object_id"]) == (trigger, "12")
    assert "scene_id" not in event
    assert event["input_fields"] == ["name", "id"]
    # And the supervisor takes it as that object
    assert HookEvent.model_validate(event).object_kind == kind


def test_a_related_object_edit_without_a_supervisor_is_spooled_under_its_own_name(plugin):
    completed = run_script(plugin.hook, hook_input(3, "Tag.Update.Post", inputFields=["name"]))

    assert completed.returncode == 0
    (line,) = log_lines(completed)
    assert line.startswith("\x01i\x02spooled Tag.Update.Post for tag 3 (")
    assert [(event["trigger"], event["object_id"]) for event in plugin.spool()] == [
        ("Tag.Update.Post", "3")
    ]


def test_the_data_dir_environment_variable_overrides_the_config(plugin):
    other = plugin.root / "other-data"
    received: list[dict] = []

    with LocalServer(other, lambda message: received.append(message) or {"ok": True}):
        completed = run_script(plugin.hook, hook_input(9), stash_env(STASHPLEX_DATA_DIR=str(other)))

    assert completed.returncode == 0
    assert [message["event"]["scene_id"] for message in received] == ["9"]


def test_the_hook_also_runs_straight_from_the_source_tree(plugin, server):
    source_hook = REPO / "stashplex" / "plugin" / "hook.py"

    completed = run_script(
        source_hook, hook_input(11), stash_env(STASHPLEX_DATA_DIR=str(plugin.data_dir))
    )

    assert completed.returncode == 0
    assert [message["event"]["scene_id"] for message in server] == ["11"]


@pytest.mark.slow
def test_a_burst_of_500_hook_processes_is_acknowledged_without_a_loss(plugin, server):
    # When 500 separate hook processes run, 64 at a time
    def one_hook(scene_id: int):
        return run_script(plugin.hook, hook_input(scene_id))

    with ThreadPoolExecutor(max_workers=64) as pool:
        results = list(pool.map(one_hook, range(1, 501)))

    # Then each exited 0 with an acknowledgement, and each event arrived exactly once
    assert [completed.returncode for completed in results] == [0] * 500
    assert all(result_of(c)["output"].startswith("queued") for c in results)
    assert sorted(int(message["event"]["scene_id"]) for message in server) == list(range(1, 501))
    assert plugin.spool() == []


# -- no supervisor ----------------------------------------------------------------------------


def test_without_a_supervisor_a_burst_of_20_hooks_is_spooled_and_starts_it_once(plugin):
    # When 20 hooks run at once and nothing listens
    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(lambda n: run_script(plugin.hook, hook_input(n)), range(1, 21)))

    # Then every event is safely spooled and exactly one hook started the supervisor
    assert [completed.returncode for completed in results] == [0] * 20
    outputs = [result_of(completed)["output"] for completed in results]
    assert sum(output.endswith("; starting the supervisor") for output in outputs) == 1
    assert sum(output.endswith("; supervisor start already under way") for output in outputs) == 19
    assert sorted(int(event["scene_id"]) for event in plugin.spool()) == list(range(1, 21))
    wait_until(plugin.spawned, message="the stand-in supervisor to run")
    assert len(plugin.spawned()) == 1
    for completed in results:
        (line,) = log_lines(completed)
        assert line.startswith("\x01i\x02spooled Scene.Update.Post for scene ")


def test_a_problem_the_supervisor_recorded_is_one_error_line_of_the_next_hook_only(plugin, server):
    # Given a problem the supervisor recorded, with its fix
    from stashplex.runtime.problems import ProblemLog

    ProblemLog(plugin.data_dir).report("settings", "plex_url is wrong", "correct it in Stash")
    # When two hooks run, the event delivered each time
    first = run_script(plugin.hook, hook_input(1))
    second = run_script(plugin.hook, hook_input(2))
    # Then the first logs it at error level, the second does not repeat it, and both succeed
    assert [result_of(c)["error"] for c in (first, second)] == [None, None]
    assert log_lines(first) == ["\x01e\x02stashplex: plex_url is wrong. Fix: correct it in Stash"]
    assert log_lines(second) == []
    assert [message["event"]["scene_id"] for message in server] == ["1", "2"]


def test_the_session_cookie_never_reaches_stashs_log(plugin):
    spooled = run_script(plugin.hook, hook_input(1))

    with LocalServer(plugin.data_dir, lambda message: {"ok": True}):
        delivered = run_script(plugin.hook, hook_input(2))

    for completed in (spooled, delivered):
        assert COOKIE.encode() not in completed.stdout + completed.stderr
    assert plugin.spool()[0]["connection"]["session_cookie"] == COOKIE


def test_a_supervisor_that_refuses_the_event_gets_it_spooled_without_a_restart(plugin):
    def refusing(message: dict) -> dict:
        return {"ok": False, "error": "intake mailbox unavailable"}

    with LocalServer(plugin.data_dir, refusing):
        completed = run_script(plugin.hook, hook_input(5))

    assert completed.returncode == 0
    (line,) = log_lines(completed)
    assert line.startswith("\x01w\x02spooled Scene.Update.Post for scene 5 (supervisor refused")
    assert "intake mailbox unavailable" in line
    assert [event["scene_id"] for event in plugin.spool()] == ["5"]
    assert not (plugin.data_dir / "spawn.lock").exists()


def test_an_unstartable_supervisor_is_logged_as_an_error_but_the_event_is_kept(plugin):
    plugin.use_spawn([str(plugin.root / "no-such-python")])

    completed = run_script(plugin.hook, hook_input(6))

    assert completed.returncode == 0
    (line,) = log_lines(completed)
    assert line.startswith("\x01e\x02spooled Scene.Update.Post for scene 6")
    assert "could not start the supervisor" in line
    assert [event["scene_id"] for event in plugin.spool()] == ["6"]


# -- bad input --------------------------------------------------------------------------------


def assert_one_clear_error(completed, exit_code: int, expected: str) -> None:
    assert completed.returncode == exit_code
    assert b"Traceback" not in completed.stderr
    (line,) = log_lines(completed)
    assert line.startswith("\x01e\x02stashplex ")
    assert expected in line
    result = result_of(completed)
    assert result["output"] is None
    assert expected in result["error"]


BAD_ID = "'args.hookContext.id' must be a positive integer"
VALID_CONTEXT = {"id": 1, "type": "Scene.Update.Post"}


@pytest.mark.parametrize(
    ("stdin", "expected"),
    [
        (b"", "hook input is empty"),
        (b"{not json", "hook input is not JSON"),
        (b"\xff\xfe{}", "hook input is not UTF-8"),
        (b"[1, 2]", "must be a JSON object, not list"),
        (b'{"args": 5}', "no 'args' object"),
        (b'{"args": {"task": "sync_all"}}', "no 'args.hookContext' object"),
        (b'{"args": {"hookContext": {"id": 1}}}', "'args.hookContext.type' must be"),
        (b'{"args": {"hookContext": {"type": "Scene.Update.Post"}}}', "'args.hookContext.id'"),
        (b'{"args": {"hookContext": {"id": true, "type": "Scene.Update.Post"}}}', BAD_ID),
        (b'{"args": {"hookContext": {"id": "\xc2\xb2", "type": "Scene.Update.Post"}}}', BAD_ID),
        (
            json.dumps({"args": {"hookContext": {**VALID_CONTEXT, "inputFields": "id"}}}).encode(),
            "'args.hookContext.inputFields' must be a list of strings",
        ),
        (
            json.dumps({"server_connection": [], "args": {"hookContext": VALID_CONTEXT}}).encode(),
            "'server_connection' must be a JSON object",
        ),
        (
            json.dumps(
                {"server_connection": {"Port": "x"}, "args": {"hookContext": VALID_CONTEXT}}
            ).encode(),
            "'server_connection.Port' must be",
        ),
    ],
)
def test_malformed_stdin_exits_2_with_one_clear_error_line(plugin, stdin, expected):
    completed = run_script(plugin.hook, stdin)

    assert_one_clear_error(completed, 2, expected)
    assert plugin.spool() == []


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    garbage=st.binary(max_size=300)
    | st.dictionaries(st.text(max_size=8), st.integers()).map(lambda d: json.dumps(d).encode())
)
def test_garbage_on_stdin_never_produces_a_traceback(plugin, garbage):
    completed = run_script(plugin.hook, garbage)

    assert completed.returncode == 2
    assert b"Traceback" not in completed.stderr
    assert len(log_lines(completed)) == 1
    assert result_of(completed)["error"].startswith("stashplex hook: ")


@pytest.mark.parametrize(
    ("context", "expected"),
    [
        ({"type": "Gallery.Update.Post"}, "'args.hookContext.type' must be one of Scene."),
        ({"type": "scene.update.post"}, "'args.hookContext.type' must be one of Scene."),
        ({"id": 10**18}, "'args.hookContext.id' must be a positive integer of at most 18 digits"),
        ({"id": "1234567890123456789"}, "'args.hookContext.id' must be a positive integer"),
        ({"inputFields": ["f"] * 201}, "'args.hookContext.inputFields' has 201 names; at most 200"),
    ],
    ids=["unhooked-trigger", "wrong-case", "19-digit-id", "19-digit-id-string", "201-fields"],
)
def test_an_event_the_supervisor_would_refuse_is_an_error_in_stashs_log_not_a_spool_file(
    plugin, server, context, expected
):
    # Given hook input that is well-formed JSON but breaks a rule the supervisor enforces
    stdin = hook_input(45, **context)

    # When the hook runs with the supervisor up
    completed = run_script(plugin.hook, stdin)

    # Then it exits 2 with one clear error line, and nothing is sent or spooled
    assert_one_clear_error(completed, 2, expected)
    assert server == []
    assert plugin.spool() == []


def test_the_largest_18_digit_scene_id_is_delivered(plugin, server):
    completed = run_script(plugin.hook, hook_input(10**18 - 1))

    assert completed.returncode == 0
    assert [message["event"]["scene_id"] for message in server] == [str(10**18 - 1)]


# -- agreement with the supervisor ------------------------------------------------------------


def test_the_hook_and_the_supervisor_know_the_same_triggers():
    # The supervisor's rules take the hook's constants; its typed trigger list must match them
    assert HOOK_TRIGGERS == SCENE_TRIGGERS + RELATED_TRIGGERS
    assert set(get_args(HookEvent.model_fields["trigger"].annotation)) == set(HOOK_TRIGGERS)


@pytest.mark.parametrize(
    "event",
    [
        {"trigger": "Tag.Update.Post", "scene_id": "7"},
        {"trigger": "Tag.Update.Post", "scene_id": "7", "object_id": "7"},
        {"trigger": "Scene.Update.Post", "object_id": "7"},
        {"trigger": "Scene.Update.Post"},
    ],
    ids=["tag-as-scene", "both-ids", "scene-as-object", "no-id"],
)
def test_the_supervisor_refuses_an_id_that_does_not_fit_its_trigger(event):
    # Given an event whose id is not where its trigger puts it (an old hook, a hand-made spool)
    # When the supervisor validates it, Then it is refused, never taken for a scene
    with pytest.raises(ValidationError, match="names"):
        HookEvent.model_validate(event)


def test_a_hook_event_without_server_connection_is_accepted_by_the_supervisor():
    # Given hook input without server_connection (the hook then forwards "connection": null)
    payload = {"args": {"hookContext": {"id": 3, "type": "Scene.Create.Post"}}}

    # When the hook builds its event
    event = hook_module.build_event(payload)

    # Then the supervisor accepts the event, with no connection details
    assert event["connection"] is None
    assert HookEvent.model_validate(event).connection == {}


_contexts = st.fixed_dictionaries(
    {},
    optional={
        "id": st.integers(min_value=-5, max_value=10**19)
        | st.sampled_from([10**18 - 1, 10**18, 0])
        | st.from_regex(r"\A[0-9]{1,20}\Z")
        | st.text(max_size=5)
        | st.none()
        | st.booleans(),
        "type": st.sampled_from([*HOOK_TRIGGERS, "Scene.Merge.Post", "Movie.Destroy.Post", ""])
        | st.text(max_size=20)
        | st.integers(),
        "inputFields": st.lists(st.text(max_size=5), max_size=205)
        | st.lists(st.integers(), min_size=1, max_size=2)
        | st.none(),
        "input": st.none() | st.dictionaries(st.text(max_size=5), st.text(max_size=5)),
    },
)
_connections = st.none() | st.fixed_dictionaries(
    {},
    optional={
        "Scheme": st.sampled_from(["http", "https", "ftp", ""]),
        "Host": st.sampled_from(["0.0.0.0", "stash", "", "::"]),
        "Port": st.integers(min_value=-1, max_value=70000),
        "SessionCookie": st.none() | st.fixed_dictionaries({"Value": st.text(max_size=8)}),
    },
)


@settings(max_examples=400, deadline=None)
@given(context=_contexts, connection=_connections)
def test_every_event_the_hook_accepts_the_supervisor_accepts_too(context, connection):
    # Given any hook input, When the hook builds its event
    payload = {"args": {"hookContext": context}}
    if connection is not None:
        payload["server_connection"] = connection
    try:
        event = hook_module.build_event(payload)
    except hook_module.BadInputError:
        return  # refused by the hook: a clear error in Stash's log, never spooled

    # Then the supervisor accepts it (else it would be spooled and refused on every drain)
    try:
        HookEvent.model_validate(event)
    except ValidationError as exc:
        pytest.fail(f"hook accepted {context!r} but the supervisor refuses it: {exc}")


def bare_plugin_folder(plugin) -> Path:
    """The plugin's files without ``stashplex-hook.json``: a folder from Stash's package manager."""
    bare = plugin.root / "bare"
    shutil.copytree(plugin.dir, bare, ignore=shutil.ignore_patterns("stashplex-hook.json"))
    return bare


def test_a_folder_without_config_keeps_its_data_in_stashs_config_folder(plugin):
    # Given a plugin folder as Stash's package manager installs it (no stashplex-hook.json)
    bare = bare_plugin_folder(plugin)
    stash_config = plugin.root / "stash-config"
    received: list[dict] = []

    # When the hook runs with Stash's config folder in server_connection.Dir
    stdin = json.loads(hook_input(4))
    stdin["server_connection"]["Dir"] = str(stash_config)
    with LocalServer(stash_config / "stashplex", lambda m: received.append(m) or {"ok": True}):
        completed = run_script(bare / "stashplex_run_hook.py", json.dumps(stdin).encode())

    # Then the event went to the supervisor of <Dir>/stashplex
    assert completed.returncode == 0, completed.stderr
    assert [message["event"]["scene_id"] for message in received] == ["4"]


def test_a_folder_without_config_nor_dir_from_stash_exits_1_and_says_how_to_fix_it(plugin):
    # Given a plugin folder without stashplex-hook.json, and hook input without Dir
    bare = bare_plugin_folder(plugin)
    stdin = json.loads(hook_input(1))
    del stdin["server_connection"]["Dir"]

    # When the hook runs, Then it names the fix in one line
    completed = run_script(bare / "stashplex_run_hook.py", json.dumps(stdin).encode())

    assert_one_clear_error(completed, 1, "no server_connection.Dir; set STASHPLEX_DATA_DIR")


# -- tasks ------------------------------------------------------------------------------------


def test_a_task_follows_its_job_to_the_end_mirroring_progress_and_messages(plugin):
    # Given a supervisor running a three-step job
    requests: list[dict] = []
    polls = iter(range(1, 4))

    def handler(message: dict) -> dict:
        requests.append(message)
        if message["type"] == "task":
            return {"ok": True, "job": "job-1"}
        step = next(polls)
        return {
            "ok": True,
            "progress": step / 3,
            "messages": [f"synced batch {step}"],
            "done": step == 3,
            "summary": {"synced": 3} if step == 3 else None,
        }

    # When Stash runs the task
    with LocalServer(plugin.data_dir, handler):
        completed = run_script(plugin.task, task_input("sync_all", since="2026-01-01"))

    # Then the job's progress and messages reach Stash's log, and its summary both the result
    # and (since Stash logs a task's output only at DEBUG) an info line after the messages
    assert completed.returncode == 0
    assert result_of(completed) == {"output": {"synced": 3}, "error": None}
    lines = log_lines(completed)
    assert [line for line in lines if line.startswith("\x01i\x02")] == [
        *(f"\x01i\x02synced batch {step}" for step in (1, 2, 3)),
        '\x01i\x02{"synced":3}',
    ]
    assert [line for line in lines if line.startswith("\x01p\x02")] == [
        "\x01p\x020.3333", "\x01p\x020.6667", "\x01p\x021.0000",
    ]  # fmt: skip
    task_request = requests[0]
    assert (task_request["task"], task_request["args"]) == ("sync_all", {"since": "2026-01-01"})
    assert task_request["connection"]["host"] == "127.0.0.1"
    assert [r["after"] for r in requests[1:]] == [0, 1, 2]


def test_a_task_that_fails_in_the_supervisor_reports_its_error(plugin):
    with LocalServer(plugin.data_dir, lambda message: {"ok": False, "error": "Plex unreachable"}):
        completed = run_script(plugin.task, task_input("doctor"))

    assert_one_clear_error(completed, 1, "supervisor refused: Plex unreachable")


def test_a_task_without_a_supervisor_says_how_to_start_it(plugin):
    completed = run_script(plugin.task, task_input("status"))

    assert_one_clear_error(completed, 1, "run the 'Start supervisor' task")


def test_stop_without_a_supervisor_says_it_is_not_running(plugin):
    completed = run_script(plugin.task, task_input("stop"))

    assert completed.returncode == 0
    assert result_of(completed) == {"output": "supervisor is not running", "error": None}
    assert log_lines(completed) == ["\x01i\x02supervisor is not running"]


def test_a_task_with_an_empty_result_still_says_it_is_done_at_info_level(plugin):
    # Given a supervisor that answers a task without a summary
    with LocalServer(plugin.data_dir, lambda message: {"ok": True}):
        # When Stash runs the task
        completed = run_script(plugin.task, task_input("dlq_purge"))

    # Then Stash's log at Info still shows that the task ran
    assert completed.returncode == 0
    assert result_of(completed) == {"output": None, "error": None}
    assert log_lines(completed) == ["\x01i\x02stashplex task dlq_purge: done"]


def test_a_task_input_without_a_task_name_exits_2(plugin):
    completed = run_script(plugin.task, b'{"args": {}}')

    assert_one_clear_error(completed, 2, "no 'args.task' name")


def test_start_launches_the_supervisor_detached_and_waits_until_it_answers(plugin):
    # Given a stand-in supervisor that serves until told to stop
    script = plugin.root / "mini_supervisor.py"
    script.write_text(MINI_SUPERVISOR_SCRIPT)
    plugin.use_spawn([sys.executable, str(script), str(plugin.data_dir)])

    # When the start task runs, Then the supervisor answers afterwards
    started = run_script(plugin.task, task_input("start"))
    assert result_of(started) == {"output": "supervisor started", "error": None}
    again = run_script(plugin.task, task_input("start"))
    assert result_of(again) == {"output": "supervisor already running", "error": None}

    # And the stop task stops it
    stopped = run_script(plugin.task, task_input("stop"))
    assert result_of(stopped) == {"output": "stopping", "error": None}
    wait_until(lambda: not (plugin.data_dir / wire.SOCKET_NAME).exists(), message="supervisor exit")
