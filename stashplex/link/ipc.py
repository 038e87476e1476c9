"""The supervisor's local server: where hooks, tasks and the CLI reach it.

One listener per data directory: a Unix socket (owner-only, inside the 0700 data directory) on
POSIX, loopback TCP with a random shared token where Unix sockets are missing or the path is
too long; a TCP client proves the token in a small first frame before anything else is read
(:mod:`stashplex.link.gate`). Each admitted connection is served by a thread of a pool whose
threads wait two minutes for the next one; a connection may carry several request frames. Bad
input is answered with ``{"ok": false, "error": ...}`` and the connection closed; nothing a
client sends can take the server down. The handler decides durability: the supervisor's handler
answers a ``hook`` frame only once the event is safely in the Intake mailbox.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import stat
import threading
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from stashplex.link import handoff, wire
from stashplex.runtime.quiet_pool import QuietPool

logger = logging.getLogger(__name__)

Handler = Callable[[dict[str, Any]], dict[str, Any]]
#: Takes a connection away from this server with the request just read from it (True), or
#: leaves it to be answered here (False): the front door hands non-hook requests to the host.
Divert = Callable[[socket.socket, dict[str, Any]], bool]

#: An idle connection is dropped after this long without a complete frame.
DEFAULT_READ_TIMEOUT_SECONDS = 30.0
#: Connections served at once; more are refused with an error reply rather than queued forever.
MAX_CONNECTIONS = 2048
#: Pending connections the kernel holds for us (capped by net.core.somaxconn).
LISTEN_BACKLOG = 1024
#: Seconds a connection thread waits for the next connection before it leaves: on a busy CPU a
#: thread started per connection waits for its first time slice longer than a woken one does.
CONNECTION_THREAD_LINGER_S = 120.0
#: How long a stop waits for replies being sent (the reply to "stop" itself, say) before it cuts.
REPLY_GRACE_SECONDS = 2.0
#: How often the accept loop looks at the stop flag.
ACCEPT_POLL_SECONDS = 0.2
#: How long a liveness probe of an existing endpoint may take.
PROBE_TIMEOUT_SECONDS = 1.0

_umask_lock = threading.Lock()


class ServerError(RuntimeError):
    """The server cannot start; the message says why and what to do."""


class LocalServer:
    """Serve ``handler`` on the data directory's local endpoint."""

    def __init__(
        self,
        data_dir: Path,
        handler: Handler,
        *,
        force_tcp: bool = False,
        read_timeout: float = DEFAULT_READ_TIMEOUT_SECONDS,
        on_close: Callable[[], None] | None = None,
        divert: Divert | None = None,
    ) -> None:
        self.data_dir = Path(data_dir)
        self._handler = handler
        # Called on a connection's own thread (where its requests were handled) when the
        # client is gone: hung up, killed, or silent past the read timeout; not when we stop.
        self._on_close = on_close
        self._divert = divert
        self._force_tcp = force_tcp
        self._read_timeout = read_timeout
        self._listener: socket.socket | None = None
        self._endpoint: handoff.Endpoint | None = None
        self._stopping = threading.Event()
        self._accept_thread: threading.Thread | None = None
        self._gate: Any = None  # the AuthGate of a TCP endpoint
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        self._workers: QuietPool | None = None
        self._replying = 0
        self._replies_done = threading.Condition(self._connections_lock)

    @property
    def endpoint(self) -> handoff.Endpoint:
        if self._endpoint is None:
            raise ServerError("the server is not started")
        return self._endpoint

    def start(self) -> LocalServer:
        if self._listener is not None:
            raise ServerError("the server is already started")
        self._prepare_data_dir()
        self._refuse_if_another_server_answers()
        unix_path = None if self._force_tcp else handoff.unix_socket_path(self.data_dir)
        if unix_path is not None:
            self._listener, self._endpoint = self._bind_unix(unix_path)
        else:
            from stashplex.link.gate import AuthGate  # TCP only: hmac and its hashlib stay out

            self._listener, self._endpoint = self._bind_tcp()
            self._gate = AuthGate(self._listener, self._endpoint.token or "", self._admit)
        self._stopping.clear()
        self._accept_thread = threading.Thread(
            target=self._accept_loop, name="stashplex-ipc-accept", daemon=True
        )
        self._accept_thread.start()
        logger.info("listening on %s", self._endpoint.describe())
        return self

    def open_connections(self) -> int:
        """How many client connections are being served (the host's idle check asks)."""
        with self._connections_lock:
            return len(self._connections)

    def adopt(self, connection: socket.socket, first: dict[str, Any]) -> None:
        """Serve a connection another process accepted (the front door), starting with the reply
        to ``first``, the request it already read; a server that adopts need not listen."""
        if self._stopping.is_set():
            connection.close()
            return
        with self._connections_lock:
            self._connections.add(connection)
        self._serve_on_a_worker(connection, first)

    def stop(self, timeout: float = 5.0) -> None:
        """Stop accepting, let replies being sent go out (at most ``REPLY_GRACE_SECONDS``), drop
        open connections and remove the endpoint files."""
        if self._listener is None:
            self._stopping.set()
            self._drop_connections()
            return
        self._stopping.set()
        self._wake_accept_loop()
        if self._accept_thread is not None:
            self._accept_thread.join(timeout)
        self._listener.close()
        self._listener = None
        self._drop_connections()
        endpoint, self._endpoint = self._endpoint, None
        if endpoint is not None and endpoint.kind == "unix" and endpoint.path:
            with contextlib.suppress(FileNotFoundError):
                Path(endpoint.path).unlink()
        if endpoint is not None and endpoint.kind == "tcp":
            with contextlib.suppress(FileNotFoundError):
                Path(handoff.endpoint_file(self.data_dir)).unlink()

    def _drop_connections(self) -> None:
        with self._replies_done:
            self._replies_done.wait_for(lambda: not self._replying, REPLY_GRACE_SECONDS)
            open_connections = list(self._connections)
            workers, self._workers = self._workers, None
        if workers is not None:
            workers.shutdown(wait=False)  # each ends with its connection; idle ones leave now
        for connection in open_connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    def _wake_accept_loop(self) -> None:
        """Connect once so a blocked ``accept`` sees the stop flag now, not at its next poll."""
        if self._endpoint is None:
            return
        with contextlib.suppress(wire.UnreachableError):
            handoff.connect(self._endpoint, PROBE_TIMEOUT_SECONDS).close()

    def __enter__(self) -> LocalServer:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    # -- binding ------------------------------------------------------------------------------

    def _prepare_data_dir(self) -> None:
        self.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.data_dir.chmod(0o700)

    def _refuse_if_another_server_answers(self) -> None:
        """Clear endpoint files left by a dead server; refuse to steal a live one's."""
        record = Path(handoff.endpoint_file(self.data_dir))
        if record.exists():
            try:
                endpoint = handoff.endpoint_for(self.data_dir)
                handoff.request(endpoint, {"type": "ping"}, PROBE_TIMEOUT_SECONDS)
            except (wire.UnreachableError, wire.FrameError):
                logger.info("removing stale %s", record)
                record.unlink(missing_ok=True)
            else:
                raise ServerError(f"another supervisor already answers on {endpoint.describe()}")
        unix_path = handoff.unix_socket_path(self.data_dir)
        if unix_path is None or not os.path.lexists(unix_path):
            return
        if not stat.S_ISSOCK(os.lstat(unix_path).st_mode):
            raise ServerError(f"{unix_path} exists and is not a socket; move it away")
        probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        probe.settimeout(PROBE_TIMEOUT_SECONDS)
        try:
            probe.connect(unix_path)
        except OSError:
            logger.info("removing stale socket %s", unix_path)
            Path(unix_path).unlink(missing_ok=True)
        else:
            raise ServerError(f"another supervisor already answers on unix socket {unix_path}")
        finally:
            probe.close()

    def _bind_unix(self, path: str) -> tuple[socket.socket, handoff.Endpoint]:
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        # The umask makes the socket owner-only from its first instant; it is process-wide,
        # so hold it for the bind alone.
        with _umask_lock:
            previous = os.umask(0o177)
            try:
                listener.bind(path)
            finally:
                os.umask(previous)
        Path(path).chmod(0o600)
        listener.listen(LISTEN_BACKLOG)
        listener.settimeout(ACCEPT_POLL_SECONDS)
        return listener, handoff.Endpoint.unix(path)

    def _bind_tcp(self) -> tuple[socket.socket, handoff.Endpoint]:
        import secrets  # TCP only, like the gate

        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.bind((wire.LOOPBACK, 0))
        listener.listen(LISTEN_BACKLOG)
        listener.settimeout(ACCEPT_POLL_SECONDS)
        endpoint = handoff.Endpoint.tcp(listener.getsockname()[1], secrets.token_urlsafe(32))
        try:
            _write_endpoint_record(self.data_dir, endpoint)
        except OSError:
            listener.close()
            raise
        return listener, endpoint

    # -- serving ------------------------------------------------------------------------------

    def _accept_loop(self) -> None:
        listener = self._listener
        assert listener is not None
        gate = self._gate
        if gate is not None:  # TCP: connections are admitted once they prove the token
            try:
                while not self._stopping.is_set():
                    gate.poll(ACCEPT_POLL_SECONDS)
            finally:
                gate.close()
            return
        while not self._stopping.is_set():
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError as exc:
                if self._stopping.is_set():
                    return
                logger.warning("accept failed: %s", exc)
                continue
            if self._stopping.is_set():
                connection.close()
                return
            self._admit(connection)

    def _admit(self, connection: socket.socket) -> None:
        """Serve a connection on a pool thread, unless too many are open already."""
        with self._connections_lock:
            crowded = len(self._connections) >= MAX_CONNECTIONS
            if not crowded:
                self._connections.add(connection)
        if crowded:
            self._refuse(connection, "server busy: too many open connections; retry")
            return
        self._serve_on_a_worker(connection)

    def _serve_on_a_worker(self, connection: socket.socket, *first: dict[str, Any]) -> None:
        with self._connections_lock:
            if self._workers is None:
                self._workers = QuietPool(
                    MAX_CONNECTIONS, "stashplex-ipc-conn", linger_s=CONNECTION_THREAD_LINGER_S
                )
            workers = self._workers
        try:
            workers.submit(self._serve, connection, *first)
        except RuntimeError:  # stopped meanwhile
            with self._connections_lock:
                self._connections.discard(connection)
            connection.close()

    def _serve(self, connection: socket.socket, first: dict[str, Any] | None = None) -> None:
        try:
            connection.settimeout(self._read_timeout)
            if first is not None:
                self._answer(connection, first)
            while not self._stopping.is_set():
                try:
                    request = wire.read_frame(connection)
                except (wire.ConnectionClosedError, OSError):
                    return
                except wire.FrameError as exc:
                    self._refuse(connection, f"bad frame: {exc}")
                    return
                if self._divert is not None and self._divert(connection, request):
                    return  # another process has it now; closing our copy leaves theirs open
                self._answer(connection, request)
        except OSError:
            return  # the client went away mid-reply; nothing to tell anyone
        finally:
            with self._connections_lock:
                self._connections.discard(connection)
            connection.close()
            if self._on_close is not None and not self._stopping.is_set():
                try:
                    self._on_close()
                except Exception:  # a connection's end must not take the server down
                    logger.exception("closing a connection failed")

    def _answer(self, connection: socket.socket, request: dict[str, Any]) -> None:
        """Handle and reply; a stop meanwhile waits for the reply to be out (see ``stop``)."""
        with self._connections_lock:
            self._replying += 1
        try:
            connection.sendall(self._reply_frame(request))
        finally:
            with self._replies_done:
                self._replying -= 1
                self._replies_done.notify_all()

    def _reply_frame(self, request: dict[str, Any]) -> bytes:
        kind = request.get("type")
        try:
            reply = self._handler(request)
        except Exception as exc:  # noqa: BLE001 - one bad request must not take the server down
            # Code locations only: the request (and so the exception text) may hold a cookie.
            where = "".join(traceback.format_tb(exc.__traceback__)).rstrip()
            logger.error("handler raised %s on a %r request\n%s", type(exc).__name__, kind, where)
            return wire.encode_frame(wire.error_reply(f"internal error: {type(exc).__name__}"))
        if not isinstance(reply, dict):
            logger.error("handler returned %s for a %r request", type(reply).__name__, kind)
            return wire.encode_frame(wire.error_reply("internal error: reply is not an object"))
        if "v" not in reply:
            reply = {"v": wire.PROTOCOL_VERSION, **reply}
        try:
            return wire.encode_frame(reply)
        except wire.FrameError as exc:
            logger.error("reply to a %r request cannot be sent: %s", kind, exc)
            return wire.encode_frame(wire.error_reply(f"internal error: reply unusable ({exc})"))

    def _refuse(self, connection: socket.socket, reason: str) -> None:
        """Tell the client what was wrong, then hang up (its stream may be out of sync)."""
        try:
            connection.sendall(wire.encode_frame(wire.error_reply(reason)))
            connection.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        finally:
            with self._connections_lock:
                self._connections.discard(connection)
            connection.close()


