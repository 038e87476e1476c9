import threading
from typing import ClassVar

import pykka

from actors.addresses import DEAD_LETTER
from actors.base import POISON_KIND, UNKNOWN_KIND
from stashplex.runtime.envelope import Envelope
from stashplex.runtime.trace import TraceSink, read_traces, trace_envelope
from tests.support.runtime import (
    NEXT,
    WORK,
    BatchRecorder,
    Forwarder,
    Recorder,
    context,
    drain,
    make_post,
    work,
)
from tests.support.waiting import wait_until


class Gated(Forwarder):
    """A forwarder that signals ``busy`` and waits for ``gate`` before each message."""

    def handle(self, envelope: Envelope) -> None:
        self.ctx.service("busy").set()
        self.ctx.service("gate").wait(5)
        super().handle(envelope)


class ExplodingBatch(BatchRecorder):
    """Records batches that succeed; a batch holding an ``explode`` message raises."""

    batch_size: ClassVar[int] = 10

    def handle_batch(self, envelopes) -> None:
        if any(e.payload.get("explode") for e in envelopes):
            raise RuntimeError("this batch holds a message I cannot take")
        super().handle_batch(envelopes)


def test_a_handled_message_is_acked_and_what_it_emits_is_on_the_next_mailbox(tmp_path):
    # Given a forwarder with one message waiting
    post = make_post(tmp_path)
    post.send(WORK, work(1))
    recorder = Recorder()
    # When it starts
    Forwarder.start(context(post, recorder=recorder))
    # Then the message is handled, forwarded, and gone from its own mailbox
    wait_until(lambda: post[NEXT].depth() == 1, message="forwarded message")
    wait_until(lambda: post[WORK].depth() == 0, message="ack")
    (forwarded,) = drain(post, NEXT)
    assert (forwarded.kind, forwarded.payload["n"], forwarded.sender) == ("forwarded", 1, WORK)


def test_messages_sent_while_the_actor_runs_wake_it_up(tmp_path):
    post = make_post(tmp_path)
    recorder = Recorder()
    Forwarder.start(context(post, recorder=recorder))
    for n in range(20):
        post.send(WORK, work(n))
    wait_until(lambda: post[NEXT].depth() == 20, message="20 forwarded")
    assert [e.payload["n"] for e in recorder.seen] == list(range(20))


def test_a_handler_exception_requeues_the_message_with_attempt_plus_one_and_stops_the_actor(
    tmp_path,
):
    # Given a message whose handler raises
    post = make_post(tmp_path)
    post.send(WORK, work(1, explode=True))
    recorder = Recorder()
    # When the actor handles it
    ref = Forwarder.start(context(post, recorder=recorder, max_attempts=5))
    # Then the actor crashes (the supervisor's cue) and the message waits with attempt 1
    wait_until(ref.actor_stopped.is_set, message="actor crash")
    (requeued,) = drain(post, WORK)
    assert (requeued.payload["n"], requeued.attempt) == (1, 1)


def test_a_message_that_fails_max_attempts_times_goes_to_dead_letter_with_its_traceback(tmp_path):
    # Given a poison message and an actor allowed 3 attempts, restarted after each crash
    post = make_post(tmp_path)
    post.send(WORK, work(9, explode=True))
    recorder = Recorder()
    ctx = context(post, recorder=recorder, max_attempts=3)
    for _ in range(3):
        ref = Forwarder.start(ctx)
        wait_until(lambda ref=ref: ref.actor_stopped.is_set(), message="crash")
    # Then it was tried exactly three times and now sits in DeadLetter, not in the work mailbox
    assert [e.attempt for e in recorder.seen] == [0, 1, 2]
    assert post[WORK].depth() == 0
    (poison,) = drain(post, DEAD_LETTER)
    assert poison.kind == POISON_KIND
    assert poison.payload["mailbox"] == WORK
    assert "RuntimeError: boom 9" in poison.payload["traceback"]
    assert Envelope.from_json(poison.payload["envelope"]).payload["n"] == 9


def test_a_message_its_hosts_died_with_max_attempts_times_is_dead_lettered_unhandled(tmp_path):
    # Given a message charged three attempts by three dead hosts (the mailbox charged it), and
    # a healthy one behind it
    post = make_post(tmp_path)
    post.send(WORK, work(7).model_copy(update={"attempt": 3}))
    post.send(WORK, work(8))
    recorder = Recorder()
    # When an actor allowed 3 attempts meets it
    Forwarder.start(context(post, recorder=recorder, max_attempts=3))
    wait_until(lambda: post[NEXT].depth() == 1, message="the healthy one forwarded")
    # Then it goes to DeadLetter without being handled, saying why
    assert [e.payload["n"] for e in recorder.seen] == [8]
    (poison,) = drain(post, DEAD_LETTER)
    assert poison.kind == POISON_KIND
    assert "the host died 3 times" in poison.payload["error"]
    assert Envelope.from_json(poison.payload["envelope"]).payload["n"] == 7


