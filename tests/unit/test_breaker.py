import json
import threading

import pytest

from stashplex.sync.breaker import (
    DEFAULT_FAILURE_THRESHOLD,
    DEFAULT_RESET_TIMEOUT_S,
    BreakerState,
    CircuitBreaker,
)


class FakeClock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def _breaker(clock: FakeClock, **kwargs: object) -> CircuitBreaker:
    return CircuitBreaker(clock=clock, **kwargs)  # type: ignore[arg-type]


def _open(breaker: CircuitBreaker) -> None:
    for _ in range(breaker.failure_threshold):
        breaker.record_failure()
    assert breaker.state is BreakerState.OPEN


def test_the_defaults_are_five_failures_and_sixty_seconds() -> None:
    breaker = CircuitBreaker()
    assert (breaker.failure_threshold, breaker.reset_timeout_s) == (5, 60.0)
    assert (DEFAULT_FAILURE_THRESHOLD, DEFAULT_RESET_TIMEOUT_S) == (5, 60.0)


def test_a_new_breaker_is_closed_and_allows_requests(clock: FakeClock) -> None:
    breaker = _breaker(clock)
    assert breaker.state is BreakerState.CLOSED
    assert breaker.allow_request() is True
    assert breaker.next_trial_at() is None


@pytest.mark.parametrize(
    ("failures", "expected"),
    [
        pytest.param(4, BreakerState.CLOSED, id="four consecutive failures keep it closed"),
        pytest.param(5, BreakerState.OPEN, id="five consecutive failures open it"),
        pytest.param(7, BreakerState.OPEN, id="more failures keep it open"),
    ],
)
def test_the_breaker_opens_after_five_consecutive_failures(
    clock: FakeClock, failures: int, expected: BreakerState
) -> None:
    breaker = _breaker(clock)
    for _ in range(failures):
        breaker.record_failure()
    assert breaker.state is expected
    assert breaker.consecutive_failures == failures


def test_a_success_resets_the_failure_count(clock: FakeClock) -> None:
    # Given four failures, a success, then four more failures
    breaker = _breaker(clock)
    for _ in range(4):
        breaker.record_failure()
    breaker.record_success()
    assert breaker.consecutive_failures == 0
    for _ in range(4):
        breaker.record_failure()
    # Then the failures were not consecutive, so the breaker stays closed
    assert breaker.state is BreakerState.CLOSED
    assert breaker.allow_request() is True


@pytest.mark.parametrize(
    "elapsed",
    [
        pytest.param(0.0, id="no request is allowed right after opening"),
        pytest.param(30.0, id="no request is allowed half way through the timeout"),
        pytest.param(59.999, id="no request is allowed just before the timeout"),
    ],
)
def test_no_request_is_allowed_while_open(clock: FakeClock, elapsed: float) -> None:
    breaker = _breaker(clock)
    _open(breaker)
    clock.advance(elapsed)
    assert breaker.allow_request() is False
    assert breaker.state is BreakerState.OPEN


def test_exactly_one_trial_is_admitted_after_the_timeout(clock: FakeClock) -> None:
    # Given an open breaker whose timeout has passed
    breaker = _breaker(clock)
    _open(breaker)
    clock.advance(60.0)
    # When several callers ask
    answers = [breaker.allow_request() for _ in range(5)]
    # Then only the first gets the trial
    assert answers == [True, False, False, False, False]
    assert breaker.state is BreakerState.HALF_OPEN


def test_only_one_of_many_concurrent_callers_gets_the_trial(clock: FakeClock) -> None:
    breaker = _breaker(clock)
    _open(breaker)
    clock.advance(60.0)
    barrier = threading.Barrier(8)
    answers: list[bool] = []
    answers_lock = threading.Lock()

    def ask() -> None:
        barrier.wait()
        answer = breaker.allow_request()
        with answers_lock:
            answers.append(answer)

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(answers) == [False] * 7 + [True]


def test_a_successful_trial_closes_the_breaker(clock: FakeClock) -> None:
    breaker = _breaker(clock)
    _open(breaker)
    clock.advance(60.0)
    assert breaker.allow_request() is True
    breaker.record_success()
    assert breaker.state is BreakerState.CLOSED
    assert breaker.consecutive_failures == 0
    assert breaker.next_trial_at() is None
    assert [breaker.allow_request() for _ in range(3)] == [True, True, True]


def test_a_failed_trial_reopens_for_a_fresh_full_timeout(clock: FakeClock) -> None:
    # Given a trial admitted at t=1060 that fails at t=1065
    breaker = _breaker(clock)
    _open(breaker)
    clock.advance(60.0)
    assert breaker.allow_request() is True
    clock.advance(5.0)
    breaker.record_failure()
    # Then the breaker is open again until t=1125, one full timeout after the failure
    assert breaker.state is BreakerState.OPEN
    assert breaker.next_trial_at() == 1125.0
    clock.advance(59.0)
    assert breaker.allow_request() is False
    clock.advance(1.0)
    assert breaker.allow_request() is True


def test_an_abandoned_trial_is_replaced_after_another_timeout(clock: FakeClock) -> None:
    # Given a trial admitted at t=1060 whose caller never reports back
    breaker = _breaker(clock)
    _open(breaker)
    clock.advance(60.0)
    assert breaker.allow_request() is True
    # When waiting almost another timeout, nobody else gets in
    clock.advance(59.0)
    assert breaker.allow_request() is False
    # Then after a full timeout a new single trial is admitted
    clock.advance(1.0)
    assert [breaker.allow_request() for _ in range(3)] == [True, False, False]
    assert breaker.state is BreakerState.HALF_OPEN


