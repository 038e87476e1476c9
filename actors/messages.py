"""Every message kind that crosses a mailbox, with its payload contract.

The flow (docs/architecture.md has the diagram)::

    hook / CLI ──> intake ──sync.locate──> plex_gateway ──match.score──> matcher
                     ^                          ^                          │
                     │ sync.done                └────────sync.write────────┤
                     │                                                     │ not found
    scheduler <──retry.schedule── plex_gateway / matcher                    v
        │ (timers fire the job back to its mailbox)                     scheduler
        └──> dead_letter (retries exhausted, ambiguous, permanent errors)

Payloads are JSON dicts validated by the models below at the receiving end, so a malformed
message fails loudly in its handler (and ends in DeadLetter) instead of half-working.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from actors.reasons import ReasonClass
from stashplex.link.events import (
    MAX_COOKIE_CHARS,
    MAX_ID_DIGITS,
    MAX_INPUT_FIELDS,
    MAX_KEY,
    RELATED_TRIGGERS,
    SCENE_TRIGGERS,
    valid_cookie,
)
from stashplex.runtime.envelope import Envelope

# -- kinds ---------------------------------------------------------------------------------
HOOK_EVENT = "hook.event"  # -> intake: a Stash hook, forwarded by the plugin (HookEvent)
SYNC_REQUEST = "sync.request"  # -> intake: sync all / since / some scenes (CLI, tasks, DLQ retry)
SYNC_DONE = "sync.done"  # -> intake: a scene reached Plex (or was found unchanged)
SYNC_CANCEL = "sync.cancel"  # -> intake: an operator or a cancelled Stash task ends a sync job
INTAKE_CATCHUP = "intake.catchup"  # -> intake: scheduled, look for changes Stash did not hook
INTAKE_FLUSH = "intake.flush"  # -> intake: turn coalesced pending events into jobs now
INTAKE_RECOVER = "intake.recover"  # -> intake: a mailbox was lost; re-send what was in flight
INTAKE_RECONCILE = "intake.reconcile"  # -> intake: scheduled, compare the whole library with Plex
SYNC_LOCATE = "sync.locate"  # -> plex_gateway: find Plex candidates for a scene's files
MATCH_SCORE = "match.score"  # -> matcher: decide which candidate (if any) is the scene
SYNC_WRITE = "sync.write"  # -> plex_gateway: write the scene to these Plex items
RETRY_SCHEDULE = "retry.schedule"  # -> scheduler: run this job again later
TIMER_SUPERSEDE = "timer.supersede"  # -> scheduler: newer jobs exist for these scenes
TIMER_SET = "timer.set"  # -> scheduler: deliver a job at a time (one per timer id)
DEAD_LETTER_JOB = "dead_letter.job"  # -> dead_letter: a job that could not be done
DEAD_LETTER_RETRY = "dead_letter.retry"  # -> dead_letter: operator asks to retry some
DEAD_LETTER_PURGE = "dead_letter.purge"  # -> dead_letter: operator asks to delete old ones
DEAD_LETTER_CLEANUP = "dead_letter.cleanup"  # -> dead_letter: scheduled retention clean-up
JOURNAL_UNDO = "journal.undo"  # -> plex_gateway: put back what journaled writes replaced
FIELDS_RELEASE = "fields.release"  # -> plex_gateway: forget that we own some fields
INDEX_REBUILD = "index.rebuild"  # -> plex_gateway: list the libraries again from scratch
PLEX_PROBE = "plex.probe"  # -> plex_gateway: is Plex back? (every second while the breaker is open)
TIMER_RELEASE = "timer.release"  # -> scheduler: deliver every timer of this reason now
PLEX_RECHECK = "plex.recheck"  # -> plex_gateway: look again for files of jobs waiting for Plex

#: Each reason in the words a user knows (status, Stash's log).
REASON_WORDS: dict[str, str] = {
    "transient": "Plex error",
    "not_found": "not in Plex",
    "breaker_open": "Plex down",
    "permanent": "refused by Plex",
    "unauthorized": "token rejected",
    "ambiguous": "ambiguous match",
    "low_confidence": "uncertain match",
    "invalid_scene": "no files",
    "poison": "crashed stashplex",
    "unknown": "unreadable",
}


class _Payload(BaseModel):
    model_config = ConfigDict(extra="ignore")


# What enters from outside (hooks, the CLI, Stash tasks) is refused at the door if it cannot be
# stored or sent: a number SQLite cannot hold, an id Stash cannot have. The hook checks the same
# limits (stashplex.link.events), whose constants are the one definition of them.
_ID_PATTERN = rf"^[0-9]{{1,{MAX_ID_DIGITS}}}$"
#: A Stash id as text: digits, at most MAX_ID_DIGITS of them.
StashId = Annotated[str, Field(pattern=_ID_PATTERN)]
#: A positive whole number SQLite can store: Plex rating keys, dead-letter ids.
Key = Annotated[int, Field(gt=0, le=MAX_KEY)]


class Attempt(_Payload):
    """One entry of a job's history: when it failed, why, and how."""

    at: float
    reason: ReasonClass
    error: str = ""


