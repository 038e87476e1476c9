"""Why a job waits or was given up on: the reason classes of retries and dead letters.

A module of its own, without pydantic, so that the CLI can offer them as choices without loading
the message models (each CLI command builds every subcommand's parser).
"""

from typing import Literal

ReasonClass = Literal[
    "transient",
    "not_found",
    "breaker_open",
    "permanent",
    "unauthorized",
    "shared_item",
    "ambiguous",
    "low_confidence",
    "invalid_scene",
    "poison",
    "unknown",
]
