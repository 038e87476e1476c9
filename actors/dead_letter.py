"""Keeps every job that could not be done, for an operator.

Message contract: see the module's handlers; probes (`trace`) pass through every actor.
"""

from __future__ import annotations

from typing import ClassVar

from actors.addresses import DEAD_LETTER
from actors.base import MailboxActor


class DeadLetter(MailboxActor):
    mailbox_name: ClassVar[str] = DEAD_LETTER