class SyncJob(_Payload):
    """The unit of work from Intake onwards: one scene, as Stash had it, to be written to Plex.

    ``revision`` grows with every job Intake emits, so anything older than the newest job for
    the same scene can be recognised as stale and dropped (latest wins).
    """

    scene: dict[str, Any]
    fingerprint: str
    revision: int
    job_id: str | None = None
    dry_run: bool = False
    force: bool = False
    has_cover: bool = True
    history: list[Attempt] = Field(default_factory=list)
    candidates: list[dict[str, Any]] = Field(default_factory=list)
    targets: list[int] = Field(default_factory=list)
    match_reason: str = ""


class SyncRequest(_Payload):
    mode: Literal["all", "since", "scenes"]
    since: str | None = Field(default=None, max_length=64)
    scene_ids: list[StashId] = Field(default_factory=list)
    dry_run: bool = False
    force: bool = False
    job_id: str | None = None
    #: A scheduled reconciliation (mode ``all``): every synced scene goes to Plex again, changed
    #: or not, so the gateway's diff finds drift on either side (``select_changed``).
    reconcile: bool = False


class SyncCancel(_Payload):
    job_id: str = Field(min_length=1, max_length=64)
    #: Who asked, for the log line (``stashplex sync --cancel``, a cancelled Stash task).
    by: str = Field(default="an operator", max_length=200)


class SyncDone(_Payload):
    scene_id: str
    fingerprint: str
    revision: int
    status: Literal["written", "unchanged", "dry_run", "dead_letter", "skipped"]
    rating_keys: list[int] = Field(default_factory=list)
    job_id: str | None = None
    changes: int = 0
    diff: list[dict[str, Any]] = Field(default_factory=list)  # dry runs: what would change
    dry_run: bool = False  # a dry run's end leaves the scene's sync bookkeeping alone


class JobRef(_Payload):
    """A message to deliver later: where to, what kind, and its payload."""

    to: str
    kind: str
    scene_id: str | None = None
    payload: dict[str, Any]


class RetrySchedule(_Payload):
    reason: Literal["transient", "not_found", "breaker_open"]
    error: str = ""
    due_at: float | None = None  # breaker_open: when the breaker allows a trial
    job: JobRef


class TimerSet(_Payload):
    timer_id: str
    due_at: float
    job: JobRef


class TimerSupersede(_Payload):
    revisions: dict[str, int]  # scene id -> newest revision Intake has emitted


class DeadLetterJob(_Payload):
    reason: ReasonClass
    error: str
    job: JobRef | None = None
    history: list[Attempt] = Field(default_factory=list)
    candidates: list[dict[str, Any]] = Field(default_factory=list)
    job_id: str | None = None


class JournalUndo(_Payload):
    """Undo one item's last change, every write of one sync job, or every change since a time
    (epoch seconds): exactly one of the three."""

    rating_key: Key | None = None
    job_id: str | None = None
    since: float | None = None

    @model_validator(mode="after")
    def _one_selection(self) -> JournalUndo:
        chosen = [v for v in (self.rating_key, self.job_id, self.since) if v is not None]
        if len(chosen) != 1:
            raise ValueError("name exactly one of rating_key, job_id, since")
        return self


class FieldsRelease(_Payload):
    """Hand fields back to Stash on one item, one scene's items, or every item (neither named).
    No ``fields``: the fields each item preserves for a person's edit."""

    fields: list[str] = Field(default_factory=list)
    rating_key: Key | None = None
    scene_id: str | None = Field(default=None, pattern=_ID_PATTERN)

    @model_validator(mode="after")
    def _at_most_one_selection(self) -> FieldsRelease:
        if self.rating_key is not None and self.scene_id is not None:
            raise ValueError("name a Plex item or a scene, not both")
        return self


class DeadLetterRetry(_Payload):
    ids: list[Key] = Field(default_factory=list)
    reason: str | None = Field(default=None, max_length=64)
    all: bool = False


class DeadLetterShow(_Payload):
    id: Key


class DeadLetterPurge(_Payload):
    older_than_days: float = Field(ge=0, le=100_000)


def dead_letter_envelope(reason: ReasonClass, error: str, job: JobRef) -> Envelope:
    """A failed job for DeadLetter; its history, candidates and sync job travel in its payload."""
    payload = job.payload
    dead = DeadLetterJob(
        reason=reason,
        error=error,
        job=job,
        history=payload.get("history", []),
        candidates=payload.get("candidates", []),
        job_id=payload.get("job_id"),
    )
    return Envelope(
        kind=DEAD_LETTER_JOB, scene_id=job.scene_id, payload=dead.model_dump(mode="json")
    )


