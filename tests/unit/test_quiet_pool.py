import logging
import os
import sys
import threading
import time
import weakref

import pytest

from stashplex.runtime.memory import give_back_memory
from stashplex.runtime.quiet_pool import QuietPool
from tests.support.concurrency import PeakMeter


def wait_until(condition, timeout=5.0):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.005)


def test_a_submitted_call_hands_back_its_result_or_its_exception():
    # Given a pool
    pool = QuietPool(2, "t")
    # When a call that returns and one that raises are submitted
    fine = pool.submit(lambda a, b=0: a + b, 2, b=3)
    failing = pool.submit(lambda: 1 / 0)
    # Then each future holds what its call did
    assert fine.result(5) == 5
    with pytest.raises(ZeroDivisionError):
        failing.result(5)
    pool.shutdown()


def test_no_more_calls_run_at_once_than_the_pool_has_threads_and_all_of_them_run():
    # Given a pool of three threads
    pool = QuietPool(3, "t")
    meter = PeakMeter()

    def work(n):
        meter.hold(0.01)
        return n

    # When twenty calls are submitted at once
    futures = [pool.submit(work, n) for n in range(20)]
    # Then all twenty finish, never more than three at a time, on at most three threads
    assert [f.result(10) for f in futures] == list(range(20))
    assert meter.peak == 3
    assert pool.thread_count <= 3
    pool.shutdown()


def test_threads_leave_after_the_linger_time_and_the_quiet_callback_runs_once():
    # Given a pool with a short linger time and a quiet-time callback
    quiet = []
    pool = QuietPool(4, "t", linger_s=0.05, on_quiet=lambda: quiet.append(time.monotonic()))
    # When a burst of work is done and nothing more comes
    for future in [pool.submit(time.sleep, 0.01) for _ in range(8)]:
        future.result(5)
    assert pool.thread_count >= 1
    wait_until(lambda: pool.thread_count == 0)
    # Then every thread has left and the callback ran once, after the last one
    wait_until(lambda: len(quiet) == 1)
    time.sleep(0.1)
    assert len(quiet) == 1
    # And a later submit starts a thread again
    assert pool.submit(lambda: "again").result(5) == "again"
    pool.shutdown()


def test_work_submitted_while_threads_are_leaving_is_never_stranded():
    # Given a pool whose threads leave almost at once
    pool = QuietPool(2, "t", linger_s=0.001)
    # When work keeps arriving in small bursts with gaps around the linger time
    futures = []
    for burst in range(200):
        futures += [pool.submit(lambda n=n: n) for n in range(burst % 3 + 1)]
        time.sleep(0.001 * (burst % 3))
    # Then every call ran
    assert all(f.result(5) is not None for f in futures)
    pool.shutdown()


def test_shutdown_lets_queued_work_finish_and_refuses_new_work():
    # Given a one-thread pool with work queued behind a slow call
    pool = QuietPool(1, "t")
    order = []
    pool.submit(time.sleep, 0.05)
    queued = [pool.submit(order.append, n) for n in range(3)]
    # When it is shut down (waiting)
    pool.shutdown(wait=True)
    # Then the queued work ran, in order, and nothing new is taken
    assert all(f.done() for f in queued) and order == [0, 1, 2]
    with pytest.raises(RuntimeError, match="shut down"):
        pool.submit(print)
    assert pool.thread_count == 0


def test_shutdown_with_cancel_futures_cancels_what_had_not_started():
    # Given a one-thread pool busy with a call, and more queued
    pool = QuietPool(1, "t")
    started = threading.Event()
    release = threading.Event()
    busy = pool.submit(lambda: (started.set(), release.wait(5)))
    started.wait(5)
    queued = [pool.submit(print, n) for n in range(3)]
    # When it is shut down cancelling futures
    release.set()
    pool.shutdown(wait=True, cancel_futures=True)
    # Then the running call finished and the queued ones were cancelled
    assert busy.done() and not busy.cancelled()
    assert all(f.cancelled() for f in queued)


def test_a_failing_quiet_callback_is_logged_and_the_pool_keeps_working(caplog):
    # Given a pool whose quiet-time callback raises
    def broken():
        raise OSError("no")

    pool = QuietPool(1, "t", linger_s=0.01, on_quiet=broken)
    # When it goes quiet
    with caplog.at_level(logging.ERROR):
        pool.submit(print, end="").result(5)
        wait_until(lambda: "quiet-time callback failed" in caplog.text)
    # Then the failure is in the log and the pool still runs work
    assert pool.submit(lambda: 7).result(5) == 7
    pool.shutdown()


def test_a_pool_without_threads_is_refused():
    # Given / When / Then
    with pytest.raises(ValueError, match="at least one thread"):
        QuietPool(0, "t")


def test_giving_memory_back_collects_cyclic_garbage():
    # Given an unreachable reference cycle
    class Node:
        pass

    node = Node()
    node.me = node
    ref = weakref.ref(node)
    del node
    assert ref() is not None
    # When memory is given back
    give_back_memory()
    # Then the cycle is gone
    assert ref() is None


GLIBC = sys.platform == "linux" and os.confstr("CS_GNU_LIBC_VERSION").startswith("glibc")


@pytest.mark.skipif(not GLIBC, reason="malloc_trim is glibc's")
def test_on_glibc_giving_memory_back_trims_the_heap_and_says_how_much(caplog):
    # Given a glibc process that freed a few MB of small allocations
    garbage = [bytes(200) for _ in range(20_000)]
    del garbage
    # When memory is given back
    with caplog.at_level(logging.DEBUG, logger="stashplex.runtime.memory"):
        give_back_memory()
    # Then malloc_trim ran and its effect was logged
    assert "KiB of freed memory" in caplog.text
