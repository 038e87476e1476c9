"""The breaker's probe: one cheap request at most once a second, and it alone closes the breaker."""

from __future__ import annotations

import requests

from stashplex.plex.guarded import GuardedCalls
from stashplex.sync.breaker import BreakerState, CircuitBreaker


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def open_breaker() -> CircuitBreaker:
    breaker = CircuitBreaker(1, 60)
    breaker.record_failure()
    return breaker


def test_a_probe_while_plex_is_down_keeps_the_breaker_open_and_is_not_repeated_within_a_second():
    # Given an open breaker and a Plex that refuses connections
    calls = []

    def probe():
        calls.append(1)
        raise requests.ConnectionError("refused")

    clock = Clock()
    guarded = GuardedCalls(open_breaker(), probe, clock=clock)
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
