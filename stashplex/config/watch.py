"""Settings that change while the supervisor runs: noticed at the next hook, or within a minute.

People change the plugin's settings in Stash (or ``config.toml``) and expect the next save to
follow them, dry run included. Every actor reads its settings once, in ``setup``, so the simplest
correct way to apply new ones is a fresh actor host: the watchdog starts one at once, and every
mailbox, pending event and timer is durable. :class:`SettingsWatch` decides when: it reads the
sources again when a hook arrived since its last look (Intake asks before it takes any message,
so no event is judged by stale settings) or a minute passed, and on a difference it logs what
changed, secrets masked, and asks for the restart. Settings the sources refuse are reported and
the running ones kept: a host restarted with them could not start at all.

The environment is the process's own, fixed when the supervisor started; and
``rss_cap_mb`` / ``heartbeat_timeout_seconds`` are the watchdog's, read when it starts. Those
take effect after ``stashplex stop`` and ``stashplex start``, and the log says so.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable
from typing import Any

from pydantic import SecretStr

from stashplex.config.settings import Settings, SettingsError
from stashplex.runtime.problems import SETTINGS, ProblemLog

log = logging.getLogger(__name__)

#: Without a hook, the sources are read again this often.
CHECK_EVERY_S = 60.0
#: Read by the watchdog when it starts, not by the actor host.
WATCHDOG_SETTINGS = ("rss_cap_mb", "heartbeat_timeout_seconds")

Loader = Callable[[], tuple[Settings, bool]]

_SOURCE = re.compile(r"(\w+) \(from ([^)]+)\)")


def settings_fix(exc: SettingsError) -> str:
    """Where to correct the first refused setting, from the source the refusal names."""
    found = _SOURCE.search(str(exc))
    if found is None:
        file = re.search(r"config file (\S+)", str(exc))
        where = file.group(1).rstrip(":") if file else "config.toml"
        return f"correct {where}; the next save in Stash applies it"
    name, source = found.groups()
    if source == "Stash plugin settings":
        return (
            f"correct {name} in Stash (Settings > Plugins > Stash to Plex sync); "
            "the next save applies it"
        )
    if source.startswith("environment "):
        return (
            f"correct {source.split()[-1]} in the supervisor's environment, then "
            "`stashplex stop` and `stashplex start`"
        )
    if source.startswith("config file "):
        return f"correct {name} in {source[len('config file ') :]}; the next save applies it"
    return f"correct {name} where it is set"


def describe_changes(old: Settings, new: Settings) -> str:
    """``name old -> new`` for each changed setting; a secret only says that it changed."""
    parts = []
    for name in Settings.model_fields:
        before, after = getattr(old, name), getattr(new, name)
        if before == after:
            continue
        if isinstance(before, SecretStr) or isinstance(after, SecretStr):
            parts.append(f"{name} changed")
        else:
            parts.append(f"{name} {_shown(before)} -> {_shown(after)}")
    return ", ".join(parts)


def _shown(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple):
        return repr("; ".join(map(str, value)))
    return repr(value) if isinstance(value, str) else str(value)


class SettingsWatch:
    """Whether the running settings are still what their sources say."""

    def __init__(
        self,
        running: Settings,
        *,
        from_stash: bool,
        load: Loader,
        problems: ProblemLog | None = None,
        on_change: Callable[[str], None] | None = None,
        every_s: float = CHECK_EVERY_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.running = running
        self.on_change = on_change
        self._from_stash = from_stash
        self._load = load
        self._problems = problems
        self._every_s = every_s
        self._clock = clock
        self._lock = threading.Lock()
        self._pokes = 0
        self._checked_pokes = 0
        self._checked_at = clock()
        self._refused: str | None = None
        #: What changed, once a change was seen: the running settings are stale from then on.
        self.changed: str | None = None

    def poke(self) -> None:
        """A hook arrived: its event must be judged by the settings as they are now."""
        with self._lock:
            self._pokes += 1

    def due(self) -> bool:
        return self._pokes != self._checked_pokes or (
            self._clock() - self._checked_at >= self._every_s
        )

    def current(self) -> bool:
        """False once the sources say otherwise (and a restart to apply them is asked for)."""
        if self.changed is None and self.due():
            self.check()
        return self.changed is None

    def confirm(self) -> bool:
        """Like :meth:`current`, but reads the sources even when no hook arrived: for what was
        read from Stash without a hook (a catch-up pass), so an edit made after a settings
        change is never judged by the settings from before it."""
        self.check()
        return self.changed is None

    def check(self) -> None:
        """Read the sources now; on a change, log it and call ``on_change`` once."""
        with self._lock:
            if self.changed is not None:
                return
            # A hook that arrives while this look is under way makes the next one due.
            self._checked_pokes, self._checked_at = self._pokes, self._clock()
        try:
            fresh, from_stash = self._load()
        except SettingsError as exc:
            self._refuse(exc)
            return
        except Exception as exc:  # noqa: BLE001 - unreadable now: keep what runs, look again
            log.warning("settings not read again (%s: %s)", type(exc).__name__, exc)
            return
        if self._from_stash and not from_stash:
            return  # Stash did not answer: no telling whether its settings changed
        self._accept()
        if fresh == self.running:
            return
        with self._lock:
            if self.changed is not None:
                return
            self.changed = describe_changes(self.running, fresh) or "settings changed"
        log.warning("settings changed: %s; restarting the actor host to apply them", self.changed)
        for name in WATCHDOG_SETTINGS:
            if getattr(fresh, name) != getattr(self.running, name):
                log.warning(
                    "%s is the watchdog's: it applies after `stashplex stop` and "
                    "`stashplex start`",
                    name,
                )
        if self.on_change is not None:
            self.on_change(self.changed)

    def _refuse(self, exc: SettingsError) -> None:
        text = str(exc)
        if text == self._refused:
            return
        self._refused = text
        log.error("changed settings refused; still running with the previous ones: %s", text)
        if self._problems is not None:
            self._problems.report(
                SETTINGS,
                f"changed settings are refused, the supervisor keeps the previous ones: {text}",
                settings_fix(exc),
            )

    def _accept(self) -> None:
        if self._refused is not None:
            self._refused = None
            log.info("the settings are valid again")
            if self._problems is not None:
                self._problems.resolve(SETTINGS)