@pytest.mark.parametrize(
    ("steps", "expected"),
    [
        pytest.param([], None, id="a closed breaker has no next trial"),
        pytest.param(["open"], 1060.0, id="an open breaker admits a trial one timeout later"),
        pytest.param(
            ["open", "wait 100"],
            1060.0,
            id="an overdue open breaker still reports when the trial became possible",
        ),
        pytest.param(
            ["open", "wait 60", "allow"],
            1120.0,
            id="a trial in flight is replaced one timeout after it started",
        ),
        pytest.param(
            ["open", "wait 60", "allow", "wait 10", "fail"],
            1130.0,
            id="a failed trial schedules the next one a full timeout later",
        ),
        pytest.param(
            ["open", "wait 60", "allow", "succeed"], None, id="a successful trial clears it"
        ),
    ],
)
def test_next_trial_at_says_when_a_request_will_be_allowed(
    clock: FakeClock, steps: list[str], expected: float | None
) -> None:
    breaker = _breaker(clock)
    for step in steps:
        if step == "open":
            _open(breaker)
        elif step.startswith("wait"):
            clock.advance(float(step.split()[1]))
        elif step == "allow":
            assert breaker.allow_request() is True
        elif step == "fail":
            breaker.record_failure()
        elif step == "succeed":
            breaker.record_success()
    assert breaker.next_trial_at() == expected


def test_a_late_failure_while_open_does_not_extend_the_timeout(clock: FakeClock) -> None:
    breaker = _breaker(clock)
    _open(breaker)
    clock.advance(30.0)
    breaker.record_failure()
    assert breaker.next_trial_at() == 1060.0
    assert breaker.consecutive_failures == 6


def test_a_custom_threshold_and_timeout_are_honoured(clock: FakeClock) -> None:
    breaker = _breaker(clock, failure_threshold=2, reset_timeout_s=5.0)
    breaker.record_failure()
    breaker.record_failure()
    assert breaker.allow_request() is False
    clock.advance(5.0)
    assert breaker.allow_request() is True


def test_every_state_change_is_reported_once_in_order(clock: FakeClock) -> None:
    transitions: list[tuple[BreakerState, BreakerState]] = []
    breaker = _breaker(clock, on_transition=lambda old, new: transitions.append((old, new)))
    _open(breaker)
    clock.advance(60.0)
    breaker.allow_request()
    breaker.record_failure()
    clock.advance(60.0)
    breaker.allow_request()
    breaker.record_success()
    breaker.record_success()
    assert transitions == [
        (BreakerState.CLOSED, BreakerState.OPEN),
        (BreakerState.OPEN, BreakerState.HALF_OPEN),
        (BreakerState.HALF_OPEN, BreakerState.OPEN),
        (BreakerState.OPEN, BreakerState.HALF_OPEN),
        (BreakerState.HALF_OPEN, BreakerState.CLOSED),
    ]


def test_a_callback_may_read_the_breaker_without_deadlocking(clock: FakeClock) -> None:
    seen: list[str] = []
    breaker: CircuitBreaker

    def on_transition(_old: BreakerState, _new: BreakerState) -> None:
        seen.append(breaker.snapshot()["state"])

    breaker = _breaker(clock, on_transition=on_transition)
    _open(breaker)
    assert seen == ["open"]


def test_a_failing_callback_does_not_break_the_caller(clock: FakeClock) -> None:
    def explode(_old: BreakerState, _new: BreakerState) -> None:
        raise RuntimeError("logging is broken")

    breaker = _breaker(clock, on_transition=explode)
    _open(breaker)
    assert breaker.allow_request() is False


def test_the_snapshot_is_json_ready(clock: FakeClock) -> None:
    breaker = _breaker(clock)
    _open(breaker)
    snapshot = json.loads(json.dumps(breaker.snapshot()))
    assert snapshot == {
        "state": "open",
        "consecutive_failures": 5,
        "failure_threshold": 5,
        "reset_timeout_s": 60.0,
        "opened_at": 1000.0,
        "next_trial_at": 1060.0,
    }


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        pytest.param(
            {"failure_threshold": 0}, "failure_threshold must be", id="a zero threshold is rejected"
        ),
        pytest.param(
            {"failure_threshold": 2.5},
            "failure_threshold must be",
            id="a fractional threshold is rejected",
        ),
        pytest.param(
            {"failure_threshold": True},
            "failure_threshold must be",
            id="a boolean threshold is rejected",
        ),
        pytest.param(
            {"reset_timeout_s": 0}, "reset_timeout_s must be", id="a zero timeout is rejected"
        ),
        pytest.param(
            {"reset_timeout_s": -1.0},
            "reset_timeout_s must be",
            id="a negative timeout is rejected",
        ),
        pytest.param(
            {"reset_timeout_s": float("inf")},
            "reset_timeout_s must be",
            id="an infinite timeout is rejected",
        ),
        pytest.param(
            {"reset_timeout_s": 86401},
            "reset_timeout_s must be",
            id="a timeout over a day is rejected",
        ),
    ],
)
def test_invalid_settings_are_rejected_with_the_field_name(
    kwargs: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        CircuitBreaker(**kwargs)  # type: ignore[arg-type]


def test_an_answer_to_a_request_sent_before_the_breaker_opened_does_not_close_it(
    clock: FakeClock,
) -> None:
    # Given a request sent while the breaker was closed, then five failures that open it
    breaker = _breaker(clock)
    sent_in = breaker.generation
    for _ in range(5):
        breaker.record_failure()
    # When that request's answer is recorded late
    breaker.record_success(sent_in)
    # Then the breaker stays open: the answer says nothing about the server now
    assert breaker.state is BreakerState.OPEN
    assert breaker.consecutive_failures == 5
    # And an answer to a request sent after it opened (a probe) closes it
    breaker.record_success(breaker.generation)
    assert breaker.state is BreakerState.CLOSED
