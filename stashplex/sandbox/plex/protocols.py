"""What the admin API needs from the emulator, as a protocol.

admin.py depends on this shape, not on `PlexEmulator`, so emulator.py can import admin.py
without an import cycle (not even one hidden behind TYPE_CHECKING).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol

from stashplex.sandbox.plex.faults import Faults
from stashplex.sandbox.plex.latency import RateBound, RequestShape
from stashplex.sandbox.plex.requestlog import RequestLog
from stashplex.sandbox.plex.scans import ScanReport


class EmulatorControl(Protocol):
    """The emulator as the admin API drives it."""

    faults: Faults
    requests: RequestLog

    @property
    def rejections(self) -> list[dict[str, object]]: ...

    def item(self, rating_key: int) -> dict[str, object]: ...

    def put_on_disk(
        self,
        file: str,
        title: str | None = None,
        *,
        size: int = ...,
        duration_ms: int = ...,
        show_title: str | None = None,
        season: int | None = None,
        episode: int | None = None,
    ) -> int: ...

    def move_on_disk(self, old_path: str, new_path: str) -> int: ...

    def delete_from_disk(self, path: str) -> None: ...

    def add_plexignore(self, folder: str, patterns: str | Iterable[str]) -> list[str]: ...

    def scan_now(
        self, section: int | None = None, path: str | None = None, force: bool = False
    ) -> list[ScanReport]: ...

    def scan_reports(self) -> list[dict[str, object]]: ...

    def skipped(self) -> dict[str, str]: ...

    def remove_item(self, rating_key: int, *, file_stays: bool = False) -> list[str]: ...

    def add_file(
        self,
        rating_key: int,
        file: str,
        *,
        size: int = ...,
        duration_ms: int = ...,
        version: bool = False,
    ) -> int: ...

    def tag_rows(self) -> dict[str, list[str]]: ...

    def configure_realism(self, **knobs: object) -> dict[str, object]: ...

    def configure_latency(self, **settings: object) -> dict[str, object]: ...

    def latency_bound(self, mix: Sequence[RequestShape]) -> RateBound: ...
