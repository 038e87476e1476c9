"""The frame format, JSON codec, endpoints and spool records of ``stashplex.link.wire``."""

from __future__ import annotations

import json
import shutil
import socket
import tempfile
import threading
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stashplex.link import handoff, wire
from stashplex.link.ipc import LocalServer

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30)
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=10), children, max_size=5)
    ),
    max_leaves=25,
)
requests_v1 = st.dictionaries(st.text(max_size=10), json_values, max_size=6).map(
    lambda message: {**message, "v": 1}
)


@pytest.fixture
def short_dir():
    """A data directory short enough for a Unix socket path."""
    path = Path(tempfile.mkdtemp(prefix="spw-", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def frame_from_raw(raw: bytes) -> dict:
    """Feed ``raw`` to ``read_frame`` through a real socket pair, then close the sender."""
    sender, receiver = socket.socketpair()
    with sender, receiver:
        sender.sendall(raw)
        sender.shutdown(socket.SHUT_WR)
        return wire.read_frame(receiver)


def raw_frame(body: bytes) -> bytes:
    return len(body).to_bytes(4, "big") + body


# -- frames -----------------------------------------------------------------------------------


def test_a_message_survives_a_round_trip_through_a_socket():
    message = {"v": 1, "type": "hook", "event": {"scene_id": "45", "title": "Été ☀", "n": 2.5}}

    assert frame_from_raw(wire.encode_frame(message)) == message


def test_a_frame_is_a_big_endian_length_then_utf8_json():
    frame = wire.encode_frame({"v": 1, "type": "ping"})

    body = frame[4:]
    assert int.from_bytes(frame[:4], "big") == len(body)
    assert json.loads(body.decode("utf-8")) == {"v": 1, "type": "ping"}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b"\x00\x00", "after 2 of 4 frame header bytes"),
        (raw_frame(b'{"v": 1}')[:-2], "after 6 of 8 frame body bytes"),
        ((wire.MAX_FRAME_BYTES + 1).to_bytes(4, "big"), "exceeds the 1048576 byte limit"),
        (raw_frame(b'{"v": 1, "x": "\xff"}'), "not UTF-8"),
        (raw_frame(b'{"v": 1,'), "not JSON"),
        (raw_frame(b""), "not JSON"),
        (raw_frame(b'{"v": NaN}'), "not JSON"),
        (raw_frame(b"[1, 2]"), "must hold a JSON object, not array"),
        (raw_frame(b'"v"'), "must hold a JSON object, not string"),
        (raw_frame(b'{"type": "ping"}'), "no protocol version 'v'"),
        (raw_frame(b'{"v": 2}'), "unsupported protocol version 2"),
        (raw_frame(b'{"v": true}'), "unsupported protocol version true"),
        (raw_frame(b'{"v": "1"}'), "unsupported protocol version"),
    ],
    ids=[
        "short-header",
        "short-body",
        "over-size",
        "not-utf8",
        "truncated-json",
        "empty-body",
        "nan",
        "array",
        "string",
        "no-version",
        "version-2",
        "version-true",
        "version-string",
    ],
)
def test_a_broken_frame_raises_a_frame_error_that_says_why(raw, expected):
    with pytest.raises(wire.FrameError, match=expected) as caught:
        frame_from_raw(raw)

    assert not isinstance(caught.value, wire.ConnectionClosedError)


def test_a_clean_close_between_frames_is_reported_as_connection_closed():
    with pytest.raises(wire.ConnectionClosedError):
        frame_from_raw(b"")


def test_encoding_refuses_non_objects_nan_and_over_size_messages():
    with pytest.raises(wire.FrameError, match="JSON object"):
        wire.encode_frame([1, 2])  # type: ignore[arg-type]
    with pytest.raises(wire.FrameError, match="not JSON-serialisable"):
        wire.encode_frame({"v": 1, "x": float("nan")})
    with pytest.raises(wire.FrameError, match="not JSON-serialisable: object"):
        wire.encode_frame({"v": 1, "x": object()})
    with pytest.raises(wire.FrameError, match="not JSON-serialisable: keys must be"):
        wire.encode_frame({"v": 1, "x": {(1, 2): "tuple key"}})
    with pytest.raises(wire.FrameError, match="byte limit"):
        wire.encode_frame({"v": 1, "x": "a" * wire.MAX_FRAME_BYTES})


