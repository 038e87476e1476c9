import random

import pytest

from stashplex.sync.backoff import (
    JITTER_FRACTION,
    NOT_FOUND,
    TRANSIENT,
    RetryPolicy,
    backoff_delay,
    retry_window,
    should_retry,
)


def _schedule(policy: RetryPolicy, seed: int) -> list[float]:
    rng = random.Random(seed)
    return [backoff_delay(policy, retry, rng) for retry in range(1, policy.max_retries + 1)]


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        pytest.param(
            TRANSIENT,
            [5.932907, 9.76293, 16.059932, 46.575615, 80.0],
            id="transient errors follow a doubling schedule from 5 s capped at 80 s",
        ),
        pytest.param(
            NOT_FOUND,
            [
                *(35.597442, 58.577582, 96.359591, 279.453692, 564.339647, 600.0),
                *(600.0, 500.145174, 600.0, 536.834346, 487.395365, 600.0),
            ],
            id="not found follows a doubling schedule from 30 s capped at 10 min",
        ),
    ],
)
def test_a_seeded_rng_gives_the_exact_same_schedule_every_time(
    policy: RetryPolicy, expected: list[float]
) -> None:
    assert _schedule(policy, seed=1234) == pytest.approx(expected, abs=1e-6)
    assert _schedule(policy, seed=1234) == _schedule(policy, seed=1234)


def test_different_seeds_give_different_schedules() -> None:
    assert _schedule(TRANSIENT, seed=1) != _schedule(TRANSIENT, seed=2)


@pytest.mark.parametrize(
    "policy",
    [
        pytest.param(TRANSIENT, id="transient delays stay within 20 percent of nominal"),
        pytest.param(NOT_FOUND, id="not found delays stay within 20 percent of nominal"),
        pytest.param(
            RetryPolicy(base_s=1, cap_s=1, max_retries=3),
            id="a cap equal to the base pins every delay to at most the base",
        ),
    ],
)
def test_jitter_stays_within_bounds_over_many_draws(policy: RetryPolicy) -> None:
    rng = random.Random(99)
    for retry in range(1, policy.max_retries + 1):
        nominal = min(policy.base_s * 2 ** (retry - 1), policy.cap_s)
        low = max(nominal * (1 - JITTER_FRACTION), policy.base_s / 2)
        high = min(nominal * (1 + JITTER_FRACTION), policy.cap_s)
        draws = [backoff_delay(policy, retry, rng) for _ in range(2000)]
        assert all(low <= d <= high for d in draws)
        assert all(policy.base_s / 2 <= d <= policy.cap_s for d in draws)


def test_jitter_actually_spreads_delays_across_the_band() -> None:
    # Given an uncapped retry (20 s nominal)
    rng = random.Random(5)
    # When drawing many delays
    draws = [backoff_delay(TRANSIENT, 3, rng) for _ in range(2000)]
    # Then both ends of the +-20% band are reached
    assert min(draws) < 20 * 0.82
    assert max(draws) > 20 * 1.18


@pytest.mark.parametrize(
    "retry",
    [
        pytest.param(6, id="the first retry past the cap is capped"),
        pytest.param(100, id="the hundredth retry is capped"),
        pytest.param(10_000, id="an absurd retry number is capped without overflowing"),
    ],
)
def test_late_retries_never_wait_longer_than_the_cap(retry: int) -> None:
    rng = random.Random(3)
    draws = [backoff_delay(TRANSIENT, retry, rng) for _ in range(200)]
    assert max(draws) == TRANSIENT.cap_s
    assert min(draws) >= TRANSIENT.cap_s * (1 - JITTER_FRACTION)


