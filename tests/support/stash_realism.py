"""Helpers for the Stash-realism tests: GraphQL over HTTP, and throwaway raw plugins.

Every query goes through `post_graphql`, which first proves real Stash would accept it.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

from stashplex.sandbox.stash import StashEmulator
from tests.support.stash_schema import assert_query_valid, post_graphql

ECHO_SCRIPT = Path(__file__).resolve().parent / "plugins" / "echo" / "echo.py"

#: A raw plugin that runs the GraphQL query in its `query` arg with `{"id": "<hook id>"}` using
#: the session cookie Stash handed it, and returns the answer (or the HTTP status) as output.
PROBE_SCRIPT = '''
import json, sys, urllib.error, urllib.request
payload = json.loads(sys.stdin.read())
args, connection = payload["args"], payload["server_connection"]
hook = args.get("hookContext") or {}
host = "127.0.0.1" if connection["Host"] in ("0.0.0.0", "", "::") else connection["Host"]
request = urllib.request.Request(
    f"{connection['Scheme']}://{host}:{connection['Port']}/graphql",
    data=json.dumps({"query": args["query"], "variables": {"id": str(hook.get("id"))}}).encode(),
    headers={"Content-Type": "application/json",
             "Cookie": "session=" + connection["SessionCookie"]["Value"]},
)
try:
    with urllib.request.urlopen(request, timeout=30) as response:
        answer = {"status": response.status, "body": json.load(response)}
except urllib.error.HTTPError as error:
    answer = {"status": error.code, "body": None}
print(json.dumps({"output": answer, "error": None}))
'''


def gql(
    stash: StashEmulator,
    query: str,
    variables: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """POST over real HTTP (schema-checked) and return the decoded body; HTTP 200 required."""
    response = post_graphql(stash.graphql_url, query, variables, headers)
    assert response.status_code == 200, (response.status_code, response.text)
    return response.json()


def data(
    stash: StashEmulator,
    query: str,
    variables: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Like `gql`, but the answer must carry no error; returns its `data`."""
    body = gql(stash, query, variables, headers)
    assert "errors" not in body, body
    return body["data"]


def echo_manifest(folder: Path, plugin_id: str, triggers: list[str]) -> Path:
    """A plugin whose one hook runs the shared echo script on `triggers`."""
    path = folder / plugin_id / f"{plugin_id}.yml"
    path.parent.mkdir(parents=True)
    path.write_text(
        textwrap.dedent(f"""\
        name: {plugin_id}
        exec: [python, "{ECHO_SCRIPT}"]
        hooks:
          - name: echo
            triggeredBy: {json.dumps(triggers)}
            defaultArgs:
              mode: hook
        tasks:
          - name: Echo
            defaultArgs:
              mode: task
        """),
        encoding="utf-8",
    )
    return path


def probe_manifest(folder: Path, plugin_id: str, triggers: list[str], query: str) -> Path:
    """A plugin whose hook runs `query` back against Stash with its own session cookie."""
    assert_query_valid(query)
    directory = folder / plugin_id
    directory.mkdir(parents=True)
    (directory / "probe.py").write_text(PROBE_SCRIPT, encoding="utf-8")
    path = directory / f"{plugin_id}.yml"
    path.write_text(
        textwrap.dedent(f"""\
        name: {plugin_id}
        exec: [python, "{{pluginDir}}/probe.py"]
        hooks:
          - name: probe
            triggeredBy: {json.dumps(triggers)}
            defaultArgs:
              query: {json.dumps(" ".join(query.split()))}
        """),
        encoding="utf-8",
    )
    return path
