"""``demo``: the README's first command. Everything real, nothing installed, all cleaned up.

It starts the Stash and Plex emulators on loopback with a seeded library (Stash sees
``/data/...`` as in Docker, Plex sees ``/media/...``), a real supervisor process, runs a full
sync with its progress bar, edits a few scenes through Stash's plugin runner so the real hook
path is used, and shows what Stash says next to what Plex now shows.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from stashplex.cli.common import EXIT_FAILED, EXIT_OK, CommandError, ask
from stashplex.cli.daemon import wait_until_answering
from stashplex.cli.inspect import render_status
from stashplex.runtime.datadir import DataDir

if TYPE_CHECKING:
    from stashplex.sandbox.plex import PlexEmulator
    from stashplex.sandbox.seed import World
    from stashplex.sandbox.stash import StashEmulator

DEMO_TOKEN = "demo-plex-token"  # noqa: S105 - the emulator's own throwaway token
EDITS = (
    {"title": "Edited in Stash: Ünïcode ✓ 日本語", "rating100": 90},
    {"details": "New details written in Stash, synced by the hook."},
    {"date": "2024-05", "title": "Partial date demo"},
)
#: How long the hook path may take to bring every edit to Plex before the demo fails. The hook
#: debounce and one write take well under two seconds; a slow CI machine gets plenty of slack.
EDIT_TIMEOUT_S = 30.0
#: (module, distribution) of the ``sandbox`` extra the emulators import.
EMULATOR_PACKAGES = (("graphql", "graphql-core"), ("yaml", "PyYAML"))
TABLE_HEADING = "what Stash says | what Plex now shows"
EDITED_MARK = "*"


# The sync layer (pydantic models) is imported where used: every CLI command imports this module
# to build its parser, and loading that layer here cost each command ~0.1 s.


def _plex_date(value: Any) -> str:
    from stashplex.sync.sanitize import parse_partial_date

    date = parse_partial_date(value)
    return date.plex_date() if date else ""


def _plex_rating(value: Any) -> str:
    from stashplex.sync.fieldmap import plex_user_rating

    return plex_user_rating(value if isinstance(value, int) else None)


#: Stash field -> (Plex field, what Plex should show for the Stash value), for the edited fields.
#: The demo can only claim "synced" for a field it can check in Plex's own spelling.
PLEX_SPELLING: dict[str, tuple[str, Callable[[Any], str]]] = {
    "title": ("title", lambda value: value or ""),
    "details": ("summary", lambda value: value or ""),
    "date": ("originallyAvailableAt", _plex_date),
    "rating100": ("userRating", _plex_rating),
}


class Lag(NamedTuple):
    """An edited field Plex does not show yet: what it shows and what it should."""

    scene_id: str
    rating_key: int
    plex_field: str
    shows: str
    expected: str


def _short(text: str, width: int = 40) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def describe_lag(lagging: list[Lag], limit: int = 3) -> str:
    """One readable line: a scene with several Plex items lagging on a field is named once."""
    seen: dict[tuple[str, str], Lag] = {}
    for lag in lagging:
        seen.setdefault((lag.scene_id, lag.plex_field), lag)
    parts = [
        f"scene {lag.scene_id} {lag.plex_field} is {_short(lag.shows)!r}, "
        f"expected {_short(lag.expected)!r}"
        for lag in list(seen.values())[:limit]
    ]
    if len(seen) > limit:
        parts.append(f"and {len(seen) - limit} more")
    return "; ".join(parts)


def register(sub: argparse._SubParsersAction) -> None:
    demo = sub.add_parser(
        "demo",
        help="run the whole product against built-in emulators "
        "on a temporary directory, then clean up",
    )
    demo.add_argument(
        "--scenes", type=_scene_count, default=300, help="scenes to seed (10-20000, default 300)"
    )
    demo.add_argument("--short", action="store_true", help="a quick run (40 scenes), for CI")
    demo.add_argument("--keep", action="store_true", help="keep the temporary directory")
    demo.set_defaults(func=cmd_demo)


def _require_emulators() -> None:
    """The emulators' packages are an extra (``stashplex[sandbox]``): the supervisor's environment
    that the Stash plugin installs does without them, so say how to get them instead of failing
    on an import deep inside the demo."""
    from importlib.util import find_spec

    missing = [name for module, name in EMULATOR_PACKAGES if find_spec(module) is None]
    if missing:
        raise CommandError(
            f"the demo needs the emulators' packages ({', '.join(missing)}): "
            "pip install 'stashplex[sandbox]'"
        )


def cmd_demo(args: argparse.Namespace) -> int:
    _require_emulators()
    from stashplex.sandbox.plex import PlexEmulator
    from stashplex.sandbox.seed import seed_world
    from stashplex.sandbox.stash import StashEmulator

    scenes = 40 if args.short else args.scenes
    root = Path(tempfile.mkdtemp(prefix="stashplex-demo-"))
    data = DataDir(root / "data").ensure()
    plex = PlexEmulator(token=DEMO_TOKEN).start()
    stash = StashEmulator().start()
    supervisor: subprocess.Popen[bytes] | None = None
    try:
        world = seed_world(stash, plex, scenes, seed=7)
        print(
            f"Stash emulator {stash.url} and Plex emulator {plex.url}: {scenes} scenes, "
            f"{len(world.files)} files (Stash sees /data/..., Plex sees /media/...)"
        )
        (data.root / "config.toml").write_text(
            f'plex_url = "{plex.url}"\nplex_token = "{DEMO_TOKEN}"\n'
            f'stash_url = "{stash.url}"\npath_map = ["/data/ => /media/"]\n'
        )
        supervisor = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "stashplex",
                "run",
                "--data-dir",
                str(data.root),
                "--log-level",
                "WARNING",
            ]
        )
        reply = wait_until_answering(data, 30)
        print(
            f"supervisor pid {supervisor.pid} (actor host pid {reply['pid']}), "
            f"data in {data.root}\n\nfull sync:"
        )
        code = _run_sync_command(data.root)
        edited = _edit_through_hooks(stash, root, data, _scenes_in_plex(world)[: len(EDITS)])
        started = time.monotonic()
        lagging = _wait_for(stash, plex, world, edited, EDIT_TIMEOUT_S)
        _side_by_side(stash, plex, world, edited)
        print(
            "\n"
            + render_status({k: v for k, v in ask(data, {"type": "status"}).items() if k != "ok"})
        )
        if lagging:
            raise CommandError(
                f"Plex did not show the Stash edits within {EDIT_TIMEOUT_S:g} s: "
                + describe_lag(lagging)
            )
        fields = sum(len(changed) for changed in edited.values())
        print(
            f"\nPlex shows all {fields} edited fields of {len(edited)} scenes "
            f"({time.monotonic() - started:.1f} s after the last save)"
        )
    finally:
        if supervisor is not None:
            supervisor.terminate()
            supervisor.wait(60)
        plex.stop()
        stash.stop()
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    if supervisor is not None and supervisor.returncode != 0:
        raise CommandError(f"the supervisor exited with code {supervisor.returncode}")
    print("\ndemo finished; emulators and supervisor stopped, temporary files removed")
    return EXIT_OK if code == EXIT_OK else EXIT_FAILED


def _scenes_in_plex(world: World) -> list[str]:
    """Scenes Plex has scanned: an edit to any other scene has nowhere to show up."""
    return [sid for sid in world.scene_ids if any(f.rating_key for f in world.files_of(sid))]


def _edit_through_hooks(
    stash: StashEmulator, root: Path, data: DataDir, scene_ids: list[str]
) -> dict[str, dict[str, Any]]:
    """Save each edit as a user would; returns scene id -> the fields that were edited."""
    from stashplex.plugin import install_plugin

    manifest = install_plugin(
        root / "plugins" / "stashplex", data_dir=data.root, python=Path(sys.executable)
    )
    stash.attach_plugin(manifest)
    print(f"\nediting {len(scene_ids)} scenes in Stash (the plugin's hook forwards each save):")
    edited: dict[str, dict[str, Any]] = {}
    for scene_id, fields in zip(scene_ids, EDITS, strict=False):
        save = stash.update_scene(scene_id, **fields)
        run = save.hook_runs[0]
        print(
            f"  scene {scene_id}: save waited {save.waited_s * 1000:.0f} ms for the hook "
            f"(exit {run.exit_code})"
        )
        edited[scene_id] = fields
    return edited


def lagging_fields(
    stash: StashEmulator, plex: PlexEmulator, world: World, edited: dict[str, dict[str, Any]]
) -> list[Lag]:
    """Every edited field whose Plex items do not yet show what Stash now says.

    Compared in the sync's canonical spelling, so ``2024-05`` in Stash matches ``2024-05-01`` in
    Plex and ``90`` matches ``9.0``; any other check (such as Plex's ``updatedAt``) is already
    true after the full sync and would let the demo print stale values.
    """
    from stashplex.sync.fieldmap import field_form

    lagging: list[Lag] = []
    for scene_id, fields in edited.items():
        scene = stash.scene(scene_id) or {}
        for stash_field in fields:
            plex_field, spell = PLEX_SPELLING[stash_field]
            expected = field_form(plex_field, spell(scene.get(stash_field)))
            for item in _plex_items(plex, world, scene_id):
                shows = field_form(plex_field, item.get("fields", {}).get(plex_field))
                if shows != expected:
                    lagging.append(
                        Lag(scene_id, item["ratingKey"], plex_field, str(shows), str(expected))
                    )
    return lagging


def _wait_for(
    stash: StashEmulator,
    plex: PlexEmulator,
    world: World,
    edited: dict[str, dict[str, Any]],
    timeout: float,
) -> list[Lag]:
    """Poll until Plex shows every edit; returns what still lags when ``timeout`` runs out."""
    deadline = time.monotonic() + timeout
    while True:
        lagging = lagging_fields(stash, plex, world, edited)
        if not lagging or time.monotonic() >= deadline:
            return lagging
        time.sleep(0.1)


def _plex_items(plex: PlexEmulator, world: World, scene_id: str) -> list[dict[str, Any]]:
    keys = [f.rating_key for f in world.files_of(scene_id) if f.rating_key]
    return [plex.item(key) for key in keys]


def _side_by_side(
    stash: StashEmulator, plex: PlexEmulator, world: World, edited: dict[str, dict[str, Any]]
) -> None:
    print(f"\n{TABLE_HEADING}   ({EDITED_MARK} = just edited in Stash)")
    for scene_id, fields in edited.items():
        scene = stash.scene(scene_id) or {}
        items = _plex_items(plex, world, scene_id)
        item = items[0] if items else {}
        plex_fields, tags = item.get("fields", {}), item.get("tags", {})
        rows = [
            ("title", "title", scene.get("title"), plex_fields.get("title")),
            (
                "details",
                "details",
                (scene.get("details") or "")[:50],
                (plex_fields.get("summary") or "")[:50],
            ),
            ("date", "date", scene.get("date"), plex_fields.get("originallyAvailableAt")),
            ("rating", "rating100", scene.get("rating100"), plex_fields.get("userRating")),
            (
                "tags",
                "tag_ids",
                f"{len(scene.get('tag_ids') or [])} tags",
                f"{len(tags.get('genre', []))} genres",
            ),
        ]
        print(
            f"scene {scene_id} -> Plex item {item.get('ratingKey')} "
            f"(locked: {', '.join(item.get('locks', []))})"
        )
        for name, stash_field, left, right in rows:
            mark = EDITED_MARK if stash_field in fields else " "
            print(f"{mark} {name:<8} {left!s:<50} | {right}")


def _run_sync_command(data_dir: Path) -> int:
    """``stashplex sync`` as a user types it, progress bar and summary included."""
    from stashplex.cli import sync as sync_command

    parser = argparse.ArgumentParser(prog="stashplex")
    sync_command.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["sync", "--data-dir", str(data_dir)])
    return int(args.func(args))


def _scene_count(text: str) -> int:
    try:
        count = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 10 <= count <= 20_000:
        raise argparse.ArgumentTypeError(f"{count} is outside 10-20000")
    return count
