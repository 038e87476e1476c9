"""Which Plex server may receive the token: the one it was meant for, and no other.

Anyone who can reach Stash can save the plugin's settings (``configurePlugin``). If those could
move ``plex_url`` while the token comes from ``config.toml`` or the environment, a Stash user
could have the supervisor hand the owner's Plex token to any server. So the token goes to a URL
only when that URL comes from the same or a more trusted source than the token
(:meth:`~stashplex.config.settings.Settings.secret_may_reach`), or when the server there proves
to be the one the token was last used with: its ``machineIdentifier`` (``GET /identity``, which
Plex answers without a token) equals the one recorded at the last connection made from a trusted
URL. Anything else is refused with one line that names the command to accept the new server.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from xml.etree import ElementTree

import requests

from stashplex.config.settings import Settings
from stashplex.runtime.datadir import DataDir, write_private

#: The record of the Plex server the configured token belongs to, in the state directory.
IDENTITY_FILE = "plex_identity.json"
#: What an operator runs to accept the server ``plex_url`` points at now.
TRUST_COMMAND = "stashplex trust-plex"


class UntrustedServerError(Exception):
    """The token would go to a server nobody on this machine chose; nothing was sent."""


def identity_file(data: DataDir) -> Path:
    return data.state / IDENTITY_FILE


def server_identity(url: str, session: requests.Session, timeout: float) -> str:
    """The ``machineIdentifier`` the server at ``url`` reports, asked without any token."""
    try:
        response = session.get(
            f"{url}/identity", headers={"Accept": "application/xml"}, timeout=timeout
        )
    except requests.RequestException as exc:
        raise UntrustedServerError(
            f"cannot ask the Plex server at {url} who it is ({type(exc).__name__}); "
            "its token was not sent"
        ) from None
    try:
        if response.status_code != 200:
            raise ValueError(f"HTTP {response.status_code}")
        # The same parser plexapi reads every Plex answer with; the body is size-capped, and
        # expat >= 2.4.1 refuses entity amplification.
        root = ElementTree.fromstring(response.content)  # noqa: S314
        identifier = root.attrib.get("machineIdentifier")
        if not identifier:
            raise ValueError("no machineIdentifier")
    except (ValueError, ElementTree.ParseError) as exc:
        raise UntrustedServerError(
            f"the server at {url} does not say which Plex server it is ({exc}); "
            "its token was not sent"
        ) from None
    return identifier


def recorded_identity(path: Path) -> str | None:
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return None
    with os.fdopen(fd, encoding="utf-8") as handle:
        try:
            value = json.load(handle)
        except ValueError:
            return None
    found = value.get("machine_identifier") if isinstance(value, dict) else None
    return found if isinstance(found, str) and found else None


def record_identity(path: Path, machine_identifier: str, url: str) -> None:
    """Remember the server the token belongs to (only ever from a trusted URL or an operator)."""
    record = {"machine_identifier": machine_identifier, "url": url}
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)  # a doctor run before any start
    write_private(path, json.dumps(record).encode("utf-8"))


def verify_destination(
    settings: Settings, session: requests.Session, record: Path | None, timeout: float
) -> bool:
    """True if the token may go to ``plex_url`` on the strength of the URL's source; else
    prove the server there is the recorded one, or raise :class:`UntrustedServerError`."""
    if settings.secret_may_reach("plex_token", "plex_url"):
        return True
    url = settings.plex_url
    expected = recorded_identity(record) if record is not None else None
    found = server_identity(url, session, timeout)
    if expected is not None and found == expected:
        return False
    why = (
        "no Plex server has been recorded for the token yet"
        if expected is None
        else f"it reports machineIdentifier {found}, not the recorded {expected}"
    )
    raise UntrustedServerError(
        f"refused to send the Plex token (from {settings.source_of('plex_token')}) to {url} "
        f"(plex_url from {settings.source_of('plex_url')}): {why}; if that server is yours, "
        f"run `{TRUST_COMMAND}`"
    )
