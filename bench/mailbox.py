"""Messages/s and per-hop latency: the five-actor pipeline vs one bare persist-queue hop.

Run: ``.venv/bin/python bench/mailbox.py [--messages 10000]``. Prints figures, asserts nothing.
The pipeline runs inside a real actor host (no socket), each probe visiting all five actors, so
every message costs five durable put+get+ack hops. The reference is one producer thread and one
consumer thread on a bare ``SQLiteAckQueue`` (JSON, ``multithreading=True``), with persist-queue's
default FULL fsync and with NORMAL (what stashplex mailboxes use by default).
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from pathlib import Path

from _common import print_table, save, summary_ms

import persistqueue
from actors.addresses import INTAKE, PIPELINE_ROUTE
from persistqueue.serializers import json as json_serializer
from stashplex.runtime.datadir import DataDir
from stashplex.host.actor_host import Host
from stashplex.config.settings import Settings
from stashplex.runtime.trace import read_traces, trace_envelope


def bare_hop(messages: int, sync: str) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        queue = persistqueue.SQLiteAckQueue(tmp, multithreading=True, serializer=json_serializer)
        for conn in {id(c): c for c in (queue._putter, queue._getter)}.values():
            conn.execute(f"PRAGMA synchronous={sync}")
        latencies: list[float] = []
        done = threading.Event()

        def consume() -> None:
            got = 0
            while got < messages:
                try:
                    item = queue.get(block=False, raw=True)
                except persistqueue.Empty:
                    time.sleep(0.0005)
                    continue
                latencies.append(time.time() - item["data"]["t"])
                queue.ack(id=item["pqid"])
                got += 1
            done.set()

        consumer = threading.Thread(target=consume)
        start = time.perf_counter()
        consumer.start()
        for n in range(messages):
            queue.put({"n": n, "t": time.time()})
        done.wait()
        elapsed = time.perf_counter() - start
        queue.close()
    return {"msgs_per_s": round(messages / elapsed), **summary_ms(latencies)}


class LineCounter:
    """Counts lines appended to a file without re-reading it (the sink grows to 10k lines)."""

    def __init__(self, path: Path) -> None:
        self.path, self.offset, self.lines = path, 0, 0

    def count(self) -> int:
        if self.path.exists():
            with self.path.open("rb") as f:
                f.seek(self.offset)
                chunk = f.read()
            self.offset += len(chunk)
            self.lines += chunk.count(b"\n")
        return self.lines


def pipeline(messages: int, chunks: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        data = DataDir(Path(tmp))
        host = Host(data, Settings(), serve=False)
        thread = threading.Thread(target=host.run, daemon=True)
        thread.start()
        host.started.wait(30)
        trace_file = data.root / "trace.jsonl"
        counter = LineCounter(trace_file)
        per_chunk = messages // chunks
        rates = []
        start_all = time.perf_counter()
        for chunk in range(chunks):
            expected = per_chunk * (chunk + 1)
            start = time.perf_counter()
            for _ in range(per_chunk):
                host.post.send(INTAKE, trace_envelope(PIPELINE_ROUTE))
            while counter.count() < expected:
                time.sleep(0.01)
            rates.append(round(per_chunk / (time.perf_counter() - start)))
        elapsed = time.perf_counter() - start_all
        rows = read_traces(trace_file)
        host.request_shutdown()
        thread.join(30)
    hop_latency: dict[str, list[float]] = {name: [] for name in PIPELINE_ROUTE}
    end_to_end = []
    for row in rows:
        previous = row["created_at"]
        for name, stamp in row["hops"]:
            hop_latency[name].append(stamp - previous)
            previous = stamp
        end_to_end.append(previous - row["created_at"])
    return {
        "msgs_per_s": round(len(rows) / elapsed),
        "hops_per_s": round(len(rows) * len(PIPELINE_ROUTE) / elapsed),
        "rate_per_chunk_msgs_per_s": rates,
        "end_to_end": summary_ms(end_to_end),
        "per_hop": {name: summary_ms(values) for name, values in hop_latency.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--chunks", type=int, default=5)
    args = parser.parse_args()
    bare_full = bare_hop(args.messages, "FULL")
    bare_normal = bare_hop(args.messages, "NORMAL")
    pipe = pipeline(args.messages, args.chunks)
    figures = {
        "messages": args.messages,
        "bare_hop_full": bare_full,
        "bare_hop_normal": bare_normal,
        "pipeline": pipe,
        "pipeline_vs_bare_full": round(pipe["msgs_per_s"] / bare_full["msgs_per_s"], 2),
        "pipeline_vs_bare_normal": round(pipe["msgs_per_s"] / bare_normal["msgs_per_s"], 2),
    }
    path = save("mailbox", figures)
    rows = [
        ("bare hop FULL msgs/s", bare_full["msgs_per_s"]),
        ("bare hop FULL p50/p99 ms", f"{bare_full['p50_ms']} / {bare_full['p99_ms']}"),
        ("bare hop NORMAL msgs/s", bare_normal["msgs_per_s"]),
        ("bare hop NORMAL p50/p99 ms", f"{bare_normal['p50_ms']} / {bare_normal['p99_ms']}"),
        ("pipeline msgs/s (5 hops each)", pipe["msgs_per_s"]),
        ("pipeline rate per chunk", pipe["rate_per_chunk_msgs_per_s"]),
        ("pipeline / bare FULL", figures["pipeline_vs_bare_full"]),
        ("pipeline / bare NORMAL", figures["pipeline_vs_bare_normal"]),
        (
            "end-to-end p50/p99 ms",
            f"{pipe['end_to_end']['p50_ms']} / {pipe['end_to_end']['p99_ms']}",
        ),
    ]
    rows += [
        (f"hop {name} p50/p99 ms", f"{s['p50_ms']} / {s['p99_ms']}")
        for name, s in pipe["per_hop"].items()
    ]
    print_table(f"mailbox benchmark, {args.messages} messages", rows)
    print(f"\nfigures written to {path}")


if __name__ == "__main__":
    main()
