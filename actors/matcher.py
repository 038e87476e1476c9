"""Matcher: decides which Plex item a scene is, and how sure we are. No I/O.

Contract (consumes):
  ``match.score`` (:class:`~actors.messages.SyncJob` with ``candidates`` from PlexGateway).
Emits: ``sync.write`` to PlexGateway with the targets (HIGH, or MEDIUM when allowed, or any
single candidate when strict matching is off); ``retry.schedule`` (not_found) to the Scheduler
when nothing matches (the file may not be scanned yet); ``dead_letter.job`` (ambiguous /
low_confidence, with every candidate listed) otherwise.
"""

from __future__ import annotations

import logging
from typing import Any, ClassVar

from actors.addresses import DEAD_LETTER, MATCHER, PLEX_GATEWAY, SCHEDULER
from actors.base import MailboxActor
from actors.messages import (
    MATCH_SCORE,
    SYNC_LOCATE,
    SYNC_WRITE,
    JobRef,
    SyncJob,
    dead_letter_envelope,
    retry_envelope,
)
from stashplex.runtime.envelope import Envelope
from stashplex.sync.matching import (
    Action,
    Confidence,
    DictCandidateIndex,
    PlexCandidate,
    StashFile,
    decide,
    score_match,
)
from stashplex.sync.pathmap import PathMap
from stashplex.sync.scene import StashScene

log = logging.getLogger(__name__)


class Matcher(MailboxActor):
    mailbox_name: ClassVar[str] = MATCHER
    #: A pure decision per message: its sends can wait for the chunk's single commit.
    buffered_sends: ClassVar[bool] = True

    def setup(self) -> None:
        settings = self.ctx.service("settings")
        self.settings = settings
        self.pathmap = PathMap.parse(
            settings.path_map, case_insensitive=settings.case_insensitive_paths
        )

    def handle(self, envelope: Envelope) -> None:
        if envelope.kind != MATCH_SCORE:
            super().handle(envelope)
            return
        job = SyncJob.model_validate(envelope.payload)
        scene = StashScene.model_validate(job.scene)
        if not scene.files:
            self._dead_letter(envelope, job, "invalid_scene", "the scene has no files to match")
            return
        ci = self.settings.case_insensitive_paths
        candidates = [PlexCandidate(**c) for c in job.candidates]
        result = score_match(
            [StashFile(f.path, f.size, f.duration_s) for f in scene.files],
            DictCandidateIndex(candidates, case_insensitive=ci),
            self.pathmap,
            case_insensitive=ci,
        )
        decision = decide(
            result,
            strict=self.settings.strict_matching,
            allow_medium=self.settings.allow_medium_confidence,
        )
        if decision.action is Action.WRITE:
            job = job.model_copy(
                update={
                    "targets": [t.rating_key for t in result.targets],
                    "match_reason": decision.reason,
                }
            )
            self.send(
                PLEX_GATEWAY,
                envelope.derive(SYNC_WRITE, job.model_dump(mode="json"), sender=MATCHER),
            )
        elif decision.action is Action.NOT_FOUND:
            self.send(SCHEDULER, retry_envelope("not_found", decision.reason, _relocate(job)))
        else:
            reason = "ambiguous" if len(result.targets) > 1 else "low_confidence"
            if result.confidence is Confidence.MEDIUM:
                reason = "low_confidence"
            self._dead_letter(envelope, job, reason, decision.reason)

    def _dead_letter(self, envelope: Envelope, job: SyncJob, reason: Any, error: str) -> None:
        log.warning("scene %s not written: %s", envelope.scene_id, error)
        self.send(DEAD_LETTER, dead_letter_envelope(reason, error, _relocate(job)))


def _relocate(job: SyncJob) -> JobRef:
    """The job as a fresh lookup: retried later, the path index may know more by then."""
    scene_id = str(job.scene.get("id"))
    return JobRef(
        to=PLEX_GATEWAY, kind=SYNC_LOCATE, scene_id=scene_id, payload=job.model_dump(mode="json")
    )
