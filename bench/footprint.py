"""Footprint: the supervisor's resident memory, what it imports, and bytes per item (issue 19).

Four measurements, each in processes of its own so one's heap never colours another's:
- Imports: the modules (and third-party packages) the watchdog's and the host's entry modules
  import, with the RSS after importing them, and the RSS each heavy package costs alone.
- Idle: a supervisor (watchdog + actor host) started with nothing to do, after it settles; the
  C extensions its host has mapped say which heavy packages it loaded without being asked.
- Bytes per item: the path index (``stashplex/plex/index.py``) and the written state
  (``stashplex/plex/state.py``) filled with N synthetic items in a fresh process: RSS delta,
  Python heap (tracemalloc) and bytes stored, each divided by N.
- After a sync: a supervisor that synced a small library and then had nothing to do, with the
  host kept up (``idle_stop_minutes = 0``) and with the host asleep (it stopped for being idle
  and only the watchdog with its front door remains; issue 19).
- Loaded: a 100,000-item Plex library indexed and 10,000 sync jobs queued (``scale.loaded_rss``):
  peak, and after the queue drained.
Run: ``.venv/bin/python bench/footprint.py [--items 100000] [--library 100000] [--scenes 10000]``
(``--scenes 0`` skips the loaded run).
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

from _common import REPO, distinct_pages_mb, figure, peak_rss_mb, publish

MAX_IDLE_MB = 60.0
MAX_LOADED_MB = 150.0
WATCHDOG_ENTRY = "import stashplex.runtime.watchdog as m; m.main  # noqa"
HOST_ENTRY = "import stashplex.host.actor_host as m; m.actor_classes()"
#: Packages whose import cost is printed one by one (each in a bare interpreter).
PACKAGES = ("psutil", "pykka", "persistqueue", "pydantic", "requests", "plexapi.server")


def rss_kb() -> int:
    status = Path("/proc/self/status").read_text()
    return int(status.split("VmRSS:")[1].split()[0])


def child(code: str) -> dict[str, Any]:
    """Run ``code`` in a fresh interpreter of this venv; it prints one JSON line."""
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def import_cost(statement: str) -> dict[str, Any]:
    """RSS and modules of a bare interpreter after ``statement`` (None entries block a module)."""
    code = (
        "import sys\n"
        f"sys.path.insert(0, {str(REPO)!r})\n"
        "before = set(sys.modules)\n"
        f"{statement}\n"
        "import json\n"
        "rss = int(open('/proc/self/status').read().split('VmRSS:')[1].split()[0])\n"
        "mods = [m for m in set(sys.modules) - before if sys.modules[m] is not None]\n"
        "tops = sorted({m.split('.')[0] for m in mods if not m.startswith('_')})\n"
        "print(json.dumps({'rss_mb': round(rss / 1024, 1), 'modules': len(mods),"
        " 'packages': tops}))"
    )
    return child(code)


def imports() -> dict[str, Any]:
    bare = import_cost("pass")
    cost = {name: import_cost(f"import {name}")["rss_mb"] - bare["rss_mb"] for name in PACKAGES}
    return {
        "bare_rss_mb": bare["rss_mb"],
        "watchdog": import_cost(WATCHDOG_ENTRY),
        "host": import_cost(HOST_ENTRY),
        "package_cost_mb": {name: round(mb, 1) for name, mb in cost.items()},
    }


def synthetic_paths(n: int, seed: int = 1) -> Any:
    """Library-like paths: a few hundred studio folders, long scene file names."""
    rnd = random.Random(seed)
    for i in range(n):
        studio = f"Studio {rnd.randrange(300)}"
        yield i, f"/data/media/{studio}/{2000 + i % 24}/{studio} - {i:06d} - A scene title.mp4"


def index_per_item(n: int) -> dict[str, Any]:
    """In a child: fill a PathIndex with ``n`` parts the way a build does (page by page)."""
    from stashplex.plex.index import PathIndex
    from stashplex.sync.matching import PlexCandidate

    gc.collect()
    before = rss_kb()
    tracemalloc.start()
    started = time.perf_counter()
    index = PathIndex()
    add_many = getattr(index, "add_many", None)  # the index before issue 19 had only add()
    rows = synthetic_paths(n)
    for start in range(0, n, 1000):
        page = [
            PlexCandidate(10_000 + i, 1, path, 2_000_000_000 + i, 1_800_000 + i)
            for i, path in (next(rows) for _ in range(min(1000, n - start)))
        ]
        if add_many:
            add_many(page)
        else:
            for candidate in page:
                index.add(candidate)
    seconds = time.perf_counter() - started
    traced = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    gc.collect()
    after = rss_kb()
    probes = [path for _, path in synthetic_paths(2000, seed=1)]
    started = time.perf_counter()
    found = sum(bool(index.candidates([path])) for path in probes)
    lookup = (time.perf_counter() - started) / len(probes)
    stored = index.stored_bytes() if hasattr(index, "stored_bytes") else 0
    return {
        "items": len(index), "rss_bytes_per_item": round((after - before) * 1024 / n),
        "heap_bytes_per_item": round(traced / n), "stored_bytes_per_item": round(stored / n),
        "add_us": round(seconds / n * 1e6, 1), "lookup_us": round(lookup * 1e6, 1),
        "found": found,
    }  # fmt: skip


def state_per_item(n: int) -> dict[str, Any]:
    """In a child: record ``n`` written items (and a journal row per field) in GatewayState."""
    from stashplex.plex.state import GatewayState, Written
    from stashplex.runtime.datadir import DataDir

    with tempfile.TemporaryDirectory() as root:
        state = GatewayState(DataDir(Path(root)).ensure())
        gc.collect()
        before = rss_kb()
        tracemalloc.start()
        started = time.perf_counter()
        for i in range(n):
            fields = {"title": f"A scene title {i}", "summary": "Some details. " * 8,
                      "studio": f"Studio {i % 300}", "originallyAvailableAt": "2024-05-01",
                      "genres": ["one tag", "another tag"], "collections": ["Studio"]}  # fmt: skip
            state.record(i, Written(str(i), 1, fields, "http://stash/x.jpg", "ab" * 20))
            state.journal("b", i, str(i), "write", [(name, None, v) for name, v in fields.items()])
        seconds = time.perf_counter() - started
        probe = time.perf_counter()
        state.written(range(0, n, max(1, n // 100)))
        read_ms = (time.perf_counter() - probe) * 1000
        traced = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()
        gc.collect()
        after = rss_kb()
        state.store.connection().execute("PRAGMA wal_checkpoint(TRUNCATE)")
        stored = sum(p.stat().st_size for p in Path(root, "state").glob("plex_gateway.db*"))
    return {
        "items": n, "rss_bytes_per_item": round((after - before) * 1024 / n),
        "heap_bytes_per_item": round(traced / n), "stored_bytes_per_item": round(stored / n),
        "record_us": round(seconds / n * 1e6, 1), "read_100_ms": round(read_ms, 2),
    }  # fmt: skip


def per_item(kind: str, n: int) -> dict[str, Any]:
    code = (
        f"import sys, json; sys.path[:0] = [{str(REPO / 'bench')!r}, {str(REPO)!r}]\n"
        f"import footprint; print(json.dumps(footprint.{kind}_per_item({n})))"
    )
    return child(code)


def mapped_extensions(pid: int) -> list[str]:
    """The C extension modules a running process has mapped (which heavy packages it loaded)."""
    try:
        maps = Path(f"/proc/{pid}/maps").read_text()
    except OSError:
        return []
    names = {line.rsplit("/", 1)[-1] for line in maps.splitlines() if ".so" in line}
    return sorted(name.split(".")[0] for name in names if ".cpython-" in name)


def idle(settle_s: float) -> dict[str, Any]:
    from _world import BenchWorld

    world = BenchWorld(0)
    try:
        world.supervisor.start()
        time.sleep(settle_s)
        peak = peak_rss_mb(world.supervisor)
        procs = dict(zip(("watchdog", "host"), world.supervisor.processes(), strict=False))
        extensions = {role: mapped_extensions(proc.pid) for role, proc in procs.items()}
        # Proportional set size: pages the two share (the interpreter, libc) counted once.
        pss = {role: round(proc.memory_full_info().pss / 2**20, 1) for role, proc in procs.items()}
        distinct = distinct_pages_mb([proc.pid for proc in procs.values()])
    finally:
        world.close()
    return {
        "rss_mb": peak, "sum_mb": round(sum(peak.values()), 1), "extensions": extensions,
        "pss_mb": pss, "pss_sum_mb": round(sum(pss.values()), 1), "distinct_mb": distinct,
    }  # fmt: skip


def after_sync(scenes: int, idle_stop_minutes: float, settle_s: float) -> dict[str, Any]:
    """RSS of watchdog + host once a sync of ``scenes`` scenes is done and the supervisor idles
    (the host asleep when ``idle_stop_minutes`` is set: only the watchdog is left)."""
    from _world import BenchWorld, wait_for

    world = BenchWorld(scenes, idle_stop_minutes=idle_stop_minutes, index_refresh_seconds=1)
    try:
        world.supervisor.start()
        world.supervisor.wait_job(world.supervisor.sync(), timeout=300)
        if idle_stop_minutes:
            wait_for(lambda: len(world.supervisor.processes()) == 1, timeout=120,
                     what="the host asleep")  # fmt: skip
        time.sleep(settle_s)
        peak = peak_rss_mb(world.supervisor)
        distinct = distinct_pages_mb([proc.pid for proc in world.supervisor.processes()])
    finally:
        world.close()
    return {
        "scenes": scenes, "rss_mb": peak, "sum_mb": round(sum(peak.values()), 1),
        "distinct_mb": distinct, "idle_stop_minutes": idle_stop_minutes,
    }  # fmt: skip


def loaded(scenes: int, library: int) -> dict[str, Any]:
    from scale import loaded_rss

    return loaded_rss(scenes, library)


def _asleep_row(one: dict[str, Any]) -> dict[str, Any]:
    """The idle figure: what the supervisor keeps once it has had nothing to do for
    ``idle_stop_minutes`` (default 2), the state it spends its idle hours in (issue 19)."""
    return figure(
        f"supervisor RSS idle, watchdog + host: host asleep (idle stop) after a "
        f"{one['scenes']}-scene sync",
        one["sum_mb"],
        "MB",
        target=f"<= {MAX_IDLE_MB:g}",
        met=one["sum_mb"] <= MAX_IDLE_MB,
        reference=f"watchdog {one['rss_mb']['watchdog']} MB, host {one['rss_mb']['host']} MB; "
        f"idle_stop_minutes {one['idle_stop_minutes']:g} here to save time (default 2)",
    )


def _host_up_row(name: str, one: dict[str, Any], more: str) -> dict[str, Any]:
    """The supervisor before its host stops for idleness: no target of its own, but how far
    it is over the idle one is said, in RSS summed and in distinct physical pages."""
    total, distinct = one["sum_mb"], one.get("distinct_mb")
    together = f"{distinct} MB" if distinct is not None else "not readable here (needs root)"
    over = f"{total - MAX_IDLE_MB:+.1f} MB against the {MAX_IDLE_MB:g} MB idle figure"
    return figure(
        name,
        total,
        "MB",
        reference=f"watchdog {one['rss_mb']['watchdog']} MB, host {one['rss_mb']['host']} MB; "
        f"distinct physical pages of both {together}; {over} while the host is up"
        + (f"; {more}" if more else ""),
    )


def figures_of(result: dict[str, Any]) -> list[dict[str, Any]]:
    imp, idl = result["imports"], result["idle"]
    heavy = ("pydantic", "plexapi", "requests", "pykka", "persistqueue", "psutil", "asyncio")
    rows = [_asleep_row(result["after_sync_asleep"])] if result.get("after_sync_asleep") else []
    rows.append(
        _host_up_row(
            "supervisor RSS, host up with nothing to do (fresh start)",
            idl,
            f"the host stops after idle_stop_minutes (2); bare interpreter {imp['bare_rss_mb']} "
            f"MB; PSS (shared pages charged in shares) {idl.get('pss_sum_mb')} MB",
        )
    )
    for role in ("watchdog", "host"):
        entry = imp[role]
        loaded_heavy = [p for p in entry["packages"] if p in heavy]
        rows.append(
            figure(
                f"{role} entry imports",
                entry["modules"],
                "modules",
                reference=f"RSS {entry['rss_mb']} MB; heavy: {', '.join(loaded_heavy) or 'none'}; "
                f"C extensions mapped idle: {', '.join(idl['extensions'].get(role, []))}",
            )
        )
    cost = ", ".join(f"{name} {mb}" for name, mb in imp["package_cost_mb"].items())
    rows.append(figure("RSS of importing each package alone (MB)", cost))
    for name in ("index", "state"):
        one = result[name]
        rows.append(
            figure(
                f"{'path index' if name == 'index' else 'written state'} bytes per item "
                f"({one['items']:,} items), RSS delta",
                one["rss_bytes_per_item"],
                "B",
                reference=f"Python heap {one['heap_bytes_per_item']} B, stored "
                f"{one['stored_bytes_per_item']} B; "
                + ", ".join(f"{k} {v}" for k, v in one.items() if k.endswith(("_us", "_ms"))),
            )
        )
    if result.get("after_sync_awake"):
        one = result["after_sync_awake"]
        rows.append(
            _host_up_row(
                f"supervisor RSS after a {one['scenes']}-scene sync, host kept up "
                "(idle_stop_minutes = 0)",
                one,
                "the default (2 min) stops it and leaves the idle figure",
            )
        )
    if result.get("loaded"):
        run = result["loaded"]
        peak, after = run["peak_rss_mb"], run["rss_after_mb"]
        after_sum = round(sum(after.values()), 1)
        rows += [
            figure(
                f"supervisor RSS peak, {run['library_items']:,}-item index, {run['scenes']:,} "
                f"jobs (deepest queue {run['deepest_queue']:,})",
                round(peak["total"], 1),
                "MB",
                target=f"<= {MAX_LOADED_MB:g}",
                met=peak["total"] <= MAX_LOADED_MB,
                reference=f"host {peak['host']} MB, watchdog {peak['watchdog']} MB; index "
                f"built with 1 job: host {run['index_only_rss_mb']['host']} MB",
            ),
            figure("supervisor RSS after the queue drained", after_sum, "MB",
                   reference=f"host {after.get('host')} MB, watchdog {after.get('watchdog')} MB"),
        ]  # fmt: skip
    return rows


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100_000, help="items per bytes/item run")
    parser.add_argument("--library", type=int, default=100_000, help="Plex items, loaded run")
    parser.add_argument("--scenes", type=int, default=10_000, help="jobs, loaded run (0: skip)")
    parser.add_argument("--settle", type=float, default=10.0, help="idle seconds before sampling")
    parser.add_argument("--synced", type=int, default=200, help="scenes synced before idling")
    parser.add_argument("--only-idle", action="store_true", help="only the idle figures")
    options = parser.parse_args(argv)
    result: dict[str, Any] = {"idle": idle(options.settle)}
    for key, minutes in (("awake", 0.0), ("asleep", 0.05)):
        result[f"after_sync_{key}"] = after_sync(options.synced, minutes, options.settle)
    if options.only_idle:
        print(json.dumps(result, indent=1))
        return result
    result["imports"] = imports()
    result["index"] = per_item("index", options.items)
    result["state"] = per_item("state", max(1, options.items // 10))
    if options.scenes:
        result["loaded"] = loaded(options.scenes, options.library)
    publish("footprint", "footprint: memory, imports, bytes per item", result, figures_of(result))
    return result


if __name__ == "__main__":
    main()
