"""Decides which Plex item a scene is, and how sure we are.

Message contract: see the module's handlers; probes (`trace`) pass through every actor.
"""

from __future__ import annotations

from typing import ClassVar

from actors.addresses import MATCHER
from actors.base import MailboxActor


class Matcher(MailboxActor):
    mailbox_name: ClassVar[str] = MATCHER
