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
from pathlib import Path

from stashplex.cli.common import EXIT_FAILED, EXIT_OK, CommandError, ask
from stashplex.cli.daemon import wait_until_answering
from stashplex.cli.inspect import render_status
from stashplex.datadir import DataDir

DEMO_TOKEN = "demo-plex-token"  # noqa: S105 - the emulator's own throwaway token
EDITS = (
    {"title": "Edited in Stash: Ünïcode ✓ 日本語", "rating100": 90},
    {"details": "New details written in Stash, synced by the hook."},
    {"date": "2024-05", "title": "Partial date demo"},
)


def register(sub: argparse._SubParsersAction) -> None:
    demo = sub.add_parser(
        "demo",
        help="run the whole product against built-in emulators "
        "on a temporary directory, then clean up",
    )
    demo.add_argument("--scenes", type=int, default=300, help="scenes to seed (default 300)")
    demo.add_argument("--short", action="store_true", help="a quick run (40 scenes), for CI")
    demo.add_argument("--keep", action="store_true", help="keep the temporary directory")
    demo.set_defaults(func=cmd_demo)


def cmd_demo(args: argparse.Namespace) -> int:
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
        from stashplex.cli import main

        code = main(["sync", "--data-dir", str(data.root)])
        edited = _edit_through_hooks(stash, root, data, world.scene_ids[: len(EDITS)])
        _wait_for(plex, world, edited)
        _side_by_side(stash, plex, world, edited)
        print(
            "\n"
            + render_status({k: v for k, v in ask(data, {"type": "status"}).items() if k != "ok"})
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


def _edit_through_hooks(
    stash: object, root: Path, data: DataDir, scene_ids: list[str]
) -> list[str]:
    from stashplex.plugin import install_plugin

    manifest = install_plugin(
        root / "plugins" / "stashplex", data_dir=data.root, python=Path(sys.executable)
    )
    stash.attach_plugin(manifest)  # type: ignore[attr-defined]
    print(f"\nediting {len(scene_ids)} scenes in Stash (the plugin's hook forwards each save):")
    for scene_id, fields in zip(scene_ids, EDITS, strict=False):
        save = stash.update_scene(scene_id, **fields)  # type: ignore[attr-defined]
        run = save.hook_runs[0]
        print(
            f"  scene {scene_id}: save waited {save.waited_s * 1000:.0f} ms for the hook "
            f"(exit {run.exit_code})"
        )
    return scene_ids


def _wait_for(plex: object, world: object, scene_ids: list[str], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(_plex_item(plex, world, sid).get("updatedAt") for sid in scene_ids):
            time.sleep(1.5)  # the debounce window plus one write
            return
        time.sleep(0.2)


def _plex_item(plex: object, world: object, scene_id: str) -> dict:
    files = [f for f in world.files_of(scene_id) if f.rating_key]  # type: ignore[attr-defined]
    return plex.item(files[0].rating_key) if files else {}  # type: ignore[attr-defined]


def _side_by_side(stash: object, plex: object, world: object, scene_ids: list[str]) -> None:
    print("\nwhat Stash says | what Plex now shows")
    for scene_id in scene_ids:
        scene = stash.scene(scene_id)  # type: ignore[attr-defined]
        item = _plex_item(plex, world, scene_id)
        fields, tags = item.get("fields", {}), item.get("tags", {})
        rows = [
            ("title", scene.get("title"), fields.get("title")),
            ("details", (scene.get("details") or "")[:50], (fields.get("summary") or "")[:50]),
            ("date", scene.get("date"), fields.get("originallyAvailableAt")),
            ("rating", scene.get("rating100"), fields.get("userRating")),
            (
                "tags",
                f"{len(scene.get('tag_ids') or [])} tags",
                f"{len(tags.get('genre', []))} genres",
            ),
        ]
        print(
            f"scene {scene_id} -> Plex item {item.get('ratingKey')} "
            f"(locked: {', '.join(item.get('locks', []))})"
        )
        for name, left, right in rows:
            print(f"  {name:<8} {left!s:<50} | {right}")
