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
from typing import ClassVar

from actors.addresses import DEAD_LETTER, MATCHER, PLEX_GATEWAY, SCHEDULER
from actors.base import MailboxActor
from actors.messages import (
    DEAD_LETTER_JOB,
    MATCH_SCORE,
    RETRY_SCHEDULE,
    SYNC_LOCATE,
    SYNC_WRITE,
    DeadLetterJob,
    JobRef,
    RetrySchedule,
    SyncJob,
)
from stashplex.envelope import Envelope
from stashplex.matching import (
    Action,
    Confidence,
    DictCandidateIndex,
    PlexCandidate,
    StashFile,
    decide,
    score_match,
)
from stashplex.pathmap import PathMap
from stashplex.scene import StashScene

log = logging.getLogger(__name__)


class Matcher(MailboxActor):
    mailbox_name: ClassVar[str] = MATCHER

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
            retry = RetrySchedule(
                reason="not_found",
                error=decision.reason,
                job=JobRef(
                    to=PLEX_GATEWAY,
                    kind=SYNC_LOCATE,
                    scene_id=scene.id,
                    payload=job.model_dump(mode="json"),
                ),
            )
            self.send(
                SCHEDULER,
                Envelope(
                    kind=RETRY_SCHEDULE, scene_id=scene.id, payload=retry.model_dump(mode="json")
                ),
            )
        else:
            reason = "ambiguous" if len(result.targets) > 1 else "low_confidence"
            if result.confidence is Confidence.MEDIUM:
                reason = "low_confidence"
            self._dead_letter(envelope, job, reason, decision.reason)

    def _dead_letter(self, envelope: Envelope, job: SyncJob, reason: str, error: str) -> None:
        log.warning("scene %s not written: %s", envelope.scene_id, error)
        dead = DeadLetterJob(
            reason=reason,
            error=error,
            job=JobRef(
                to=PLEX_GATEWAY,
                kind=SYNC_LOCATE,
                scene_id=envelope.scene_id,
                payload=job.model_dump(mode="json"),
            ),
            history=job.history,
            candidates=job.candidates,
            job_id=job.job_id,
        )
        self.send(
            DEAD_LETTER,
            Envelope(
                kind=DEAD_LETTER_JOB,
                scene_id=envelope.scene_id,
                payload=dead.model_dump(mode="json"),
            ),
        )