def retry_envelope(
    reason: Literal["transient", "not_found", "breaker_open"],
    error: str,
    job: JobRef,
    *,
    due_at: float | None = None,
) -> Envelope:
    """Ask the Scheduler to deliver ``job`` again later."""
    request = RetrySchedule(reason=reason, error=error, due_at=due_at, job=job)
    return Envelope(
        kind=RETRY_SCHEDULE, scene_id=job.scene_id, payload=request.model_dump(mode="json")
    )


def timer_envelope(
    timer_id: str, due_at: float, *, to: str, kind: str, payload: dict[str, Any]
) -> Envelope:
    """Ask the Scheduler to deliver ``kind`` to mailbox ``to`` at ``due_at`` (one per timer id)."""
    job = {"to": to, "kind": kind, "payload": payload}
    request = {"timer_id": timer_id, "due_at": due_at, "job": job}
    TimerSet.model_validate(request)  # refused here rather than by the Scheduler
    return Envelope(kind=TIMER_SET, payload=request)


def job_ended_envelope(
    scene_id: str | None,
    job: dict[str, Any],
    status: Literal["dead_letter", "skipped"],
) -> Envelope | None:
    """Tell Intake that a scene's job ended without a write, so its sync job still finishes.

    ``dead_letter``: it failed for good (a re-sync then sends it again). ``skipped``: a newer job
    for the scene superseded it and carries on in its place.
    """
    if not scene_id or job.get("fingerprint") is None:
        return None
    done = SyncDone(
        scene_id=scene_id,
        fingerprint=job["fingerprint"],
        status=status,
        revision=int(job.get("revision", 0)),
        job_id=job.get("job_id"),
        dry_run=bool(job.get("dry_run", False)),
    )
    return Envelope(kind=SYNC_DONE, scene_id=scene_id, payload=done.model_dump(mode="json"))


# -- what arrives from outside ----------------------------------------------------------

# The stdlib-only hook checks the same rules itself (stashplex.link.events), so that an event
# refused here is an error in Stash's log, never a spool file; its constants are the one
# definition of them.
#: The kind of object a related trigger is about, as Intake and the Stash client name it.
RELATED_KINDS: dict[str, str] = {
    trigger: trigger.partition(".")[0].lower() for trigger in RELATED_TRIGGERS
}


class HookEvent(BaseModel):
    """What the hook forwards: enough to find the object again, nothing the hook had to fetch.

    A scene trigger names its scene in ``scene_id``; a related trigger (a performer, studio, tag
    or group was edited, merged into or deleted) names that object in ``object_id`` and has no
    ``scene_id``, so its id can never be taken for a scene's. Keep these rules in step with
    ``stashplex.link.events.build_event`` (a test checks it).
    """

    model_config = ConfigDict(extra="ignore")

    trigger: Literal[
        "Scene.Create.Post",
        "Scene.Update.Post",
        "Scene.Destroy.Post",
        "Performer.Update.Post",
        "Studio.Update.Post",
        "Tag.Update.Post",
        "Group.Update.Post",
        "Tag.Merge.Post",
        "Performer.Destroy.Post",
        "Studio.Destroy.Post",
        "Tag.Destroy.Post",
        "Group.Destroy.Post",
    ]
    scene_id: str | None = Field(default=None, pattern=_ID_PATTERN)
    object_id: str | None = Field(default=None, pattern=_ID_PATTERN)
    input_fields: list[str] = Field(default_factory=list, max_length=MAX_INPUT_FIELDS)
    input: Any = None
    received_at: float | None = None
    #: How to call Stash back; ``{}`` when the hook had no ``server_connection`` (the hook
    #: sends ``null`` then), in which case the supervisor uses its own configured Stash access.
    connection: dict[str, Any] = Field(default_factory=dict)

    @field_validator("connection", mode="before")
    @classmethod
    def _no_connection_is_empty(cls, value: Any) -> Any:
        return {} if value is None else value

    @field_validator("connection")
    @classmethod
    def _usable_cookie(cls, value: dict[str, Any]) -> dict[str, Any]:
        # The hook refuses the same (stashplex.link.events.connection_from): a cookie that
        # cannot be a header value would fail every Stash request made with it.
        cookie = value.get("session_cookie")
        if cookie is not None and not (isinstance(cookie, str) and valid_cookie(cookie)):
            raise ValueError(
                f"session_cookie is not a usable cookie (at most {MAX_COOKIE_CHARS} printable "
                "ASCII characters without spaces, quotes, commas, semicolons or backslashes)"
            )
        return value

    @model_validator(mode="after")
    def _id_matches_the_trigger(self) -> HookEvent:
        if self.trigger in SCENE_TRIGGERS:
            if self.scene_id is None or self.object_id is not None:
                raise ValueError(f"{self.trigger} names its scene in scene_id (and no object_id)")
        elif self.object_id is None or self.scene_id is not None:
            raise ValueError(
                f"{self.trigger} names the {self.object_kind} in object_id (and no scene_id)"
            )
        return self

    @property
    def object_kind(self) -> str:
        """``scene``, or which object a related trigger is about (``performer`` ... ``group``)."""
        return RELATED_KINDS.get(self.trigger, "scene")
