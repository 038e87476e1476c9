"""A small, explicit Stash GraphQL client.

Credentials: an API key (``ApiKey`` header) when configured, else the session cookie of the most
recent hook (Stash hands one to every plugin run; it lives about an hour and is refreshed by
each hook), else none (a Stash without a password). Neither is ever logged, and neither goes
anywhere but the configured Stash's own origin: a cover URL elsewhere is fetched without them.

Every answer is bounded (:mod:`stashplex.runtime.bounded_http`): GraphQL answers by
``max_bytes``, covers by ``max_cover_bytes``, both by a total deadline.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterator, Sequence
from typing import Any

import requests

from stashplex.link.events import valid_cookie
from stashplex.runtime.bounded_http import (
    DeadlineExceededError,
    ResponseTooLargeError,
    bounded_session,
    same_origin,
)
from stashplex.stash import queries

log = logging.getLogger(__name__)

#: Scenes per page for bulk reads; one request per page keeps Stash requests per scene tiny.
PAGE_SIZE = 500
#: ids per ``findScenes(ids:)`` request when many scenes are pending.
IDS_PER_REQUEST = 500
#: Scene ids per page when listing the scenes linked to a performer, studio, tag or group;
#: an id-only page is tiny, so a popular tag costs few requests.
LINKED_IDS_PAGE_SIZE = 1000
#: The ``SceneFilterType`` criterion that finds the scenes linked to each kind of object, and
#: whether it is hierarchical (takes a ``depth``). Depth 0 means direct links only: a scene shows
#: its own tags, studio and groups in Plex, never their parents', so a child tag's scenes are
#: not touched by the parent's rename.
LINK_CRITERIA: dict[str, tuple[str, bool]] = {
    "performer": ("performers", False),
    "studio": ("studios", True),
    "tag": ("tags", True),
    "group": ("groups", True),
}


class StashError(RuntimeError):
    """Stash could not answer; subclasses say whether retrying can help."""


class StashUnavailableError(StashError):
    """Down, slow or 5xx: worth retrying later."""


class StashAuthError(StashError):
    """401: the API key (or session) is wrong; retrying will not help."""


class StashQueryError(StashError):
    """Stash rejected the query or its resolver failed."""


class StashAnswerRefusedError(StashError):
    """An answer over its size cap or past its deadline: this request fails, nothing else."""


#: What an answer may cost by default (the settings ``max_response_mb``, ``max_cover_mb`` and
#: ``request_deadline_seconds`` override them in the supervisor).
DEFAULT_MAX_BYTES = 64 * 2**20
DEFAULT_MAX_COVER_BYTES = 20 * 2**20
DEFAULT_DEADLINE_S = 120.0


class StashClient:
    def __init__(
        self,
        url: str,
        *,
        api_key: str = "",
        timeout: float = 30.0,
        session: requests.Session | None = None,
        max_bytes: int = DEFAULT_MAX_BYTES,
        max_cover_bytes: int = DEFAULT_MAX_COVER_BYTES,
        deadline_s: float = DEFAULT_DEADLINE_S,
        follow_plugin_connection: bool = False,
    ) -> None:
        self.url = url.rstrip("/")
        #: No ``stash_url`` was configured: the address Stash hands each plugin run is used.
        self.follow_plugin_connection = follow_plugin_connection
        self._api_key = api_key
        self._timeout = timeout
        self._session = session or bounded_session(max_bytes=max_bytes, deadline_s=deadline_s)
        self._images = session or bounded_session(max_bytes=max_cover_bytes, deadline_s=deadline_s)
        self._cookie: str | None = None
        self._lock = threading.Lock()
        self.requests_sent = 0

    @property
    def graphql_url(self) -> str:
        return f"{self.url}/graphql"

    def use_connection(self, connection: dict[str, Any]) -> None:
        """What a hook or task run was handed as ``server_connection``: Stash's own address and
        a fresh session cookie.

        The address replaces the default ``http://127.0.0.1:9999`` only when the user set no
        ``stash_url``: a Stash on another port or on TLS then works without configuration.
        Stash reports its listen address; the hook turns a wildcard into loopback.
        """
        scheme, host, port = (connection.get(k) for k in ("scheme", "host", "port"))
        if (
            self.follow_plugin_connection
            and scheme in ("http", "https")
            and isinstance(host, str)
            and host
            and type(port) is int
        ):
            shown = f"[{host}]" if ":" in host else host
            with self._lock:
                if self.url != (url := f"{scheme}://{shown}:{port}"):
                    log.info("Stash is at %s (from the plugin's server_connection)", url)
                    self.url = url
        self.use_session_cookie(connection.get("session_cookie"))

    def use_session_cookie(self, value: str | None) -> None:
        """Remember the freshest plugin session cookie (used only without an API key).

        A value that cannot be a cookie is ignored: kept, it would fail every later request.
        """
        if value and valid_cookie(value):
            with self._lock:
                self._cookie = value

    def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self._api_key:
            headers["ApiKey"] = self._api_key
        elif self._cookie:
            headers["Cookie"] = f"session={self._cookie}"
        return headers

    def execute(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        self.requests_sent += 1
        try:
            response = self._session.post(
                self.graphql_url,
                json={"query": query, "variables": variables or {}},
                headers=self._headers(),
                timeout=self._timeout,
            )
        except (ResponseTooLargeError, DeadlineExceededError) as exc:
            raise StashAnswerRefusedError(f"Stash's answer was refused: {exc}") from None
        except requests.RequestException as exc:
            raise StashUnavailableError(
                f"Stash at {self.url} is unreachable: {type(exc).__name__}"
            ) from None
        if response.status_code == 401:
            raise StashAuthError(f"Stash at {self.url} answered 401: check stash_api_key")
        if response.status_code >= 500:
            raise StashUnavailableError(f"Stash answered HTTP {response.status_code}")
        try:
            body = response.json()
        except ValueError:
            raise StashQueryError(
                f"Stash answered HTTP {response.status_code} with a non-JSON body"
            ) from None
        if body.get("errors"):
            messages = "; ".join(str(e.get("message", e)) for e in body["errors"])
            raise StashQueryError(f"Stash GraphQL error: {messages}")
        if response.status_code != 200:
            raise StashQueryError(f"Stash answered HTTP {response.status_code}")
        return body.get("data") or {}

    # -- the reads a sync needs -------------------------------------------------------------

    def scenes_by_ids(self, ids: Sequence[str]) -> list[dict[str, Any]]:
        """The scenes that exist among ``ids``; the ones Stash no longer has are left out.

        Stash fails the whole ``findScenes(ids:)`` request when one id is missing
        (``scene with id N not found``, pkg/sqlite/scene.go), so a deleted scene would block its
        whole batch for ever: such an id is dropped and the rest asked for again.
        """
        scenes: list[dict[str, Any]] = []
        for start in range(0, len(ids), IDS_PER_REQUEST):
            chunk = [i for i in ids[start : start + IDS_PER_REQUEST] if _is_stash_id(i)]
            while chunk:
                try:
                    data = self.execute(queries.FIND_SCENES_BY_IDS, {"ids": chunk})
                except StashQueryError as exc:
                    gone = _missing_scene_id(str(exc))
                    if gone is None or gone not in chunk:
                        raise
                    log.info("scene %s no longer exists in Stash", gone)
                    chunk.remove(gone)
                    continue
                scenes.extend(data["findScenes"]["scenes"])
                break
        return scenes

    def scene_pages(
        self,
        *,
        updated_after: str | None = None,
        page_size: int = PAGE_SIZE,
    ) -> Iterator[tuple[int, list[dict[str, Any]]]]:
        """Yield (total count, scenes) page by page in id order."""
        scene_filter: dict[str, Any] = {}
        if updated_after:
            scene_filter["updated_at"] = {"value": updated_after, "modifier": "GREATER_THAN"}
        return self._keyset_pages(queries.FIND_SCENES_PAGE, scene_filter, page_size)

    def scene_stamp_pages(
        self, *, updated_after: str, page_size: int = LINKED_IDS_PAGE_SIZE
    ) -> Iterator[tuple[int, list[dict[str, Any]]]]:
        """Yield (total count, ``{id, updated_at}`` rows) of the scenes whose stamp sorts above
        ``updated_after`` in Stash's text comparison, in id order."""
        scene_filter = {"updated_at": {"value": updated_after, "modifier": "GREATER_THAN"}}
        return self._keyset_pages(queries.SCENE_STAMPS_PAGE, scene_filter, page_size)

    def linked_scene_ids(
        self, kind: str, object_id: str, *, page_size: int = LINKED_IDS_PAGE_SIZE
    ) -> list[str]:
        """Every scene linked directly to this performer, studio, tag or group, in id order."""
        if kind not in LINK_CRITERIA:
            known = ", ".join(LINK_CRITERIA)
            raise ValueError(f"no scene criterion for {kind!r}; known: {known}")
        key, hierarchical = LINK_CRITERIA[kind]
        criterion: dict[str, Any] = {"value": [object_id], "modifier": "INCLUDES"}
        if hierarchical:
            criterion["depth"] = 0
        pages = self._keyset_pages(queries.LINKED_SCENE_IDS, {key: criterion}, page_size)
        return [str(scene["id"]) for _, scenes in pages for scene in scenes]

    def _keyset_pages(
        self, query: str, scene_filter: dict[str, Any], page_size: int
    ) -> Iterator[tuple[int, list[dict[str, Any]]]]:
        """Yield (total count, scenes) in id order, each page keyed on the last id seen.

        Pages are ``id > last``, not numbered: a scene edited, added or deleted during a long
        walk would shift numbered pages by one and a scene would be skipped, never to be seen
        again by a cursor that has moved on.
        """
        last_id: int | None = None
        total: int | None = None
        while True:
            page_filter = dict(scene_filter)
            if last_id is not None:
                page_filter["id"] = {"value": last_id, "modifier": "GREATER_THAN"}
            data = self.execute(
                query,
                {
                    "filter": {"page": 1, "per_page": page_size, "sort": "id", "direction": "ASC"},
                    "scene_filter": page_filter,
                },
            )
            result = data["findScenes"]
            scenes = result["scenes"]
            if total is None:
                total = int(result["count"])  # the first page counts the whole walk
            yield total, scenes
            if len(scenes) < page_size:
                return
            last_id = int(scenes[-1]["id"])

    def coverless_scene_ids(self, ids: Sequence[str]) -> set[str]:
        """Which of these scenes have no cover of their own (Stash would serve a default image).

        Asked by id range (see ``queries.COVERLESS_SCENES``), one range per chunk of ids.
        """
        wanted = sorted({int(i) for i in ids if _is_stash_id(i)})
        coverless: set[str] = set()
        for start in range(0, len(wanted), IDS_PER_REQUEST):
            chunk = wanted[start : start + IDS_PER_REQUEST]
            data = self.execute(queries.COVERLESS_SCENES, {"low": chunk[0], "high": chunk[-1]})
            found = {int(s["id"]) for s in data["findScenes"]["scenes"]}
            coverless |= {str(i) for i in found.intersection(chunk)}
        return coverless

    def newest_stamps(self) -> list[dict[str, Any]]:
        """``{id, updated_at}`` of the scenes with the highest stamps, as Stash sorts them (text).

        Across a DST fall-back Stash's text order is not time order, so the caller picks the
        newest by instant (``stashplex.sync.stamps.newest``) from the whole page.
        """
        data = self.execute(queries.LATEST_UPDATED_AT)
        return list(data["findScenes"]["scenes"])

    def plugin_settings(self, plugin_id: str) -> dict[str, Any]:
        data = self.execute(queries.PLUGIN_SETTINGS, {"include": [plugin_id]})
        plugins = data.get("configuration", {}).get("plugins") or {}
        return dict(plugins.get(plugin_id) or {})

    def version(self) -> str | None:
        return self.execute(queries.VERSION)["version"]["version"]

    def fetch_image(self, url: str) -> bytes:
        """Download a cover from Stash (same auth as GraphQL).

        Only an image is a cover. Without a valid session Stash redirects image routes to
        ``/login``, which answers 200 with an HTML page (internal/api/authentication.go); a
        plugin's session cookie expires after an hour. Following that redirect would upload a
        login page as the poster, so a redirect or a non-image answer is an error, never bytes.
        """
        self.requests_sent += 1
        headers = self._headers() if same_origin(url, self.url) else {}
        try:
            response = self._images.get(
                url, headers=headers, timeout=self._timeout, allow_redirects=False
            )
        except (ResponseTooLargeError, DeadlineExceededError) as exc:
            raise StashAnswerRefusedError(f"the cover was refused: {exc}") from None
        except requests.RequestException as exc:
            raise StashUnavailableError(
                f"Stash image download failed: {type(exc).__name__}"
            ) from None
        if response.status_code == 401 or response.is_redirect:
            raise StashAuthError(
                "Stash wants a login for the cover (the plugin session expired); set "
                "stash_api_key, or the next hook's fresh session is used"
            )
        if response.status_code != 200:
            raise StashUnavailableError(f"Stash image answered HTTP {response.status_code}")
        kind = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if (kind and not kind.startswith("image/")) or kind == "image/svg+xml":
            # svg is Stash's built-in placeholder for a scene without a cover of its own.
            raise StashQueryError(f"Stash answered {kind} for a cover")
        return response.content


_MISSING_SCENE = re.compile(r"scene with id (\d+) not found")
#: GraphQL's Int is 32-bit: Stash ids never exceed it.
MAX_STASH_ID = 2**31 - 1


def _missing_scene_id(message: str) -> str | None:
    found = _MISSING_SCENE.search(message)
    return found.group(1) if found else None


def _is_stash_id(value: str) -> bool:
    return value.isascii() and value.isdigit() and 0 < int(value) <= MAX_STASH_ID
