"""The breaker's probe: one cheap request at most once a second, and it alone closes the breaker."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable

import requests

from stashplex.plex.guarded import BreakerOpenError, GuardedCalls
from stashplex.sync.breaker import BreakerState, CircuitBreaker
from tests.support.concurrency import PeakMeter


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def open_breaker() -> CircuitBreaker:
    breaker = CircuitBreaker(1, 60)
    breaker.record_failure()
    return breaker


def refusing(calls: list[int]) -> Callable[[], None]:
    """A probe of a Plex that refuses connections, counting each time it is sent."""

    def probe() -> None:
        calls.append(1)
        raise requests.ConnectionError("refused")

    return probe


def test_a_probe_while_plex_is_down_keeps_the_breaker_open_and_is_not_repeated_within_a_second():
    # Given an open breaker and a Plex that refuses connections
    calls = []
    clock = Clock()
    guarded = GuardedCalls(open_breaker(), refusing(calls), clock=clock)
    # When the probe is asked for three times within one second
    results = [guarded.try_probe() for _ in range(3)]
    # Then Plex saw one request, and the breaker stays open
    assert results == [False, False, False] and len(calls) == 1
    assert guarded.breaker.state is BreakerState.OPEN
    # And a second later it is asked again
    clock.now += 1.0
    guarded.try_probe()
    assert len(calls) == 2


def test_a_probe_plex_answers_closes_the_breaker_at_once():
    guarded = GuardedCalls(open_breaker(), lambda: "identity", clock=Clock())

    assert guarded.try_probe() is True
    assert guarded.breaker.state is BreakerState.CLOSED


def test_no_more_calls_reach_plex_at_once_than_it_has_slots_however_many_threads_call():
    # Given two slots and eight threads calling at once
    guarded = GuardedCalls(CircuitBreaker(3, 60), slots=2)
    meter = PeakMeter()

    # When each makes three calls
    threads = [
        threading.Thread(target=lambda: [guarded(meter.hold, 0.02) for _ in range(3)])
        for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    # Then never more than two were in Plex at once, and two were
    assert meter.peak == 2


def test_a_call_made_inside_another_uses_its_callers_slot_and_does_not_deadlock():
    # Given one slot
    guarded = GuardedCalls(CircuitBreaker(3, 60), slots=1)
    # When a call makes a call of its own (connecting first, say), on another thread to watch it
    result = []
    worker = threading.Thread(target=lambda: result.append(guarded(lambda: guarded(lambda: 7))))
    worker.start()
    worker.join(5)
    # Then it completes
    assert not worker.is_alive() and result == [7]


def test_a_call_that_waited_for_a_slot_while_plex_went_down_is_not_sent():
    # Given one slot held by a request still in Plex, and a second call waiting for that slot
    guarded = GuardedCalls(CircuitBreaker(1, 60), slots=1)
    in_plex, release, sent, outcome = threading.Event(), threading.Event(), [], []

    def first():
        in_plex.set()
        release.wait(5)
        raise requests.ConnectionError("Plex went away")

    def call(fn):
        try:
            guarded(fn)
        except BreakerOpenError as exc:
            outcome.append(exc)

    holder = threading.Thread(target=call, args=(first,))
    holder.start()
    assert in_plex.wait(5)
    waiter = threading.Thread(target=call, args=(lambda: sent.append(1),))
    waiter.start()
    time.sleep(0.05)
    # When the request in Plex fails, opening the breaker, and frees the slot
    release.set()
    holder.join(5)
    waiter.join(5)
    # Then the waiting call joins the outage's wait instead of reaching Plex
    assert sent == [] and len(outcome) == 2
    assert guarded.breaker.state is BreakerState.OPEN


def test_a_job_that_finds_the_breaker_open_probes_plex_and_goes_ahead_once_plex_answers():
    # Given an open breaker (its trial a minute away) and a Plex that is back
    probes, sent = [], []
    guarded = GuardedCalls(open_breaker(), lambda: probes.append(1), clock=Clock())
    # When a job calls before any probe timer came round (it was stuck behind other messages)
    result = guarded(lambda: sent.append("edit") or "done")
    # Then Plex was probed once, the breaker closed, and the job's own request went out
    assert result == "done" and sent == ["edit"] and len(probes) == 1
    assert guarded.breaker.state is BreakerState.CLOSED


def test_jobs_that_find_the_breaker_open_probe_at_most_once_a_second_between_them():
    # Given an open breaker and a Plex that is still down
    probes = []
    clock = Clock()
    guarded = GuardedCalls(open_breaker(), refusing(probes), clock=clock)
    sent = []
    # When 500 jobs call within the same second (a flood of released retries)
    waited = 0
    for _ in range(500):
        try:
            guarded(lambda: sent.append(1))
        except BreakerOpenError:
            waited += 1
    # Then Plex saw one probe and none of the jobs' requests; every job waits
    assert len(probes) == 1 and sent == [] and waited == 500
    # And a second later the next job probes once more
    clock.now += 1.0
    with contextlib.suppress(BreakerOpenError):
        guarded(lambda: sent.append(1))
    assert len(probes) == 2 and sent == []


def test_the_failure_that_opens_the_breaker_counts_as_a_probe_so_the_next_waits_a_second():
    # Given a closed breaker that opens at the first failure, and a Plex that is down
    probes = []
    clock = Clock()
    guarded = GuardedCalls(CircuitBreaker(1, 60), lambda: probes.append(1), clock=clock)

    def down():
        raise requests.ConnectionError("refused")

    # When a job's request fails and opens the breaker, and another job follows at once
    with contextlib.suppress(BreakerOpenError):
        guarded(down)
    with contextlib.suppress(BreakerOpenError):
        guarded(lambda: "edit")
    # Then the second job neither probed nor was sent: Plex failed a moment ago
    assert probes == [] and guarded.breaker.state is BreakerState.OPEN
    # And a second later a job probes (Plex is back here) and goes ahead
    clock.now += 1.0
    assert guarded(lambda: "edit") == "edit" and len(probes) == 1


def test_a_call_in_flight_when_plex_went_down_does_not_close_the_breaker_by_answering_late():
    # Given a call Plex is still answering, and five calls that fail meanwhile
    guarded = GuardedCalls(CircuitBreaker(5, 60), refusing([]), clock=Clock())
    sent, release = threading.Event(), threading.Event()

    def answered_late() -> None:
        sent.set()
        release.wait(10)

    slow = threading.Thread(target=guarded, args=(answered_late,))
    slow.start()
    assert sent.wait(5)

    def refused() -> None:
        raise requests.ConnectionError("refused")

    for _ in range(5):
        with contextlib.suppress(Exception):
            guarded(refused)
    assert guarded.breaker.state is BreakerState.OPEN
    # When the slow call's answer comes back after the breaker opened
    release.set()
    slow.join(5)
    # Then the breaker stays open: jobs keep waiting for a probe instead of hitting a dead Plex
    assert guarded.breaker.state is BreakerState.OPEN
