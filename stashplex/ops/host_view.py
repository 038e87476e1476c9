"""What the operator surface needs of the actor host, and nothing more.

The host (``stashplex.host``) is the composition root: it builds the operator surface and hands
itself over. Naming the few things used here as a protocol keeps the dependency pointing one
way, from the host down, so the operator surface can be tested with any object that has them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from stashplex.config.settings import Settings
    from stashplex.runtime.datadir import DataDir
    from stashplex.runtime.mailbox import PostOffice
    from stashplex.runtime.supervision import Supervisor


class HostView(Protocol):
    """The running host as the operator surface sees it."""

    data: DataDir
    settings: Settings
    #: None while the host is still starting (no mailboxes open yet).
    post: PostOffice | None
    supervisor: Supervisor | None
    #: ``time.time()`` when the host started.
    started_at: float

    def request_stop_all(self) -> None:
        """Stop every actor and then the host, as SIGTERM would."""

    def use_stash_connection(self, connection: dict[str, Any]) -> None:
        """Where Stash is and its freshest session, as a plugin run was told."""

