"""Throughput of the Plex emulator: small requests per second and listing 50,000 items.

The emulator runs in its own process (as `python -m stashplex.sandbox.plex`) so the client and
server do not share a GIL. Prints figures only; every loop is bounded in count.
Run: ``.venv/bin/python bench/plex_emulator.py [--requests 3000] [--items 100000]``.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import requests
from _common import print_table, save
from plexapi.server import PlexServer

REPO = Path(__file__).resolve().parents[1]
TOKEN = "bench-token"


def start_emulator(items: int) -> tuple[subprocess.Popen[str], str, float]:
    started = time.perf_counter()
    command = [sys.executable, "-m", "stashplex.sandbox.plex", "--port", "0", "--token", TOKEN]
    process = subprocess.Popen(
        [*command, "--items", str(items), "--seed", "1"],
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    banner = process.stdout.readline() if process.stdout else ""
    if " at " not in banner:
        process.kill()
        raise SystemExit(f"emulator did not start: {banner!r}")
    return process, banner.split(" at ", 1)[1].split(" ", 1)[0], time.perf_counter() - started


def rate(url: str, path: str, count: int, threads: int) -> float:
    """Requests per second with one keep-alive session per client thread."""

    def client() -> None:
        session = requests.Session()
        headers = {"X-Plex-Token": TOKEN}
        for _ in range(count):
            session.get(url + path, headers=headers, timeout=10).raise_for_status()

    workers = [threading.Thread(target=client) for _ in range(threads)]
    started = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return count * threads / (time.perf_counter() - started)


def fetch_item_rate(url: str, count: int) -> float:
    plex = PlexServer(url, TOKEN, session=requests.Session())
    started = time.perf_counter()
    for key in range(1, count + 1):
        plex.fetchItem(key)
    return count / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=3000, help="requests per client thread")
    parser.add_argument("--items", type=int, default=100_000, help="items to seed (movies: half)")
    args = parser.parse_args()

    process, url, boot = start_emulator(args.items)
    rows: list[tuple[str, str]] = [(f"start + seed {args.items:,} items", f"{boot:.1f} s")]
    try:
        for threads in (1, 2):
            per_second = rate(url, "/identity", args.requests, threads)
            rows.append((f"GET /identity, {threads} client thread(s)", f"{per_second:,.0f} req/s"))
        per_second = rate(url, "/library/metadata/1", args.requests, 2)
        rows.append(("GET /library/metadata/1, 2 client threads", f"{per_second:,.0f} req/s"))
        rows.append(("plexapi fetchItem, 1 thread", f"{fetch_item_rate(url, 1000):,.0f} req/s"))

        section = PlexServer(url, TOKEN, timeout=60).library.section("Movies")
        started = time.perf_counter()
        listed = section.all(container_size=1000)
        elapsed = time.perf_counter() - started
        rows.append((f"plexapi all(), {len(listed):,} items, pages of 1000", f"{elapsed:.1f} s"))
        rows.append(
            (
                f"raw HTTP, {len(listed):,} items, pages of 1000",
                f"{raw_listing(url, section.key, len(listed)):.2f} s",
            )
        )
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
    print_table("Plex emulator (separate process, keep-alive clients)", rows)
    save("plex_emulator", {"items": args.items, "requests": args.requests, "rows": dict(rows)})


def raw_listing(url: str, section_key: int, total: int) -> float:
    """The same pages without plexapi's object building: the server's share of the time."""
    session = requests.Session()
    started = time.perf_counter()
    for start in range(0, total, 1000):
        session.get(
            f"{url}/library/sections/{section_key}/all",
            params={"type": "1", "includeGuids": "1"},
            headers={
                "X-Plex-Token": TOKEN,
                "X-Plex-Container-Start": str(start),
                "X-Plex-Container-Size": "1000",
            },
            timeout=60,
        ).raise_for_status()
    return time.perf_counter() - started


if __name__ == "__main__":
    main()
