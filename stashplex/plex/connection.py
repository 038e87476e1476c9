"""One plexapi connection, and what its failures mean for a sync.

plexapi auto-reloads a partial object whenever a missing attribute is read, one GET per object:
a silent request storm on a bulk pass. We read only what we fetched, so auto-reload is off.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

os.environ.setdefault("PLEXAPI_PLEXAPI_AUTORELOAD", "false")

from typing import TYPE_CHECKING, Any

import requests

from stashplex.config.settings import Settings
from stashplex.plex.trust import UntrustedServerError, record_identity, verify_destination
from stashplex.runtime.bounded_http import ResponseTooLargeError, bounded_session

if TYPE_CHECKING:
    from plexapi.server import PlexServer

_STATUS = re.compile(r"^\((\d{3})\)")
#: How much of a server's error text is worth keeping in a dead letter.
MAX_ERROR_TEXT = 300


class ErrorClass(StrEnum):
    TRANSIENT = "transient"  # connection refused, timeout, 5xx: Plex will be back
    NOT_FOUND = "not_found"  # 404: the item is gone or not scanned yet
    UNAUTHORIZED = "unauthorized"  # 401: the token is wrong or revoked; retrying cannot help
    PERMANENT = "permanent"  # 400 and other rejections of what we sent
    SHARED_ITEM = "shared_item"  # one Plex item holds another scene's file first


@dataclass(frozen=True)
class PlexFailure:
    error_class: ErrorClass
    message: str

    @property
    def trips_breaker(self) -> bool:
        """Only an unavailable server counts against the breaker; a 404 is a healthy answer."""
        return self.error_class is ErrorClass.TRANSIENT


def classify(exc: BaseException) -> PlexFailure:  # noqa: PLR0911 - one return per class
    from plexapi.exceptions import BadRequest, NotFound, Unauthorized

    text = str(exc).replace("\n", " ")[:MAX_ERROR_TEXT]
    if isinstance(exc, UntrustedServerError):
        return PlexFailure(ErrorClass.UNAUTHORIZED, str(exc))
    if isinstance(exc, ResponseTooLargeError):
        return PlexFailure(ErrorClass.PERMANENT, f"Plex's answer was refused: {exc}")
    if isinstance(exc, Unauthorized):
        return PlexFailure(ErrorClass.UNAUTHORIZED, f"Plex rejected the token (401): {text}")
    if isinstance(exc, NotFound):
        return PlexFailure(ErrorClass.NOT_FOUND, f"Plex answered 404: {text}")
    if isinstance(exc, BadRequest):
        match = _STATUS.match(text)
        status = int(match.group(1)) if match else 400
        if status >= 500 or status == 429:
            return PlexFailure(ErrorClass.TRANSIENT, f"Plex answered {status}: {text}")
        if status in (413, 414):
            # A proxy in front of Plex refused the request's size; not the item's fault.
            return PlexFailure(
                ErrorClass.TRANSIENT,
                f"the request was too large for Plex or a proxy in front of it ({status}); "
                "lower plex_max_request_bytes",
            )
        return PlexFailure(ErrorClass.PERMANENT, f"Plex refused the request ({status}): {text}")
    if isinstance(exc, requests.Timeout):
        return PlexFailure(ErrorClass.TRANSIENT, f"Plex timed out: {type(exc).__name__}")
    if isinstance(exc, requests.ConnectionError | ConnectionError):
        return PlexFailure(ErrorClass.TRANSIENT, "Plex is unreachable (connection failed)")
    if isinstance(exc, requests.RequestException):
        return PlexFailure(ErrorClass.TRANSIENT, f"Plex request failed: {type(exc).__name__}")
    raise exc


def plex_errors() -> tuple[type[BaseException], ...]:
    """What a Plex call raises that :func:`classify` understands, for ``except`` clauses.

    A function, not a constant, so that plexapi (about 4 MB resident) loads with the first Plex
    call or failure, never in a host that has not talked to Plex yet.
    """
    from plexapi.exceptions import BadRequest, NotFound

    return (BadRequest, NotFound, requests.RequestException, ConnectionError, UntrustedServerError)


def __getattr__(name: str) -> Any:
    """``PLEX_ERRORS``, for callers that import it as a name (plexapi loads then)."""
    if name == "PLEX_ERRORS":
        return plex_errors()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def plex_session(settings: Settings) -> requests.Session:
    """A session whose every answer is capped (``max_response_mb``) and deadlined."""
    return bounded_session(
        max_bytes=settings.max_response_mb * 2**20, deadline_s=settings.request_deadline_seconds
    )


def connect(
    settings: Settings,
    session: requests.Session | None = None,
    *,
    identity_record: Path | None = None,
) -> PlexServer:
    """Open the connection (one ``GET /``). Raises what :func:`classify` understands.

    The token goes only where it may (:mod:`stashplex.plex.trust`): ``identity_record`` is
    where the identity of the token's server is kept; without it, only a URL as trusted as the
    token is used.
    """
    from plexapi.server import PlexServer

    if not settings.plex_url:
        raise ValueError("plex_url is not set")
    session = session or plex_session(settings)
    timeout = (settings.plex_connect_timeout_seconds, settings.plex_read_timeout_seconds)
    trusted_url = verify_destination(settings, session, identity_record, timeout[1])
    plex = PlexServer(
        settings.plex_url,
        settings.plex_token.get_secret_value() or None,
        session=session,
        timeout=timeout,
    )
    if trusted_url and identity_record is not None and plex.machineIdentifier:
        record_identity(identity_record, plex.machineIdentifier, settings.plex_url)
    return plex
