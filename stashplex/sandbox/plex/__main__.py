"""`python -m stashplex.sandbox.plex`: run the Plex emulator in the foreground until Ctrl-C."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time

from stashplex.sandbox.plex.emulator import PlexEmulator
from stashplex.sandbox.plex.latency import LatencySettings
from stashplex.sandbox.plex.realism import DEFAULT_MAX_REQUEST_LINE, Realism


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m stashplex.sandbox.plex",
        description="Loopback Plex Media Server emulator (driven by the real plexapi in tests).",
    )
    parser.add_argument("--host", default="127.0.0.1", help="loopback address (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=32400, help="Plex port (default 32400)")
    parser.add_argument("--token", required=True, help="the X-Plex-Token clients must send")
    parser.add_argument("--items", type=int, default=0, help="seed this many items (default 0)")
    parser.add_argument("--seed", type=int, default=0, help="seed for deterministic items")
    parser.add_argument(
        "--stash-world",
        type=int,
        default=0,
        metavar="SCENES",
        help="instead of --items: the library seed_world gives for a Stash emulator seeded with "
        "this many scenes and --seed (so one in another process matches it)",
    )
    parser.add_argument(
        "--scan-delay", type=float, default=2.0, help="seconds a section scan takes (default 2)"
    )
    latency = parser.add_argument_group("latency model (issue 19; all off by default)")
    latency.add_argument("--latency-ms", type=float, default=0.0, help="base cost per request")
    latency.add_argument("--per-kb-ms", type=float, default=0.0, help="extra cost per KB moved")
    latency.add_argument(
        "--upload-ms", type=float, default=0.0, help="extra cost per poster/art upload"
    )
    latency.add_argument(
        "--concurrency", type=int, default=None, help="requests served at once (default: any)"
    )
    parser.add_argument(
        "--max-request-line",
        type=int,
        default=DEFAULT_MAX_REQUEST_LINE,
        help="longest request line before a 414, as a proxy in front (0: no limit; default 8192)",
    )
    parser.add_argument(
        "--windows", action="store_true", help="behave like a Windows server (paths, case)"
    )
    parser.add_argument("--lenient", action="store_true", help="switch every real-server habit off")
    parser.add_argument(
        "--admin-port",
        type=int,
        default=0,
        help="admin API port, reachable while Plex is down (default: any free port)",
    )
    return parser


def _seed(emulator: PlexEmulator, items: int, stash_scenes: int, seed: int) -> int:
    """Seed ``items`` synthetic items, or the Plex side of a ``seed_world`` of ``stash_scenes``
    (its Stash side thrown away: only the files' paths, sizes and durations are needed, and a
    Stash emulator seeded alike elsewhere has the same). Returns the items seeded."""
    if not stash_scenes:
        emulator.seed(items, seed=seed)
        return items
    from stashplex.sandbox.seed import seed_world
    from stashplex.sandbox.stash import StashEmulator

    return len(seed_world(StashEmulator(), emulator, stash_scenes, seed=seed).files)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.items < 0 or args.stash_world < 0:
        print("--items and --stash-world must not be negative", file=sys.stderr)
        return 2
    if args.items and args.stash_world:
        print("--items and --stash-world are two ways to seed; give one", file=sys.stderr)
        return 2
    try:
        realism = Realism.lenient() if args.lenient else Realism()
        realism.update(windows=args.windows, max_request_line=args.max_request_line or None)
        latency = LatencySettings(
            base_ms=args.latency_ms,
            per_kb_ms=args.per_kb_ms,
            upload_ms=args.upload_ms,
            concurrency=args.concurrency,
        )
        latency.validate()
        emulator = PlexEmulator(
            token=args.token,
            host=args.host,
            port=args.port,
            scan_delay=args.scan_delay,
            admin_port=args.admin_port,
            realism=realism,
            latency=latency,
        )
    except ValueError as bad:
        print(f"error: {bad}", file=sys.stderr)
        return 2
    started = time.perf_counter()
    items = _seed(emulator, args.items, args.stash_world, args.seed)
    seeded = time.perf_counter() - started
    try:
        emulator.start()
    except OSError as bad:
        print(f"error: cannot listen on {args.host}:{args.port}: {bad}", file=sys.stderr)
        return 1
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    print(
        f"Plex emulator at {emulator.url} with {items} items (seeded in {seeded:.1f} s); "
        f"admin API at {emulator.admin_url}",
        flush=True,
    )
    try:
        stopping.wait()
    except KeyboardInterrupt:
        pass
    finally:
        emulator.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
