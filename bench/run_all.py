"""Every benchmark under bench/, one after the other, and one table of their figures.

Run: ``make bench`` (``.venv/bin/python bench/run_all.py``), or ``--quick`` for a smoke run with
small sizes, or ``--only first_sync,outage`` to measure some again (the summary keeps the others'
figures from the last run of the same mode). Each benchmark runs in its own
process (so one's threads, emulators and memory never colour another's figures) and writes
``bench/results/<name>.json``; this script then writes ``bench/results/summary.json`` and
``bench/results/summary.md`` and prints the table. Benchmarks print numbers; nothing here
asserts a target, a missed one is marked MISSED.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from _common import REPO, RESULTS, figure, machine

#: name -> (arguments of a full run, arguments of a --quick run), in running order.
BENCHMARKS: dict[str, tuple[list[str], list[str]]] = {
    "mailbox": ([], ["--messages", "2000"]),
    "hook": ([], ["--runs", "30"]),
    "plex_emulator": ([], ["--requests", "300", "--items", "10000"]),
    "burst": ([], ["--saves", "20", "--hooks", "100", "--scenes", "50"]),
    "hook_load": ([], ["--scenes", "1000", "--saves", "20"]),
    "first_sync": ([], ["--scenes", "1000"]),
    "latency": ([], ["--scenes", "300", "--reference-scenes", "100"]),
    "scale": (
        [],
        ["--items", "2000,10000", "--scenes", "1000", "--library", "10000", "--settle", "3"],
    ),
    "footprint": (
        [],
        ["--items", "10000", "--scenes", "1000", "--library", "10000", "--settle", "3"],
    ),
    "recovery": ([], ["--scenes", "1000"]),
    "outage": ([], ["--scenes", "1000", "--outage", "10", "--breaker-reset", "5"]),
}
TITLES = {
    "mailbox": "Mailboxes (bench/mailbox.py)",
    "hook": "1. Hook process (bench/hook.py)",
    "plex_emulator": "Plex emulator capacity (bench/plex_emulator.py)",
    "burst": "1-2. Save wait and hook burst (bench/burst.py)",
    "hook_load": "Save wait under load: a full sync, two CPU hogs (bench/hook_load.py)",
    "first_sync": "3-4. First full sync and unchanged re-syncs (bench/first_sync.py)",
    "latency": "First sync against a Plex with real latency (bench/latency.py)",
    "scale": "5. Scale (bench/scale.py)",
    "footprint": "Footprint: memory, imports, bytes per item (bench/footprint.py)",
    "recovery": "6. Recovery from SIGKILL (bench/recovery.py)",
    "outage": "7. Plex outage (bench/outage.py)",
}
MAX_HOOK_P99_RATIO = 1.3
PER_BENCHMARK_TIMEOUT_S = 3600


def run_benchmark(name: str, arguments: list[str]) -> dict[str, Any]:
    """Run one script with its output streamed here; report how it ended and how long it took."""
    script = REPO / "bench" / f"{name}.py"
    print(f"\n##### {name}: {' '.join(arguments) or '(defaults)'}", flush=True)
    started = time.time()
    try:
        completed = subprocess.run(
            [sys.executable, str(script), *arguments],
            cwd=REPO,
            timeout=PER_BENCHMARK_TIMEOUT_S,
            check=False,
        )
        exit_code: int | str = completed.returncode
    except subprocess.TimeoutExpired:
        exit_code = f"timed out after {PER_BENCHMARK_TIMEOUT_S} s"
    return {"exit": exit_code, "seconds": round(time.time() - started, 1), "started": started}


def fresh_result(name: str, since: float) -> dict[str, Any] | None:
    """The result file this run wrote, never a stale one from an earlier run."""
    path = RESULTS / f"{name}.json"
    if not path.exists() or path.stat().st_mtime < since:
        return None
    return json.loads(path.read_text())


def hook_figures(result: dict[str, Any]) -> list[dict[str, Any]]:
    series = result["series"]
    hook_name = next(name for name in series if name.startswith("hook"))
    hook = series[hook_name]
    rows = [
        figure(
            f"hook process wall time p50 / p99 ({result['runs']} runs)",
            f"{hook['p50_ms']} / {hook['p99_ms']}",
            "ms",
        )
    ]
    for name, values in series.items():
        if name == hook_name:
            continue
        ratio = hook["p99_ms"] / values["p99_ms"]
        like_for_like = name.endswith(" -S -c pass")
        bare = name.endswith(" -c pass")  # the venv's interpreter, not a PATH shim
        rows.append(
            figure(
                f"hook p99 / {Path(name.split(' ', 1)[0]).name} {name.split(' ', 1)[1]}",
                round(ratio, 2),
                "x",
                target=f"<= {MAX_HOOK_P99_RATIO:g}" if bare else "",
                met=ratio <= MAX_HOOK_P99_RATIO if bare else None,
                reference=f"that p50 / p99 {values['p50_ms']} / {values['p99_ms']} ms"
                + ("; like for like (the hook runs with -S)" if like_for_like else ""),
            )
        )
    rows.append(figure("events acknowledged", result["acknowledged"], f"of {result['runs'] + 1}"))
    return rows


def mailbox_figures(result: dict[str, Any]) -> list[dict[str, Any]]:
    pipe = result["pipeline"]
    return [
        figure(
            f"pipeline of 5 hops, {result['messages']:,} messages",
            pipe["msgs_per_s"],
            "msgs/s",
            reference=f"bare hop NORMAL {result['bare_hop_normal']['msgs_per_s']} msgs/s, "
            f"FULL {result['bare_hop_full']['msgs_per_s']} msgs/s",
        ),
        figure(
            "pipeline / bare hop at the same fsync level (NORMAL, the mailboxes' default)",
            result["pipeline_vs_bare_normal"],
            "x",
            target=">= 0.33",
            met=result["pipeline_vs_bare_normal"] >= 1 / 3,
            reference=f"vs persist-queue's default FULL fsync {result['pipeline_vs_bare_full']}x",
        ),
        figure(
            "pipeline end-to-end p50 / p99",
            f"{pipe['end_to_end']['p50_ms']} / {pipe['end_to_end']['p99_ms']}",
            "ms",
        ),
    ]


def plex_emulator_figures(result: dict[str, Any]) -> list[dict[str, Any]]:
    return [figure(label, value) for label, value in result["rows"].items()]


def figures_for(name: str, result: dict[str, Any]) -> list[dict[str, Any]]:
    special = {
        "hook": hook_figures,
        "mailbox": mailbox_figures,
        "plex_emulator": plex_emulator_figures,
    }
    if name in special:
        return special[name](result)
    return list(result["figures"])


def markdown(summary: dict[str, Any]) -> str:
    lines = [
        "# stashplex benchmark figures",
        "",
        f"{summary['mode']} run, {summary['machine']['when']}, Python "
        f"{summary['machine']['python']}, {summary['machine']['cpus']} CPUs, "
        f"{summary['machine']['platform']}. Generated by `bench/run_all.py`; figures, not tests.",
        "",
    ]
    for name, section in summary["sections"].items():
        run = section["run"]
        lines += [
            f"## {TITLES.get(name, name)}",
            "",
            f"Exit {run['exit']}, {run['seconds']} s.",
            "",
        ]
        if not section["figures"]:
            lines += ["No figures: the benchmark failed (see its output).", ""]
            continue
        lines += ["| Figure | Value | Target | Met | Reference |", "|---|---|---|---|---|"]
        for row in section["figures"]:
            met = {True: "yes", False: "**MISSED**", None: ""}[row["met"]]
            value = f"{row['value']} {row['unit']}".strip()
            cells = [row["figure"], value, row["target"], met, row["reference"]]
            lines.append("| " + " | ".join(str(c).replace("|", "/") for c in cells) + " |")
        lines.append("")
    return "\n".join(lines)


def print_summary(summary: dict[str, Any]) -> None:
    print("\n" + "=" * 100)
    print(f"SUMMARY ({summary['mode']} run)")
    for name, section in summary["sections"].items():
        print(
            f"\n== {TITLES.get(name, name)}  [exit {section['run']['exit']}, "
            f"{section['run']['seconds']} s]"
        )
        if not section["figures"]:
            print("  no figures: the benchmark failed")
        for row in section["figures"]:
            verdict = {True: "met", False: "MISSED", None: ""}[row["met"]]
            target = f"target {row['target']} {verdict}" if row["target"] else ""
            print(
                f"  {row['figure']}: {row['value']} {row['unit']}".rstrip()
                + (f"   [{target}]" if target else "")
                + (f"   ({row['reference']})" if row["reference"] else "")
            )
    missed = [
        row["figure"]
        for section in summary["sections"].values()
        for row in section["figures"]
        if row["met"] is False
    ]
    failed = [name for name, s in summary["sections"].items() if s["run"]["exit"] != 0]
    print(f"\n{len(missed)} target(s) missed{': ' + '; '.join(missed) if missed else ''}")
    if failed:
        print(f"benchmarks that failed: {', '.join(failed)}")


def merged(sections: dict[str, Any], mode: str) -> dict[str, Any]:
    """With ``--only``, the benchmarks not rerun keep their sections from the last summary of
    the same mode, so one benchmark can be measured again without losing the others."""
    path = RESULTS / "summary.json"
    previous = json.loads(path.read_text()) if path.exists() else {}
    kept = previous.get("sections", {}) if previous.get("mode") == mode else {}
    return {
        name: sections.get(name, kept.get(name))
        for name in BENCHMARKS
        if name in sections or name in kept
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, a smoke run")
    parser.add_argument("--only", default="", help="comma list of benchmarks to run")
    options = parser.parse_args(argv)
    chosen = [part.strip() for part in options.only.split(",") if part.strip()] or list(BENCHMARKS)
    unknown = sorted(set(chosen) - set(BENCHMARKS))
    if unknown:
        parser.error(f"unknown benchmark(s) {', '.join(unknown)} (known: {', '.join(BENCHMARKS)})")
    sections: dict[str, Any] = {}
    for name in chosen:
        full, quick = BENCHMARKS[name]
        arguments = quick if options.quick else full
        run = run_benchmark(name, arguments)
        result = fresh_result(name, run.pop("started"))
        run["arguments"] = arguments
        sections[name] = {
            "run": run,
            "figures": figures_for(name, result) if result and run["exit"] == 0 else [],
        }
    mode = "quick" if options.quick else "full"
    summary = {"machine": machine(), "mode": mode, "sections": merged(sections, mode)}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "summary.json").write_text(json.dumps(summary, indent=2))
    (RESULTS / "summary.md").write_text(markdown(summary))
    print_summary(summary)
    print(f"\nwritten: {RESULTS / 'summary.json'}, {RESULTS / 'summary.md'}")
    return 0 if all(s["run"]["exit"] == 0 for s in sections.values()) else 1  # this run's only


if __name__ == "__main__":
    sys.exit(main())
