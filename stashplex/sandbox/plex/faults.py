"""Fault injection, switchable at run time from Python or the admin API.

Each fault is a rule that can be limited to a path prefix, a number of requests (`times`) and a
seeded rate, so a test can say "the next two edits answer 503" and get the same run every time.
"""

from __future__ import annotations

import http
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

DEFAULT_HANG_SECONDS = 60.0
# Order in which terminal faults win when several are active.
_TERMINAL_ORDER = ("revoke_token", "drop", "read_timeout", "status", "flaky")


@dataclass
class FaultRule:
    kind: str
    rate: float = 1.0
    seed: int = 0
    status: int | None = None
    seconds: float = 0.0
    path_prefix: str | None = None
    times: int | None = None
    rng: random.Random = field(default_factory=random.Random)

    def describe(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "rate": self.rate,
            "seed": self.seed,
            "status": self.status,
            "seconds": self.seconds,
            "path_prefix": self.path_prefix,
            "times": self.times,
        }


@dataclass(frozen=True)
class Decision:
    """What to do with one request: wait `delay`, then respond normally or with `outcome`."""

    delay: float = 0.0
    outcome: str | None = None  # "status", "drop", "hang", "unauthorized"
    status: int | None = None
    hang_seconds: float = 0.0
    # The release event current when the rules were consumed: a clear()/down() that happens
    # between deciding and waiting still ends this request's wait.
    release: threading.Event | None = field(default=None, compare=False, repr=False)


class Faults:
    """The faults currently injected. Thread-safe; `clear()` also ends any hanging request.

    Ending waits swaps in a fresh release event instead of leaving one set: a set event would
    make every later `slow`/`read_timeout` wait return at once, so rules that survive a
    down()/up() or stop()/start() cycle would silently stop delaying.
    """

    def __init__(
        self,
        on_down: Callable[[], None] = lambda: None,
        on_up: Callable[[], None] = lambda: None,
    ) -> None:
        self._lock = threading.Lock()
        self._rules: dict[str, FaultRule] = {}
        self._release = threading.Event()
        self._on_down = on_down
        self._on_up = on_up
        self.is_down = False

    # -- switching ----------------------------------------------------------------------------

    def down(self) -> None:
        """Close the listening socket and every open connection: clients get connection refused."""
        self.is_down = True
        self._on_down()
        # After the listener is gone, so no request can start waiting on the event just ended.
        self.release_all()

    def up(self) -> None:
        """Listen again on the same port."""
        self.is_down = False
        self._on_up()

    def status(
        self,
        code: int = 503,
        rate: float = 1.0,
        seed: int = 0,
        times: int | None = None,
        path_prefix: str | None = None,
    ) -> None:
        """Answer with an HTTP error status (500, 503, ...) instead of the real response."""
        if code not in http.HTTPStatus._value2member_map_ or code < 400:
            raise ValueError(f"fault status must be a standard 4xx/5xx code, got {code}")
        self._set(FaultRule("status", rate, seed, code, 0.0, path_prefix, times))

    def slow(
        self, seconds: float, path_prefix: str | None = None, times: int | None = None
    ) -> None:
        """Delay every response by `seconds`, then answer normally."""
        self._check_seconds(seconds)
        self._set(FaultRule("slow", 1.0, 0, None, seconds, path_prefix, times))

    def read_timeout(
        self,
        seconds: float = DEFAULT_HANG_SECONDS,
        path_prefix: str | None = None,
        times: int | None = None,
    ) -> None:
        """Accept the request and never answer (until `seconds`, clear() or stop()), then close."""
        self._check_seconds(seconds)
        self._set(FaultRule("read_timeout", 1.0, 0, None, seconds, path_prefix, times))

    def flaky(self, rate: float, seed: int = 0, status: int = 503) -> None:
        """Answer a seeded-random fraction `rate` of requests with `status` (503 by default)."""
        if status not in http.HTTPStatus._value2member_map_ or status < 400:
            raise ValueError(f"flaky status must be a standard 4xx/5xx code, got {status}")
        self._set(FaultRule("flaky", rate, seed, status))

    def drop_connections(
        self,
        rate: float = 1.0,
        seed: int = 0,
        times: int | None = None,
        path_prefix: str | None = None,
    ) -> None:
        """Close the connection without any response."""
        self._set(FaultRule("drop", rate, seed, None, 0.0, path_prefix, times))

    def revoke_token(self) -> None:
        """Every request is answered 401, as after the token was revoked on plex.tv."""
        self._set(FaultRule("revoke_token"))

    def clear(self) -> None:
        """Remove every fault, release hanging requests and come back up if down."""
        with self._lock:
            self._rules.clear()
        self.release_all()
        if self.is_down:
            self.up()

    # -- applying -----------------------------------------------------------------------------

    def decide(self, path: str) -> Decision:
        """Consume matching rules for one request and say what to do with it."""
        with self._lock:
            if not self._rules:
                return Decision()
            release = self._release
            delay = 0.0
            slow = self._rules.get("slow")
            if slow is not None and self._fires(slow, path):
                delay = slow.seconds
            for kind in _TERMINAL_ORDER:
                rule = self._rules.get(kind)
                if rule is None or not self._fires(rule, path):
                    continue
                if kind == "revoke_token":
                    return Decision(delay, "unauthorized", 401, release=release)
                if kind == "drop":
                    return Decision(delay, "drop", release=release)
                if kind == "read_timeout":
                    return Decision(delay, "hang", hang_seconds=rule.seconds, release=release)
                return Decision(delay, "status", rule.status, release=release)
            return Decision(delay, release=release)

    def _fires(self, rule: FaultRule, path: str) -> bool:
        if rule.path_prefix is not None and not path.startswith(rule.path_prefix):
            return False
        if rule.rate < 1.0 and rule.rng.random() >= rule.rate:
            return False
        if rule.times is not None:
            rule.times -= 1
            if rule.times <= 0:
                del self._rules[rule.kind]
        return True

    def wait(self, seconds: float, release: threading.Event | None = None) -> None:
        """Sleep that clear()/down()/stop() can cut short, so hanging handlers never block them.

        `release` is the event captured by `decide()`; without one, the current event is used.
        """
        if seconds <= 0:
            return
        if release is None:
            with self._lock:
                release = self._release
        release.wait(seconds)

    def release_all(self) -> None:
        """End every wait in progress; waits that start later wait in full again."""
        with self._lock:
            released, self._release = self._release, threading.Event()
        released.set()

    def describe(self) -> dict[str, object]:
        with self._lock:
            return {
                "down": self.is_down,
                "rules": [rule.describe() for rule in self._rules.values()],
            }

    # -- helpers ------------------------------------------------------------------------------

    def _set(self, rule: FaultRule) -> None:
        if not 0.0 <= rule.rate <= 1.0:
            raise ValueError(f"fault rate must be within [0, 1], got {rule.rate}")
        if rule.times is not None and rule.times < 1:
            raise ValueError(f"times must be at least 1, got {rule.times}")
        rule.rng = random.Random(rule.seed)  # noqa: S311 - reproducible faults, not security
        with self._lock:
            self._rules[rule.kind] = rule

    @staticmethod
    def _check_seconds(seconds: float) -> None:
        if seconds < 0:
            raise ValueError(f"seconds must not be negative, got {seconds}")
