"""The actor shell: a pykka actor bound to one durable mailbox.

pykka's own inbox only carries doorbells; the mailbox is the source of truth. That is what makes
a crash harmless: pykka drops its queued tells when an actor dies, but a doorbell is only a hint
that the mailbox has work, and a restarted actor rings itself on start.

A handler that raises is treated as a bug in that message (poison), not as a transient
condition; expected failures such as "Plex is down" are classified inside the handler and
become messages of their own. So on an exception the shell re-queues the message with
``attempt + 1`` (or moves it to DeadLetter with its traceback once it failed
``max_attempts`` times), acknowledges the original, and then lets the actor crash so the
supervisor restarts it with fresh state, as in OTP.
"""

from __future__ import annotations

import logging
import threading
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import pykka

from actors.addresses import DEAD_LETTER
from actors.poison import POISON_KIND, UNKNOWN_KIND, failure_envelope, host_deaths_error
from stashplex.runtime.envelope import Envelope
from stashplex.runtime.mailbox import Delivery, Mailbox, PostOffice
from stashplex.runtime.trace import TRACE_KIND, next_hop

log = logging.getLogger(__name__)

#: How many times one message may crash its handler before it is dead-lettered.
DEFAULT_MAX_ATTEMPTS = 3


#: Messages an actor that handles one at a time takes from its mailbox at once, so taking and
#: acking cost one commit per chunk instead of one per message.
TAKE_CHUNK = 32

_DOORBELL = "doorbell"
_PING = "ping"


def _failed_before(envelope: Envelope) -> bool:
    """Failed before (or in flight in a dead host): handled alone, so no batch mate pays."""
    return envelope.attempt > 0


class UnknownMessageError(Exception):
    """The actor has no handler for this kind: retrying cannot help, so it is dead-lettered."""


@dataclass
class ActorContext:
    """What the runtime hands every actor: its post office and shared services by name."""

    post: PostOffice
    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    services: dict[str, Any] = field(default_factory=dict)
    #: Actors whose last crash was one message's fault, already charged to that message.
    _contained: set[str] = field(default_factory=set)

    def crash_contained(self, name: str) -> None:
        self._contained.add(name)

    def take_contained(self, name: str) -> bool:
        """Whether actor ``name`` last crashed on one message (asked once per crash).

        Such a crash costs that message an attempt, so it can happen at most ``max_attempts``
        times per message: the supervisor restarts the actor without counting it toward the
        restart intensity, and one bad message never escalates to a host restart.
        """
        if name in self._contained:
            self._contained.discard(name)
            return True
        return False

    def service(self, name: str) -> Any:
        try:
            return self.services[name]
        except KeyError:
            raise LookupError(f"service {name!r} is not configured in this process") from None


