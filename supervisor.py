"""The long-running stashplex supervisor: ``python supervisor.py [--data-dir DIR]``.

Same as ``stashplex run``. It owns the data directory, starts the actor host and keeps it alive;
see ``stashplex/watchdog.py``.
"""

import sys

from stashplex.cli import main

if __name__ == "__main__":
    sys.exit(main(["run", *sys.argv[1:]]))
