"""Per-request facts resolvers need: where the client reached us, and its hook chain."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from stashplex.sandbox.plugin_runner import SaveResult

HookChain = tuple[tuple[str, str], ...]


@dataclass
class RequestContext:
    """`base_url` comes from the request's Host header, as Stash builds image and stream URLs."""

    base_url: str
    hook_chain: HookChain = ()
    saves: list[SaveResult] = field(default_factory=list)
