"""``demo``: the README's first command. Runs everything on a temporary data directory."""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from stashplex.cli.common import EXIT_OK, CommandError, ask
from stashplex.cli.daemon import wait_until_answering
from stashplex.datadir import DataDir

PROBES = 5


def register(sub: argparse._SubParsersAction) -> None:
    demo = sub.add_parser(
        "demo",
        help="run a self-contained demo on a temporary data directory, then clean up",
    )
    demo.add_argument("--keep", action="store_true", help="keep the temporary data directory")
    demo.set_defaults(func=cmd_demo)


def cmd_demo(args: argparse.Namespace) -> int:
    root = Path(tempfile.mkdtemp(prefix="stashplex-demo-"))
    data = DataDir(root / "data").ensure()
    print(f"demo data directory: {data.root}")
    supervisor = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "stashplex",
            "run",
            "--data-dir",
            str(data.root),
            "--log-level",
            "WARNING",
        ],
    )
    try:
        reply = wait_until_answering(data, 30)
        print(f"supervisor pid {supervisor.pid}, actor host pid {reply['pid']}")
        ask(data, {"type": "trace", "count": PROBES, "tag": "demo"})
        trace_file = data.root / "trace.jsonl"
        rows = _wait_for_lines(trace_file, PROBES)
        for row in rows:
            hops = row["hops"]
            path = " -> ".join(name for name, _ in hops)
            total_ms = (hops[-1][1] - row["created_at"]) * 1000
            print(f"probe {row['id'][:8]}: {path}  ({total_ms:.1f} ms end to end)")
        status = ask(data, {"type": "status"})
        print("mailboxes:", json.dumps(status["mailboxes"]))
    finally:
        supervisor.terminate()
        code = supervisor.wait(60)
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    if code != 0:
        raise CommandError(f"the supervisor exited with code {code}")
    print("demo finished: the supervisor stopped cleanly")
    return EXIT_OK


def _wait_for_lines(path: Path, count: int, timeout: float = 30) -> list[dict]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists():
            rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
            if len(rows) >= count:
                return rows
        time.sleep(0.05)
    raise CommandError(f"only some probes came through within {timeout:.0f} s")
