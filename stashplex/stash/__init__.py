"""Talking to Stash: explicit GraphQL queries and a small client (no schema introspection)."""

from stashplex.stash.client import (
    StashAnswerRefusedError,
    StashAuthError,
    StashClient,
    StashError,
    StashQueryError,
    StashUnavailableError,
)

__all__ = [
    "StashAnswerRefusedError",
    "StashAuthError",
    "StashClient",
    "StashError",
    "StashQueryError",
    "StashUnavailableError",
]
