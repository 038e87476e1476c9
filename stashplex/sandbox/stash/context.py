"""Per-request facts resolvers need: where the client reached us, who it is, and its hook chain."""

from __future__ import annotations

from dataclasses import dataclass, field

from stashplex.sandbox.stash.contracts import HookChain, SaveResult

__all__ = ["HookChain", "RequestContext"]


@dataclass
class RequestContext:
    """`base_url` comes from the request's Host header, as Stash builds image and stream URLs.

    `user_id` is who Stash's auth middleware says made the request (internal/api/authentication.go
    puts it in the context): the configured username for an ApiKey, the cookie's user for a
    session, "" when no credentials are configured. Plugin cookies minted for hooks carry it.
    """

    base_url: str
    hook_chain: HookChain = ()
    user_id: str = ""
    saves: list[SaveResult] = field(default_factory=list)
