"""The actor-host process: mailboxes, the five actors under supervision, the local socket.

It is started and watched by the watchdog (``supervisor.py`` / ``stashplex run``), which
restarts it if it dies, hangs (stale heartbeat) or grows past its memory cap. Inside, the
one-for-one :class:`~stashplex.runtime.supervision.Supervisor` restarts crashed actors; past its
restart intensity this process exits with :data:`EXIT_ESCALATED` and the watchdog takes over.

Exit codes are part of the contract with the watchdog.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from actors.addresses import INTAKE, START_ORDER
from actors.base import ActorContext, MailboxActor
from actors.messages import INTAKE_RECOVER
from stashplex.config.loading import read_effective_settings, stash_client
from stashplex.config.settings import Settings, SettingsError, secret_values
from stashplex.config.watch import SettingsWatch, settings_fix
from stashplex.host import idle
from stashplex.host.front_door_side import SpoolPokedWatch, yield_cpu_if_behind_front_door
from stashplex.host.host_lock import release_host_lock, take_host_lock
from stashplex.ops.control import ControlHandler
from stashplex.runtime.datadir import DataDir, DataDirError
from stashplex.runtime.envelope import Envelope
from stashplex.runtime.logs import configure_logging, mask_secrets
from stashplex.runtime.mailbox import PostOffice
from stashplex.runtime.problems import CANNOT_START, SETTINGS, ProblemLog
from stashplex.runtime.supervision import ChildSpec, RestartIntensity, Supervisor
from stashplex.runtime.trace import TraceSink
from stashplex.runtime.wake import EXIT_IDLE, WOKEN_BY_TIMER_FLAG, clear_wake

log = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_CONFIG = 2
EXIT_ESCALATED = 3
EXIT_HOST_LOCKED = 5
#: Stopped to apply changed settings: the watchdog starts the next host at once.
EXIT_RELOAD = 6

#: How often the heartbeat file is touched; the watchdog's timeout is a multiple of it.
HEARTBEAT_INTERVAL_S = 1.0
#: Heartbeats between spool drains: a hook spools when a busy host answers too slowly.
SPOOL_DRAIN_EVERY_BEATS = 5
#: How long a new host waits for an orphaned predecessor to let go of the mailboxes.
HOST_LOCK_WAIT_S = 30.0
#: Heartbeats between looks at whether the settings' sources changed (without a hook).
SETTINGS_CHECK_EVERY_BEATS = 60

ServiceFactory = Callable[[DataDir, Settings, PostOffice], dict[str, Any]]


def actor_classes() -> dict[str, type[MailboxActor]]:
    from actors.dead_letter import DeadLetter
    from actors.intake import Intake
    from actors.matcher import Matcher
    from actors.plex_gateway import PlexGateway
    from actors.scheduler import Scheduler

    classes: list[type[MailboxActor]] = [Intake, Matcher, PlexGateway, Scheduler, DeadLetter]
    return {cls.mailbox_name: cls for cls in classes}


class Host:
    def __init__(
        self,
        data: DataDir,
        settings: Settings,
        *,
        serve: bool = True,
        classes: dict[str, type[MailboxActor]] | None = None,
        extra_services: ServiceFactory | None = None,
        watch_parent: int | None = None,
        settings_watch: SettingsWatch | None = None,
        woken_by_timer: bool = False,
    ) -> None:
        self.data = data
        self.settings = settings
        #: Notices changed settings; only a host of its own process has one (see ``main``).
        self.settings_watch = settings_watch
        if settings_watch is not None:
            settings_watch.on_change = self.request_reload
        self._serve = serve
        self._classes = classes or actor_classes()
        self._extra_services = extra_services
        self._watch_parent = watch_parent
        self._shutdown = threading.Event()
        self._exit_code = EXIT_OK
        self._host_lock_fd: int | None = None
        self.post: PostOffice | None = None
        self.supervisor: Supervisor | None = None
        self.server: Any = None
        self.started = threading.Event()
        self._spool_waiting = threading.Event()
        self._drain_lock = threading.Lock()
        self.started_at = time.time()
        self._woken_by_timer = woken_by_timer
        #: Only behind the front door (someone answers hooks while we sleep) and when set.
        self._idle = idle.IdleClock(0)
        self._channel: Any = None
        self._receiver: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------

    def run(self) -> int:
        self.data.ensure()
        if not self._take_host_lock():
            log.error("another actor host still holds %s; giving up", self.data.root)
            return EXIT_HOST_LOCKED
        try:
            self._start()
            self.started.set()
            beats = 0
            while not self._shutdown.wait(HEARTBEAT_INTERVAL_S):
                self._beat()
                beats += 1
                if beats % SPOOL_DRAIN_EVERY_BEATS == 0:
                    self._drain_spool(self.control, quiet=True)  # any a wake-up missed
                    self._maybe_log_status()
                if beats % SETTINGS_CHECK_EVERY_BEATS == 0:
                    self._check_settings()
                self._stop_if_idle()
        finally:
            self._stop()
            self._release_host_lock()
        return self._exit_code

    @property
    def supervisor_pid(self) -> int | None:
        """The watchdog that started this host (None when run on its own, as in tests)."""
        return self._watch_parent

    def request_shutdown(self, *_args: object) -> None:
        self._shutdown.set()
        self._spool_waiting.set()

    def use_stash_connection(self, connection: dict[str, Any]) -> None:
        """A hook's or task's ``server_connection``: Stash's address (when no ``stash_url`` was
        set) and its fresh session cookie; kept in memory only."""
        self.ctx.service("stash").use_connection(connection)

    def _stop_if_idle(self) -> None:
        """Exit with ``EXIT_IDLE`` once idle for ``idle_stop_minutes`` (see ``host.idle``)."""
        if not self._idle.idle_stop_s or self._shutdown.is_set():
            return
        busy, wake_at, wake_for = idle.busy_with(self.control.ops, self.server, self.data.root)
        if not self._idle.due(busy is not None):
            return
        idle.record_sleep(self.data.root, self._idle.idle_stop_s, wake_at, wake_for)
        idle.close_handover(self._channel, self._receiver)
        idle.wait_for_clients(self.server)
        self._exit_code = EXIT_IDLE
        self._shutdown.set()
        self._spool_waiting.set()

    def _handle(self, request: dict[str, Any]) -> dict[str, Any]:
        self._idle.asked()
        return self.control.handle(request)

    def _woken(self) -> None:
        self._idle.asked()
        self._spool_waiting.set()

    def request_reload(self, _changes: str = "") -> None:
        """Stop so that the watchdog starts a host with the changed settings at once."""
        self._exit_code = EXIT_RELOAD
        self._shutdown.set()

    def _check_settings(self) -> None:
        """Look at the settings' sources off the heartbeat thread (Stash may be slow)."""
        watch = self.settings_watch
        if watch is not None and watch.due():
            threading.Thread(target=watch.check, name="settings-watch", daemon=True).start()

    def request_stop_all(self) -> None:
        """Stop the whole supervisor (the operator asked): tell the watchdog, then ourselves."""
        if self._watch_parent is not None:
            os.kill(self._watch_parent, signal.SIGTERM)
        else:
            self._shutdown.set()

    def _start(self) -> None:
        self.post = PostOffice(
            self.data.mailboxes,
            START_ORDER,
            sync=self.settings.mailbox_sync,
            on_lost=self._mailbox_lost,
        )
        services: dict[str, Any] = {
            "settings": self.settings,
            "data_dir": self.data,
            "trace_sink": TraceSink(self.data.root / "trace.jsonl"),
            "stash": stash_client(self.settings),
        }
        if self.settings_watch is not None:
            services["settings_watch"] = self.settings_watch  # Intake asks it before each take
        lost = [name for name in self.post.names() if self.post[name].quarantined]
        if lost:
            services["mailboxes_lost"] = lost  # Intake takes it once: it re-sends what they held
        if self._extra_services is not None:
            services.update(self._extra_services(self.data, self.settings, self.post))
        ctx = ActorContext(self.post, max_attempts=self.settings.max_attempts, services=services)
        self.ctx = ctx
        specs = [self._child_spec(name, ctx) for name in START_ORDER]
        self.supervisor = Supervisor(
            specs,
            intensity=RestartIntensity(
                self.settings.restart_max, self.settings.restart_period_seconds
            ),
            on_escalate=self._escalate,
        )
        self.supervisor.start()
        control = ControlHandler(self)
        self.control = control
        if self._serve:
            self._serve_requests(control)
        # After the socket listens, so no hook can spool into a gap nobody drains.
        self._drain_spool(control)
        self.data.write_host_pid(os.getpid())
        self._beat()
        self._status_logged_at = 0
        self._maybe_log_status(force=True)
        ProblemLog(self.data.root).resolve(CANNOT_START)  # it starts
        log.info("actor host %d ready in %s", os.getpid(), self.data.root)

    def _maybe_log_status(self, *, force: bool = False) -> None:
        """The one-line status, on start and every ``status_every_jobs`` finished jobs."""
        from stashplex.ops.statusline import status_line

        status = self.control.ops.status()
        done = status["counters"].get("jobs_done", 0) // self.settings.status_every_jobs
        if force or done > self._status_logged_at:
            self._status_logged_at = done
            log.info("status: %s", status_line(status))

    def _mailbox_lost(self, name: str) -> None:
        """A mailbox was set aside while running: what it held must be sent again."""
        assert self.post is not None
        self.post.send(INTAKE, Envelope(kind=INTAKE_RECOVER, payload={"mailboxes": [name]}))

    def _child_spec(self, name: str, ctx: ActorContext) -> ChildSpec:
        cls = self._classes[name]
        mailbox = ctx.post[name]
        return ChildSpec(
            name=name,
            start=lambda: cls.start(ctx),
            prepare_stop=mailbox.pause,
            crash_contained=lambda: ctx.take_contained(name),
        )

    def _serve_requests(self, control: ControlHandler) -> None:
        """Requests handed over by the watchdog's front door (it answers hooks from the spool
        it wakes us to drain), or on a socket of our own (run alone, or no Unix sockets)."""
        from stashplex.link import handover
        from stashplex.link.ipc import LocalServer

        self.server = LocalServer(self.data.root, self._handle, on_close=control.connection_closed)
        ends = handover.host_ends(os.environ.pop(handover.ENV_VAR, ""))
        if ends is None:
            self.server.start()
            return
        self._channel, wake_fd = ends
        clear_wake(self.data.root)
        if minutes := self.settings.idle_stop_minutes:
            self._idle = idle.IdleClock(minutes * 60, woken_by_timer=self._woken_by_timer)
        for target, args, name in (
            (self._drain_on_wake, (control,), "spool-drain"),
            (handover.watch_wakes, (wake_fd, self._woken), "spool-wakes"),
            (handover.receive, (self._channel, self.server.adopt), "handover"),
        ):
            thread = threading.Thread(target=target, args=args, name=name, daemon=True)
            thread.start()
            if name == "handover":
                self._receiver = thread  # joined when the host goes to sleep

    def _drain_on_wake(self, control: ControlHandler) -> None:
        """Drain the spool on each wake-up (one during a drain makes one more pass)."""
        while not self._shutdown.is_set():
            self._spool_waiting.wait()
            self._spool_waiting.clear()
            if self._shutdown.is_set():
                return
            self._drain_spool(control, quiet=True)

    def _drain_spool(self, control: ControlHandler, *, quiet: bool = False) -> None:
        """Spooled events (the front door's, a hook's) to Intake, one drain at a time."""
        from stashplex.link.spool import drain_spool

        with self._drain_lock:
            report = drain_spool(self.data.root, control.accept_hook_event, quiet=quiet)
        if report.halted_by:
            log.info("spool drained: %s", report)

    def _stop(self) -> None:
        log.info("actor host shutting down")
        if self.server is not None:
            self.server.stop()
        if self.supervisor is not None and not self.supervisor.stopping:
            self.supervisor.stop()
        if self.post is not None:
            with self._drain_lock:  # no drain is half-way through a mailbox being closed
                if self._exit_code == EXIT_IDLE:
                    idle.note_work_left(self.data.root, self.post)
                self.post.close()
        if sink := getattr(self, "ctx", None) and self.ctx.services.get("trace_sink"):
            sink.close()
        log.info("actor host stopped (exit %d)", self._exit_code)

    def _escalate(self, reason: str) -> None:
        log.critical("escalating to the watchdog: %s", reason)
        self._exit_code = EXIT_ESCALATED
        self._shutdown.set()

    def _beat(self) -> None:
        if self._watch_parent is not None and os.getppid() != self._watch_parent:
            log.error("the watchdog (pid %d) is gone; shutting down", self._watch_parent)
            self._shutdown.set()
            return
        if self.supervisor is None or self.supervisor.escalated:
            return
        self.data.touch_heartbeat()

    def _take_host_lock(self) -> bool:
        """Mailboxes must never be opened by two processes (see ``host.host_lock``)."""
        self._host_lock_fd = take_host_lock(self.data.root, HOST_LOCK_WAIT_S)
        return self._host_lock_fd is not None

    def _release_host_lock(self) -> None:
        release_host_lock(self._host_lock_fd)
        self._host_lock_fd = None


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="stashplex-host", description=__doc__)
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--log-level", default="INFO")
    parser.add_argument("--watch-parent", type=int, default=None)
    parser.add_argument(
        "--log-stderr", action="store_true", help="also log to stderr (a watchdog in a terminal)"
    )
    parser.add_argument(WOKEN_BY_TIMER_FLAG, action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    os.umask(0o077)  # every file this process creates is owner-only
    data = DataDir(args.data_dir.expanduser().resolve())
    try:
        data.ensure()
    except DataDirError as exc:
        print(f"stashplex host: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    configure_logging(
        level=args.log_level,
        log_file=data.logs / "host.log",
        stderr=args.log_stderr or sys.stderr.isatty(),
    )
    problems = ProblemLog(data.root)
    try:
        settings, from_stash = read_effective_settings(data.config_file)
    except SettingsError as exc:
        log.error("%s", exc)
        problems.report(
            SETTINGS, f"the supervisor cannot start: {exc}", settings_fix(exc)
        )
        return EXIT_CONFIG
    problems.resolve(SETTINGS)  # before any actor runs: Intake may refuse a change before ready
    mask_secrets(secret_values(settings))
    yield_cpu_if_behind_front_door(settings.host_cpu_priority)
    watch = SpoolPokedWatch(
        settings,
        spool=data.root / "spool",
        from_stash=from_stash,
        load=lambda: read_effective_settings(data.config_file, quiet=True),
        problems=problems,
    )
    host = Host(
        data,
        settings,
        watch_parent=args.watch_parent,
        settings_watch=watch,
        woken_by_timer=args.woken_by_timer,
    )
    signal.signal(signal.SIGTERM, host.request_shutdown)
    signal.signal(signal.SIGINT, host.request_shutdown)
    return host.run()


__all__ = [
    "EXIT_CONFIG", "EXIT_ESCALATED", "EXIT_IDLE", "EXIT_OK", "EXIT_RELOAD", "INTAKE", "Host", "main"
]  # fmt: skip
