"""Every plugin run gets `server_connection` as Stash builds it, with a cookie of its own.

Source: pkg/plugin/plugins.go (`makeServerConnection`, `buildPluginInput`), pkg/plugin/common/
msg.go (`StashServerConnection`), pkg/session/plugin.go (`MakePluginCookie`), gorilla/sessions
v1.2.1 (`NewSession` zero options), Go 1.24 net/http.Cookie field order.
"""

from __future__ import annotations

from pathlib import Path

from stashplex.sandbox.stash import StashEmulator
from tests.support.stash_realism import echo_manifest
from tests.support.stash_schema import post_graphql

KEY = "k"
GO_COOKIE_FIELDS = [
    "Name", "Value", "Quoted", "Path", "Domain", "Expires", "RawExpires", "MaxAge", "Secure",
    "HttpOnly", "SameSite", "Partitioned", "Raw", "Unparsed",
]  # fmt: skip


def test_every_plugin_run_gets_stashs_server_connection_with_a_fresh_cookie(tmp_path):
    # Given a secured Stash with a plugin on scene updates
    with StashEmulator(api_key=KEY) as stash:
        manifest = echo_manifest(tmp_path, "conn", ["Scene.Update.Post"])
        stash.attach_plugin(manifest)
        scene_id = stash.add_scene(title="x")

        # When two saves each run the hook
        first = stash.update_scene(scene_id, title="1").hook_runs[0]
        second = stash.update_scene(scene_id, title="2").hook_runs[0]
        port, config_dir = stash.port, stash.config_dir

    # Then the keys are Go's field names, in struct order, with Stash's values
    connection = first.stdin["server_connection"]
    assert list(connection) == ["Scheme", "Host", "Port", "SessionCookie", "Dir", "PluginDir"]
    assert connection["Scheme"] == "http"
    assert connection["Host"] == "0.0.0.0"
    assert connection["Port"] == port
    assert connection["Dir"] == str(config_dir)
    assert connection["PluginDir"] == str(Path(manifest).parent)
    # And the cookie is MakePluginCookie's: zero options, so no path, no max age, no expiry
    cookie = connection["SessionCookie"]
    assert list(cookie) == GO_COOKIE_FIELDS
    assert {key: value for key, value in cookie.items() if key != "Value"} == {
        "Name": "session",
        "Quoted": False,
        "Path": "",
        "Domain": "",
        "Expires": "0001-01-01T00:00:00Z",
        "RawExpires": "",
        "MaxAge": 0,
        "Secure": False,
        "HttpOnly": False,
        "SameSite": 0,
        "Partitioned": False,
        "Raw": "",
        "Unparsed": None,
    }
    # And each run had its own cookie
    assert cookie["Value"] != second.stdin["server_connection"]["SessionCookie"]["Value"]


def test_a_task_gets_a_cookie_for_the_user_who_started_it(tmp_path):
    # Given a secured Stash and a plugin task started with the API key
    with StashEmulator(api_key=KEY) as stash:
        runner = stash.attach_plugin(echo_manifest(tmp_path, "task", []))
        response = post_graphql(
            stash.graphql_url,
            'mutation { runPluginTask(plugin_id: "task", task_name: "Echo") }',
            headers={"ApiKey": KEY},
        )
        run = runner.jobs[response.json()["data"]["runPluginTask"]].result(timeout=60)

        # When the task's cookie is used against the secured Stash
        cookie = run.stdin["server_connection"]["SessionCookie"]["Value"]
        answer = post_graphql(
            stash.graphql_url, "{ version { hash } }", headers={"Cookie": f"session={cookie}"}
        )

    # Then it logs in (the cookie carries the API key's user)
    assert "hookContext" not in run.stdin["args"]
    assert answer.status_code == 200