def _write_endpoint_record(data_dir: Path, endpoint: handoff.Endpoint) -> None:
    """Atomically publish port and token, readable by the owner only."""
    final = Path(handoff.endpoint_file(data_dir))
    tmp = final.with_name(f"{final.name}.{os.getpid()}.tmp")
    record = {
        "v": wire.PROTOCOL_VERSION,
        "transport": "tcp",
        "host": wire.LOOPBACK,
        "port": endpoint.port,
        "token": endpoint.token,
        "pid": os.getpid(),
    }
    tmp.unlink(missing_ok=True)  # created afresh below: a planted file or link is never used
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
    try:
        if hasattr(os, "fchmod"):  # a leftover tmp file keeps its old mode otherwise
            os.fchmod(fd, 0o600)
        os.write(fd, wire.to_json(record).encode("ascii"))
        os.fsync(fd)
    finally:
        os.close(fd)
    tmp.replace(final)
    handoff.fsync_directory(str(data_dir))


def send_request(data_dir: Path, message: dict[str, Any], timeout: float = 5.0) -> dict[str, Any]:
    """One request to the supervisor of ``data_dir`` (for the CLI).

    Raises ``wire.UnreachableError`` if no supervisor answers, ``wire.FrameError`` on a reply
    that breaks the protocol.
    """
    return handoff.request(handoff.endpoint_for(data_dir), message, timeout)