class MailboxActor(pykka.ThreadingActor):
    """Base class of the five actors. Subclasses implement :meth:`handle` (or a batch)."""

    #: The mailbox this actor consumes; also its address.
    mailbox_name: ClassVar[str]
    #: Messages handed to :meth:`handle_batch` at once. Batching actors override both.
    batch_size: ClassVar[int] = 1
    #: Messages handled per doorbell before yielding, so a stop request is never starved.
    drain_slice: ClassVar[int] = 200
    #: Hold what handlers send until their chunk is done, then commit it in one transaction per
    #: mailbox just before the chunk's ack: a commit per chunk instead of one per message. Only
    #: for actors whose handlers never delete durable state after sending, so that a crash
    #: before the commit can only re-deliver their messages, never lose what they emitted.
    buffered_sends: ClassVar[bool] = False
    use_daemon_thread = True

    def __init__(self, ctx: ActorContext) -> None:
        super().__init__()
        self.ctx = ctx
        self.mailbox: Mailbox = ctx.post[self.mailbox_name]
        self._stopping = False
        self._outbox: list[tuple[str, Envelope]] | None = None
        self._thread: threading.Thread | None = None
        #: A handler failed in this chunk and its message was charged (requeued or dead letter).
        self._charged = False

    # -- lifecycle --------------------------------------------------------------------------

    def on_start(self) -> None:
        self._thread = threading.current_thread()
        self.setup()
        self.mailbox.subscribe(self._ring)

    def on_stop(self) -> None:
        self._detach()
        self.teardown()

    def on_failure(self, exc_type: Any, exc_value: Any, tb: Any) -> None:
        self._detach()
        log.error("actor %s crashed: %s: %s", self.mailbox_name, exc_type.__name__, exc_value)

    def _detach(self) -> None:
        self._stopping = True
        self.mailbox.unsubscribe(self._ring)

    def setup(self) -> None:
        """Open the actor's own resources. Runs in the actor thread; raising stops the actor."""

    def teardown(self) -> None:
        """Release resources on an orderly stop."""

    # -- messaging --------------------------------------------------------------------------

    def _ring(self) -> None:
        try:
            self.actor_ref.tell(_DOORBELL)
        except pykka.ActorDeadError:
            log.debug("doorbell for stopped actor %s ignored", self.mailbox_name)

    def on_receive(self, message: Any) -> Any:
        if message == _DOORBELL:
            self._drain()
            return None
        if message == _PING:
            return True
        return self.on_control(message)

    def on_control(self, message: Any) -> Any:
        """Synchronous questions (``ask``) from the host, e.g. for status. Never used for work."""
        log.warning("actor %s got an unexpected control message %r", self.mailbox_name, message)
        return None

    def send(self, to: str, envelope: Envelope) -> None:
        """Durably put ``envelope`` on mailbox ``to``: committed on return, or, in an actor with
        :attr:`buffered_sends`, committed before the message being handled is acked."""
        stamped = envelope.model_copy(update={"sender": self.mailbox_name})
        if self._outbox is not None and threading.current_thread() is self._thread:
            self._outbox.append((to, stamped))  # any other thread's send is not this chunk's
            return
        self.ctx.post.send(to, stamped)

    def _send_now(self, to: str, envelope: Envelope) -> None:
        """For the shell's own sends that precede an immediate ack (poison, unknown kinds)."""
        self.ctx.post.send(to, envelope.model_copy(update={"sender": self.mailbox_name}))

    def _commit_outbox(self, outbox: list[tuple[str, Envelope]]) -> None:
        by_mailbox: dict[str, list[Envelope]] = {}
        for to, envelope in outbox:
            by_mailbox.setdefault(to, []).append(envelope)
        for to, envelopes in by_mailbox.items():
            self.ctx.post[to].put_many(envelopes)

    def send_many(self, to: str, envelopes: Sequence[Envelope]) -> None:
        """Like :meth:`send` for many at once: one commit for all of them (all or none)."""
        sender = {"sender": self.mailbox_name}
        self.ctx.post[to].put_many(e.model_copy(update=sender) for e in envelopes)

    # -- the drain loop -----------------------------------------------------------------------

    def _drain(self) -> None:
        self.mailbox.clear_ring()
        handled = 0
        take = self.batch_size if self.batch_size > 1 else TAKE_CHUNK
        while not self._stopping and handled < self.drain_slice:
            if not self.may_take():
                return  # left in the mailbox, durable, for whoever may take it next
            deliveries = self.mailbox.take(take, alone=_failed_before)
            if not deliveries:
                self.idle()
                return
            self._charged = False
            try:
                self._process(deliveries)
            except Exception:
                if self._charged:  # this crash is that message's, and it already paid for it
                    self.ctx.crash_contained(self.mailbox_name)
                raise
            handled += len(deliveries)
        if not self._stopping:
            self._ring()

    def _process(self, deliveries: list[Delivery]) -> None:
        """Handle a chunk, then ack what was handled in one transaction.

        Everything a handler emits is committed before the shared ack (by ``send`` itself, or
        with the chunk's outbox), so a crash before that ack only re-delivers messages whose
        effects already happened, which at-least-once allows and the handlers are written for.
        Whatever the chunk leaves unsettled (a crash part-way) is handed back, never left in
        flight until a restart.
        """
        handled: list[Delivery] = []
        settled: set[int] = set()
        self._outbox = [] if self.buffered_sends else None
        try:
            work = []
            for delivery in deliveries:
                if self._killed_too_often(delivery):
                    settled.add(delivery.row_id)
                elif delivery.envelope.kind == TRACE_KIND:
                    self._forward_trace(delivery.envelope)
                    handled.append(delivery)
                else:
                    work.append(delivery)
            if self.batch_size > 1 and len(work) > 1:
                self._process_batch(work, handled, settled)
            else:
                one = self.handle if self.batch_size == 1 else self._handle_alone
                self._process_each(work, handled, settled, one)
        finally:
            try:
                self._settle(deliveries, handled, settled)
            except BaseException:
                self._charged = False  # the chunk itself failed, not one message
                raise

    def _settle(
        self, deliveries: list[Delivery], handled: list[Delivery], settled: set[int]
    ) -> None:
        outbox, self._outbox = self._outbox, None
        try:
            if outbox:
                self._commit_outbox(outbox)
        except BaseException:
            handled.clear()  # what they emitted is not committed: hand them back, never ack
            raise
        finally:
            try:
                self.mailbox.ack_many(handled)
                settled.update(delivery.row_id for delivery in handled)
            finally:
                self.mailbox.release([d for d in deliveries if d.row_id not in settled])

    def _handle_alone(self, envelope: Envelope) -> None:
        self.handle_batch([envelope])

    def _process_batch(
        self, deliveries: list[Delivery], handled: list[Delivery], settled: set[int]
    ) -> None:
        mark = len(self._outbox) if self._outbox is not None else 0
        try:
            self.handle_batch([d.envelope for d in deliveries])
        except Exception as exc:  # noqa: BLE001 - each message is retried alone just below
            if self._outbox is not None:
                del self._outbox[mark:]  # the batch's partial output; handled again below
            # One bad message must not fail its whole batch: handle them one by one, so only
            # the culprit spends an attempt (or is dead-lettered) and the rest go through.
            log.warning(
                "%s: a batch of %d failed (%s); handling its messages one by one",
                self.mailbox_name,
                len(deliveries),
                exc,
            )
            self._process_each(deliveries, handled, settled, self._handle_alone)
            return
        handled.extend(deliveries)

    def _process_each(
        self,
        deliveries: list[Delivery],
        handled: list[Delivery],
        settled: set[int],
        one: Callable[[Envelope], None],
    ) -> None:
        for delivery in deliveries:
            mark = len(self._outbox) if self._outbox is not None else 0
            try:
                one(delivery.envelope)
            except UnknownMessageError as exc:
                self._drop_output_since(mark)
                self._reject_unknown(delivery, exc)
                settled.add(delivery.row_id)
                continue
            except Exception as exc:
                self._drop_output_since(mark)
                self._fail(delivery, exc)
                settled.add(delivery.row_id)
                self._charged = True
                raise
            handled.append(delivery)

    def _drop_output_since(self, mark: int) -> None:
        """A failed handler's partial output is not sent: its message is retried instead."""
        if self._outbox is not None:
            del self._outbox[mark:]

    def _forward_trace(self, envelope: Envelope) -> None:
        following, stamped = next_hop(envelope, self.mailbox_name)
        if following is not None:
            self.send(following, stamped)
            return
        sink = self.ctx.services.get("trace_sink")
        if sink is not None:
            sink.record(stamped)
        else:
            log.info("trace %s completed at %s", envelope.id, self.mailbox_name)

    def _reject_unknown(self, delivery: Delivery, exc: UnknownMessageError) -> None:
        envelope = delivery.envelope
        log.error(
            "%s: no handler for %r (message %s)", self.mailbox_name, envelope.kind, envelope.id
        )
        self._give_up(
            delivery, failure_envelope(UNKNOWN_KIND, self.mailbox_name, envelope, str(exc))
        )

    def _give_up(self, delivery: Delivery, report: Envelope) -> None:
        """Hand a message to DeadLetter with ``report`` (DeadLetter keeps its own in its file)."""
        if self.mailbox_name == DEAD_LETTER:
            self.mailbox.reject(delivery)
            return
        self._send_now(DEAD_LETTER, report)
        self.mailbox.ack(delivery)

    def _killed_too_often(self, delivery: Delivery) -> bool:
        """A message the host died with ``max_attempts`` times is poison too, unhandled."""
        envelope = delivery.envelope
        if envelope.attempt < self.ctx.max_attempts:
            return False
        log.error(
            "%s: message %s (%s) outlived %d hosts; moving it to dead letters",
            self.mailbox_name,
            envelope.id,
            envelope.kind,
            envelope.attempt,
        )
        error = host_deaths_error(envelope.attempt)
        self._give_up(delivery, failure_envelope(POISON_KIND, self.mailbox_name, envelope, error))
        return True

    def _fail(self, delivery: Delivery, exc: BaseException) -> None:
        envelope = delivery.envelope
        text = "".join(traceback.format_exception(exc))
        if self.mailbox_name == DEAD_LETTER:
            # Nowhere further to send it: keep the row in the file for inspection, out of the way.
            log.critical("dead letters cannot store message %s: %s", envelope.id, exc)
            self.mailbox.reject(delivery)
        elif envelope.attempt + 1 >= self.ctx.max_attempts:
            log.error(
                "%s: message %s (%s) failed %d times; moving it to dead letters",
                self.mailbox_name,
                envelope.id,
                envelope.kind,
                envelope.attempt + 1,
            )
            error = f"{type(exc).__name__}: {exc}"
            self._give_up(
                delivery, failure_envelope(POISON_KIND, self.mailbox_name, envelope, error, text)
            )
        else:
            log.warning(
                "%s: message %s (%s) failed (attempt %d): %s",
                self.mailbox_name,
                envelope.id,
                envelope.kind,
                envelope.attempt + 1,
                exc,
            )
            self.mailbox.requeue(delivery, envelope.next_attempt())

    def handle(self, envelope: Envelope) -> None:
        """Handle one message; anything it emits goes through :meth:`send` before it returns."""
        raise UnknownMessageError(f"{self.mailbox_name} has no handler for {envelope.kind!r}")

    def handle_batch(self, envelopes: Sequence[Envelope]) -> None:
        """Handle several messages at once (for actors that amortise I/O over a batch)."""
        for envelope in envelopes:
            self.handle(envelope)

    def may_take(self) -> bool:
        """Asked before each take: False leaves the messages queued (settings are changing)."""
        return True

    def idle(self) -> None:
        """Called when the mailbox ran dry; a good moment for housekeeping."""
