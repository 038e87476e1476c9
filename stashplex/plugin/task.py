"""Stash's task entry: forward a plugin task to the supervisor and mirror its progress.

Stash runs one job at a time and shows a task's ``\\x01p\\x02<fraction>`` lines as the job's
progress bar, so a long task (a full sync) is run by the supervisor as a job and this process
polls it, turning its progress and messages into Stash log lines until it is done. ``install``
(*Install / repair*), ``start``, ``stop`` and ``uninstall`` (*Prepare removal*) work without a
running supervisor (``stashplex_lifecycle``). A supervisor whose reply names an older version
than these plugin files is restarted into them once the task's own work is done. Stdlib only,
like the hook whose helpers it shares (``stashplex_hook.py`` sits next to it).

Stash logs a task's ``output`` only at DEBUG, below its default Info level, so the result
summary is also logged at info (and a failure, or a failed check, at error): otherwise the user
who ran the task sees nothing at all.
"""

from __future__ import annotations

import os
import sys
import time

try:
    import stashplex_environment as environment
    import stashplex_hook as hook
    import stashplex_lifecycle as lifecycle
except ImportError:  # not an installed plugin folder: the source tree or the installed package
    if not __package__:
        sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(__file__))))  # noqa: PTH120
    from stashplex.plugin import environment, hook, lifecycle

wire = hook.wire
handoff = hook.handoff

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

#: Budget for each request to the supervisor.
REQUEST_TIMEOUT_SECONDS = 10.0
#: How often a running job is polled.
POLL_INTERVAL_SECONDS = 0.5
#: Consecutive failed polls after which the task gives up on a job.
MAX_MISSED_POLLS = 20


class TaskError(RuntimeError):
    """The task could not do its work; the message goes to Stash as the task's error."""


def ask(config: hook.HookConfig, message: dict[str, Any]) -> dict[str, Any]:
    """One request; a refusal becomes ``TaskError`` with the supervisor's reason."""
    reply = handoff.request(handoff.endpoint_for(config.data_dir), message, REQUEST_TIMEOUT_SECONDS)
    if reply.get("ok") is not True:
        raise TaskError(f"supervisor refused: {reply.get('error') or 'no reason given'}")
    return reply


class JobLink:
    """One connection to the supervisor for a task and the job it follows.

    Stash cancels a task by killing its process (``cmd.Process.Kill()``, SIGKILL, in
    ``rawPluginTask.Stop``, pkg/plugin/raw.go), which no handler can catch. So the task asks on
    one connection with ``bind``, and the supervisor binds the job to it: when the connection
    drops with the job unfinished (the kernel closes a killed process's socket), the supervisor
    cancels the job. A drop on the supervisor's side (it restarts) loses the binding there;
    the next request reconnects and binds again.
    """

    def __init__(self, config: hook.HookConfig) -> None:
        self.config = config
        self._sock: Any = None

    def ask(self, message: dict[str, Any]) -> dict[str, Any]:
        """One request on the link (reconnecting if needed); a refusal is ``TaskError``."""
        frame = wire.encode_frame({"v": wire.PROTOCOL_VERSION, **message, "bind": True})
        try:
            if self._sock is None:
                endpoint = handoff.endpoint_for(self.config.data_dir)
                self._sock = handoff.connect(endpoint, REQUEST_TIMEOUT_SECONDS)
                if endpoint.kind == "tcp":  # the token first, as handoff.request sends it
                    auth = {"v": wire.PROTOCOL_VERSION, "type": "auth", "token": endpoint.token}
                    frame = wire.encode_frame(auth) + frame
            self._sock.settimeout(REQUEST_TIMEOUT_SECONDS)
            self._sock.sendall(frame)
            reply = wire.read_frame(self._sock, time.monotonic() + REQUEST_TIMEOUT_SECONDS)
        except wire.ConnectionClosedError:
            self.close()
            raise wire.UnreachableError("the supervisor closed the connection") from None
        except OSError as exc:
            self.close()
            raise wire.UnreachableError(f"no reply from the supervisor: {exc}") from None
        except wire.FrameError:
            self.close()
            raise
        if reply.get("ok") is not True:
            raise TaskError(f"supervisor refused: {reply.get('error') or 'no reason given'}")
        return reply

    def close(self) -> None:
        if self._sock is not None:
            try:
                self._sock.close()
            finally:
                self._sock = None


def is_running(config: hook.HookConfig) -> bool:
    try:
        handoff.request(handoff.endpoint_for(config.data_dir), {"type": "ping"}, 2.0)
    except (wire.UnreachableError, wire.FrameError):
        return False
    return True


def lifecycle_task(config: hook.HookConfig, name: str) -> str:
    """The tasks that install, start or stop-for-removal the supervisor itself."""
    try:
        if name == "uninstall":
            return "\n".join(lifecycle.prepare_removal(config, hook.log))
        return "\n".join(lifecycle.converge(config, hook.log, start=name == "start"))
    except OSError as exc:  # a read-only or full data directory, one that is not ours
        raise TaskError(
            f"cannot write the data directory {config.data_dir}: {exc.strerror or exc}; make it "
            f"writable, or set {hook.DATA_DIR_ENV} to another"
        ) from None


