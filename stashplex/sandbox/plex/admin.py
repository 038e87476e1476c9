"""The loopback admin API (`/__emulator/...`): faults, request log and disk from other processes.

It needs no Plex token, is never faulted and never counted in the request log, so a harness can
drive the emulator while it pretends to be broken. Endpoints (JSON in, JSON out):

    GET  /__emulator/health          {"ok": true, "down": false}
    GET  /__emulator/faults          active fault rules
    POST /__emulator/faults          {"mode": "status", "code": 503, "rate": 1.0, ...}; modes are
                                     the `Faults` method names (down, up, status, slow,
                                     read_timeout, flaky, drop_connections, revoke_token, clear)
    GET  /__emulator/requests        {"count", "counts": {"GET /path/{id}": n}, "entries"}
    POST /__emulator/reset-log
    GET  /__emulator/items/{id}      the stored item snapshot
    POST /__emulator/disk            {"file": ..., "title"?, "size"?, ...}: a file for the next scan
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from stashplex.sandbox.plex.wire import JSON_TYPE, Request, Response

if TYPE_CHECKING:
    from stashplex.sandbox.plex.emulator import PlexEmulator

ADMIN_PREFIX = "/__emulator/"
_ITEM = re.compile(r"^/__emulator/items/(\d+)$")
_FAULT_ARGS: dict[str, tuple[str, ...]] = {
    "down": (),
    "up": (),
    "clear": (),
    "revoke_token": (),
    "status": ("code", "rate", "seed", "times", "path_prefix"),
    "slow": ("seconds", "path_prefix", "times"),
    "read_timeout": ("seconds", "path_prefix", "times"),
    "flaky": ("rate", "seed", "status"),
    "drop_connections": ("rate", "seed", "times", "path_prefix"),
}
_DISK_ARGS = ("file", "title", "size", "duration_ms", "show_title", "season", "episode")


def _json(payload: object, status: int = 200) -> Response:
    return Response(status, json.dumps(payload, ensure_ascii=False).encode("utf-8"), JSON_TYPE)


def _problem(status: int, message: str) -> Response:
    return _json({"error": message}, status)


class AdminApp:
    """Maps admin requests onto the emulator's Python API."""

    def __init__(self, emulator: PlexEmulator) -> None:
        self.emulator = emulator

    def handle(self, request: Request) -> Response:
        routes: dict[tuple[str, str], Callable[[Request], Response]] = {
            ("GET", "/__emulator/health"): self._health,
            ("GET", "/__emulator/faults"): lambda _: _json(self.emulator.faults.describe()),
            ("POST", "/__emulator/faults"): lambda r: self._set_fault(self._body(r)),
            ("GET", "/__emulator/requests"): self._requests,
            ("POST", "/__emulator/reset-log"): self._reset_log,
            ("POST", "/__emulator/disk"): lambda r: self._put_on_disk(self._body(r)),
        }
        handler = routes.get((request.method, request.path.rstrip("/")))
        item = _ITEM.match(request.path)
        if handler is None and item and request.method == "GET":
            handler = lambda _: _json(self.emulator.item(int(item.group(1))))  # noqa: E731
        if handler is None:
            return _problem(404, f"no admin endpoint {request.method} {request.path}")
        try:
            return handler(request)
        except KeyError as missing:
            return _problem(404, str(missing))
        except (ValueError, TypeError) as bad:
            return _problem(400, str(bad))

    def _health(self, _: Request) -> Response:
        return _json({"ok": True, "down": self.emulator.faults.is_down})

    def _requests(self, _: Request) -> Response:
        log = self.emulator.requests
        entries = [entry.as_json() for entry in log.entries]
        return _json({"count": len(entries), "counts": log.counts(), "entries": entries})

    def _reset_log(self, _: Request) -> Response:
        self.emulator.requests.reset()
        return _json({"ok": True})

    @staticmethod
    def _body(request: Request) -> dict[str, Any]:
        try:
            payload = json.loads(request.body or b"{}")
        except json.JSONDecodeError as bad:
            raise ValueError(f"body is not JSON: {bad}") from None
        if not isinstance(payload, dict):
            raise ValueError("body must be a JSON object")
        return payload

    def _set_fault(self, payload: dict[str, Any]) -> Response:
        mode = payload.pop("mode", None)
        if mode not in _FAULT_ARGS:
            raise ValueError(f"mode must be one of {sorted(_FAULT_ARGS)}, got {mode!r}")
        unknown = set(payload) - set(_FAULT_ARGS[mode])
        if unknown:
            raise ValueError(f"unknown arguments for {mode}: {sorted(unknown)}")
        getattr(self.emulator.faults, mode)(**payload)
        return _json(self.emulator.faults.describe())

    def _put_on_disk(self, payload: dict[str, Any]) -> Response:
        unknown = set(payload) - set(_DISK_ARGS)
        if unknown or "file" not in payload:
            raise ValueError(f"disk needs 'file' and only {list(_DISK_ARGS)}")
        section = self.emulator.put_on_disk(**payload)
        return _json({"section": section})
