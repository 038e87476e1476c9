"""Every Plex request goes through here, behind one circuit breaker.

Message contract: see the module's handlers; probes (`trace`) pass through every actor.
"""

from __future__ import annotations

from typing import ClassVar

from actors.addresses import PLEX_GATEWAY
from actors.base import MailboxActor


class PlexGateway(MailboxActor):
    mailbox_name: ClassVar[str] = PLEX_GATEWAY