@pytest.mark.parametrize(
    "retry",
    [
        pytest.param(0, id="retry zero is rejected because retries are 1-based"),
        pytest.param(-3, id="a negative retry is rejected"),
        pytest.param(1.5, id="a fractional retry is rejected"),
    ],
)
def test_an_invalid_retry_number_is_a_value_error(retry: object) -> None:
    with pytest.raises(ValueError, match="1-based"):
        backoff_delay(TRANSIENT, retry, random.Random(0))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        pytest.param(
            {"base_s": 0.5, "cap_s": 10, "max_retries": 1},
            r"base_s must be in 1\.\.3600 s",
            id="a base under one second is rejected",
        ),
        pytest.param(
            {"base_s": 3601, "cap_s": 4000, "max_retries": 1},
            r"base_s must be in 1\.\.3600 s",
            id="a base over an hour is rejected",
        ),
        pytest.param(
            {"base_s": float("nan"), "cap_s": 10, "max_retries": 1},
            r"base_s must be in",
            id="a NaN base is rejected",
        ),
        pytest.param(
            {"base_s": "5", "cap_s": 10, "max_retries": 1},
            r"base_s must be in",
            id="a base given as text is rejected",
        ),
        pytest.param(
            {"base_s": 10, "cap_s": 5, "max_retries": 1},
            r"cap_s must be in base_s\.\.86400 s \(10\.\.86400\)",
            id="a cap below the base is rejected",
        ),
        pytest.param(
            {"base_s": 10, "cap_s": 86401, "max_retries": 1},
            r"cap_s must be in base_s\.\.86400 s",
            id="a cap over a day is rejected",
        ),
        pytest.param(
            {"base_s": 10, "cap_s": 20, "max_retries": -1},
            r"max_retries must be an integer in 0\.\.100",
            id="negative max retries are rejected",
        ),
        pytest.param(
            {"base_s": 10, "cap_s": 20, "max_retries": 101},
            r"max_retries must be an integer in 0\.\.100",
            id="more than a hundred retries are rejected",
        ),
        pytest.param(
            {"base_s": 10, "cap_s": 20, "max_retries": 2.0},
            r"max_retries must be an integer",
            id="fractional-typed max retries are rejected",
        ),
    ],
)
def test_an_out_of_range_policy_names_the_field_and_the_range(
    kwargs: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        RetryPolicy(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs"),
    [
        pytest.param({"base_s": 1, "cap_s": 1, "max_retries": 0}, id="the smallest policy is ok"),
        pytest.param(
            {"base_s": 3600, "cap_s": 86400, "max_retries": 100}, id="the largest policy is ok"
        ),
    ],
)
def test_policies_at_the_edges_of_the_ranges_are_accepted(kwargs: dict[str, float]) -> None:
    policy = RetryPolicy(**kwargs)  # type: ignore[arg-type]
    assert (policy.base_s, policy.cap_s, policy.max_retries) == (
        kwargs["base_s"],
        kwargs["cap_s"],
        kwargs["max_retries"],
    )


@pytest.mark.parametrize(
    ("policy", "retries_done", "expected"),
    [
        pytest.param(TRANSIENT, 0, True, id="a fresh failure may be retried"),
        pytest.param(TRANSIENT, 4, True, id="the last retry of the budget is still allowed"),
        pytest.param(TRANSIENT, 5, False, id="a spent budget allows no more retries"),
        pytest.param(TRANSIENT, 50, False, id="an overspent budget allows no more retries"),
        pytest.param(
            RetryPolicy(base_s=1, cap_s=1, max_retries=0),
            0,
            False,
            id="a zero-retry policy never retries",
        ),
    ],
)
def test_should_retry_follows_the_budget(
    policy: RetryPolicy, retries_done: int, expected: bool
) -> None:
    assert should_retry(policy, retries_done) is expected


def test_a_negative_retry_count_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="retries_done must be an integer >= 0"):
        should_retry(TRANSIENT, -1)


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        pytest.param(TRANSIENT, (124.0, 170.0), id="transient retries span about 2 to 3 minutes"),
        pytest.param(NOT_FOUND, (4104.0, 5316.0), id="not found gives up after 68 to 89 minutes"),
        pytest.param(RetryPolicy(base_s=1, cap_s=5, max_retries=0), (0.0, 0.0), id="no retries"),
    ],
)
def test_retry_window_is_the_total_wait_over_all_retries(
    policy: RetryPolicy, expected: tuple[float, float]
) -> None:
    assert retry_window(policy) == pytest.approx(expected)


def test_every_sampled_schedule_falls_inside_the_retry_window() -> None:
    low, high = retry_window(NOT_FOUND)
    for seed in range(200):
        assert low <= sum(_schedule(NOT_FOUND, seed)) <= high
