import sqlite3
import threading

import pytest

from stashplex.runtime.envelope import Envelope
from stashplex.runtime.mailbox import PURGE_EVERY_ACKS, Mailbox, MailboxError, PostOffice


def make_envelope(n: int) -> Envelope:
    return Envelope(kind="test", scene_id=str(n), payload={"n": n, "text": "é 🎬"})


def test_a_message_put_is_taken_back_equal_and_in_order(tmp_path):
    # Given a mailbox with three messages
    box = Mailbox("m", tmp_path / "m")
    sent = [make_envelope(n) for n in range(3)]
    box.put_many(sent)
    # When they are taken
    taken = box.take(10)
    # Then they come back equal, oldest first
    assert [d.envelope for d in taken] == sent


def test_an_unacked_message_is_delivered_again_after_reopening(tmp_path):
    # Given a message taken but never acked (the process died while handling it)
    box = Mailbox("m", tmp_path / "m")
    box.put(make_envelope(1))
    assert len(box.take()) == 1
    box.close()
    # When the mailbox is opened again
    reopened = Mailbox("m", tmp_path / "m")
    # Then the message is delivered again, charged one attempt for the process it outlived
    taken = reopened.take()
    assert [(d.envelope.payload["n"], d.envelope.attempt) for d in taken] == [(1, 1)]
    assert reopened.charged == 1


def test_each_death_while_in_flight_charges_one_attempt_and_keeps_the_message_s_place(tmp_path):
    # Given three messages, of which the first two were in flight when their process died
    box = Mailbox("m", tmp_path / "m")
    box.put_many([make_envelope(n) for n in range(3)])
    box.take(2)
    box.close()
    # When that happens twice more to the same two (each new owner dies holding them)
    for _ in range(2):
        box = Mailbox("m", tmp_path / "m")
        assert len(box.take(2, alone=None)) == 2
        box.close()
    box = Mailbox("m", tmp_path / "m")
    # Then they come first, three attempts dearer; the third was never charged
    taken = box.take(10)
    assert [(d.envelope.payload["n"], d.envelope.attempt) for d in taken] == [
        (0, 3),
        (1, 3),
        (2, 0),
    ]


def test_a_message_that_failed_before_is_taken_alone(tmp_path):
    # Given fresh messages around one that was in flight when its process died
    box = Mailbox("m", tmp_path / "m")
    box.put(make_envelope(0))
    box.take()
    box.put_many([make_envelope(n) for n in (1, 2)])
    box.close()
    box = Mailbox("m", tmp_path / "m")
    box.put(make_envelope(3))
    failed_before = lambda e: e.attempt > 0  # noqa: E731
    # When an actor takes chunks that keep failed messages apart
    # Then the charged one comes by itself, and the next chunk holds the fresh ones
    assert [d.envelope.payload["n"] for d in box.take(10, alone=failed_before)] == [0]
    assert [d.envelope.payload["n"] for d in box.take(10, alone=failed_before)] == [1, 2, 3]


def test_an_acked_message_is_never_delivered_again(tmp_path):
    box = Mailbox("m", tmp_path / "m")
    box.put(make_envelope(1))
    box.ack(box.take()[0])
    box.close()
    assert Mailbox("m", tmp_path / "m").take() == []


def test_acked_rows_are_purged_so_the_table_does_not_grow(tmp_path):
    # Given more acked messages than the purge interval
    box = Mailbox("m", tmp_path / "m")
    for n in range(PURGE_EVERY_ACKS + 10):
        box.put(make_envelope(n))
        box.ack(box.take()[0])
    # Then at most one purge interval of acked rows is kept
    db = sqlite3.connect(tmp_path / "m" / "data.db")
    rows = db.execute("SELECT COUNT(*) FROM ack_queue_default").fetchone()[0]
    assert rows < PURGE_EVERY_ACKS


def test_messages_are_stored_as_json_not_pickle(tmp_path):
    box = Mailbox("m", tmp_path / "m")
    box.put(make_envelope(7))
    db = sqlite3.connect(tmp_path / "m" / "data.db")
    (data,) = db.execute("SELECT data FROM ack_queue_default").fetchone()
    assert bytes(data).startswith(b"{")
    assert b'"kind": "test"' in bytes(data)


def test_requeue_puts_the_new_attempt_at_the_tail_so_poison_cannot_hot_loop(tmp_path):
    # Given a failing message ahead of a healthy one
    box = Mailbox("m", tmp_path / "m")
    box.put(make_envelope(1))
    box.put(make_envelope(2))
    failing = box.take()[0]
    # When it is requeued with attempt + 1
    box.requeue(failing, failing.envelope.next_attempt())
    # Then the healthy message comes first and the retry carries its attempt count
    first, second = box.take(2)
    assert first.envelope.payload["n"] == 2
    assert (second.envelope.payload["n"], second.envelope.attempt) == (1, 1)


