import socket
import threading
import time

from stashplex.runtime.socket_deadlines import COMPACT_SLACK, SocketDeadlines


def blocked_recv(sock):
    """Start a thread blocked in recv on ``sock``; returns (thread, what it read)."""
    got = []
    thread = threading.Thread(target=lambda: got.append(sock.recv(10)), daemon=True)
    thread.start()
    return thread, got


def test_a_socket_still_armed_at_its_deadline_is_shut_down_and_its_blocked_read_ends():
    # Given a socket whose reader waits for data that never comes
    deadlines = SocketDeadlines()
    ours, theirs = socket.socketpair()
    reader, got = blocked_recv(ours)
    # When it is armed with a deadline 50 ms away and never disarmed
    started = time.monotonic()
    deadlines.arm(started + 0.05, ours)
    reader.join(5)
    # Then the read ended (end of stream) at about the deadline, and nothing stays armed
    assert not reader.is_alive() and got == [b""]
    assert 0.04 <= time.monotonic() - started < 2
    assert deadlines.armed() == 0
    ours.close(), theirs.close()


def test_a_socket_disarmed_before_its_deadline_is_left_alone():
    # Given a socket armed with a short deadline
    deadlines = SocketDeadlines()
    ours, theirs = socket.socketpair()
    token = deadlines.arm(time.monotonic() + 0.05, ours)
    # When it is disarmed in time and the deadline passes
    deadlines.disarm(token)
    time.sleep(0.15)
    # Then it still carries data both ways
    theirs.sendall(b"hi")
    ours.sendall(b"yo")
    assert ours.recv(2) == b"hi" and theirs.recv(2) == b"yo"
    ours.close(), theirs.close()


def test_an_earlier_deadline_armed_after_a_later_one_is_still_kept():
    # Given the watcher asleep towards a deadline a minute away
    deadlines = SocketDeadlines()
    far, far_peer = socket.socketpair()
    deadlines.arm(time.monotonic() + 60, far)
    time.sleep(0.02)
    # When a socket with a deadline 50 ms away is armed
    near, near_peer = socket.socketpair()
    reader, got = blocked_recv(near)
    deadlines.arm(time.monotonic() + 0.05, near)
    # Then that one is cut on time, and the far one is still armed
    reader.join(2)
    assert not reader.is_alive() and got == [b""]
    assert deadlines.armed() == 1
    for sock in (far, far_peer, near, near_peer):
        sock.close()


def test_many_requests_armed_and_disarmed_keep_the_heap_small():
    # Given a watcher serving many short requests with long deadlines
    deadlines = SocketDeadlines()
    ours, theirs = socket.socketpair()
    # When ten thousand are armed and disarmed one after the other
    for _ in range(10_000):
        deadlines.disarm(deadlines.arm(time.monotonic() + 60, ours))
    # Then none is armed and the heap holds no more than the slack allows
    assert deadlines.armed() == 0
    assert len(deadlines._heap) <= 2 * COMPACT_SLACK + 1
    ours.close(), theirs.close()
