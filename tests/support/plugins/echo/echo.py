"""Echo: a raw Stash plugin for tests. Reads Stash's stdin JSON, logs, answers on stdout."""

import json
import os
import signal
import sys
import time
import urllib.request
from pathlib import Path


def log(level: str, message: str) -> None:
    sys.stderr.write(f"\x01{level}\x02{message}\n")
    sys.stderr.flush()


def graphql(connection: dict, query: str, variables: dict) -> dict:
    host = connection["Host"]
    if host in ("0.0.0.0", "", "::"):
        host = "127.0.0.1"
    url = f"{connection['Scheme']}://{host}:{connection['Port']}/graphql"
    request = urllib.request.Request(
        url,
        data=json.dumps({"query": query, "variables": variables}).encode(),
        headers={
            "Content-Type": "application/json",
            "Cookie": f"session={connection['SessionCookie']['Value']}",
        },
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)


def main() -> None:
    payload = json.loads(sys.stdin.read() or "null")
    args = payload["args"]
    connection = payload["server_connection"]
    mode = args.get("mode")
    for letter, name in (
        ("t", "trace"),
        ("d", "debug"),
        ("i", "info"),
        ("w", "warning"),
        ("e", "error"),
    ):
        log(letter, f"  {name} message  ")
    sys.stderr.write("an unprefixed stderr line\n")
    result = {
        "received": payload,
        "argv": sys.argv[1:],
        "cwd": str(Path.cwd()),
        "pythonpath": os.environ.get("PYTHONPATH"),
    }
    hook = args.get("hookContext") or {}
    if mode == "count":
        steps = int(args["steps"])
        for step in range(1, steps + 1):
            sys.stderr.write(f"\x01p\x02{step / steps}\n")
    elif mode == "callback":
        found = graphql(
            connection, "query ($id: ID) { findScene(id: $id) { title } }", {"id": str(hook["id"])}
        )
        result["seen_title"] = found["data"]["findScene"]["title"]
    elif mode == "edit":
        graphql(
            connection,
            "mutation ($input: SceneUpdateInput!) { sceneUpdate(input: $input) { id } }",
            {"input": {"id": str(hook["id"]), "details": "edited by hook"}},
        )
    if "marker" in args:
        with Path(args["marker"]).open("a", encoding="utf-8") as marker:
            marker.write(f"{hook.get('id')}\n")
    if mode == "linger":  # until killed: notes every catchable signal it gets meanwhile
        notes = Path(args["notes"])

        def note(number: int, _frame: object) -> None:
            with notes.open("a", encoding="utf-8") as out:
                out.write(f"signal {number}\n")

        for caught in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(caught, note)
        with notes.open("a", encoding="utf-8") as out:
            out.write("started\n")
        time.sleep(float(args.get("seconds", 60)))
    if mode == "fail":
        print(json.dumps({"output": None, "error": "echo was asked to fail"}))
        sys.exit(3)
    print(json.dumps({"output": result, "error": None}))


if __name__ == "__main__":
    main()
