"""``stashplex doctor``: can this configuration work, and if not, what exactly is wrong?

Runs without the supervisor (a doctor must work when nothing else does). It reads nothing it
does not need: Stash's version, Plex's identity and sections, and a sample of Stash file paths
checked against the Plex path index through the configured path map. :func:`doctor_report`
adds what the supervisor recorded as wrong, and whether the settings load at all: the same
report for ``stashplex doctor``, the *Health check* task, and that task run without a
supervisor.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from stashplex.config.loading import stash_client
from stashplex.config.settings import Settings, SettingsError
from stashplex.runtime.datadir import DataDir
from stashplex.stash import StashError, queries
from stashplex.sync.pathmap import PathMap

#: Stash files checked for path-map coverage (paged, so big libraries stay cheap).
COVERAGE_SAMPLE = 2000
#: Unmapped files named in the report.
SHOW_UNMAPPED = 5


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


def _stash(settings: Settings) -> list[Check]:
    client = stash_client(settings, timeout=10)
    try:
        version = client.version()
    except StashError as exc:
        return [Check("stash", False, str(exc))]
    return [Check("stash", True, f"{settings.stash_url} answers (version {version or 'dev'})")]


def _stash_files(settings: Settings) -> list[str]:
    client = stash_client(settings, timeout=30)
    data = client.execute(
        queries.SCENE_FILES,
        {"filter": {"page": 1, "per_page": COVERAGE_SAMPLE, "sort": "id", "direction": "ASC"}},
    )
    return [f["path"] for s in data["findScenes"]["scenes"] for f in s["files"]]


def run_doctor(settings: Settings, data: DataDir | None = None) -> list[Check]:
    """The checks in order; ``data`` holds the record of which Plex server the token is for."""
    checks = _stash(settings)
    if not settings.plex_url:
        return [*checks, Check("plex", False, "plex_url is not set")]
    from stashplex.plex.connection import PLEX_ERRORS, classify, connect
    from stashplex.plex.index import IndexBuilder, PathIndex
    from stashplex.plex.trust import identity_file

    try:
        plex = connect(settings, identity_record=identity_file(data) if data else None)
    except PLEX_ERRORS as exc:
        return [*checks, Check("plex", False, classify(exc).message)]
    checks.append(
        Check(
            "plex",
            True,
            f"{settings.plex_url} answers as {plex.friendlyName!r} "
            f"(version {plex.version}); the token is accepted",
        )
    )
    builder = IndexBuilder(plex, settings.plex_libraries)
    try:
        sections = builder.load_sections()
        index = builder.build(PathIndex(case_insensitive=settings.case_insensitive_paths))
    except PLEX_ERRORS as exc:
        return [*checks, Check("libraries", False, classify(exc).message)]
    if not sections:
        wanted = ", ".join(settings.plex_libraries) or "any movie or show library"
        return [*checks, Check("libraries", False, f"no Plex library matches ({wanted})")]
    names = ", ".join(f"{s.title} ({s.type}, {', '.join(s.locations)})" for s in sections)
    checks.append(Check("libraries", True, f"{len(index)} items in {names}"))
    checks.append(_coverage(settings, index))
    return checks


def _coverage(settings: Settings, index: object) -> Check:
    try:
        files = _stash_files(settings)
    except StashError as exc:
        return Check("path map", False, f"cannot list Stash files: {exc}")
    if not files:
        return Check("path map", True, "Stash has no files yet")
    pathmap = PathMap.parse(settings.path_map, case_insensitive=settings.case_insensitive_paths)
    unmapped = [f for f in files if not index.by_path(index.key(pathmap.map(f)))]  # type: ignore[attr-defined]
    mapped = len(files) - len(unmapped)
    detail = f"{mapped} of {len(files)} Stash files map to a Plex item"
    if unmapped:
        shown = "; ".join(f"{f} -> {pathmap.map(f)}" for f in unmapped[:SHOW_UNMAPPED])
        detail += f"; first unmapped: {shown}"
    return Check("path map", not unmapped, detail)


def doctor_report(data_dir: Path | str, *, supervisor: str | None = None) -> str:
    """The whole report for a data directory; ``supervisor`` says why it is not answering."""
    return report_text(doctor_checks(data_dir, supervisor=supervisor))


def doctor_checks(data_dir: Path | str, *, supervisor: str | None = None) -> list[Check]:
    """Every check of :func:`doctor_report`."""
    from stashplex.config.loading import load_effective_settings
    from stashplex.runtime.datadir import DataDir
    from stashplex.runtime.problems import SETTINGS, ProblemLog

    data = DataDir(Path(data_dir))
    checks = [Check("supervisor", False, supervisor)] if supervisor else []
    checks += [
        Check("problem", False, f"{p.message}. Fix: {p.fix}")
        for key, p in ProblemLog(data.root).active().items()
        if key != SETTINGS  # loaded afresh just below
    ]
    try:
        settings = load_effective_settings(data.config_file)
    except SettingsError as exc:
        return [*checks, Check("settings", False, str(exc))]
    return [*checks, *run_doctor(settings, data)]


def report_text(checks: list[Check]) -> str:
    return "\n".join(f"[{'ok' if c.ok else 'FAIL'}] {c.name}: {c.detail}" for c in checks)
