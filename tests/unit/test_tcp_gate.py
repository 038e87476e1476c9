"""The TCP fallback admits only clients that prove the token first (issue 16, item 7).

Real loopback sockets: a flood of silent, slow, oversized and wrong-token clients while the
owner's hook keeps delivering, never held behind them.
"""

from __future__ import annotations

import socket
import threading
import time

import pytest

from stashplex.link import gate, handoff, wire
from stashplex.link.ipc import LocalServer

HOOK = {"type": "hook", "event": {"trigger": "Scene.Update.Post", "scene_id": "7"}}


@pytest.fixture
def server(data_dir):
    handled: list[dict] = []

    def handler(message: dict) -> dict:
        handled.append(message)
        return {"ok": True}

    with LocalServer(data_dir, handler, force_tcp=True) as srv:
        srv.handled = handled
        yield srv


def raw(endpoint) -> socket.socket:
    return socket.create_connection((wire.LOOPBACK, endpoint.port), timeout=5)


def test_a_client_claiming_a_large_first_frame_is_refused_before_any_of_it_is_read(server):
    # Given a client that announces a 1 MB first frame (the old protocol's hook event size)
    sock = raw(server.endpoint)
    sock.sendall((1024 * 1024).to_bytes(4, "big"))
    # When it waits, Then it is refused at once, having sent none of the body
    started = time.monotonic()
    reply = wire.read_frame(sock, time.monotonic() + 5)
    assert reply["error"] == gate.REFUSAL
    assert time.monotonic() - started < 0.5
    assert server.handled == []


def test_a_silent_client_is_closed_at_the_authentication_deadline(server):
    sock = raw(server.endpoint)
    started = time.monotonic()
    reply = wire.read_frame(sock, time.monotonic() + 5)
    assert reply["error"] == gate.REFUSAL
    assert gate.AUTH_DEADLINE_S <= time.monotonic() - started < gate.AUTH_DEADLINE_S + 0.5


def test_the_right_token_in_the_first_frame_admits_several_requests(server):
    endpoint = server.endpoint
    sock = raw(endpoint)
    sock.sendall(wire.encode_frame({"v": 1, "type": "auth", "token": endpoint.token}))
    for n in range(3):
        sock.sendall(wire.encode_frame({"v": 1, "type": "ping", "n": n}))
        assert wire.read_frame(sock, time.monotonic() + 5)["ok"] is True
    sock.close()
    assert [m["n"] for m in server.handled] == [0, 1, 2]
    assert all("token" not in m for m in server.handled)


def test_an_unauthenticated_flood_never_holds_the_owner_s_hook_behind_it(server):
    # Given a flood: hundreds of silent connections, clients that claim huge frames and
    # trickle, wrong tokens, and garbage, all kept coming from several threads
    endpoint = server.endpoint
    stop = threading.Event()
    held: list[socket.socket] = []
    lock = threading.Lock()

    def silent() -> None:
        while not stop.is_set():
            try:
                sock = raw(endpoint)
            except OSError:
                continue
            with lock:
                held.append(sock)
                if len(held) > 400:
                    held.pop(0).close()

    def trickle() -> None:
        while not stop.is_set():
            try:
                sock = raw(endpoint)
                sock.sendall((900_000).to_bytes(4, "big"))
                for _ in range(5):
                    sock.sendall(b"{")
                    stop.wait(0.05)
                sock.close()
            except OSError:
                continue

    def wrong() -> None:
        frames = [
            wire.encode_frame({"v": 1, "type": "auth", "token": "guess" * 9}),
            b"\x00\x00\x00\x10not json at all!",
            wire.encode_frame({"v": 1, "type": "hook", "token": "x"}),
        ]
        n = 0
        while not stop.is_set():
            try:
                sock = raw(endpoint)
                sock.sendall(frames[n % len(frames)])
                sock.recv(100)
                sock.close()
            except OSError:
                pass
            n += 1

    flooders = [threading.Thread(target=f, daemon=True) for f in (silent, silent, trickle, wrong)]
    for thread in flooders:
        thread.start()
    try:
        time.sleep(0.5)  # let the flood build up
        # When the owner's hook delivers events meanwhile
        latencies = []
        for _ in range(30):
            started = time.monotonic()
            reply = handoff.request(endpoint, HOOK, timeout=2.0)
            latencies.append(time.monotonic() - started)
            assert reply["ok"] is True
            time.sleep(0.02)
    finally:
        stop.set()
        for thread in flooders:
            thread.join(5)
        with lock:
            for sock in held:
                sock.close()
    # Then no hook waited behind a flooder (one would cost it that client's whole
    # authentication deadline), a typical hook kept the 100 ms budget of a save, and only the
    # owner's requests were handled. Speed itself is bench/hook_load.py's to measure; a single
    # hook descheduled on a loaded machine is not what this test is about.
    median = sorted(latencies)[len(latencies) // 2]
    print(f"hook latency under flood: max {max(latencies) * 1e3:.1f} ms, median {median * 1e3:.1f}")
    assert max(latencies) < gate.AUTH_DEADLINE_S
    assert median < 0.1
    assert len(server.handled) == 30
    assert all(m["type"] == "hook" for m in server.handled)
