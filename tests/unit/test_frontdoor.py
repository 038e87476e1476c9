"""The front door: hooks answered from the spool, everything else handed to the host whole."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from pydantic import ValidationError

from actors.messages import HookEvent
from stashplex.link import handoff, wire
from stashplex.link.events import event_problem
from stashplex.link.frontdoor import FrontDoor
from stashplex.link.ipc import LocalServer, send_request
from stashplex.link.spool import drain_spool
from tests.support.front_door import attach_fake_host

COOKIE = "front-door-cookie"


def good_event(scene_id: str = "7") -> dict:
    return {
        "trigger": "Scene.Update.Post",
        "scene_id": scene_id,
        "input_fields": ["id", "title"],
        "input": {"id": scene_id, "title": None},
        "received_at": 1.5,
        "hook_pid": 42,
        "connection": {"scheme": "http", "host": "127.0.0.1", "port": 9999,
                       "session_cookie": COOKIE},
    }


def door_with_host(data_dir: Path, *, force_tcp: bool = False):
    door = FrontDoor(data_dir)
    server = LocalServer(data_dir, door.handle, divert=door.divert, force_tcp=force_tcp).start()
    return door, server, attach_fake_host(door, data_dir)


# -- the rules: the same as the host's HookEvent --------------------------------------------


BAD_EVENTS = {
    "not an object": ["Scene.Update.Post"],
    "unknown trigger": {**good_event(), "trigger": "Gallery.Update.Post"},
    "19-digit id": {**good_event(), "scene_id": "1" * 19},
    "id with a sign": {**good_event(), "scene_id": "-7"},
    "id as a number": {**good_event(), "scene_id": 7},
    "scene trigger without scene_id": {"trigger": "Scene.Update.Post", "object_id": "7"},
    "related trigger with scene_id": {"trigger": "Tag.Update.Post", "scene_id": "7"},
    "both ids": {"trigger": "Tag.Update.Post", "scene_id": "7", "object_id": "7"},
    "201 fields": {**good_event(), "input_fields": ["f"] * 201},
    "fields not strings": {**good_event(), "input_fields": [1]},
    "cookie with a space": {**good_event(), "connection": {"session_cookie": "a b"}},
    "cookie not a string": {**good_event(), "connection": {"session_cookie": 5}},
    "connection not an object": {**good_event(), "connection": "x"},
    "received_at not a number": {**good_event(), "received_at": [1]},
}
GOOD_EVENTS = {
    "scene edit": good_event(),
    "18-digit id": good_event("9" * 18),
    "no connection": {**good_event(), "connection": None},
    "no cookie": {**good_event(), "connection": {"session_cookie": None}},
    "related edit": {"trigger": "Performer.Update.Post", "object_id": "3"},
    "destroy": {"trigger": "Scene.Destroy.Post", "scene_id": "3", "input_fields": []},
}


@pytest.mark.parametrize("event", BAD_EVENTS.values(), ids=BAD_EVENTS.keys())
def test_an_event_the_host_would_refuse_is_refused_at_the_front_door_too(event):
    # Given an event HookEvent refuses
    with pytest.raises((ValidationError, ValueError)):
        HookEvent.model_validate(event)
    # When the front door checks it, Then it names a problem
    assert event_problem(event)


@pytest.mark.parametrize("event", GOOD_EVENTS.values(), ids=GOOD_EVENTS.keys())
def test_an_event_the_host_accepts_is_accepted_at_the_front_door_too(event):
    HookEvent.model_validate(event)
    assert event_problem(event) is None


# -- hooks -------------------------------------------------------------------------------


def test_with_no_host_a_hook_is_acknowledged_once_it_is_in_the_spool(data_dir):
    # Given a front door with no host behind it (one is starting)
    door = FrontDoor(data_dir)
    with LocalServer(data_dir, door.handle, divert=door.divert):
        # When a hook frame arrives
        reply = send_request(data_dir, {"v": 1, "type": "hook", "event": good_event("45")})
        # And a request for the host arrives
        with pytest.raises(wire.UnreachableError, match="closed without a reply"):
            send_request(data_dir, {"v": 1, "type": "ping"})

    # Then the hook is acknowledged, and its event (cookie and all) is in the spool
    assert reply["ok"] is True and reply["version"]
    delivered: list[dict] = []
    drain_spool(data_dir, delivered.append)
    assert [(e["scene_id"], e["connection"]["session_cookie"]) for e in delivered] == [
        ("45", COOKIE)
    ]
    # And the request for the host finds nobody, as if no supervisor ran: no client may take
    # an error reply for a supervisor that answers


def test_a_bad_hook_event_is_refused_in_one_line_and_nothing_is_spooled(data_dir):
    door = FrontDoor(data_dir)
    with LocalServer(data_dir, door.handle, divert=door.divert):
        event = {**good_event(), "connection": {"session_cookie": "a;b"}}
        reply = send_request(data_dir, {"v": 1, "type": "hook", "event": event})

    assert reply["ok"] is False and "session_cookie" in reply["error"]
    assert not list((data_dir / "spool").glob("*.json"))


def test_a_hook_wakes_the_host_to_drain_the_spool(data_dir):
    _door, server, host = door_with_host(data_dir)
    try:
        send_request(data_dir, {"v": 1, "type": "hook", "event": good_event()})
        assert host.wakes.wait(5)
        assert host.requests == []  # the hook never reached the host's handler
    finally:
        server.stop()
        host.server.stop()


# -- everything else: the host's, with its connection --------------------------------------


@pytest.mark.parametrize("force_tcp", [False, True], ids=["unix", "tcp"])
def test_other_requests_are_answered_by_the_host_on_the_same_connection(data_dir, force_tcp):
    # Given a front door with a host behind it
    _door, server, host = door_with_host(data_dir, force_tcp=force_tcp)
    try:
        endpoint = handoff.endpoint_for(data_dir)
        # When one connection carries a hook, then a status request, then a ping
        sock = handoff.connect(endpoint, 5)
        try:
            if endpoint.kind == "tcp":
                auth = {"v": 1, "type": "auth", "token": endpoint.token}
                sock.sendall(wire.encode_frame(auth))
            replies = []
            for kind in ("hook", "status", "ping"):
                frame = {"v": 1, "type": kind, "event": good_event()}
                sock.sendall(wire.encode_frame(frame))
                replies.append(wire.read_frame(sock, time.monotonic() + 5))
        finally:
            sock.close()
    finally:
        server.stop()
        host.server.stop()

    # Then the hook is the front door's and the rest the host's, answered in order
    assert replies[0]["ok"] is True and "answered_by" not in replies[0]
    assert [(r["answered_by"], r["type"]) for r in replies[1:]] == [
        ("host", "status"),
        ("host", "ping"),
    ]


def test_a_host_that_went_away_leaves_requests_unanswered_at_once_not_hanging(data_dir):
    # Given a front door whose host exited (the watchdog let go of its channel)
    door, server, host = door_with_host(data_dir)
    try:
        door.detach()
        # When a status request and a hook arrive
        started = time.monotonic()
        with pytest.raises(wire.UnreachableError, match="closed without a reply"):
            send_request(data_dir, {"v": 1, "type": "status"}, timeout=5)
        waited = time.monotonic() - started
        hook = send_request(data_dir, {"v": 1, "type": "hook", "event": good_event()}, 5)
    finally:
        server.stop()
        host.server.stop()

    # Then the status request finds nobody at once, and the hook is still acknowledged
    assert waited < 2
    assert hook["ok"] is True


# -- the settings watch: a hook in the spool is a poke ------------------------------------


def test_a_hook_the_front_door_spooled_makes_the_settings_due_before_the_host_drains_it(tmp_path):
    from stashplex.config.settings import Settings
    from stashplex.host.front_door_side import SpoolPokedWatch
    from stashplex.link.spool import write_event

    # Given a host's settings watch that has just looked (nothing due)
    settings = Settings()
    watch = SpoolPokedWatch(
        settings, spool=tmp_path / "spool", from_stash=False, load=lambda: (settings, False)
    )
    watch.check()
    assert not watch.due()
    # When the front door acknowledges a hook (its event in the spool, not yet drained)
    write_event(tmp_path, good_event(), fsync=False)
    # Then the settings are due for a look before Intake takes anything, once
    assert watch.due()
    watch.check()
    assert not watch.due()
