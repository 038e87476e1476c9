"""Mailbox names: the only way actors address each other.

A restarted pykka actor gets a new ActorRef, so refs are never stored or sent; a name stays
valid across restarts because the durable mailbox behind it does.
"""

from typing import Final

INTAKE: Final = "intake"
MATCHER: Final = "matcher"
PLEX_GATEWAY: Final = "plex_gateway"
SCHEDULER: Final = "scheduler"
DEAD_LETTER: Final = "dead_letter"

#: Start order: consumers before producers, so work never waits for its next hop to exist.
#: Shutdown runs in reverse, so Intake stops taking work first and DeadLetter stops last.
START_ORDER: Final = (DEAD_LETTER, SCHEDULER, PLEX_GATEWAY, MATCHER, INTAKE)

#: The route of a probe through every actor, in pipeline order.
PIPELINE_ROUTE: Final = (INTAKE, PLEX_GATEWAY, MATCHER, SCHEDULER, DEAD_LETTER)
