"""The supervisor process: owns a data directory and keeps one actor host alive in it.

The top of the supervision tree: it starts the actor host as a child process and watches it
with psutil (alive, not a zombie, heartbeat fresh, resident memory under the cap); anything else
gets it stopped and started again, with a backoff that resets once a host stayed up a while.
The first restart is immediate; a host that stops to apply changed settings starts again at
once. Its front door (``HostDoor``) answers hooks here, durably, whatever the host is doing, so
a host idle for ``idle_stop_minutes`` stops (:data:`EXIT_IDLE`, no failure) and is started again
when a hook is spooled, a request waits for it, or its recorded wake time comes.
The host's stderr is passed on to ours, and its last lines say why a host died before it was
ready, which goes into the problems record for Stash's log to show.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, NamedTuple, Protocol

import psutil

from stashplex.runtime.datadir import AlreadyRunningError, DataDir, DataDirError, InstanceLock
from stashplex.runtime.host_health import check_host
from stashplex.runtime.problems import CANNOT_START, ProblemLog, reason_from_output
from stashplex.runtime.wake import EXIT_IDLE, WOKEN_BY_TIMER_FLAG, sleep_until_needed

log = logging.getLogger(__name__)

EXIT_OK = 0
#: The host refused its settings (``stashplex.host.EXIT_CONFIG``): restarting cannot help.
EXIT_CONFIG = 2
EXIT_ALREADY_RUNNING = 4
#: The host stopped to apply changed settings (``stashplex.host.EXIT_RELOAD``): start it again.
EXIT_RELOAD = 6

#: Delays before the 1st, 2nd, ... restart of the host; the last one repeats.
RESTART_DELAYS_S: tuple[float, ...] = (0.0, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0)
#: A host that stayed up this long has earned a fresh backoff sequence.
BACKOFF_RESET_AFTER_S = 60.0
#: How long an orderly host shutdown may take before it is killed.
SHUTDOWN_TIMEOUT_S = 30.0
#: A host judged unhealthy (hung, bloated) gets less time to finish its in-flight messages.
UNHEALTHY_STOP_TIMEOUT_S = 10.0
POLL_INTERVAL_S = 0.25
#: What ``stashplex run`` becomes: this watchdog with its front door (named, never imported).
WATCHDOG_ENTRY = "stashplex.link.frontdoor"
#: Lines of the host's stderr kept to explain a host that dies before it is ready.
STDERR_TAIL_LINES = 40


class WatchLimits(Protocol):
    """What the watchdog needs of the settings (``Settings`` has both, and so does ``Limits``)."""

    rss_cap_mb: int
    heartbeat_timeout_seconds: float


class Limits(NamedTuple):
    rss_cap_mb: int
    heartbeat_timeout_seconds: float
    #: The front door's spool is as durable as the mailboxes: fsynced only when ``full``.
    mailbox_sync: str = "normal"


class HostDoor(Protocol):
    """Starts hosts; ``stashplex.link.frontdoor`` (a layer above) also answers hooks here."""

    def popen(self, argv: list[str]) -> subprocess.Popen[bytes]: ...

    def host_gone(self) -> None: ...

    def fall_asleep(self) -> None: ...

    def wait_for_demand(self, timeout: float) -> bool: ...

    def close(self) -> None: ...


class PlainDoor:
    """No front door: the host serves its own socket."""

    def popen(self, argv: list[str]) -> subprocess.Popen[bytes]:
        return subprocess.Popen(argv, stderr=subprocess.PIPE)

    def host_gone(self) -> None:
        """Nothing to let go of."""

    close = fall_asleep = host_gone

    def wait_for_demand(self, timeout: float) -> bool:
        """Nobody answers for a sleeping host here: start it again at once."""
        return True


class Watchdog:
    def __init__(
        self,
        data: DataDir,
        settings: WatchLimits,
        *,
        host_argv: Sequence[str] | None = None,
        log_level: str = "INFO",
        door: HostDoor | None = None,
    ) -> None:
        self.data = data
        self._door: HostDoor = door or PlainDoor()
        self.settings = settings
        self._host_argv = list(host_argv) if host_argv else None
        self._log_level = log_level
        self._stop = threading.Event()
        self.restarts = 0
        self._woken_by_timer = False

    def host_command(self) -> list[str]:
        command = self._host_command()
        return [*command, WOKEN_BY_TIMER_FLAG] if self._woken_by_timer else command

    def _host_command(self) -> list[str]:
        if self._host_argv is not None:
            return [
                *self._host_argv,
                "--data-dir",
                str(self.data.root),
                "--watch-parent",
                str(os.getpid()),
            ]
        command = [
            sys.executable,
            "-m",
            "stashplex.host",
            "--data-dir",
            str(self.data.root),
            "--log-level",
            self._log_level,
            "--watch-parent",
            str(os.getpid()),
        ]
        # In a terminal, the host's log shows there too; detached, it stays in host.log alone.
        return [*command, "--log-stderr"] if _isatty(sys.stderr) else command

    def request_stop(self, *_args: object) -> None:
        self._stop.set()

    def run(self) -> int:
        lock = InstanceLock(self.data)
        try:
            lock.acquire()
        except AlreadyRunningError as exc:
            log.error("%s", exc)
            return EXIT_ALREADY_RUNNING
        except DataDirError as exc:
            log.error("%s", exc)
            return EXIT_CONFIG
        try:
            code = self._supervise()
        finally:
            lock.release()
        log.info("supervisor stopped")
        return code

    def _supervise(self) -> int:
        try:
            return self._supervise_hosts(self._door)
        finally:
            self._door.close()

    def _supervise_hosts(self, door: HostDoor) -> int:
        failures = 0
        while not self._stop.is_set():
            started = time.time()
            child = door.popen(self.host_command())
            tail: deque[str] = deque(maxlen=STDERR_TAIL_LINES)
            pump = threading.Thread(target=_pump, args=(child.stderr, tail), daemon=True)
            pump.start()
            log.info("actor host started (pid %d)", child.pid)
            reason = self._watch(child, started)
            door.host_gone()
            if self._stop.is_set():
                self._terminate(child)
                return EXIT_OK
            if child.returncode == EXIT_IDLE:
                failures = 0
                self._woken_by_timer = sleep_until_needed(self.data.root, door, self._stop)
                continue
            self._woken_by_timer = False
            if child.returncode == EXIT_CONFIG:
                log.error(
                    "actor host refused its settings (the reason is in %s); not restarting it: "
                    "fix the setting, then start stashplex again",
                    self.data.logs / "host.log",
                )
                return EXIT_CONFIG
            self._terminate(child, timeout=UNHEALTHY_STOP_TIMEOUT_S)
            self.restarts += 1
            if child.returncode == EXIT_RELOAD:
                log.info("actor host stopped to apply changed settings; starting it again")
                continue
            pump.join(1.0)
            if not self._became_ready(child.pid, started):
                self._report_start_failure(child.pid, reason, list(tail))
            failures = 0 if time.time() - started > BACKOFF_RESET_AFTER_S else failures + 1
            delay = (
                RESTART_DELAYS_S[min(failures - 1, len(RESTART_DELAYS_S) - 1)] if failures else 0.0
            )
            log.warning("actor host %s; restarting in %.1f s", reason, delay)
            self._stop.wait(delay)
        return EXIT_OK

    def _became_ready(self, pid: int, started: float) -> bool:
        """A ready host writes its pid (``host.pid``) after everything else in its start."""
        try:
            written = self.data.host_pid_file.stat().st_mtime
            return written >= started - 1 and int(self.data.host_pid_file.read_text()) == pid
        except (OSError, ValueError):
            return False

    def _report_start_failure(self, pid: int, reason: str, stderr_tail: list[str]) -> None:
        """Nothing else tells the user of a host that dies before it is ready, and its stderr
        (an import error) or its own log lines (a lock it waited for) say why."""
        said = reason_from_output(stderr_tail) or reason_from_output(self._host_log_lines(pid))
        said = said or "it printed nothing"
        missing = "No module named" in said or "ImportError" in said
        fix = (
            install_fix(self.data.root)
            if missing
            else f"see {self.data.logs / 'supervisor.log'} and {self.data.logs / 'host.log'}"
        )
        log.error("actor host %s before it was ready: %s", reason, said)
        ProblemLog(self.data.root).report(
            CANNOT_START, f"the actor host {_steady(reason)} before it was ready: {said}", fix
        )

    def _watch(self, child: subprocess.Popen[bytes], started: float) -> str:
        proc = psutil.Process(child.pid)
        cap = self.settings.rss_cap_mb * 2**20
        while not self._stop.wait(POLL_INTERVAL_S):
            code = child.poll()
            if code is not None:
                return f"exited with code {code}"
            health = check_host(
                proc,
                heartbeat=self.data.heartbeat,
                started_at=started,
                heartbeat_timeout_s=self.settings.heartbeat_timeout_seconds,
                rss_cap_bytes=cap,
            )
            if not health.healthy:
                # A host that exited between the poll and the check is a zombie to psutil: its
                # exit code (a refused setting, an idle stop) decides, not its last state.
                code = child.poll()
                return health.reason if code is None else f"exited with code {code}"
        return "stop requested"

    def _terminate(
        self, child: subprocess.Popen[bytes], *, timeout: float = SHUTDOWN_TIMEOUT_S
    ) -> None:
        """SIGTERM (the host finishes in-flight messages), then SIGKILL after ``timeout``."""
        if child.poll() is not None:
            return
        child.send_signal(signal.SIGTERM)
        try:
            child.wait(timeout)
        except subprocess.TimeoutExpired:
            log.error("actor host did not stop within %.0f s; killing it", timeout)
            child.kill()
            child.wait()

    def _host_log_lines(self, pid: int) -> list[str]:
        """The lines process ``pid`` wrote at the end of ``host.log``."""
        try:
            with (self.data.logs / "host.log").open("rb") as handle:
                handle.seek(max(0, handle.seek(0, os.SEEK_END) - 16384))
                text = handle.read().decode("utf-8", errors="replace")
        except OSError:
            return []
        return [line for line in text.splitlines() if f"[{pid} " in line]


def install_fix(root: Path, prefix: str = sys.prefix) -> str:
    """What repairs the environment this process runs in when a package is missing from it.

    The plugin's own (``<data dir>/venv-<version>``, built by its *Install / repair* task) is
    rebuilt by that task; a checkout's virtualenv by pip from the checkout."""
    environment = Path(prefix).resolve()
    if environment.name.startswith("venv-") and environment.parent == Path(root).resolve():
        return (
            "run the 'Install / repair' task in Stash (Settings > Tasks > Plugin Tasks), which "
            f"rebuilds the supervisor's Python environment {environment}"
        )
    project = Path(__file__).resolve().parents[2]
    install = f"-e {project}" if (project / "pyproject.toml").exists() else "stashplex"
    return (
        f"install stashplex and its dependencies for {sys.executable}: "
        f"`{sys.executable} -m pip install {install}`"
    )


