"""The supervisor's local server: permissions, stale and live endpoints, TCP, concurrency."""

from __future__ import annotations

import json
import logging
import socket
import stat
import threading
import time
from pathlib import Path

import pytest

from stashplex.link import handoff, wire
from stashplex.link.ipc import LocalServer, ServerError, send_request


def echo(message: dict) -> dict:
    return {"ok": True, "echo": message}


def test_the_data_dir_is_owner_only_and_the_socket_is_0600(data_dir):
    data_dir.mkdir(mode=0o755)
    data_dir.chmod(0o755)

    with LocalServer(data_dir, echo) as server:
        socket_mode = Path(server.endpoint.path).stat().st_mode

    assert data_dir.stat().st_mode & 0o777 == 0o700
    assert stat.S_ISSOCK(socket_mode)
    assert socket_mode & 0o777 == 0o600


def test_a_stale_socket_file_is_replaced(data_dir):
    # Given a socket file left by a server that died
    data_dir.mkdir(mode=0o700)
    dead = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    dead.bind(str(data_dir / wire.SOCKET_NAME))
    dead.close()
    assert (data_dir / wire.SOCKET_NAME).exists()

    # When a new server starts, Then it serves on that path
    with LocalServer(data_dir, echo):
        reply = send_request(data_dir, {"type": "ping"})

    assert reply["ok"] is True


def test_a_second_server_is_refused_while_the_first_answers(data_dir):
    with LocalServer(data_dir, echo):
        with pytest.raises(ServerError, match="already answers on unix socket"):
            LocalServer(data_dir, echo).start()

        assert send_request(data_dir, {"type": "ping"})["ok"] is True


def test_a_file_that_is_not_a_socket_is_never_deleted(data_dir):
    data_dir.mkdir(mode=0o700)
    squatter = data_dir / wire.SOCKET_NAME
    squatter.write_text("precious")

    with pytest.raises(ServerError, match="is not a socket"):
        LocalServer(data_dir, echo).start()

    assert squatter.read_text() == "precious"


def test_stopping_removes_the_socket_file(data_dir):
    server = LocalServer(data_dir, echo).start()
    path = Path(server.endpoint.path)

    server.stop()

    assert not path.exists()
    with pytest.raises(wire.UnreachableError):
        send_request(data_dir, {"type": "ping"}, timeout=1.0)


def test_several_frames_share_one_connection(data_dir):
    with LocalServer(data_dir, echo) as server:
        sock = handoff.connect(server.endpoint, timeout=5.0)
        try:
            replies = []
            for number in range(3):
                sock.sendall(wire.encode_frame({"v": 1, "type": "probe", "n": number}))
                replies.append(wire.read_frame(sock))
        finally:
            sock.close()

    assert [reply["echo"]["n"] for reply in replies] == [0, 1, 2]


def test_a_bad_frame_is_answered_with_an_error_and_the_connection_closed(data_dir):
    with LocalServer(data_dir, echo) as server:
        sock = handoff.connect(server.endpoint, timeout=5.0)
        try:
            sock.sendall(b"\x00\x00\x00\x02[]")
            reply = wire.read_frame(sock)
            with pytest.raises(wire.ConnectionClosedError):
                wire.read_frame(sock)
        finally:
            sock.close()

    assert reply == {
        "v": 1,
        "ok": False,
        "error": "bad frame: frame must hold a JSON object, not array",
    }


def test_a_handler_crash_becomes_an_internal_error_reply_without_the_request_in_the_log(
    data_dir, caplog
):
    def crashing(message: dict) -> dict:
        raise KeyError(message["event"]["connection"]["session_cookie"])

    event = {"connection": {"session_cookie": "cookie-secret-123"}}
    with caplog.at_level(logging.DEBUG), LocalServer(data_dir, crashing):
        reply = send_request(data_dir, {"type": "hook", "event": event})
        second = send_request(data_dir, {"type": "hook", "event": event})

    assert reply == {"v": 1, "ok": False, "error": "internal error: KeyError"}
    assert second == reply
    assert "handler raised KeyError on a 'hook' request" in caplog.text
    assert "cookie-secret-123" not in caplog.text


def test_a_reply_that_is_not_an_object_becomes_an_internal_error(data_dir):
    with LocalServer(data_dir, lambda message: ["not", "a", "dict"]):  # type: ignore[arg-type,return-value]
        reply = send_request(data_dir, {"type": "ping"})

    assert reply["ok"] is False
    assert reply["error"] == "internal error: reply is not an object"


