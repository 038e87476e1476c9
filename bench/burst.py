"""Hooks under load: the user's save through Stash's plugin runner, and a 500-process burst.

Issue 9, figures 1 (save wait) and 2 (burst), against a running supervisor:
- Save wait: ``--saves`` edits through ``StashEmulator.update_scene`` with the plugin attached
  (Stash waits for the hook process before the save returns), beside the same edits with no
  plugin and a bare ``<venv python> -S -c pass``, interleaved, in the same run.
- Burst: ``--hooks`` hook processes started from ``--parallel`` threads at once, over
  ``--scenes`` scenes (two events per scene by default, so coalescing shows in the jobs). Every
  process must be acknowledged by the supervisor (not spooled); then the time until Intake has
  counted them all and every mailbox is idle, and the jobs that came out.
Run: ``.venv/bin/python bench/burst.py [--saves 50] [--hooks 500] [--parallel 64]``.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from _common import figure, percentile, publish, summary_ms
from _world import BenchWorld, hook_stdin, install_hook, install_manifest, run_hook, wait_for

MAX_SAVE_WAIT_S = 0.100


def bare_interpreter_seconds() -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-S", "-c", "pass"], check=True, cwd="/")
    return time.perf_counter() - started


def save_waits(world: BenchWorld, saves: int) -> dict[str, Any]:
    """Interleave: a save with no plugin, a bare interpreter; then the same with the plugin."""
    scene_ids = world.world.scene_ids
    plain: list[float] = []
    bare: list[float] = []
    for index in range(saves):
        plain.append(world.stash.update_scene(scene_ids[index], rating100=index % 100).waited_s)
        bare.append(bare_interpreter_seconds())
    world.stash.attach_plugin(install_manifest(world))
    hooked: list[float] = []
    exits: list[int | None] = []
    for index in range(saves):
        result = world.stash.update_scene(scene_ids[index], title=f"Saved {index}")
        hooked.append(result.waited_s)
        exits.extend(run.exit_code for run in result.hook_runs)
    return {
        "saves": saves,
        "with_hook": summary_ms(hooked),
        "without_plugin": summary_ms(plain),
        "bare_interpreter": summary_ms(bare),
        "hook_exit_codes_ok": sum(code == 0 for code in exits),
        "hook_runs": len(exits),
    }


def quiet(world: BenchWorld) -> bool:
    """No message in any mailbox and no hook event waiting for its debounce."""
    status = world.supervisor.status()
    return status["pending_events"] == 0 and not any(status["mailboxes"].values())


def burst(world: BenchWorld, hooks: int, parallel: int, scenes: int) -> dict[str, Any]:
    hook = install_hook(world)
    targets = world.world.scene_ids[:scenes]
    for scene_id in targets:  # real edits (no plugin attached yet, so no hook fires here)
        world.stash.update_scene(scene_id, title=f"Burst edit {scene_id}")
    stdins = [hook_stdin(world.stash, targets[i % len(targets)]) for i in range(hooks)]
    before = world.supervisor.status()["counters"]
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=parallel) as pool:
        runs = list(pool.map(lambda stdin: run_hook(hook, stdin), stdins))
    burst_s = time.perf_counter() - started

    def counted() -> bool:
        now = world.supervisor.status()["counters"]
        return now.get("hook_events", 0) - before.get("hook_events", 0) >= hooks

    wait_for(counted, timeout=300, interval=0.02, what="every hook event counted by Intake")
    counted_s = time.perf_counter() - started
    wait_for(lambda: quiet(world), timeout=600, interval=0.1, what="an idle pipeline")
    drained_s = time.perf_counter() - started
    after = world.supervisor.status()["counters"]
    lost = world.scenes_not_in_plex(targets)
    durations = [run.seconds for run in runs]
    return {
        "hooks": hooks,
        "parallel": parallel,
        "scenes": len(targets),
        "acknowledged": sum(run.queued for run in runs),
        "exit_zero": sum(run.exit_code == 0 for run in runs),
        "spooled": sum(run.output.startswith("spooled") for run in runs),
        "spool_files_left": len(list((world.data_dir / "spool").glob("*.json"))),
        "burst_s": round(burst_s, 2),
        "hook_process": summary_ms(durations),
        "hook_p99_ms": round(percentile(durations, 99) * 1000, 1),
        "counted_s": round(counted_s, 2),
        "drained_s": round(drained_s, 2),
        "hook_events": after.get("hook_events", 0) - before.get("hook_events", 0),
        "jobs_emitted": after.get("jobs_emitted", 0) - before.get("jobs_emitted", 0),
        "jobs_done": after.get("jobs_done", 0) - before.get("jobs_done", 0),
        "edits_missing_from_plex": len(lost),
    }


def run(saves: int, hooks: int, parallel: int, scenes: int) -> dict[str, Any]:
    world = BenchWorld(max(scenes, saves))
    try:
        world.supervisor.start()
        job_id = world.supervisor.sync("all")  # a synced library, as a user's would be
        world.supervisor.wait_job(job_id, timeout=600)
        bursting = burst(world, hooks, parallel, scenes)
        waits = save_waits(world, saves)
    finally:
        world.close()
    return {"save_wait": waits, "burst": bursting}


def figures_of(result: dict[str, Any]) -> list[dict[str, Any]]:
    waits, b = result["save_wait"], result["burst"]
    hooked, bare, plain = waits["with_hook"], waits["bare_interpreter"], waits["without_plugin"]
    return [
        figure(
            f"save wait with the hook, p50 / p99 of {waits['saves']} saves",
            f"{hooked['p50_ms']} / {hooked['p99_ms']}",
            "ms",
            target=f"<= {MAX_SAVE_WAIT_S * 1000:g}",
            met=hooked["p99_ms"] <= MAX_SAVE_WAIT_S * 1000,
            reference=f"no plugin {plain['p50_ms']} / {plain['p99_ms']} ms; bare python -S "
            f"{bare['p50_ms']} / {bare['p99_ms']} ms; {waits['hook_exit_codes_ok']}/"
            f"{waits['hook_runs']} hooks exit 0",
        ),
        figure(
            f"burst of {b['hooks']} hook processes ({b['parallel']} in flight, "
            f"{b['scenes']} scenes): acknowledged",
            b["acknowledged"],
            f"of {b['hooks']}",
            target=f"{b['hooks']}",
            met=b["acknowledged"] == b["hooks"],
            reference=f"{b['spooled']} spooled, {b['exit_zero']} exit 0",
        ),
        figure(
            "burst wall time (all hook processes exited)",
            b["burst_s"],
            "s",
            reference=f"hook process p50 {b['hook_process']['p50_ms']} ms, "
            f"p99 {b['hook_process']['p99_ms']} ms under load",
        ),
        figure(
            "burst: until Intake counted every event / every mailbox idle",
            f"{b['counted_s']} / {b['drained_s']}",
            "s",
        ),
        figure(
            "burst: jobs produced",
            b["jobs_emitted"],
            f"from {b['hook_events']} events on {b['scenes']} edited scenes",
            reference=f"{b['jobs_done']} jobs done; {b['edits_missing_from_plex']} edits "
            "missing from Plex",
        ),
    ]


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--saves", type=int, default=50)
    parser.add_argument("--hooks", type=int, default=500)
    parser.add_argument("--parallel", type=int, default=64)
    parser.add_argument("--scenes", type=int, default=250, help="scenes the burst touches")
    options = parser.parse_args(argv)
    result = run(options.saves, options.hooks, options.parallel, options.scenes)
    figures = figures_of(result)
    publish("burst", "hooks: save wait and a burst", result, figures)
    return result


if __name__ == "__main__":
    main()
