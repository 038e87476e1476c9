"""Shared bits of the benchmarks: percentiles, a results file, a table."""

from __future__ import annotations

import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
RESULTS = REPO / "bench" / "results"


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def summary_ms(values: list[float]) -> dict[str, float]:
    return {
        "p50_ms": round(percentile(values, 50) * 1000, 3),
        "p99_ms": round(percentile(values, 99) * 1000, 3),
        "max_ms": round(max(values) * 1000, 3) if values else float("nan"),
        "mean_ms": round(statistics.fmean(values) * 1000, 3) if values else float("nan"),
    }


def machine() -> dict[str, Any]:
    return {
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "when": time.strftime("%Y-%m-%d %H:%M:%S"),
    }


def save(name: str, figures: dict[str, Any]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps({"machine": machine(), **figures}, indent=2))
    return path


def print_table(title: str, rows: list[tuple[str, Any]]) -> None:
    width = max(len(k) for k, _ in rows)
    print(f"\n== {title} ==")
    for key, value in rows:
        print(f"  {key.ljust(width)}  {value}")


def figure(
    name: str,
    value: Any,
    unit: str = "",
    *,
    target: str = "",
    met: bool | None = None,
    reference: str = "",
) -> dict[str, Any]:
    """One row of the summary table: a measured value, its target and what it was measured beside.

    ``met`` is None where the issue sets no target; a benchmark never asserts it.
    """
    return {
        "figure": name,
        "value": value,
        "unit": unit,
        "target": target,
        "met": met,
        "reference": reference,
    }


def figure_rows(figures: list[dict[str, Any]]) -> list[tuple[str, Any]]:
    """The figures as ``print_table`` rows, with the target verdict beside each value."""
    rows = []
    for row in figures:
        verdict = {True: "  [met]", False: "  [MISSED]", None: ""}[row["met"]]
        target = f"  (target {row['target']})" if row["target"] else ""
        reference = f"  [ref: {row['reference']}]" if row["reference"] else ""
        rows.append((row["figure"], f"{row['value']} {row['unit']}{target}{verdict}{reference}"))
    return rows


def publish(name: str, title: str, result: dict[str, Any], figures: list[dict[str, Any]]) -> None:
    """Print a benchmark's figures and write them, with its details, to results/<name>.json."""
    print_table(title, figure_rows(figures))
    save(name, {"figures": figures, "details": result})


def peak_rss_mb(supervisor: Any, samples: int = 8, every_s: float = 0.25) -> dict[str, float]:
    """The highest resident memory of the watchdog and the host over a few samples: one
    sample can land between a thread's allocation and its release."""
    seen = []
    for _ in range(samples):
        seen.append(supervisor.rss_mb())
        time.sleep(every_s)
    return {role: max(s.get(role, 0.0) for s in seen) for role in ("watchdog", "host")}


def distinct_pages_mb(pids: list[int]) -> float | None:
    """The physical memory a group of processes holds together: each resident page once.

    Summing RSS counts twice every page two processes share (the interpreter's library, the C
    library); PSS instead charges a page shared with unrelated processes only a share. The page
    frame numbers in ``/proc/PID/pagemap`` name the physical pages, so their union is exact.
    Without CAP_SYS_ADMIN the kernel zeroes those numbers (Linux 4.2): then None, no guess.
    """
    page = os.sysconf("SC_PAGE_SIZE")
    frames: set[int] = set()
    for pid in pids:
        try:
            maps = Path(f"/proc/{pid}/maps").read_text().splitlines()
            with Path(f"/proc/{pid}/pagemap").open("rb") as pagemap:
                for line in maps:
                    start, end = (int(part, 16) for part in line.split()[0].split("-"))
                    if start >= 1 << 47:  # [vsyscall]: not in the page map
                        continue
                    pagemap.seek(start // page * 8)
                    entries = pagemap.read((end - start) // page * 8)
                    for offset in range(0, len(entries), 8):
                        entry = int.from_bytes(entries[offset : offset + 8], "little")
                        if entry >> 63:  # present in RAM
                            frames.add(entry & ((1 << 55) - 1))
        except OSError:
            return None
    if frames in (set(), {0}):
        return None
    return round(len(frames) * page / 2**20, 1)


#: GIL switch interval of the benchmark process (the emulators') where a figure times the servers
#: themselves: their latency model, Stash's wait for a hook process.
EMULATOR_SWITCH_INTERVAL_S = 0.001


@contextmanager
def lean_emulators() -> Iterator[None]:
    """Keep the emulators' own Python overhead small while the block runs.

    The emulators in this process share its GIL. At Python's default 5 ms switch interval, a
    thread that has an answer to send, or a hook process to reap, waits behind the others'
    work several ms at a time: an artefact the real servers (a C++ PMS, a Go Stash) do not
    have, which would be counted against the supervisor's figures.
    """
    default = sys.getswitchinterval()
    sys.setswitchinterval(EMULATOR_SWITCH_INTERVAL_S)
    try:
        yield
    finally:
        sys.setswitchinterval(default)
