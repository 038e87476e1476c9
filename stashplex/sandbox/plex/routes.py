"""The Plex endpoints: token check, routing and the handlers plexapi's calls reach.

Handlers raise `PlexError` for refusals; the router turns them into the status PMS would send.
"""

from __future__ import annotations

import hmac
import logging
import re
from collections.abc import Callable

from stashplex.sandbox.plex import images, render, render_server
from stashplex.sandbox.plex.edits import apply_edit, parse_edit, refresh_from_agent
from stashplex.sandbox.plex.library import Library
from stashplex.sandbox.plex.listing import kind_of, listing, parse_int
from stashplex.sandbox.plex.model import PlexError
from stashplex.sandbox.plex.scans import Scanner
from stashplex.sandbox.plex.wire import Request, Response, empty, error, unauthorized, xml

log = logging.getLogger(__name__)
Handler = Callable[[Request, re.Match[str]], Response]
# Served for an item thumb/art that nobody uploaded: a 1x1 transparent PNG.
_PLACEHOLDER_PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d4944415478da636000010000050001e2259d2a0000000049454e44ae426082"
)


class PlexApp:
    """Answers authorised Plex requests from the library state."""

    def __init__(
        self,
        library: Library,
        scanner: Scanner,
        token: Callable[[], str],
        friendly_name: str,
    ) -> None:
        self.lib = library
        self.scanner = scanner
        self._token = token
        self.friendly_name = friendly_name
        sec, item = r"(?P<section>\d+)", r"(?P<item>\d+)"
        table: list[tuple[str, str, Handler]] = [
            ("GET", r"/", self._root),
            ("GET", r"/identity", self._identity),
            ("GET", r"/library", self._library),
            ("GET", r"/library/sections/?", self._sections),
            ("GET", rf"/library/sections/{sec}/all", self._listing),
            ("PUT", rf"/library/sections/{sec}/all", self._section_edit),
            ("GET", rf"/library/sections/{sec}/collections", self._collections),
            ("GET", r"/library/sections/all/refresh", self._scan_all),
            ("GET", rf"/library/sections/{sec}/refresh", self._scan),
            ("POST", rf"/library/sections/{sec}/refresh", self._scan),
            ("DELETE", rf"/library/sections/{sec}/refresh", self._cancel_scan),
            ("GET", rf"/library/sections/{sec}/timeline", self._timeline),
            ("GET", r"/library/metadata/(?P<ids>\d+(?:,\d+)*)", self._detail),
            ("PUT", rf"/library/metadata/{item}", self._item_edit),
            ("GET", rf"/library/metadata/{item}/(?P<view>children|allLeaves)", self._children),
            ("PUT", rf"/library/metadata/{item}/refresh", self._refresh_item),
            ("PUT", rf"/library/metadata/{item}/analyze", self._analyze),
            ("GET", rf"/library/metadata/{item}/(?P<kind>posters|arts)", self._images),
            ("POST", rf"/library/metadata/{item}/(?P<kind>posters|arts)", self._upload),
            ("PUT", rf"/library/metadata/{item}/(?P<kind>poster|art)", self._choose),
            ("GET", rf"/library/metadata/{item}/(?P<kind>thumb|art)/\d+", self._image_bytes),
            ("GET", r"/activities", self._activities),
        ]
        self._routes = [(method, re.compile(pattern + "$"), fn) for method, pattern, fn in table]

    # -- dispatch -----------------------------------------------------------------------------

    def authorized(self, request: Request) -> bool:
        given = request.headers.get("x-plex-token") or request.query.get("X-Plex-Token") or ""
        return hmac.compare_digest(given.encode(), self._token().encode())

    def handle(self, request: Request) -> Response:
        if request.path != "/identity" and not self.authorized(request):
            return unauthorized()
        path_matched = False
        for method, pattern, handler in self._routes:
            match = pattern.match(request.path)
            if match is None:
                continue
            path_matched = True
            if method != request.method:
                continue
            try:
                return handler(request, match)
            except PlexError as refusal:
                return error(refusal.status, refusal.message)
        if path_matched:
            return error(405, f"{request.method} is not supported on {request.path}")
        return error(404, f"no such endpoint {request.path}")

    # -- server and sections ------------------------------------------------------------------

    def _root(self, _: Request, __: re.Match[str]) -> Response:
        return xml(render_server.root(self.lib, self.friendly_name))

    def _identity(self, _: Request, __: re.Match[str]) -> Response:
        return xml(render_server.identity(self.lib))

    def _library(self, _: Request, __: re.Match[str]) -> Response:
        return xml(render_server.library_root())

    def _sections(self, _: Request, __: re.Match[str]) -> Response:
        with self.lib.lock:
            return xml(render_server.sections(self.lib))

    def _collections(self, request: Request, match: re.Match[str]) -> Response:
        with self.lib.lock:
            section = self.lib.section(int(match["section"]))
            attributes = render_server.section_container_attributes(section, "collection")
        return xml(render.container(size=0, totalSize=0, offset=0, **attributes))

    def _listing(self, request: Request, match: re.Match[str]) -> Response:
        return xml(listing(self.lib, request, int(match["section"])))

    # -- items --------------------------------------------------------------------------------

    def _detail(self, _: Request, match: re.Match[str]) -> Response:
        keys = [int(key) for key in match["ids"].split(",")]
        with self.lib.lock:
            found = [self.lib.items[key] for key in keys if key in self.lib.items]
            if not found:
                raise PlexError(404, f"no item among {match['ids']}")
            body = "".join(render.detail_row(self.lib, item) for item in found)
            attributes: dict[str, object] = {"identifier": "com.plexapp.plugins.library"}
            section_keys = {item.section_key for item in found}
            if len(section_keys) == 1:
                section = self.lib.sections[section_keys.pop()]
                attributes.update(
                    librarySectionID=section.key,
                    librarySectionTitle=section.title,
                    librarySectionUUID=section.uuid,
                )
        return xml(render.container(body, size=len(found), allowSync=1, **attributes))

    def _children(self, _: Request, match: re.Match[str]) -> Response:
        with self.lib.lock:
            parent = self.lib.item(int(match["item"]))
            if match["view"] == "allLeaves":
                children = self.lib.leaves(parent)
            else:
                children = [self.lib.items[k] for k in self.lib.children.get(parent.rating_key, [])]
            children.sort(key=lambda child: (child.index or 0, child.rating_key))
            rows = "".join(render.listing_row(self.lib, child, False) for child in children)
            return xml(render.container(rows, size=len(children), totalSize=len(children)))

    def _section_edit(self, request: Request, match: re.Match[str]) -> Response:
        plan = parse_edit(request.pairs)
        if plan.is_empty():
            raise PlexError(400, "the edit changes nothing")
        with self.lib.lock:
            section = self.lib.section(int(match["section"]))
            kind = None
            if request.param("type"):
                kind = kind_of(section.type, request.param("type"))
                if kind is None:
                    raise PlexError(400, f"type {request.param('type')} is not in this section")
            ids = request.param("id")
            if ids:
                items = [self.lib.item(self._item_key(part)) for part in ids.split(",")]
                for item in items:
                    if item.section_key != section.key:
                        message = f"item {item.rating_key} is not in section {section.key}"
                        raise PlexError(400, message)
                    if kind is not None and item.type != kind:
                        message = f"item {item.rating_key} is a {item.type}, not a {kind}"
                        raise PlexError(400, message)
            elif kind is not None:
                ordered = self.lib.ordered(section.key, kind, "titleSort", False)
                items = [self.lib.items[key] for key in ordered]
            else:
                raise PlexError(400, "an edit needs id= or type=")
            apply_edit(plan, items, self.lib.now(), self.lib.tags)
            self.lib.changed()
        return empty()

    @staticmethod
    def _item_key(text: str) -> int:
        key = parse_int(text.strip(), "id")
        if key is None:
            raise PlexError(400, "empty id in id list")
        return key

    def _item_edit(self, request: Request, match: re.Match[str]) -> Response:
        plan = parse_edit(request.pairs)
        if plan.is_empty():
            raise PlexError(400, "the edit changes nothing")
        with self.lib.lock:
            apply_edit(plan, [self.lib.item(int(match["item"]))], self.lib.now(), self.lib.tags)
            self.lib.changed()
        return empty()

    def _refresh_item(self, _: Request, match: re.Match[str]) -> Response:
        with self.lib.lock:
            item = self.lib.item(int(match["item"]))
            now = self.lib.now()
            targets = {item.rating_key: item}
            for child_key in self.lib.children.get(item.rating_key, []):
                targets[child_key] = self.lib.items[child_key]
            for leaf in self.lib.leaves(item):
                targets[leaf.rating_key] = leaf
            for target in targets.values():
                refresh_from_agent(target, now, self.lib.realism)
            self.lib.changed()
        return empty()

    def _analyze(self, _: Request, match: re.Match[str]) -> Response:
        with self.lib.lock:
            self.lib.item(int(match["item"]))
        return empty()

    # -- images -------------------------------------------------------------------------------

    def _images(self, _: Request, match: re.Match[str]) -> Response:
        with self.lib.lock:
            item = self.lib.item(int(match["item"]))
            kind = match["kind"]
            listed = item.posters if kind == "posters" else item.arts
            return xml(render.photos(item.rating_key, listed, images.selected(item, kind)))

    def _upload(self, request: Request, match: re.Match[str]) -> Response:
        with self.lib.lock:
            item = self.lib.item(int(match["item"]))
            reselect = self.lib.realism.reupload_reselects
            images.upload(
                item,
                match["kind"],
                request.param("url"),
                request.body,
                self.lib.now(),
                reselect=reselect,
            )
            self.lib.changed()
        return empty()

    def _choose(self, request: Request, match: re.Match[str]) -> Response:
        kind = "posters" if match["kind"] == "poster" else "arts"
        with self.lib.lock:
            item = self.lib.item(int(match["item"]))
            images.choose(item, kind, request.param("url"), self.lib.now())
            self.lib.changed()
        return empty()

    def _image_bytes(self, _: Request, match: re.Match[str]) -> Response:
        kind = "posters" if match["kind"] == "thumb" else "arts"
        with self.lib.lock:
            data = images.selected_bytes(self.lib.item(int(match["item"])), kind)
        body = data or _PLACEHOLDER_PNG
        content_type = "image/jpeg" if body.startswith(b"\xff\xd8") else "image/png"
        return Response(200, body, content_type)

    # -- scans --------------------------------------------------------------------------------

    def _scan(self, request: Request, match: re.Match[str]) -> Response:
        path = request.param("path")
        self.scanner.start(int(match["section"]), path or None, request.param("force") == "1")
        return empty()

    def _scan_all(self, request: Request, _: re.Match[str]) -> Response:
        self.scanner.start(None, None, request.param("force") == "1")
        return empty()

    def _cancel_scan(self, _: Request, match: re.Match[str]) -> Response:
        self.scanner.cancel(int(match["section"]))
        return empty()

    def _timeline(self, _: Request, match: re.Match[str]) -> Response:
        with self.lib.lock:
            return xml(render_server.timeline(self.lib, self.lib.section(int(match["section"]))))

    def _activities(self, _: Request, __: re.Match[str]) -> Response:
        with self.lib.lock:
            return xml(render_server.activities(self.lib))