def follow_version(config: hook.HookConfig, reply: dict[str, Any]) -> None:
    """After the task: restart an older supervisor into these plugin files; keep a newer one."""
    running = reply.get("version")
    if not isinstance(running, str) or not running or running == environment.PLUGIN_VERSION:
        return
    if environment.compare_versions(running, environment.PLUGIN_VERSION) > 0:
        hook.log("warning", environment.downgrade_message(running))
        return
    hook.log(
        "info",
        f"the supervisor runs stashplex {running}, the plugin files are "
        f"{environment.PLUGIN_VERSION}: restarting it into the new version",
    )
    try:
        for line in lifecycle.converge(config, hook.log, start=True):
            hook.log("info", line)
    except lifecycle.ProvisionError as exc:
        hook.log("error", f"upgrading the supervisor failed: {exc}")


def local_doctor(config: hook.HookConfig) -> str:
    """The Health check in this process when no supervisor answers.

    It runs with the plugin's configured interpreter (the project's virtualenv), so the full
    package is usually importable; if it is not, that is the finding.
    """
    try:
        from stashplex.ops.doctor import doctor_report
    except ImportError as exc:
        raise TaskError(
            f"no supervisor answers, and {sys.executable} cannot import stashplex to check on its"
            f" own ({exc}); reinstall the project's virtualenv"
        ) from None
    where = handoff.endpoint_for(config.data_dir).describe()
    supervisor = f"no supervisor answers at {where}; the 'Start supervisor' task starts it"
    return doctor_report(config.data_dir, supervisor=supervisor)


def follow_job(link: JobLink, job_id: Any) -> Any:
    """Poll ``job_id`` until done, echoing progress and new messages to Stash's log.

    The supervisor answers ``{"type": "job", "job": id, "after": n}`` with the job's
    ``progress`` (0..1), the ``messages`` after the first ``n``, ``done``, and when done a
    ``summary`` or an ``error``. Every poll goes on the task's link, which binds the job to it.
    """
    seen = 0
    missed = 0
    while True:
        try:
            reply = link.ask({"type": "job", "job": job_id, "after": seen})
        except (wire.UnreachableError, wire.FrameError) as exc:
            missed += 1
            if missed >= MAX_MISSED_POLLS:
                raise TaskError(
                    f"lost contact with the supervisor during job {job_id}: {exc}"
                ) from None
            time.sleep(POLL_INTERVAL_SECONDS)
            continue
        missed = 0
        messages = reply.get("messages") or []
        for message in messages:
            hook.log("info", str(message))
        seen += len(messages)
        progress = reply.get("progress")
        if isinstance(progress, int | float) and not isinstance(progress, bool):
            hook.log("progress", f"{min(max(float(progress), 0.0), 1.0):.4f}")
        if reply.get("done") is True:
            if reply.get("error"):
                raise TaskError(f"job {job_id} failed: {reply['error']}")
            if reply.get("cancelled_at"):
                raise TaskError(f"job {job_id} was cancelled: {reply.get('summary')}")
            return reply.get("summary")
        time.sleep(POLL_INTERVAL_SECONDS)


def run_task(config: hook.HookConfig, name: str, payload: dict[str, Any]) -> Any:
    if name in ("install", "start", "uninstall"):
        return lifecycle_task(config, name)
    if name == "stop" and not is_running(config):
        # A watchdog whose actor host cannot start answers nothing, but it runs: stop it.
        if not lifecycle.stop_supervisor(config.data_dir, hook.log):
            return "supervisor is not running"
        return "stopped the supervisor (its actor host was not answering)"
    if name == "doctor" and not is_running(config):
        return local_doctor(config)
    args = {key: value for key, value in payload["args"].items() if key != "task"}
    message = {"type": "task", "task": name, "args": args}
    connection = hook.events.connection_from(payload.get("server_connection"))
    if connection is not None:
        message["connection"] = connection
    link = JobLink(config)
    try:
        try:
            reply = link.ask(message)
        except (wire.UnreachableError, wire.FrameError) as exc:
            raise TaskError(
                f"supervisor not reachable ({exc}); run the 'Start supervisor' task"
            ) from None
        summary = follow_job(link, reply["job"]) if "job" in reply else reply.get("summary")
    finally:
        link.close()  # the job is over (or this task failed): the binding ends with it
    if name != "stop":
        follow_version(config, reply)
    return summary


def log_summary(name: str, summary: Any) -> None:
    """The task's result as info lines in Stash's log, one per line of a multi-line report.

    Stash shows the ``output`` only at DEBUG; without this a task's result is invisible at
    Stash's default log level.
    """
    if summary is None or summary == "":
        hook.log("info", f"stashplex task {name}: done")
        return
    text = summary if isinstance(summary, str) else wire.to_json(summary)
    for line in text.splitlines():
        if line.strip():
            # A failed Health check line is a failure: Stash shows it as one.
            hook.log("error" if line.startswith("[FAIL]") else "info", line)


def main() -> int:
    try:
        payload = hook.read_stdin_object("task input")
        args = payload.get("args")
        if not isinstance(args, dict) or not isinstance(args.get("task"), str):
            raise hook.BadInputError("task input has no 'args.task' name (set it in defaultArgs)")
        config = hook.load_config(server_connection=payload.get("server_connection"))
        summary = run_task(config, args["task"], payload)
        log_summary(args["task"], summary)
    except hook.BadInputError as exc:
        return hook.fail(2, f"stashplex task: {exc}")
    except (hook.ConfigError, TaskError, lifecycle.ProvisionError) as exc:
        return hook.fail(1, f"stashplex task: {exc}")
    except Exception as exc:  # noqa: BLE001 - a traceback would land in Stash's log as errors
        return hook.fail(1, f"stashplex task: internal error {type(exc).__name__}")
    hook.emit_result(summary, None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
