"""Turns Stash hook events and sync requests into sync jobs.

Message contract: see the module's handlers; probes (`trace`) pass through every actor.
"""

from __future__ import annotations

from typing import ClassVar

from actors.addresses import INTAKE
from actors.base import MailboxActor


class Intake(MailboxActor):
    mailbox_name: ClassVar[str] = INTAKE
