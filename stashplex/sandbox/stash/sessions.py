"""Session cookies: the credential Stash hands to plugins and to logged-in browsers.

Real Stash uses a gorilla/sessions `CookieStore` (pkg/session/session.go, `NewStore`): the cookie
value is a signed encoding of the session values (`userID` and, for plugins, the
`visitedPluginsHooks` chain, pkg/session/plugin.go) plus the Unix time it was encoded at. Decoding
rejects a value older than `max_session_age` seconds (config `max_session_age`, default 3600,
internal/manager/config/config.go; gorilla/securecookie rejects when `issued < now - maxAge`), and
a rejected cookie simply means "not logged in". Every request that arrives with a valid cookie gets
a fresh one back in `Set-Cookie` (`GetSessionUserID` calls `session.Save`), so a browser that keeps
using Stash stays logged in while a plugin that holds one cookie for longer than the maximum age
is locked out.

The emulator signs its own encoding (not gorilla's) and reads the time from the emulator's
clock, so `clock.advance(3601)` expires every cookie handed out so far, exactly like an hour of
real time. `expire_all()` does the same without moving the clock.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import threading
from collections.abc import Callable
from email.utils import formatdate
from typing import Any

from stashplex.sandbox.stash.contracts import HookChain, Session

COOKIE_NAME = "session"
#: Stash's default `max_session_age` in seconds (internal/manager/config/config.go).
DEFAULT_MAX_SESSION_AGE = 3600
#: Go's `time.Time{}` marshalled by encoding/json: the cookie Stash hands to plugins has no expiry.
GO_ZERO_TIME = "0001-01-01T00:00:00Z"


class SessionCookies:
    """Issues and checks `session` cookie values against a clock (Unix seconds)."""

    def __init__(self, now: Callable[[], int], max_age: int = DEFAULT_MAX_SESSION_AGE) -> None:
        self._secret = secrets.token_bytes(32)
        self._now = now
        self.max_age = max_age
        self._lock = threading.Lock()
        self._expired_up_to: int | None = None

    def _sign(self, payload: bytes) -> str:
        return hmac.new(self._secret, payload, hashlib.sha256).hexdigest()[:32]

    def issue(self, chain: HookChain = (), user_id: str = "") -> str:
        """A cookie value for `user_id` carrying `chain`, stamped with the current time."""
        payload = json.dumps(
            {
                "userID": user_id,
                "visited": [list(pair) for pair in chain],
                "issued": self._now(),
                "nonce": secrets.token_hex(4),
            }
        )
        encoded = base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")
        return f"{encoded}.{self._sign(encoded.encode())}"

    def read(self, value: str) -> Session | None:
        """The session of a valid cookie, or None for a forged, garbled or expired one."""
        encoded, _, signature = value.partition(".")
        if not hmac.compare_digest(signature, self._sign(encoded.encode())):
            return None
        try:
            padded = encoded + "=" * (-len(encoded) % 4)
            payload = json.loads(base64.urlsafe_b64decode(padded))
            issued = int(payload["issued"])
            chain = tuple((str(plugin), str(trigger)) for plugin, trigger in payload["visited"])
            user_id = str(payload["userID"])
        except (binascii.Error, ValueError, KeyError, TypeError):
            return None
        # gorilla/securecookie: `if s.maxAge != 0 && t1 < t2-s.maxAge` -> "expired timestamp".
        if self.max_age and issued < self._now() - self.max_age:
            return None
        with self._lock:
            if self._expired_up_to is not None and issued <= self._expired_up_to:
                return None
        return Session(user_id, chain)

    def expire_all(self) -> None:
        """Treat every cookie issued up to now as expired (as if max_session_age had passed)."""
        with self._lock:
            self._expired_up_to = self._now()

    def plugin_cookie(self, chain: HookChain, user_id: str) -> dict[str, Any]:
        """The Go `http.Cookie` Stash puts in `server_connection.SessionCookie`, JSON-encoded.

        `MakePluginCookie` (pkg/session/plugin.go) builds it with `sessions.NewSession`, whose
        options are a zero `Options{}` (gorilla/sessions v1.2.1), so Path, MaxAge, SameSite and
        Expires are all zero values: the only expiry is the timestamp inside `Value`. Field order
        is Go 1.24's `net/http.Cookie` (Quoted and Partitioned exist since Go 1.23).
        """
        return {
            "Name": COOKIE_NAME,
            "Value": self.issue(chain, user_id),
            "Quoted": False,
            "Path": "",
            "Domain": "",
            "Expires": GO_ZERO_TIME,
            "RawExpires": "",
            "MaxAge": 0,
            "Secure": False,
            "HttpOnly": False,
            "SameSite": 0,
            "Partitioned": False,
            "Raw": "",
            "Unparsed": None,
        }

    def set_cookie_header(self, session: Session) -> str:
        """The `Set-Cookie` a request with a valid cookie gets back (the store's options).

        `NewStore` sets MaxAge to max_session_age and SameSite Lax on top of gorilla's default
        Path "/"; Go writes `Expires` from MaxAge (gorilla `NewCookie`) in http.TimeFormat.
        """
        value = self.issue(session.chain, session.user_id)
        expires = formatdate(self._now() + self.max_age, usegmt=True)
        return (
            f"{COOKIE_NAME}={value}; Path=/; Expires={expires}; "
            f"Max-Age={self.max_age}; SameSite=Lax"
        )