def test_the_handlers_reply_is_sent_as_is_with_the_version_added(data_dir):
    with LocalServer(data_dir, lambda message: {"ok": True, "job": "j-1", "extra": [1, 2]}):
        reply = send_request(data_dir, {"type": "task"})

    assert reply == {"v": 1, "ok": True, "job": "j-1", "extra": [1, 2]}


# -- TCP fallback -----------------------------------------------------------------------------


def test_the_tcp_fallback_records_port_and_token_in_an_owner_only_file(data_dir):
    with LocalServer(data_dir, echo, force_tcp=True) as server:
        endpoint = server.endpoint
        record_path = data_dir / wire.ENDPOINT_FILE
        record = json.loads(record_path.read_text())
        mode = record_path.stat().st_mode & 0o777
        reply = send_request(data_dir, {"type": "ping"})

    assert endpoint.kind == "tcp"
    assert mode == 0o600
    assert record["host"] == "127.0.0.1"
    assert record["port"] == endpoint.port
    assert len(record["token"]) >= 32
    assert reply["ok"] is True
    assert "token" not in reply["echo"]
    assert not record_path.exists()


@pytest.mark.parametrize("token", ["wrong-token", None, 12345], ids=["wrong", "missing", "number"])
def test_a_tcp_request_without_the_right_token_is_refused(data_dir, token):
    handled: list[dict] = []
    with LocalServer(data_dir, lambda m: handled.append(m) or {"ok": True}, force_tcp=True) as srv:
        sock = handoff.connect(srv.endpoint, timeout=5.0)
        try:
            message = {"v": 1, "type": "ping"} if token is None else {"v": 1, "token": token}
            sock.sendall(wire.encode_frame(message))
            reply = wire.read_frame(sock)
        finally:
            sock.close()

    assert reply == {"v": 1, "ok": False, "error": "unauthorised: missing or wrong token"}
    assert handled == []


def test_a_data_dir_too_long_for_a_socket_falls_back_to_tcp(data_dir):
    long_dir = data_dir / ("x" * 110)

    with LocalServer(long_dir, echo) as server:
        kind = server.endpoint.kind
        reply = send_request(long_dir, {"type": "ping"})

    assert kind == "tcp"
    assert reply["ok"] is True


def test_a_stale_tcp_record_is_replaced_and_a_live_one_refused(data_dir):
    # Given a record left by a dead TCP server
    data_dir.mkdir(mode=0o700)
    (data_dir / wire.ENDPOINT_FILE).write_text('{"port": 9, "token": "old"}')

    # When a server starts, Then it replaces the record; a second one is refused
    with LocalServer(data_dir, echo, force_tcp=True) as server:
        assert handoff.endpoint_for(data_dir) == server.endpoint
        with pytest.raises(ServerError, match="already answers on tcp"):
            LocalServer(data_dir, echo).start()


# -- load -------------------------------------------------------------------------------------


def test_five_hundred_simultaneous_clients_are_all_answered(data_dir):
    # Given a handler slow enough that the connections overlap
    def slow_echo(message: dict) -> dict:
        time.sleep(0.005)
        return {"ok": True, "n": message["n"]}

    clients = 500
    start_together = threading.Barrier(clients)
    replies: dict[int, dict] = {}
    errors: list[BaseException] = []

    def client(number: int) -> None:
        try:
            start_together.wait(timeout=60)
            replies[number] = send_request(data_dir, {"type": "probe", "n": number}, timeout=60)
        except BaseException as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    # When 500 clients connect at once
    with LocalServer(data_dir, slow_echo):
        threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    # Then each got its own answer
    assert errors == []
    assert {n: reply["n"] for n, reply in replies.items()} == {n: n for n in range(clients)}


def test_a_stop_asked_for_by_a_request_lets_that_request_s_reply_out_first(data_dir):
    # Given a server whose "stop" handler starts the server's stop and is slow to return, as the
    # host's is (it signals the watchdog, which stops the host while the reply is on its way)
    server_box: list[LocalServer] = []

    def handler(message: dict) -> dict:
        if message.get("type") == "stop":
            threading.Thread(target=server_box[0].stop).start()
            time.sleep(0.3)
            return {"ok": True, "summary": "stopping"}
        return echo(message)

    server = LocalServer(data_dir, handler).start()
    server_box.append(server)
    # When a client asks it to stop
    reply = send_request(data_dir, {"type": "stop"})
    # Then the client gets the reply, and the server stopped after it
    assert reply == {"v": wire.PROTOCOL_VERSION, "ok": True, "summary": "stopping"}
    deadline = time.monotonic() + 5
    while server.open_connections() and time.monotonic() < deadline:
        time.sleep(0.01)
    with pytest.raises(OSError):
        send_request(data_dir, {"type": "ping"})
