"""``python -m stashplex.host``: the actor-host process the watchdog starts."""

from stashplex.host.actor_host import main

raise SystemExit(main())
