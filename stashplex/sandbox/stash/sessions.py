"""Session cookies: the credential Stash hands to plugins, carrying the hook chain.

Stash's plugin cookie records which (plugin, trigger) pairs the current chain of hooks already
visited, so a plugin that edits a scene from its own Scene.Update hook cannot loop forever when
it calls back with that cookie. The emulator encodes the chain in a signed cookie value.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets

from stashplex.sandbox.stash.context import HookChain

COOKIE_NAME = "session"


class SessionCookies:
    def __init__(self) -> None:
        self._secret = secrets.token_bytes(32)

    def _sign(self, payload: bytes) -> str:
        return hmac.new(self._secret, payload, hashlib.sha256).hexdigest()[:32]

    def issue(self, chain: HookChain = ()) -> str:
        payload = json.dumps({"userID": "admin", "visited": [list(pair) for pair in chain]})
        encoded = base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")
        return f"{encoded}.{self._sign(encoded.encode())}"

    def read(self, value: str) -> HookChain | None:
        """The chain of a valid cookie, or None for a forged, stale or garbled one."""
        encoded, _, signature = value.partition(".")
        if not hmac.compare_digest(signature, self._sign(encoded.encode())):
            return None
        try:
            padded = encoded + "=" * (-len(encoded) % 4)
            payload = json.loads(base64.urlsafe_b64decode(padded))
            return tuple((str(plugin), str(trigger)) for plugin, trigger in payload["visited"])
        except (binascii.Error, ValueError, KeyError, TypeError):
            return None
