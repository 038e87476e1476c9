"""Stash's task entry: forward a plugin task to the supervisor and mirror its progress.

Stash runs one job at a time and shows a task's ``\\x01p\\x02<fraction>`` lines as the job's
progress bar, so a long task (a full sync) is run by the supervisor as a job and this process
polls it, turning its progress and messages into Stash log lines until it is done. ``start``
and ``stop`` work without a running supervisor (``start`` returns as soon as the supervisor
answers, exits, or records why it cannot start), and so does ``doctor``, which then runs the
checks in this process. Stdlib only, like the hook whose helpers it shares
(``stashplex_hook.py`` sits next to it in the plugin folder), but for that doctor: the task
runs with the plugin's configured interpreter, the project's virtualenv.

Stash logs a task's ``output`` only at DEBUG, below its default Info level, so the result
summary is also logged at info (and a failure, or a failed check, at error): otherwise the user
who ran the task sees nothing at all.
"""

from __future__ import annotations

import os
import sys
import time

try:
    import stashplex_hook as hook
except ImportError:  # not an installed plugin folder: the source tree or the installed package
    if not __package__:
        sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(__file__))))  # noqa: PTH120
    from stashplex.plugin import hook

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
#: How long ``start`` waits for a started supervisor to answer a ping.
START_WAIT_SECONDS = 30.0
#: ``stashplex run``'s exit code when another supervisor owns the data directory.
EXIT_ALREADY_RUNNING = 4


class TaskError(RuntimeError):
    """The task could not do its work; the message goes to Stash as the task's error."""


def ask(config: hook.HookConfig, message: dict[str, Any]) -> dict[str, Any]:
    """One request; a refusal becomes ``TaskError`` with the supervisor's reason."""
    reply = handoff.request(handoff.endpoint_for(config.data_dir), message, REQUEST_TIMEOUT_SECONDS)
    if reply.get("ok") is not True:
        raise TaskError(f"supervisor refused: {reply.get('error') or 'no reason given'}")
    return reply


def is_running(config: hook.HookConfig) -> bool:
    try:
        handoff.request(handoff.endpoint_for(config.data_dir), {"type": "ping"}, 2.0)
    except (wire.UnreachableError, wire.FrameError):
        return False
    return True


def start(config: hook.HookConfig, wait_seconds: float = START_WAIT_SECONDS) -> str:
    """Start the supervisor and wait until it answers, or say at once why it cannot.

    The task is the started process's parent, so a supervisor that exits (it refused its
    settings, its Python cannot import a package) is seen the moment it does, with its reason;
    so is an actor host that the watchdog cannot start (it records why in the problems file).
    """
    if is_running(config):
        return "supervisor already running"
    since_ns = time.time_ns()
    deadline = time.monotonic() + wait_seconds
    attempt = None
    while time.monotonic() < deadline:
        if attempt is None or attempt.process is None or _lost_to_another(attempt):
            # Nothing started while another supervisor holds the data directory (stopping,
            # or restarting its actor host): look again until one answers or it is gone.
            try:
                attempt = hook.start_supervisor_detached(config, cooldown=0.0)
            except OSError as exc:
                raise TaskError(f"cannot start the supervisor {config.spawn[0]}: {exc}") from None
        if is_running(config):
            return "supervisor started"
        if attempt.process is None:
            alive = hook.notices.supervisor_alive(config.data_dir)
            reason = start_problem(config, 0, keys=("cannot_start",)) if alive else None
            if reason:
                raise TaskError(f"a supervisor runs, but {reason}")
        else:
            code = attempt.process.poll()
            reason = start_problem(config, since_ns)  # it explains itself: say that
            if reason:
                raise TaskError(reason)
            if code is not None and code != EXIT_ALREADY_RUNNING and not is_running(config):
                reason = start_log_reason(config, attempt.log_from) or "it said nothing"
                raise TaskError(f"the supervisor exited at start (code {code}): {reason}")
        time.sleep(0.2)
    raise TaskError(
        f"the supervisor did not answer within {wait_seconds:g} s; see {start_log(config)}"
    )


def _lost_to_another(attempt: hook.StartAttempt) -> bool:
    return attempt.process is not None and attempt.process.poll() == EXIT_ALREADY_RUNNING


def start_problem(
    config: hook.HookConfig, since_ns: int, keys: tuple[str, ...] = ("settings", "cannot_start")
) -> str | None:
    """A start problem the supervisor recorded since ``since_ns``, with its fix."""
    for key in keys:
        problem = hook.notices.recorded_problems(config.data_dir).get(key)
        if problem is None:
            continue
        last = problem.get("last")
        last_ns = int(last * 1e9) if isinstance(last, int | float) else 0
        if max(problem["rev"], last_ns) >= since_ns:
            return f"{problem['message']}. Fix: {problem['fix']}"
    return None


def start_log_reason(config: hook.HookConfig, log_from: int) -> str:
    """Why the started supervisor died, from what it printed to its log since it started."""
    log_path = start_log(config)
    reason = hook.notices.reason_from_output(hook.notices.read_log_tail(log_path, log_from))
    return f"{reason} (see {log_path})" if reason else ""


def start_log(config: hook.HookConfig) -> str:
    """The supervisor's log, where a started supervisor's own output goes too."""
    return os.path.join(config.data_dir, hook.SPAWN_LOG)  # noqa: PTH118 - stdlib-light task


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


def follow_job(config: hook.HookConfig, job_id: Any) -> Any:
    """Poll ``job_id`` until done, echoing progress and new messages to Stash's log.

    The supervisor answers ``{"type": "job", "job": id, "after": n}`` with the job's
    ``progress`` (0..1), the ``messages`` after the first ``n``, ``done``, and when done a
    ``summary`` or an ``error``.
    """
    seen = 0
    missed = 0
    while True:
        try:
            reply = ask(config, {"type": "job", "job": job_id, "after": seen})
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
            return reply.get("summary")
        time.sleep(POLL_INTERVAL_SECONDS)


def run_task(config: hook.HookConfig, name: str, payload: dict[str, Any]) -> Any:
    if name == "start":
        return start(config)
    if name == "stop" and not is_running(config):
        return "supervisor is not running"
    if name == "doctor" and not is_running(config):
        return local_doctor(config)
    args = {key: value for key, value in payload["args"].items() if key != "task"}
    message = {"type": "task", "task": name, "args": args}
    connection = hook.events.connection_from(payload.get("server_connection"))
    if connection is not None:
        message["connection"] = connection
    try:
        reply = ask(config, message)
    except (wire.UnreachableError, wire.FrameError) as exc:
        raise TaskError(
            f"supervisor not reachable ({exc}); run the 'Start supervisor' task"
        ) from None
    if "job" in reply:
        return follow_job(config, reply["job"])
    return reply.get("summary")


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
        summary = run_task(hook.load_config(), args["task"], payload)
        log_summary(args["task"], summary)
    except hook.BadInputError as exc:
        return hook.fail(2, f"stashplex task: {exc}")
    except (hook.ConfigError, TaskError) as exc:
        return hook.fail(1, f"stashplex task: {exc}")
    except Exception as exc:  # noqa: BLE001 - a traceback would land in Stash's log as errors
        return hook.fail(1, f"stashplex task: internal error {type(exc).__name__}")
    hook.emit_result(summary, None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