def _steady(reason: str) -> str:
    """``reason`` without the figures that differ each time (a record changes only on news)."""
    if reason.startswith("heartbeat"):
        return "stopped beating"
    if reason.startswith("RSS"):
        return "grew past rss_cap_mb"
    return reason


def _pump(stream: IO[bytes] | None, tail: deque[str]) -> None:
    """Pass the host's stderr on to ours, keeping its last lines."""
    if stream is None:
        return
    with stream:
        for raw in iter(stream.readline, b""):
            line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
            tail.append(line)
            try:
                sys.stderr.write(line + "\n")
                sys.stderr.flush()
            except (OSError, ValueError):  # our stderr is gone: keep the tail all the same
                pass


def _isatty(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except (OSError, ValueError, AttributeError):
        return False


def run_supervisor(
    data_dir: Path,
    settings: WatchLimits,
    *,
    log_level: str = "INFO",
    door: HostDoor | None = None,
) -> int:
    """Run the watchdog in this process until SIGTERM/SIGINT."""
    watchdog = Watchdog(DataDir(data_dir), settings, log_level=log_level, door=door)
    signal.signal(signal.SIGTERM, watchdog.request_stop)
    signal.signal(signal.SIGINT, watchdog.request_stop)
    return watchdog.run()


def exec_watchdog(data_dir: Path, limits: WatchLimits, *, log_level: str = "INFO") -> None:
    """Become the watchdog: ``stashplex run`` validates the settings, then execs this lean
    entry (standard library and psutil only), so the process that runs for months does not
    keep pydantic and the CLI in memory. The pid stays the same."""
    sys.stdout.flush()
    sys.stderr.flush()
    argv = [sys.executable, "-m", WATCHDOG_ENTRY, "--data-dir", str(data_dir)]
    argv += ["--rss-cap-mb", str(limits.rss_cap_mb), "--log-level", log_level]
    argv += ["--heartbeat-timeout", str(limits.heartbeat_timeout_seconds)]
    argv += ["--mailbox-sync", str(getattr(limits, "mailbox_sync", "normal"))]
    os.execv(sys.executable, argv)  # noqa: S606 - our own interpreter and module


def main(
    argv: Sequence[str] | None = None, *, door: Callable[[Path, Limits], HostDoor] | None = None
) -> int:
    """The watchdog process; ``door`` builds its front door for the data directory."""
    import argparse

    from stashplex.runtime.logs import configure_process_logging

    parser = argparse.ArgumentParser(prog="stashplex-watchdog", description=__doc__)
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--rss-cap-mb", type=int, required=True)
    parser.add_argument("--heartbeat-timeout", type=float, required=True)
    parser.add_argument("--log-level", default="INFO")
    parser.add_argument("--mailbox-sync", choices=("normal", "full"), default="normal")
    args = parser.parse_args(argv)
    os.umask(0o077)  # every file the watchdog and its hosts create is owner-only
    try:
        data = DataDir(args.data_dir).ensure()
    except (DataDirError, OSError) as exc:  # OSError: read-only, full, not ours to write
        print(f"stashplex: cannot use the data directory {args.data_dir}: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    configure_process_logging(level=args.log_level, log_file=data.logs / "supervisor.log")
    limits = Limits(args.rss_cap_mb, args.heartbeat_timeout, args.mailbox_sync)
    chosen = door(data.root, limits) if door is not None else None
    return run_supervisor(data.root, limits, log_level=args.log_level, door=chosen)


if __name__ == "__main__":
    sys.exit(main())