def test_a_corrupt_mailbox_file_is_moved_aside_and_a_fresh_one_is_used(tmp_path, caplog):
    # Given a mailbox file that is not a database
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "data.db").write_bytes(b"this is not sqlite" * 100)
    # When the mailbox is opened
    box = Mailbox("m", tmp_path / "m")
    # Then it works, the broken file is kept aside with the reason, and the error is logged
    box.put(make_envelope(1))
    assert len(box.take()) == 1
    assert len(box.quarantined) == 1
    assert (box.quarantined[0] / "data.db").read_bytes().startswith(b"this is not sqlite")
    assert "REASON" in "".join(p.name for p in box.quarantined[0].iterdir()).upper()
    assert "moved it aside" in caplog.text


def test_a_row_that_is_not_an_envelope_is_set_aside_and_the_next_one_is_served(tmp_path):
    box = Mailbox("m", tmp_path / "m")
    box._queue.put({"not": "an envelope"})
    box.put(make_envelope(5))
    taken = box.take(5)
    assert [d.envelope.payload["n"] for d in taken] == [5]


def test_the_doorbell_rings_once_until_the_consumer_clears_it(tmp_path):
    box = Mailbox("m", tmp_path / "m")
    rings = []
    box.subscribe(lambda: rings.append(1))
    box.put(make_envelope(1))
    box.put(make_envelope(2))
    assert len(rings) == 1
    box.clear_ring()
    box.put(make_envelope(3))
    assert len(rings) == 2


def test_depth_counts_waiting_and_in_flight_messages(tmp_path):
    box = Mailbox("m", tmp_path / "m")
    box.put_many(make_envelope(n) for n in range(4))
    in_flight = box.take(1)
    assert box.depth() == 4
    box.ack(in_flight[0])
    assert box.depth() == 3


def test_a_mailbox_has_work_while_a_message_waits_or_is_in_flight(tmp_path):
    # Given an empty mailbox
    box = Mailbox("m", tmp_path / "m")
    assert not box.has_work()
    # When a message arrives and is taken
    box.put(make_envelope(1))
    assert box.has_work()
    (taken,) = box.take(1)
    # Then it still has work until the message is acknowledged
    assert box.has_work()
    box.ack(taken)
    assert not box.has_work()


def test_many_producer_threads_share_one_mailbox_without_loss(tmp_path):
    box = Mailbox("m", tmp_path / "m")

    def produce(base: int) -> None:
        for n in range(50):
            box.put(make_envelope(base + n))

    threads = [threading.Thread(target=produce, args=(k * 1000,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    numbers = {d.envelope.payload["n"] for d in box.take(1000)}
    assert len(numbers) == 200


def test_an_unknown_mailbox_name_is_a_clear_error(tmp_path):
    post = PostOffice(tmp_path, ["a"])
    with pytest.raises(MailboxError, match="no mailbox named 'b'"):
        post.send("b", make_envelope(1))


def test_a_batch_taken_at_once_is_in_flight_until_acked_and_comes_back_after_reopening(tmp_path):
    # Given five messages, three of them taken in one batch
    box = Mailbox("m", tmp_path / "m")
    box.put_many(make_envelope(n) for n in range(5))
    first = box.take(3)
    # When the rest is taken, and only the first two of the batch are acked before a crash
    rest = box.take(10)
    box.ack_many(first[:2])
    box.close()
    # Then the taken rows were never served twice, and what was not acked comes back, in order
    assert [d.envelope.payload["n"] for d in first] == [0, 1, 2]
    assert [d.envelope.payload["n"] for d in rest] == [3, 4]
    again = Mailbox("m", tmp_path / "m").take(10)
    assert [d.envelope.payload["n"] for d in again] == [2, 3, 4]


def test_envelope_ids_are_unique_within_a_process_and_across_a_fork(tmp_path):
    import os

    # Given ids made in this process
    ids = {Envelope(kind="k").id for _ in range(10_000)}
    assert len(ids) == 10_000
    # When a forked child makes ids too / Then none repeats one of its parent's
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.write(write, Envelope(kind="k").id.encode())
        os._exit(0)
    os.waitpid(pid, 0)
    child_id = os.read(read, 100).decode()
    assert child_id and child_id not in ids and child_id != Envelope(kind="k").id


def test_a_mailbox_broken_while_running_says_so_and_old_deliveries_cannot_ack_new_rows(tmp_path):
    # Given a mailbox whose consumer holds a delivery when the file breaks under it
    lost: list[str] = []
    box = Mailbox("m", tmp_path / "m", on_lost=lost.append)
    box.put(make_envelope(1))
    (held,) = box.take()
    # When the next write finds the file damaged, it is set aside and a fresh one is used
    box._recover(sqlite3.DatabaseError("database disk image is malformed"))
    box.put(make_envelope(2))
    box.ack(held)  # the old row id is 1, and so is the new message's
    # Then the owner is told, and the new message was not acked by the stale delivery
    assert lost == ["m"]
    assert [d.envelope.payload["n"] for d in box.take(10)] == [2]


def test_a_locked_mailbox_is_an_error_to_retry_not_a_reason_to_throw_it_away(tmp_path):
    box = Mailbox("m", tmp_path / "m")
    box.put(make_envelope(1))
    with pytest.raises(sqlite3.OperationalError):
        box._recover(sqlite3.OperationalError("database is locked"))
    assert box.quarantined == [] and box.depth() == 1
