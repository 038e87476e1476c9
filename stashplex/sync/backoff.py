"""How long to wait before trying a failed Plex call again.

Exponential growth gives a struggling server room to recover; the cap keeps the sync responsive
once it does; jitter stops a backlog of failed scenes from retrying in lock-step and hammering
Plex all at once. The random source is injected so a schedule can be reproduced exactly in tests
and replayed when reading logs.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

#: Each delay is multiplied by a factor drawn from ``1 ± JITTER_FRACTION``.
JITTER_FRACTION = 0.2

_BASE_RANGE_S = (1.0, 3600.0)
_CAP_MAX_S = 86400.0
_MAX_RETRIES_RANGE = (0, 100)
#: 2**64 times any allowed base is far beyond any cap; stops float overflow for absurd retries.
_MAX_EXPONENT = 64


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


@dataclass(frozen=True)
class RetryPolicy:
    """A retry budget for one class of failure.

    Validated on construction so that a typo in configuration fails at start-up with the field
    name, rather than as a zero-delay retry storm at run time.
    """

    base_s: float
    cap_s: float
    max_retries: int

    def __post_init__(self) -> None:
        low, high = _BASE_RANGE_S
        if not _is_number(self.base_s) or not low <= self.base_s <= high:
            msg = f"base_s must be in {low:g}..{high:g} s, got {self.base_s!r}"
            raise ValueError(msg)
        if not _is_number(self.cap_s) or not self.base_s <= self.cap_s <= _CAP_MAX_S:
            msg = f"cap_s must be in base_s..{_CAP_MAX_S:g} s ({self.base_s:g}..{_CAP_MAX_S:g}), "
            msg += f"got {self.cap_s!r}"
            raise ValueError(msg)
        low_r, high_r = _MAX_RETRIES_RANGE
        if (
            isinstance(self.max_retries, bool)
            or not isinstance(self.max_retries, int)
            or not low_r <= self.max_retries <= high_r
        ):
            msg = f"max_retries must be an integer in {low_r}..{high_r}, got {self.max_retries!r}"
            raise ValueError(msg)


#: Connection errors, timeouts and 5xx answers: Plex is restarting or busy, so it usually comes
#: back within a minute or two (5, 10, 20, 40, 80 s; about 2-3 min in all).
TRANSIENT = RetryPolicy(base_s=5, cap_s=80, max_retries=5)

#: The file is not in Plex (yet): Stash often learns of a file before Plex has scanned it, and a
#: library scan can take a long time, so wait patiently (30 s doubling to 10 min; about 1.1-1.5 h).
NOT_FOUND = RetryPolicy(base_s=30, cap_s=600, max_retries=12)


def _undithered_delay(policy: RetryPolicy, retry: int) -> float:
    exponent = min(retry - 1, _MAX_EXPONENT)
    return float(min(policy.base_s * 2.0**exponent, policy.cap_s))


def _clamp(policy: RetryPolicy, delay: float) -> float:
    return float(min(max(delay, policy.base_s / 2), policy.cap_s))


def backoff_delay(policy: RetryPolicy, retry: int, rng: random.Random) -> float:
    """Seconds to wait before the ``retry``-th retry (1-based)."""
    if isinstance(retry, bool) or not isinstance(retry, int) or retry < 1:
        msg = f"retry is 1-based and must be an integer >= 1, got {retry!r}"
        raise ValueError(msg)
    factor = rng.uniform(1 - JITTER_FRACTION, 1 + JITTER_FRACTION)
    return _clamp(policy, _undithered_delay(policy, retry) * factor)


def should_retry(policy: RetryPolicy, retries_done: int) -> bool:
    """Whether the budget still allows another retry after ``retries_done`` retries."""
    if isinstance(retries_done, bool) or not isinstance(retries_done, int) or retries_done < 0:
        msg = f"retries_done must be an integer >= 0, got {retries_done!r}"
        raise ValueError(msg)
    return retries_done < policy.max_retries


def retry_window(policy: RetryPolicy) -> tuple[float, float]:
    """The shortest and longest total wait over all retries, for status pages and docs.

    This is what lets the docs say "a file Plex has not scanned gives up after about X minutes"
    without anyone re-deriving the arithmetic by hand.
    """
    shortest = longest = 0.0
    for retry in range(1, policy.max_retries + 1):
        delay = _undithered_delay(policy, retry)
        shortest += _clamp(policy, delay * (1 - JITTER_FRACTION))
        longest += _clamp(policy, delay * (1 + JITTER_FRACTION))
    return shortest, longest
