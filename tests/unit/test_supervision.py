import threading

import pykka
import pytest

from stashplex.runtime.supervision import ChildSpec, RestartIntensity, Supervisor
from tests.support.runtime import NEXT, WORK, Forwarder, Recorder, context, make_post, work
from tests.support.waiting import wait_until


def supervised_forwarder(ctx, **kwargs) -> Supervisor:
    return Supervisor(
        [ChildSpec(WORK, lambda: Forwarder.start(ctx))],
        backoff_initial_s=0.01,
        backoff_max_s=0.05,
        **kwargs,
    )


def test_an_actor_that_crashes_in_a_handler_is_restarted_and_carries_on(tmp_path):
    # Given a supervised forwarder and a message that crashes it once
    post = make_post(tmp_path)
    recorder = Recorder()
    supervisor = supervised_forwarder(context(post, recorder=recorder, max_attempts=1))
    supervisor.start()
    first = supervisor.ref(WORK)
    post.send(WORK, work(1, explode=True))
    # When a healthy message follows
    post.send(WORK, work(2))
    # Then a new actor instance handles it
    wait_until(lambda: post[NEXT].depth() == 1, message="healthy message forwarded")
    assert supervisor.restart_counts[WORK] == 1
    assert supervisor.ref(WORK) is not first
    supervisor.stop()


def test_an_actor_that_fails_in_on_start_is_restarted(tmp_path):
    # Given an actor whose first two starts fail (pykka reports no on_failure for these)
    post = make_post(tmp_path)
    recorder = Recorder()
    ctx = context(post, recorder=recorder, fail_first_starts=2)
    supervisor = supervised_forwarder(ctx)
    # When it is supervised
    supervisor.start()
    # Then the third start succeeds and work flows
    post.send(WORK, work(1))
    wait_until(lambda: post[NEXT].depth() == 1, message="message forwarded after restarts")
    assert recorder.starts == 3
    assert supervisor.restart_counts[WORK] == 2
    supervisor.stop()


def test_past_the_restart_intensity_everything_stops_and_the_failure_is_escalated(tmp_path):
    # Given an actor that can never start and an intensity of 2 restarts in 30 s
    post = make_post(tmp_path)
    ctx = context(post, recorder=Recorder(), fail_first_starts=1_000)
    escalated = threading.Event()
    reasons = []
    supervisor = supervised_forwarder(
        ctx,
        intensity=RestartIntensity(max_restarts=2, period_s=30),
        on_escalate=lambda reason: (reasons.append(reason), escalated.set()),
    )
    # When it keeps failing
    supervisor.start()
    # Then the supervisor gives up after 3 deaths and reports why
    assert escalated.wait(5)
    assert supervisor.restart_counts[WORK] == 2
    assert "work stopped 3 times within 30 s (limit 2)" in reasons[0]
    assert not [ref for ref in pykka.ActorRegistry.get_all() if ref.is_alive()]


def test_children_stop_in_reverse_start_order(tmp_path):
    order: list[str] = []

    class Named(pykka.ThreadingActor):
        def __init__(self, name: str) -> None:
            super().__init__()
            self.name = name

        def on_receive(self, message):
            return True

        def on_stop(self) -> None:
            order.append(self.name)

    names = ["first", "second", "third"]
    supervisor = Supervisor([ChildSpec(n, lambda n=n: Named.start(n)) for n in names])
    supervisor.start()
    supervisor.stop()
    assert order == ["third", "second", "first"]


def test_a_bad_restart_intensity_is_refused():
    with pytest.raises(ValueError, match="max_restarts"):
        RestartIntensity(max_restarts=-1, period_s=5)


def test_a_child_stuck_in_a_long_handler_does_not_stop_the_others_from_stopping(tmp_path):
    # Given two children, the later-started one stuck in a handler longer than its stop timeout
    stopped: list[str] = []
    release = threading.Event()

    class Stuck(pykka.ThreadingActor):
        def on_receive(self, message):
            if message == "work":
                release.wait(10)
            return True

    class Quiet(pykka.ThreadingActor):
        def on_receive(self, message):
            return True

        def on_stop(self) -> None:
            stopped.append("quiet")

    supervisor = Supervisor(
        [
            ChildSpec("quiet", Quiet.start),
            ChildSpec("stuck", Stuck.start, shutdown_timeout_s=0.2),
        ]
    )
    supervisor.start()
    supervisor.ref("stuck").tell("work")
    # When the supervisor stops everything
    supervisor.stop()
    # Then it gave up on the stuck child without raising, and still stopped the other one
    assert stopped == ["quiet"]
    release.set()


def test_crashes_on_bad_messages_never_escalate_however_many_there_are(tmp_path):
    # Given an intensity of 1 restart in 30 s, and four messages that each crash their handler
    post = make_post(tmp_path)
    recorder = Recorder()
    ctx = context(post, recorder=recorder, max_attempts=2)
    escalated = threading.Event()
    supervisor = Supervisor(
        [
            ChildSpec(
                WORK, lambda: Forwarder.start(ctx), crash_contained=lambda: ctx.take_contained(WORK)
            )
        ],
        intensity=RestartIntensity(max_restarts=1, period_s=30),
        backoff_initial_s=0.01,
        on_escalate=lambda _reason: escalated.set(),
    )
    supervisor.start()
    for n in range(4):
        post.send(WORK, work(n, explode=True))
    post.send(WORK, work(99))
    # When each crashes the actor until it is dead-lettered (4 x 2 = 8 crashes)
    wait_until(lambda: post["dead_letter"].depth() == 4, timeout=20, message="4 dead letters")
    wait_until(lambda: post[NEXT].depth() == 1, message="the healthy message")
    # Then every crash was charged to its message, none counted toward escalation
    wait_until(lambda: supervisor.restart_counts[WORK] == 8, message="8 restarts")
    assert not escalated.is_set()
    supervisor.stop()


def test_a_crash_no_message_paid_for_still_counts_toward_escalation(tmp_path):
    # Given the same supervision, but an actor that fails on start (no message to charge)
    post = make_post(tmp_path)
    ctx = context(post, recorder=Recorder(), fail_first_starts=1_000)
    escalated = threading.Event()
    supervisor = Supervisor(
        [
            ChildSpec(
                WORK, lambda: Forwarder.start(ctx), crash_contained=lambda: ctx.take_contained(WORK)
            )
        ],
        intensity=RestartIntensity(max_restarts=1, period_s=30),
        backoff_initial_s=0.01,
        on_escalate=lambda _reason: escalated.set(),
    )
    # When it is supervised, Then the failure escalates as before
    supervisor.start()
    assert escalated.wait(10)
