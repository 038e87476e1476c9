"""``python -m stashplex`` is the ``stashplex`` command."""

import sys

from stashplex.cli import main

sys.exit(main())