def test_messages_behind_a_crashing_one_are_not_lost(tmp_path):
    # Given a poison message followed by healthy ones
    post = make_post(tmp_path)
    post.send(WORK, work(0, explode=True))
    for n in range(1, 4):
        post.send(WORK, work(n))
    recorder = Recorder()
    ctx = context(post, recorder=recorder, max_attempts=1)
    # When the actor crashes on the first and is started again
    ref = Forwarder.start(ctx)
    wait_until(ref.actor_stopped.is_set, message="crash")
    Forwarder.start(ctx)
    # Then every healthy message is forwarded
    wait_until(lambda: post[NEXT].depth() == 3, message="3 forwarded")
    assert sorted(e.payload["n"] for e in drain(post, NEXT)) == [1, 2, 3]


def test_a_message_of_unknown_kind_is_dead_lettered_at_once_and_the_actor_keeps_running(tmp_path):
    post = make_post(tmp_path)
    post.send(WORK, Envelope(kind="no.such.kind"))
    post.send(WORK, work(2))
    ref = Forwarder.start(context(post, recorder=Recorder()))
    wait_until(lambda: post[NEXT].depth() == 1, message="second message forwarded")
    assert ref.is_alive()
    (unknown,) = drain(post, DEAD_LETTER)
    assert unknown.kind == UNKNOWN_KIND
    assert "no handler for 'no.such.kind'" in unknown.payload["error"]


def test_a_trace_walks_its_route_and_is_recorded_with_one_stamp_per_hop(tmp_path):
    # Given a forwarder and a trace routed through its mailbox and then NEXT
    post = make_post(tmp_path)
    sink = TraceSink(tmp_path / "trace.jsonl")
    Forwarder.start(context(post, recorder=Recorder(), trace_sink=sink))
    envelope = trace_envelope([WORK, NEXT])
    post.send(WORK, envelope)
    # When it reaches NEXT (no actor there: we look at the mailbox)
    wait_until(lambda: post[NEXT].depth() == 1, message="trace forwarded")
    (arrived,) = drain(post, NEXT)
    # Then it carries the first hop's stamp and keeps its id, and is not finished yet
    assert arrived.id == envelope.id
    assert [hop[0] for hop in arrived.payload["hops"]] == [WORK]
    assert read_traces(sink.path) == []
    # And a trace whose route ends here is recorded in the sink with its one stamp
    ending = trace_envelope([WORK])
    post.send(WORK, ending)
    wait_until(lambda: read_traces(sink.path), message="trace recorded")
    (recorded,) = read_traces(sink.path)
    assert recorded["id"] == ending.id
    assert [hop[0] for hop in recorded["hops"]] == [WORK]


def test_a_batch_actor_gets_messages_in_batches(tmp_path):
    post = make_post(tmp_path)
    for n in range(25):
        post.send(WORK, work(n))
    batches: list[list[int]] = []
    BatchRecorder.start(context(post, batches=batches))
    wait_until(lambda: sum(len(b) for b in batches) == 25, message="25 handled")
    assert max(len(b) for b in batches) == 10
    assert [n for b in batches for n in b] == list(range(25))


def test_an_orderly_stop_finishes_the_message_in_hand_and_leaves_the_rest_in_the_mailbox(
    tmp_path,
):
    # Given an actor busy with its first message while more wait behind it
    post = make_post(tmp_path)
    gate, busy = threading.Event(), threading.Event()
    ref = Gated.start(context(post, recorder=Recorder(), gate=gate, busy=busy))
    post.send(WORK, work(1))
    busy.wait(5)
    for n in range(2, 5):
        post.send(WORK, work(n))
    # When its mailbox is paused and it is asked to stop while the first is still in hand
    post[WORK].pause()
    stopping = threading.Thread(target=lambda: ref.stop(block=True))
    stopping.start()
    gate.set()
    stopping.join(5)
    # Then the message in hand was finished and forwarded, and the rest wait, unhandled
    assert [e.payload["n"] for e in drain(post, NEXT)] == [1]
    assert post[WORK].depth() == 3
    assert not pykka.ActorRegistry.get_all()


def test_one_bad_message_in_a_batch_is_dead_lettered_alone_and_its_batch_mates_go_through(
    tmp_path,
):
    # Given a batch actor and ten messages, one of which its batch handler cannot take
    post = make_post(tmp_path)
    for n in range(10):
        post.send(WORK, work(n, explode=(n == 4)))
    batches: list[list[int]] = []
    ctx = context(post, batches=batches, max_attempts=1)
    # When it handles them (and is restarted after the crash the bad one causes)
    ref = ExplodingBatch.start(ctx)
    wait_until(ref.actor_stopped.is_set, message="crash on the bad message")
    ExplodingBatch.start(ctx)
    # Then every good message was handled and only the bad one is a dead letter
    wait_until(lambda: post[WORK].depth() == 0, message="mailbox drained")
    handled = sorted({n for batch in batches for n in batch})
    assert handled == [0, 1, 2, 3, 5, 6, 7, 8, 9]
    (poison,) = drain(post, DEAD_LETTER)
    assert Envelope.from_json(poison.payload["envelope"]).payload["n"] == 4


