"""Types shared by the emulator's parts, kept in one leaf module so no two parts import each other.

`plugin_runner` (which runs plugin processes) and the GraphQL/HTTP side both need the hook chain,
the record of one plugin run and the record of one save; the HTTP front needs a narrow view of the
emulator. Defining those here, importing nothing from the sandbox but the leaf `plugin_log`, keeps
`plugin_runner <-> context` and `emulator <-> http_server` free of import cycles.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from stashplex.sandbox.stash.plugin_log import LogLine

if TYPE_CHECKING:
    import graphql

#: The (plugin id, trigger) pairs a chain of hooks already visited, as Stash keeps them in the
#: session cookie (pkg/session/plugin.go, `VisitedPluginHook`).
HookChain = tuple[tuple[str, str], ...]


@dataclass
class PluginRun:
    """Everything observable about one plugin process, for assertions and benchmarks."""

    plugin_id: str
    kind: str
    name: str
    trigger: str | None
    argv: list[str]
    cwd: str
    stdin: dict[str, Any]
    stdin_text: str
    output: Any = None
    error: str | None = None
    stdout: str = ""
    logs: list[LogLine] = field(default_factory=list)
    progress: list[float] = field(default_factory=list)
    exit_code: int | None = None
    wall_s: float = 0.0


@dataclass
class SaveResult:
    """How long one user save waited, and the hook processes it waited for."""

    mutation: str
    waited_s: float
    hook_runs: list[PluginRun] = field(default_factory=list)


class HookDispatcher(Protocol):
    """What mutations need from the plugin runner (pkg/plugin/plugins.go, `ExecutePostHooks`)."""

    def fire_hooks(
        self,
        trigger: str,
        object_id: int,
        hook_input: Any,
        input_fields: list[str] | None,
        chain: HookChain = (),
        *,
        user_id: str = "",
    ) -> list[PluginRun]: ...

    def record_save(self, save: SaveResult) -> None: ...

    def submit_task(
        self,
        plugin_id: str,
        task_name: str,
        args: dict[str, Any] | None = None,
        user_id: str = "",
    ) -> str: ...

    def stop_job(self, job_id: str) -> bool: ...


@dataclass(frozen=True)
class Session:
    """A decoded `session` cookie: the user it logs in and the hook chain it carries."""

    user_id: str
    chain: HookChain


class HTTPBackend(Protocol):
    """The part of the emulator its HTTP front talks to (so http_server never imports emulator)."""

    host: str
    requests: Any
    faults: Any
    schema: graphql.GraphQLSchema

    @property
    def port(self) -> int: ...

    @property
    def api_key(self) -> str | None: ...

    @property
    def username(self) -> str | None: ...

    @property
    def login_required(self) -> bool: ...

    def check_password(self, username: str, password: str) -> bool: ...

    def read_session(self, cookie_value: str) -> Session | None: ...

    def refresh_cookie(self, session: Session) -> str: ...

    def login_cookie(self, user_id: str) -> str: ...

    def image_of(self, kind: str, row_id: int) -> tuple[bool, bytes | None]: ...
