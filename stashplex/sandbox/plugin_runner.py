"""Runs Stash plugins (raw interface) exactly the way Stash does, so plugin tests mean something.

Hooks run synchronously: the mutation that fired them waits until every hook process has exited,
so a slow hook is a slow save for the user. The runner measures exactly that (`SaveResult`).
Tasks go through one serialized job queue, as Stash's job manager runs one job at a time.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import IO, Any

from stashplex.runtime.quiet_pool import QuietPool
from stashplex.sandbox.stash.contracts import HookChain, PluginRun, SaveResult
from stashplex.sandbox.stash.plugin_log import MAX_LINE_BYTES, LogLine, parse_stderr_line
from stashplex.sandbox.stash.plugin_manifest import (
    ManifestError,
    PluginManifest,
    PluginOperation,
    load_manifest,
)

__all__ = [
    "LogLine",
    "ManifestError",
    "PluginRun",
    "PluginRunner",
    "PluginStartError",
    "SaveResult",
    "go_json",
]

# Stash skips a plugin's hook once the same (plugin, trigger) was visited this often in one chain.
MAX_HOOK_CHAIN_VISITS = 10
# Go closes the stderr pipe once the process is reaped; a grandchild keeping it open is cut off.
STDERR_DRAIN_SECONDS = 1.0
#: Threads that write a plugin's stdin and read its stderr. Stash does both in goroutines, which
#: Go runs on OS threads it already has (`rawPluginTask.Start`, pkg/plugin/raw.go); two threads
#: started per hook would make every hook wait, on a busy CPU, for their first time slice.
_PIPE_THREADS = QuietPool(4096, "stash-plugin-pipes", linger_s=120.0)

#: Builds `server_connection` for one run from the run's hook chain and user (a fresh cookie each
#: call, as Stash calls `makeServerConnection` per hook and per task, pkg/plugin/plugins.go).
ConnectionFactory = Callable[[HookChain, str], dict[str, Any]]


class PluginStartError(RuntimeError):
    """The plugin process could not be started (Stash then aborts the remaining hooks)."""


def go_json(value: Any) -> str:
    """Serialize like Go's encoding/json: compact, raw UTF-8, HTML characters escaped."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    for raw, escaped in (
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("&", "\\u0026"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ):
        text = text.replace(raw, escaped)
    return text


def decode_plugin_output(stdout: str) -> tuple[Any, str | None]:
    """Stash decodes stdout as `{"output", "error"}`; anything else is the raw output string."""
    try:
        decoded = json.loads(stdout)
    except ValueError:
        return stdout, None
    if not isinstance(decoded, dict):
        return stdout, None
    error = decoded.get("error")
    if error is not None and not isinstance(error, str):
        return stdout, None
    return decoded.get("output"), error


