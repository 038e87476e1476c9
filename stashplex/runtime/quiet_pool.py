"""A thread pool whose threads leave when there is nothing to do, and which then says so.

``ThreadPoolExecutor`` keeps every thread it ever started until it is shut down. The Plex
gateway's write threads (two per Plex slot) are busy during a sync and idle for hours after it;
each kept thread holds its stack and a malloc arena full of freed pages the process cannot give
back while the thread lives: about 3 MB of the host's resident memory for the default pool,
measured after a sync (``bench/footprint.py``). Here a thread that waited ``linger_s`` for work
leaves, and when the last one has left, ``on_quiet`` runs (the gateway gives memory back then,
see :mod:`stashplex.runtime.memory`). The next submit starts a thread again, which costs about
as much as one SQLite commit.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Executor, Future
from typing import Any, Final, ParamSpec, TypeVar

log = logging.getLogger(__name__)

P = ParamSpec("P")
T = TypeVar("T")

#: Seconds a thread waits for work before it leaves.
LINGER_S: Final = 5.0

_Work = tuple[Future[Any], Callable[..., Any], tuple[Any, ...], dict[str, Any]]
_LINGERED: Final = object()


class QuietPool(Executor):
    """At most ``max_workers`` threads, started as work arrives and gone after ``linger_s`` idle.

    Work is served first in, first out; ``shutdown`` lets queued work finish (unless
    ``cancel_futures``), as ``ThreadPoolExecutor`` does.
    """

    def __init__(
        self,
        max_workers: int,
        name: str,
        *,
        linger_s: float = LINGER_S,
        on_quiet: Callable[[], None] | None = None,
    ) -> None:
        if max_workers < 1:
            raise ValueError(f"a pool needs at least one thread, not {max_workers}")
        self._max = max_workers
        self._name = name
        self._linger_s = linger_s
        self._on_quiet = on_quiet
        self._work: queue.SimpleQueue[_Work | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._threads: set[threading.Thread] = set()
        self._waiting = 0
        self._started = 0
        self._closed = False

    @property
    def thread_count(self) -> int:
        """Threads alive now (0 once the pool has been quiet for ``linger_s``)."""
        with self._lock:
            return len(self._threads)

    def submit(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        future: Future[T] = Future()
        with self._lock:
            if self._closed:
                raise RuntimeError(f"the {self._name} pool was shut down; nothing more runs in it")
            self._work.put((future, fn, args, kwargs))
            # A thread already waiting takes it; otherwise start one, up to the limit (a busy
            # thread takes it when its own work is done).
            if self._waiting < self._work.qsize() and len(self._threads) < self._max:
                self._started += 1
                thread = threading.Thread(
                    target=self._serve, name=f"{self._name}_{self._started}", daemon=True
                )
                self._threads.add(thread)
                thread.start()
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        with self._lock:
            self._closed = True
            if cancel_futures:
                while not self._work.empty():
                    work = self._work.get_nowait()
                    if work is not None:
                        work[0].cancel()
            threads = list(self._threads)
            for _ in threads:
                self._work.put(None)  # one stop mark per thread, after the work queued before it
        if wait:
            for thread in threads:
                if thread is not threading.current_thread():
                    thread.join()

    def _serve(self) -> None:
        me = threading.current_thread()
        last_out = False
        while True:
            with self._lock:
                self._waiting += 1
            try:
                work: _Work | object | None = self._work.get(timeout=self._linger_s)
            except queue.Empty:
                work = _LINGERED
            with self._lock:
                self._waiting -= 1
                # Puts happen under this lock, so an empty queue here stays empty until this
                # thread is gone from the count the next submit looks at.
                leaving = work is None or (work is _LINGERED and self._work.empty())
                if leaving:
                    self._threads.discard(me)
                    last_out = work is _LINGERED and not self._threads and not self._closed
            if leaving:
                break
            if isinstance(work, tuple):
                _run(work)
            del work
        if last_out and self._on_quiet is not None:
            try:
                self._on_quiet()
            except Exception:
                log.exception("the %s pool's quiet-time callback failed", self._name)


def _run(work: _Work) -> None:
    future, fn, args, kwargs = work
    if not future.set_running_or_notify_cancel():
        return
    try:
        result = fn(*args, **kwargs)
    except BaseException as exc:  # noqa: BLE001 - handed to the caller through the future
        future.set_exception(exc)
    else:
        future.set_result(result)
