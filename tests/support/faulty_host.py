"""An actor host whose Matcher fails in ``on_start`` while a marker file exists.

Used by the escalation test: the in-process supervisor must give up past its restart
intensity, the host must exit non-zero, and the watchdog must bring it back.
"""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from actors.matcher import Matcher
from stashplex.config.settings import load_settings
from stashplex.host.actor_host import Host, actor_classes
from stashplex.runtime.datadir import DataDir
from stashplex.runtime.logs import configure_logging

MARKER = "fail-matcher-start"


class FailingMatcher(Matcher):
    def setup(self) -> None:
        if (self.ctx.service("data_dir").root / MARKER).exists():
            raise RuntimeError("injected on_start failure")
        super().setup()


def run_host_with(matcher: type[Matcher]) -> int:
    """An actor-host process (as ``python -m stashplex.host``) with ``matcher`` in the pipeline."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--watch-parent", type=int)
    args = parser.parse_args()
    data = DataDir(args.data_dir)
    configure_logging(log_file=data.logs / "host.log")
    classes = {**actor_classes(), Matcher.mailbox_name: matcher}
    host = Host(
        data,
        load_settings(config_file=data.config_file),
        classes=classes,
        watch_parent=args.watch_parent,
    )
    signal.signal(signal.SIGTERM, host.request_shutdown)
    return host.run()


def main() -> int:
    return run_host_with(FailingMatcher)


if __name__ == "__main__":
    raise SystemExit(main())