@settings(max_examples=200)
@given(json_values)
def test_the_json_codec_agrees_with_the_standard_library(value):
    assert json.loads(wire.to_json(value)) == value
    assert wire.from_json(json.dumps(value)) == value


@pytest.mark.parametrize("text", ["", "[1", "1 2", "nul", '{"a": Infinity}', '{"a": 1}}'])
def test_text_that_is_not_exactly_one_json_value_is_refused(text):
    with pytest.raises(wire.FrameError, match="not JSON"):
        wire.from_json(text)


# -- endpoints and requests -------------------------------------------------------------------


def test_a_short_data_dir_uses_a_unix_socket_inside_it(short_dir):
    endpoint = handoff.endpoint_for(short_dir)

    assert endpoint == handoff.Endpoint.unix(str(short_dir / wire.SOCKET_NAME))


def test_a_data_dir_too_long_for_a_socket_has_no_endpoint_until_a_tcp_server_records_one(
    short_dir,
):
    long_dir = short_dir / ("d" * 120)
    long_dir.mkdir()
    assert handoff.unix_socket_path(long_dir) is None

    with pytest.raises(wire.UnreachableError, match="no supervisor endpoint recorded"):
        handoff.endpoint_for(long_dir)

    (long_dir / wire.ENDPOINT_FILE).write_text('{"port": 4567, "token": "t0k"}')
    assert handoff.endpoint_for(long_dir) == handoff.Endpoint.tcp(4567, "t0k")


def test_a_corrupt_endpoint_record_is_reported_not_guessed(short_dir):
    (short_dir / wire.ENDPOINT_FILE).write_text('{"port": "many"}')

    with pytest.raises(wire.UnreachableError, match="is corrupt"):
        handoff.endpoint_for(short_dir)


def test_an_endpoint_never_shows_its_token():
    endpoint = handoff.Endpoint.tcp(4567, "very-secret-token")

    assert "very-secret-token" not in repr(endpoint)
    assert "very-secret-token" not in endpoint.describe()


def test_a_request_with_nobody_listening_raises_unreachable(short_dir):
    with pytest.raises(wire.UnreachableError, match="no supervisor at unix socket"):
        handoff.request(handoff.endpoint_for(short_dir), {"type": "ping"}, timeout=1.0)


def test_a_request_gets_the_servers_reply(short_dir):
    with LocalServer(short_dir, lambda message: {"ok": True, "echo": message["type"]}) as server:
        reply = handoff.request(server.endpoint, {"type": "ping"}, timeout=2.0)

    assert reply == {"v": 1, "ok": True, "echo": "ping"}


# -- spool records ----------------------------------------------------------------------------


def test_a_spooled_event_reads_back_unchanged_from_an_owner_only_file(short_dir):
    data_dir = short_dir / "new"
    event = {"trigger": "Scene.Update.Post", "scene_id": "7"}

    path = Path(handoff.write_spool(data_dir, event))

    assert path.parent == data_dir / "spool"
    assert data_dir.stat().st_mode & 0o777 == 0o700
    assert path.parent.stat().st_mode & 0o777 == 0o700
    assert path.stat().st_mode & 0o777 == 0o600
    assert handoff.read_spool_record(path.read_bytes()) == event
    assert list(path.parent.glob("*.tmp")) == []


def test_spool_names_sort_in_the_order_they_were_written(short_dir):
    names = [Path(handoff.write_spool(short_dir, {"n": n})).name for n in range(20)]

    assert sorted(names) == names


def test_a_spool_record_without_an_event_is_refused():
    with pytest.raises(wire.FrameError, match="no event object"):
        handoff.read_spool_record(b'{"v": 1, "event": [1]}')


# -- fuzzing a live server --------------------------------------------------------------------


