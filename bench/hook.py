"""Wall time of the Stash hook vs a bare interpreter start, run the way Stash runs it.

Run: ``.venv/bin/python bench/hook.py [--runs 200]``. Prints figures, asserts nothing.
Each round launches, in turn, a fresh process of: the installed hook (``<venv python> -S
stashplex_run_hook.py``, as the manifest says, JSON on stdin, stdout read to EOF) against a
live ``LocalServer`` whose handler appends each event to a file and fsyncs it (the stand-in for
the durable Intake put), ``python3 -c pass`` as found on PATH, ``<venv python> -c pass`` and
``<venv python> -S -c pass``. Interleaving spreads machine noise evenly over the four.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from _common import print_table, save, summary_ms

from stashplex.link.ipc import LocalServer
from stashplex.plugin import install_plugin
from stashplex.plugin.install import HOOK_ENTRY

HOOK_INPUT = json.dumps(
    {
        "server_connection": {
            "Scheme": "http",
            "Host": "0.0.0.0",
            "Port": 9999,
            "SessionCookie": {"Name": "session", "Value": "bench-cookie", "MaxAge": 3600},
        },
        "args": {
            "hookContext": {
                "id": 45,
                "type": "Scene.Update.Post",
                "input": {"id": "45", "title": "A title", "rating100": 80},
                "inputFields": ["id", "title", "rating100"],
            }
        },
    }
).encode()


class DurableAppend:
    """The handler: one fsynced append per event before the acknowledgement."""

    def __init__(self, path: Path) -> None:
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        self._lock = threading.Lock()
        self.count = 0

    def __call__(self, message: dict) -> dict:
        line = (json.dumps(message["event"]) + "\n").encode()
        with self._lock:
            os.write(self._fd, line)
            os.fsync(self._fd)
            self.count += 1
        return {"ok": True}

    def close(self) -> None:
        os.close(self._fd)


def timed_run(argv: list[str], stdin: bytes) -> float:
    started = time.perf_counter()
    completed = subprocess.run(argv, input=stdin, capture_output=True, check=False, cwd="/")
    elapsed = time.perf_counter() - started
    if completed.returncode != 0:
        raise SystemExit(f"{argv} failed: {completed.stderr.decode(errors='replace')}")
    return elapsed


def describe_path_python3() -> str:
    found = shutil.which("python3")
    if found is None:
        return "python3 -c pass (not on PATH)"
    with Path(found).open("rb") as handle:
        shim = handle.read(2) == b"#!"
    return f"python3 -c pass ({found}{', a script shim' if shim else ''})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    options = parser.parse_args()
    venv_python = sys.executable
    root = Path(tempfile.mkdtemp(prefix="spb-", dir="/tmp"))
    try:
        data_dir = root / "data"
        hook = install_plugin(root / "plugin", data_dir=data_dir, python=Path(venv_python))
        hook_script = str(hook.parent / HOOK_ENTRY)
        handler = DurableAppend(root / "intake.log")
        path_python3 = shutil.which("python3") or "python3"
        series: dict[str, tuple[list[str], bytes]] = {
            "hook (-S, live server, fsync)": ([venv_python, "-S", hook_script], HOOK_INPUT),
            describe_path_python3(): ([path_python3, "-c", "pass"], b""),
            f"{venv_python} -c pass": ([venv_python, "-c", "pass"], b""),
            f"{venv_python} -S -c pass": ([venv_python, "-S", "-c", "pass"], b""),
        }
        timings: dict[str, list[float]] = {name: [] for name in series}
        with LocalServer(data_dir, handler):
            for argv, stdin in series.values():  # warm the page cache once
                timed_run(argv, stdin)
            for _ in range(options.runs):
                for name, (argv, stdin) in series.items():
                    timings[name].append(timed_run(argv, stdin))
        handler.close()
    finally:
        shutil.rmtree(root, ignore_errors=True)

    figures = {name: summary_ms(values) for name, values in timings.items()}
    hook_name = next(iter(series))
    hook_p99 = figures[hook_name]["p99_ms"]
    rows = [
        (name, f"p50 {f['p50_ms']:7.2f} ms   p99 {f['p99_ms']:7.2f} ms   max {f['max_ms']:7.2f} ms")
        for name, f in figures.items()
    ]
    rows += [
        (f"hook p99 / {name}", f"{hook_p99 / f['p99_ms']:.2f}x")
        for name, f in figures.items()
        if name != hook_name
    ]
    rows.append(("events acknowledged", f"{handler.count} of {options.runs + 1}"))
    print_table(f"hook wall time, {options.runs} interleaved runs each", rows)
    save("hook", {"runs": options.runs, "series": figures, "acknowledged": handler.count})


if __name__ == "__main__":
    main()
