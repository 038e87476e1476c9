"""Talking to Plex: one plexapi connection, the path index, reading and writing items.

Everything that touches Plex goes through here, and only PlexGateway calls it (the doctor too,
which must work without a supervisor). What to write is decided in ``stashplex.sync``; this
package turns it into plexapi calls and remembers what it wrote (:class:`GatewayState`).
plexapi loads on first use of a name below.
"""

from __future__ import annotations

from stashplex.runtime.lazy import lazy_exports

_EXPORTS = {
    "PLEX_ERRORS": "connection",
    "ErrorClass": "connection",
    "PlexFailure": "connection",
    "classify": "connection",
    "connect": "connection",
    "IndexBuilder": "index",
    "PathIndex": "index",
    "Section": "index",
    "GatewayState": "state",
    "Written": "state",
    "journal_entries": "journal",
    "ItemPlan": "writer",
    "plan_item": "writer",
}

__all__ = sorted(_EXPORTS)  # noqa: PLE0605 - the names are the keys above
__getattr__ = lazy_exports(__name__, _EXPORTS)
