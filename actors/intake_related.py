"""Intake's events about performers, studios, tags and groups: renamed, merged or deleted.

Stash leaves the linked scenes' ``updated_at`` alone and fires no scene hook for any of them
(:mod:`stashplex.sync.related` says which scenes each event re-reads, and why), so these events
are the only sign that Plex shows an old name. The scenes join Intake's pending set as if each
had been edited: the flush reads them in batches and the fingerprint drops those whose Plex
fields did not change (an edit form saved with the name as it was, a toggle switched off since).
Unlike a scene's event, none is dropped as older than our last fetch: a fetch in flight during
the rename may have read the old name yet be stamped after the hook, and no catch-up would ever
notice, whereas a needless re-read costs one row of a batched read.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from actors.addresses import INTAKE, SCHEDULER
from actors.intake_state import SyncState
from actors.messages import HOOK_EVENT, HookEvent, timer_envelope
from stashplex.runtime.envelope import Envelope
from stashplex.stash import StashClient, StashError
from stashplex.sync.changes import related_edit_matters
from stashplex.sync.intake_rules import changed_fields, without_cookie
from stashplex.sync.related import related_reads

log = logging.getLogger(__name__)

#: Wait before trying Stash again after it failed.
STASH_RETRY_S = 15.0
#: Retries of one object's event share a timer, so a later edit of it replaces an earlier one.
RELATED_RETRY_TIMER_PREFIX = "intake-related:"


class RelatedEvents:
    """Turns one object event into pending scenes; Intake counts and sends for it."""

    def __init__(
        self,
        state: SyncState,
        stash: StashClient,
        relevant: dict[str, frozenset[str]],
        *,
        send: Callable[[str, Envelope], None],
        count: Callable[[str, int], None],
    ) -> None:
        self.state = state
        self.stash = stash
        self.relevant = relevant
        self._send = send
        self._count = count

    def handle(self, event: HookEvent, envelope: Envelope) -> None:
        kind, object_id = event.object_kind, str(event.object_id)
        self._count("related_events", 1)
        if not related_edit_matters(kind, event.input_fields, self.relevant):
            fields = changed_fields(event.input_fields)
            log.debug("%s %s: update touched nothing we sync (%s)", kind, object_id, fields)
            self._count("dropped_irrelevant", 1)
            return
        reads = related_reads(event.trigger, object_id, event.input)
        scene_ids = set(self.state.scenes_linked_to(list(reads.ask_table)))
        try:
            for linked_kind, linked_id in reads.ask_stash:
                scene_ids.update(self.stash.linked_scene_ids(linked_kind, linked_id))
        except StashError as exc:
            # Nothing else would ever notice this change, so it must not be lost with the batch.
            log.warning(
                "Stash could not list the scenes of %s %s (%s); trying again in %.0f s",
                kind,
                object_id,
                exc,
                STASH_RETRY_S,
            )
            self._retry(envelope, f"{kind}:{object_id}")
            return
        what = f"{kind} {object_id} was {reads.what}"
        if reads.sources:
            what = f"{kind} {', '.join(reads.sources)} merged into {kind} {object_id}"
        log.info("%s: %d linked scenes to re-read", what, len(scene_ids))
        received = event.received_at or envelope.created_at
        for scene_id in sorted(scene_ids, key=lambda s: (len(s), s)):
            self.state.add_pending(scene_id, received)
        self._count("related_scenes", len(scene_ids))

    def _retry(self, envelope: Envelope, key: str) -> None:
        # Without the session cookie: a retried event needs none, and timers are stored for as
        # long as Stash stays away.
        timer = timer_envelope(
            RELATED_RETRY_TIMER_PREFIX + key,
            time.time() + STASH_RETRY_S,
            to=INTAKE,
            kind=HOOK_EVENT,
            payload=without_cookie(envelope.payload),
        )
        self._send(SCHEDULER, timer)
