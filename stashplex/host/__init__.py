"""The composition root: the actor-host process that wires mailboxes, actors and the socket.

Nothing else in stashplex imports this package; it imports every layer below it (the actors,
the operator surface, the hook link, the runtime). Run it with ``python -m stashplex.host``; the
watchdog (``stashplex.runtime.watchdog``) does.
"""

from stashplex.host.actor_host import (
    EXIT_CONFIG,
    EXIT_ESCALATED,
    EXIT_IDLE,
    EXIT_OK,
    Host,
    actor_classes,
    main,
)

__all__ = ["EXIT_CONFIG", "EXIT_ESCALATED", "EXIT_IDLE", "EXIT_OK", "Host", "actor_classes", "main"]