class PluginRunner:
    """Stash's plugin cache plus its executor: load manifests, fire hooks, run tasks."""

    def __init__(
        self,
        connection: ConnectionFactory,
        cwd: str | Path,
        python_path: str | None = sys.executable,
    ) -> None:
        self._connection = connection
        self.cwd = str(cwd)
        self.python_path = python_path
        self.plugins: list[PluginManifest] = []
        self.disabled: set[str] = set()
        self.runs: list[PluginRun] = []
        self.saves: list[SaveResult] = []
        self.stash_log: list[LogLine] = []
        self._record_lock = threading.Lock()
        self._jobs = ThreadPoolExecutor(max_workers=1, thread_name_prefix="stash-job-queue")
        self._job_ids = itertools.count(1)
        self.jobs: dict[str, Future[PluginRun]] = {}
        self._processes: dict[str, subprocess.Popen[bytes]] = {}
        self._stopped: set[str] = set()

    # -- loading --------------------------------------------------------------------------------
    def load(self, manifest_path: str | Path) -> PluginManifest:
        manifest = load_manifest(manifest_path)
        if manifest.interface != "raw":
            raise ManifestError(f"{manifest.id}: only the raw interface is emulated")
        if any(p.id.lower() == manifest.id.lower() for p in self.plugins):
            raise ManifestError(f"plugin ID {manifest.id!r} is already loaded (IDs are unique)")
        if Path(self.cwd).resolve() == manifest.directory:
            raise ManifestError("Stash never runs a plugin with its own folder as working dir")
        self.plugins.append(manifest)
        return manifest

    def plugin(self, plugin_id: str) -> PluginManifest:
        for manifest in self.plugins:
            if manifest.id == plugin_id:
                return manifest
        raise KeyError(f"plugin {plugin_id} not found")

    # -- hooks ----------------------------------------------------------------------------------
    def fire_hooks(
        self,
        trigger: str,
        object_id: int,
        hook_input: Any,
        input_fields: list[str] | None,
        chain: HookChain = (),
        *,
        user_id: str = "",
    ) -> list[PluginRun]:
        """Run every matching hook of every enabled plugin, one after another, and wait.

        As `executePostHooks` (pkg/plugin/plugins.go): each hook gets its own cookie, minted for
        the triggering request's user with this (plugin, trigger) appended to the chain.
        """
        runs: list[PluginRun] = []
        for manifest in self.plugins:
            if manifest.id in self.disabled:
                continue
            if chain.count((manifest.id, trigger)) >= MAX_HOOK_CHAIN_VISITS:
                self._log("debug", manifest, f"{trigger}: hook loop limit reached, skipping")
                continue
            for hook in manifest.hooks_for(trigger):
                context: dict[str, Any] = {"type": trigger, "input": hook_input}
                if object_id:
                    context = {"id": object_id, **context}
                if input_fields:
                    context["inputFields"] = list(input_fields)
                args = {**hook.default_args, "hookContext": context}
                visited = (*chain, (manifest.id, trigger))
                try:
                    run = self._execute(
                        manifest,
                        hook,
                        kind="hook",
                        trigger=trigger,
                        args=args,
                        chain=visited,
                        user_id=user_id,
                    )
                except PluginStartError as error:
                    self._log("error", manifest, f"{trigger}: {error}; aborting remaining hooks")
                    return runs
                runs.append(run)
        return runs

    def record_save(self, save: SaveResult) -> None:
        with self._record_lock:
            self.saves.append(save)

    # -- tasks ----------------------------------------------------------------------------------
    def submit_task(
        self,
        plugin_id: str,
        task_name: str,
        args: dict[str, Any] | None = None,
        user_id: str = "",
    ) -> str:
        """Queue a task on the single job queue (like `runPluginTask`); returns the job ID."""
        manifest = self.plugin(plugin_id)
        task = manifest.task(task_name)
        merged = dict(args or {})
        for key, value in task.default_args.items():
            merged.setdefault(key, value)
        job_id = str(next(self._job_ids))
        self.jobs[job_id] = self._jobs.submit(
            self._execute,
            manifest,
            task,
            kind="task",
            trigger=None,
            args=merged,
            chain=(),
            user_id=user_id,
            job_id=job_id,
        )
        return job_id

    def stop_job(self, job_id: str) -> bool:
        """Cancel a job the way Stash does (`stopJob` -> `JobManager.CancelJob`).

        A job still queued never runs. A running plugin task's process is killed at once:
        `RunPluginTask` (internal/manager/task_plugin.go) calls `task.Stop()` as soon as the
        job's context is cancelled, and for the raw interface that is `t.cmd.Process.Kill()`
        (`rawPluginTask.Stop`, pkg/plugin/raw.go), SIGKILL on POSIX, sent to the plugin process
        alone (not its process group). Nothing is sent to the plugin first: no SIGTERM or
        SIGINT, and its stdin was closed once the input was written. The job ends there; the
        killed process's result is still read and logged ("signal: killed").
        """
        future = self.jobs.get(job_id)
        if future is None:
            return False
        with self._record_lock:
            self._stopped.add(job_id)
            process = self._processes.get(job_id)
        if future.cancel():  # still queued
            return True
        if process is not None:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
        return True

    def run_task(
        self, plugin_id: str, task_name: str, args: dict[str, Any] | None = None
    ) -> PluginRun:
        """Run a task through the job queue and wait for it (serialized with every other job)."""
        return self.jobs[self.submit_task(plugin_id, task_name, args)].result()

    def close(self) -> None:
        self._jobs.shutdown(wait=True, cancel_futures=True)

    # -- process execution ----------------------------------------------------------------------
    def resolve_argv(self, manifest: PluginManifest, operation: PluginOperation) -> list[str]:
        """`exec` + `execArgs`, `{pluginDir}` filled in after argv[0], the program resolved."""
        argv = [*manifest.exec, *operation.exec_args]
        if not argv:
            raise PluginStartError(f"plugin {manifest.id} has no exec")
        plugin_dir = str(manifest.directory)
        argv = [argv[0]] + [arg.replace("{pluginDir}", plugin_dir) for arg in argv[1:]]
        program = argv[0]
        if program in {"python", "python3"}:
            if self.python_path and Path(self.python_path).is_file():
                argv[0] = self.python_path
            else:
                argv[0] = shutil.which("python3") or shutil.which("python") or program
        else:
            argv[0] = shutil.which(program) or str(manifest.directory / program)
        return argv

    def _environment(self, manifest: PluginManifest, is_python: bool) -> dict[str, str]:
        env = dict(os.environ)
        if is_python:
            parent = str(manifest.directory.parent)
            env["PYTHONPATH"] = f"{os.environ.get('PYTHONPATH', '')}{os.pathsep}{parent}"
        return env

    def _execute(
        self,
        manifest: PluginManifest,
        operation: PluginOperation,
        *,
        kind: str,
        trigger: str | None,
        args: dict[str, Any],
        chain: HookChain,
        user_id: str = "",
        job_id: str | None = None,
    ) -> PluginRun:
        is_python = bool(manifest.exec) and manifest.exec[0] in {"python", "python3"}
        argv = self.resolve_argv(manifest, operation)
        server_connection = {
            **self._connection(chain, user_id),
            "PluginDir": str(manifest.directory),
        }
        stdin_payload = {"server_connection": server_connection, "args": dict(sorted(args.items()))}
        stdin_text = go_json(stdin_payload)
        run = PluginRun(
            plugin_id=manifest.id,
            kind=kind,
            name=operation.name,
            trigger=trigger,
            argv=argv,
            cwd=self.cwd,
            stdin=json.loads(stdin_text),
            stdin_text=stdin_text,
        )
        started = time.perf_counter()
        try:
            process = subprocess.Popen(
                argv,
                cwd=self.cwd,
                env=self._environment(manifest, is_python),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
        except OSError as error:
            raise PluginStartError(f"error running plugin {manifest.id}: {error}") from error
        assert process.stdin and process.stdout and process.stderr
        if job_id is not None:
            with self._record_lock:
                self._processes[job_id] = process
                if job_id in self._stopped:  # stopped between its start and now
                    process.kill()
        _PIPE_THREADS.submit(_write_and_close, process.stdin, stdin_text.encode())
        stderr_read = _PIPE_THREADS.submit(self._read_stderr, process.stderr, manifest, run)
        stdout = process.stdout.read()  # to EOF: every holder of the write end must close it
        process.stdout.close()
        run.exit_code = process.wait()
        if job_id is not None:
            with self._record_lock:
                self._processes.pop(job_id, None)
        with contextlib.suppress(TimeoutError):
            stderr_read.result(STDERR_DRAIN_SECONDS)
        run.wall_s = time.perf_counter() - started
        run.stdout = stdout.decode("utf-8", errors="replace")
        run.output, run.error = decode_plugin_output(run.stdout)
        if run.error is None and run.exit_code != 0:
            run.error = (
                f"exit status {run.exit_code}" if run.exit_code > 0 else _go_signal(-run.exit_code)
            )
        self._report(manifest, run)
        with self._record_lock:
            self.runs.append(run)
        return run

    def _read_stderr(self, stream: IO[bytes], manifest: PluginManifest, run: PluginRun) -> None:
        try:
            while True:
                raw = stream.readline(MAX_LINE_BYTES + 1)
                if not raw:
                    return
                if len(raw) > MAX_LINE_BYTES:
                    self._log("error", manifest, "plugin stderr line too long; log reading stopped")
                    return
                line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
                parsed = parse_stderr_line(line, manifest.err_log)
                if parsed.progress is not None:
                    run.progress.append(parsed.progress)
                if parsed.log is not None:
                    run.logs.append(parsed.log)
                    self._log(parsed.log.level, manifest, parsed.log.message)
        except (OSError, ValueError):
            return
        finally:
            stream.close()

    def _report(self, manifest: PluginManifest, run: PluginRun) -> None:
        if run.error is not None:
            where = (
                f"{run.trigger} [{manifest.name}]: returned error"
                if run.trigger
                else ("Plugin returned error")
            )
            self._log("error", manifest, f"{where}: {run.error}")
        elif run.output not in (None, ""):
            self._log("debug", manifest, f"Plugin returned: {run.output!r}")

    def _log(self, level: str, manifest: PluginManifest, message: str) -> None:
        with self._record_lock:
            self.stash_log.append(LogLine(level, f"[Plugin / {manifest.name}] {message}"))


def _go_signal(number: int) -> str:
    """How Go's `exec.ExitError` names a death by signal: "signal: killed", "signal: terminated"."""
    name = signal.strsignal(number) if hasattr(signal, "strsignal") else None
    return f"signal: {(name or str(number)).lower()}"


def _write_and_close(stream: IO[bytes], payload: bytes) -> None:
    """Stash writes stdin from a goroutine and closes it; a plugin that never reads is fine."""
    with contextlib.suppress(OSError):
        try:
            stream.write(payload)
        finally:
            stream.close()
