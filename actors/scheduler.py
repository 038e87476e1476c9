"""Owns every timer: retries with backoff, breaker waits.

Message contract: see the module's handlers; probes (`trace`) pass through every actor.
"""

from __future__ import annotations

from typing import ClassVar

from actors.addresses import SCHEDULER
from actors.base import MailboxActor


class Scheduler(MailboxActor):
    mailbox_name: ClassVar[str] = SCHEDULER
