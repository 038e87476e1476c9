"""`python -m stashplex.sandbox.stash --port 9999 [--api-key K] [--time-zone Z] --scenes N`."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time

from stashplex.sandbox.stash.clock import DEFAULT_TIME_ZONE
from stashplex.sandbox.stash.emulator import StashEmulator


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m stashplex.sandbox.stash", description="Run the Stash emulator on loopback."
    )
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to listen on")
    parser.add_argument("--port", type=int, default=9999)
    parser.add_argument("--api-key", default=None, help="require this ApiKey (else no auth)")
    parser.add_argument(
        "--time-zone",
        default=DEFAULT_TIME_ZONE,
        help=f"the server's local zone for timestamps (default {DEFAULT_TIME_ZONE}, with DST)",
    )
    parser.add_argument("--scenes", type=int, default=100, help="number of seeded scenes")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--path-root", default="/data/", help="folder the seeded files live in")
    parser.add_argument("--plugin", action="append", default=[], help="plugin manifest to attach")
    options = parser.parse_args(argv)

    emulator = StashEmulator(
        api_key=options.api_key,
        host=options.host,
        port=options.port,
        time_zone=options.time_zone,
    )
    started = time.perf_counter()
    emulator.seed(options.scenes, seed=options.seed, path_root=options.path_root)
    seeded_s = time.perf_counter() - started
    for manifest in options.plugin:
        emulator.attach_plugin(manifest)
    emulator.start()
    auth = "ApiKey required" if options.api_key else "no auth"
    print(
        f"Stash emulator on {emulator.graphql_url} ({options.scenes} scenes seeded in "
        f"{seeded_s:.2f}s, {auth}); Ctrl-C to stop",
        flush=True,
    )
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    try:
        stopping.wait()
    except KeyboardInterrupt:
        pass
    finally:
        emulator.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
