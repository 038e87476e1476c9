"""The loopback admin API (`/__emulator/...`): faults, habits, latency, disk and request log.

It needs no Plex token, is never faulted, delayed or counted in the request log, so a harness
can drive the emulator while it pretends to be broken or slow. JSON in, JSON out:

    GET  /__emulator/health              {"ok": true, "down": false}
    GET  /__emulator/faults              active fault rules
    POST /__emulator/faults              {"mode": "status", "code": 503, ...}; modes are the
                                         `Faults` methods (down, up, status, slow, read_timeout,
                                         flaky, drop_connections, revoke_token, clear)
    GET  /__emulator/requests            {"count", "counts", "entries", "rejected"}
    POST /__emulator/reset-log
    GET  /__emulator/realism             every habit knob (see realism.py)
    POST /__emulator/realism             {"tag_capitalization": "each-word", ...}
    GET  /__emulator/latency             the latency settings
    POST /__emulator/latency             {"base_ms": 5, "per_kb_ms": 0.2, "upload_ms": 40,
                                         "concurrency": 4}
    POST /__emulator/latency/max-rate    {"mix": [{"name", "weight", "kilobytes", "upload"}]}
    GET  /__emulator/items/{id}          the stored item snapshot
    POST /__emulator/items/{id}/remove   {"file_stays"?: bool}
    POST /__emulator/items/{id}/files    {"file", "size"?, "duration_ms"?, "version"?}
    GET  /__emulator/tags                the server's tag rows by type
    POST /__emulator/disk                {"file", "title"?, "size"?, ...}: a file for a scan
    POST /__emulator/disk/move           {"old", "new"}
    POST /__emulator/disk/delete         {"file"}
    POST /__emulator/plexignore          {"folder", "patterns": "text" or [lines]}
    POST /__emulator/scan                {"section"?, "path"?, "force"?}: scan synchronously
    GET  /__emulator/scans               {"skipped": {file: reason}, "reports": [...]}
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from stashplex.sandbox.plex.latency import RequestShape
from stashplex.sandbox.plex.protocols import EmulatorControl
from stashplex.sandbox.plex.wire import JSON_TYPE, Request, Response

ADMIN_PREFIX = "/__emulator/"
_ITEM = re.compile(r"^/__emulator/items/(?P<id>\d+)(?:/(?P<action>remove|files))?$")
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
_FILE_ARGS = ("file", "size", "duration_ms", "version")
Payload = dict[str, Any]


def _json(payload: object, status: int = 200) -> Response:
    return Response(status, json.dumps(payload, ensure_ascii=False).encode("utf-8"), JSON_TYPE)


def _problem(status: int, message: str) -> Response:
    return _json({"error": message}, status)


def _only(payload: Payload, allowed: tuple[str, ...], required: tuple[str, ...] = ()) -> Payload:
    unknown = set(payload) - set(allowed)
    missing = [name for name in required if name not in payload]
    if unknown or missing:
        raise ValueError(f"expected {list(required)} and optionally {list(allowed)}")
    return payload


class AdminApp:
    """Maps admin requests onto the emulator's Python API."""

    def __init__(self, emulator: EmulatorControl) -> None:
        self.emulator = emulator
        emu = emulator
        self._routes: dict[tuple[str, str], Callable[[Payload], object]] = {
            ("GET", "health"): lambda _: {"ok": True, "down": emu.faults.is_down},
            ("GET", "faults"): lambda _: emu.faults.describe(),
            ("POST", "faults"): self._set_fault,
            ("GET", "requests"): self._requests,
            ("POST", "reset-log"): self._reset_log,
            ("GET", "realism"): lambda _: emu.configure_realism(),
            ("POST", "realism"): lambda body: emu.configure_realism(**body),
            ("GET", "latency"): lambda _: emu.configure_latency(),
            ("POST", "latency"): lambda body: emu.configure_latency(**body),
            ("POST", "latency/max-rate"): self._max_rate,
            ("GET", "tags"): lambda _: emu.tag_rows(),
            ("POST", "disk"): self._put_on_disk,
            ("POST", "disk/move"): self._move,
            ("POST", "disk/delete"): self._delete,
            ("POST", "plexignore"): self._plexignore,
            ("POST", "scan"): self._scan,
            ("GET", "scans"): lambda _: {"skipped": emu.skipped(), "reports": emu.scan_reports()},
        }

    def handle(self, request: Request) -> Response:
        name = request.path[len(ADMIN_PREFIX) :].rstrip("/")
        route = self._routes.get((request.method, name))
        item = _ITEM.match(request.path.rstrip("/"))
        try:
            if route is not None:
                return _json(route(self._body(request)))
            if item is not None:
                return self._item(request, int(item["id"]), item["action"])
        except KeyError as missing:
            return _problem(404, str(missing))
        except (ValueError, TypeError) as bad:
            return _problem(400, str(bad))
        return _problem(404, f"no admin endpoint {request.method} {request.path}")

    def _item(self, request: Request, rating_key: int, action: str | None) -> Response:
        emu = self.emulator
        if action is None and request.method == "GET":
            return _json(emu.item(rating_key))
        if action == "remove" and request.method == "POST":
            body = _only(self._body(request), ("file_stays",))
            return _json({"freed": emu.remove_item(rating_key, **body)})
        if action == "files" and request.method == "POST":
            body = _only(self._body(request), _FILE_ARGS, ("file",))
            return _json({"part": emu.add_file(rating_key, **body)})
        return _problem(404, f"no admin endpoint {request.method} {request.path}")

    @staticmethod
    def _body(request: Request) -> Payload:
        if request.method == "GET":
            return {}
        try:
            payload = json.loads(request.body or b"{}")
        except json.JSONDecodeError as bad:
            raise ValueError(f"body is not JSON: {bad}") from None
        if not isinstance(payload, dict):
            raise ValueError("body must be a JSON object")
        return payload

    def _requests(self, _: Payload) -> dict[str, object]:
        log = self.emulator.requests
        entries = [entry.as_json() for entry in log.entries]
        return {
            "count": len(entries),
            "counts": log.counts(),
            "entries": entries,
            "rejected": self.emulator.rejections,
        }

    def _reset_log(self, _: Payload) -> dict[str, object]:
        self.emulator.requests.reset()
        return {"ok": True}

    def _set_fault(self, payload: Payload) -> object:
        mode = payload.pop("mode", None)
        if mode not in _FAULT_ARGS:
            raise ValueError(f"mode must be one of {sorted(_FAULT_ARGS)}, got {mode!r}")
        unknown = set(payload) - set(_FAULT_ARGS[mode])
        if unknown:
            raise ValueError(f"unknown arguments for {mode}: {sorted(unknown)}")
        getattr(self.emulator.faults, mode)(**payload)
        return self.emulator.faults.describe()

    def _max_rate(self, payload: Payload) -> dict[str, object]:
        mix = _only(payload, ("mix",), ("mix",))["mix"]
        if not isinstance(mix, list):
            raise ValueError("mix must be a list of request shapes")
        shapes = [RequestShape(**shape) for shape in mix]
        bound = asdict(self.emulator.latency_bound(shapes))
        return {k: (None if v == float("inf") else v) for k, v in bound.items()}

    def _put_on_disk(self, payload: Payload) -> dict[str, object]:
        return {"section": self.emulator.put_on_disk(**_only(payload, _DISK_ARGS, ("file",)))}

    def _move(self, payload: Payload) -> dict[str, object]:
        body = _only(payload, ("old", "new"), ("old", "new"))
        return {"section": self.emulator.move_on_disk(body["old"], body["new"])}

    def _delete(self, payload: Payload) -> dict[str, object]:
        self.emulator.delete_from_disk(_only(payload, ("file",), ("file",))["file"])
        return {"ok": True}

    def _plexignore(self, payload: Payload) -> dict[str, object]:
        body = _only(payload, ("folder", "patterns"), ("folder", "patterns"))
        return {"patterns": self.emulator.add_plexignore(body["folder"], body["patterns"])}

    def _scan(self, payload: Payload) -> dict[str, object]:
        body = _only(payload, ("section", "path", "force"))
        reports = self.emulator.scan_now(
            body.get("section"), body.get("path"), bool(body.get("force"))
        )
        return {"reports": [report.as_json() for report in reports]}