@pytest.fixture(scope="module")
def live_server():
    data_dir = Path(tempfile.mkdtemp(prefix="spf-", dir="/tmp"))
    received: list[dict] = []
    lock = threading.Lock()

    def handler(message: dict) -> dict:
        with lock:
            received.append(message)
        return {"ok": True, "seen": len(received)}

    server = LocalServer(data_dir, handler, read_timeout=5.0).start()
    yield server, received
    server.stop()
    shutil.rmtree(data_dir, ignore_errors=True)


def send_raw(endpoint: handoff.Endpoint, raw: bytes) -> list[dict]:
    """Send ``raw`` as a client would, half-close, and collect every reply frame."""
    sock = handoff.connect(endpoint, timeout=5.0)
    replies = []
    try:
        try:
            sock.sendall(raw)
            sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass  # the server may hang up early on a bad header; its reply is still readable
        while True:
            try:
                replies.append(wire.read_frame(sock))
            except (wire.ConnectionClosedError, ConnectionResetError):
                return replies
    finally:
        sock.close()


def assert_answers_are_clear(replies: list[dict]) -> None:
    for reply in replies[:-1]:
        assert reply["ok"] is True
    if replies and replies[-1]["ok"] is not True:
        error = replies[-1]["error"]
        assert isinstance(error, str)
        assert error
        assert "\n" not in error


def assert_still_serving(endpoint: handoff.Endpoint) -> None:
    assert handoff.request(endpoint, {"type": "ping"}, timeout=5.0)["ok"] is True


fuzz_settings = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


@fuzz_settings
@given(raw=st.binary(max_size=2048))
def test_random_bytes_never_crash_the_server(live_server, raw):
    server, _ = live_server

    replies = send_raw(server.endpoint, raw)

    assert_answers_are_clear(replies)
    assert_still_serving(server.endpoint)


@fuzz_settings
@given(length=st.integers(min_value=0, max_value=2**32 - 1), body=st.binary(max_size=512))
def test_random_lengths_are_answered_with_a_clear_error(live_server, length, body):
    server, _ = live_server

    replies = send_raw(server.endpoint, length.to_bytes(4, "big") + body)

    assert len(replies) == 1
    if length != len(body):
        assert replies[0]["ok"] is False
        assert any(word in replies[0]["error"] for word in ("byte", "JSON", "UTF-8", "version"))
    assert_still_serving(server.endpoint)


@fuzz_settings
@given(value=json_values | requests_v1)
def test_random_json_is_either_handled_exactly_or_refused_clearly(live_server, value):
    server, received = live_server
    raw = raw_frame(json.dumps(value).encode("utf-8"))

    replies = send_raw(server.endpoint, raw)

    assert len(replies) == 1
    valid = isinstance(value, dict) and value.get("v") == 1 and type(value.get("v")) is int
    if valid:
        assert replies[0]["ok"] is True
        assert received[replies[0]["seen"] - 1] == value
    else:
        assert replies[0]["ok"] is False
        assert "frame" in replies[0]["error"]
    assert_still_serving(server.endpoint)


def test_a_good_client_loses_nothing_while_others_send_garbage(live_server):
    # Given a client sending numbered requests on one connection
    server, received = live_server
    numbers = list(range(300))
    replies: list[dict] = []

    def good_client() -> None:
        sock = handoff.connect(server.endpoint, timeout=5.0)
        try:
            for number in numbers:
                sock.sendall(wire.encode_frame({"v": 1, "type": "probe", "n": number}))
                replies.append(wire.read_frame(sock))
        finally:
            sock.close()

    client = threading.Thread(target=good_client)
    client.start()

    # When others send garbage at the same time
    garbage = [b"\xff" * 9, b"\x00\x00\x00\x05{{{{{", b"\x7f\xff\xff\xff", b"\x00\x00\x00\x02[]"]
    while client.is_alive():
        for raw in garbage:
            send_raw(server.endpoint, raw)
    client.join()

    # Then every request arrived once and was acknowledged
    probes = [m["n"] for m in received if m.get("type") == "probe"]
    assert probes == numbers
    assert [reply["ok"] for reply in replies] == [True] * len(numbers)
