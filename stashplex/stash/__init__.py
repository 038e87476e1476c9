"""Talking to Stash: explicit GraphQL queries and a small client (no schema introspection)."""

from stashplex.stash.client import (
    StashAuthError,
    StashClient,
    StashError,
    StashQueryError,
    StashUnavailableError,
)

__all__ = [
    "StashAuthError",
    "StashClient",
    "StashError",
    "StashQueryError",
    "StashUnavailableError",
]