def test_messages_handled_before_a_crashing_one_in_the_same_chunk_are_acked_and_not_handled_again(
    tmp_path,
):
    # Given healthy messages, then a poison one, taken by the actor in one chunk
    post = make_post(tmp_path)
    for n in range(3):
        post.send(WORK, work(n))
    post.send(WORK, work(3, explode=True))
    post.send(WORK, work(4))
    recorder = Recorder()
    ctx = context(post, recorder=recorder, max_attempts=1)
    # When it crashes on the poison message and is started again
    ref = Forwarder.start(ctx)
    wait_until(ref.actor_stopped.is_set, message="crash")
    Forwarder.start(ctx)
    wait_until(lambda: post[NEXT].depth() == 4, message="4 forwarded")
    # Then the three handled before the crash were acked with it: each was handled exactly once
    assert sorted(e.payload["n"] for e in recorder.seen) == [0, 1, 2, 3, 4]
    assert sorted(e.payload["n"] for e in drain(post, NEXT)) == [0, 1, 2, 4]


class BufferedForwarder(Forwarder):
    """Forwards with buffered sends; ``explode_after_send`` sends first, then raises."""

    buffered_sends: ClassVar[bool] = True

    def handle(self, envelope: Envelope) -> None:
        if envelope.payload.get("explode_after_send"):
            self.send(NEXT, envelope.derive("partial", {"n": envelope.payload["n"]}, sender=WORK))
            raise RuntimeError("failed after sending")
        super().handle(envelope)


def test_a_buffered_actor_commits_what_handled_messages_sent_and_drops_a_failed_ones_output(
    tmp_path,
):
    # Given a buffered actor and a chunk whose third message sends something and then fails
    post = make_post(tmp_path)
    for n in range(5):
        post.send(WORK, work(n, explode_after_send=(n == 2)))
    ctx = context(post, recorder=Recorder(), max_attempts=1)
    # When it handles the chunk, crashes on that message, and is started again
    ref = BufferedForwarder.start(ctx)
    wait_until(ref.actor_stopped.is_set, message="crash")
    BufferedForwarder.start(ctx)
    wait_until(lambda: post[WORK].depth() == 0, message="mailbox drained")
    # Then every healthy message was forwarded once, and the failed one's partial send never was
    forwarded = drain(post, NEXT)
    assert sorted(e.payload["n"] for e in forwarded) == [0, 1, 3, 4]
    assert "partial" not in {e.kind for e in forwarded}
    (poison,) = drain(post, DEAD_LETTER)
    assert Envelope.from_json(poison.payload["envelope"]).payload["n"] == 2


def test_a_trace_line_torn_by_a_kill_never_swallows_the_next_record(tmp_path):
    # Given a trace file whose last line a killed process left half written
    path = tmp_path / "trace.jsonl"
    path.write_text('{"id": "a", "hops": []}\n{"id": "b", "ho')
    # When a new sink records the next finished trace
    sink = TraceSink(path)
    sink.record(trace_envelope([WORK]))
    sink.close()
    # Then both whole records read back, and the torn one is skipped
    rows = read_traces(path)
    assert len(rows) == 2
    assert rows[0]["id"] == "a"
    assert rows[1]["route"] == [WORK]


class BufferedGated(Gated):
    """Buffers its sends, and shows the test itself while it handles a message."""

    buffered_sends: ClassVar[bool] = True

    def handle(self, envelope: Envelope) -> None:
        self.ctx.service("seen_as").append(self)
        super().handle(envelope)


def test_a_send_from_another_thread_is_committed_at_once_even_while_a_chunk_buffers(tmp_path):
    # Given a buffered actor in the middle of a chunk
    post = make_post(tmp_path)
    gate, busy = threading.Event(), threading.Event()
    seen_as: list = []
    ref = BufferedGated.start(
        context(post, recorder=Recorder(), gate=gate, busy=busy, seen_as=seen_as)
    )
    post.send(WORK, work(1))
    busy.wait(5)
    # When another thread (a timer, say) sends through it
    seen_as[0].send(NEXT, work(99))
    # Then that message is on its mailbox at once, not held for the chunk
    assert [e.payload["n"] for e in drain(post, NEXT)] == [99]
    gate.set()
    wait_until(lambda: post[NEXT].depth() == 1, message="the chunk's own send")
    ref.stop()
