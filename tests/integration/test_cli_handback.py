"""``journal`` and ``release`` from the command line and as a Stash task, on a real supervisor."""

import sys
from pathlib import Path

import pytest
from plexapi.server import PlexServer

from stashplex.cli import main
from tests.support.processes import (
    answering,
    configure_for,
    start_supervisor,
    stop_supervisor,
)
from tests.support.waiting import wait_until
from tests.support.world import SyncWorld

#: An id nothing in the test world has.
NONE = "987654"


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    """A supervisor that keeps Plex edits, over three seeded scenes synced once."""
    tmp = tmp_path_factory.mktemp("cli-handback")
    world = SyncWorld(tmp, scenes=3)
    data = tmp / "data"
    configure_for(world, data, preserve_plex_edits=True)
    supervisor = start_supervisor(data)
    wait_until(lambda: answering(data), timeout=30, message="supervisor answering")
    from stashplex.plugin import install_plugin

    manifest = install_plugin(
        tmp / "plugins" / "stashplex", data_dir=data, python=Path(sys.executable)
    )
    runner = world.stash.attach_plugin(manifest)
    assert main(["sync", "--data-dir", str(data)]) == 0
    yield world, data, runner
    stop_supervisor(supervisor)
    world.close()


def cli(capsys, *argv) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def item_of(world, index):
    scene_id = world.world.scene_ids[index]
    return scene_id, world.world.files_of(scene_id)[0].rating_key


@pytest.mark.parametrize(
    ("argv", "error"),
    [
        (["journal", "show", NONE], f"the journal has nothing for Plex item {NONE}"),
        (["journal", "show", "--scene", NONE], f"the journal has nothing for Stash scene {NONE}"),
        (["journal", "undo", NONE], f"the journal has no write to Plex item {NONE}"),
        (["journal", "undo", "--job", "nojob"], "the journal has no write of sync job nojob"),
        (["release", "title", "--item", NONE],
         f"stashplex has written nothing to Plex item {NONE}"),
        (["release", "--scene", NONE], f"stashplex has written nothing for Stash scene {NONE}"),
        (["release", "colour", "--all"], "unknown field 'colour'; known: title"),
    ],
    ids=["show item", "show scene", "undo item", "undo job", "release item", "release scene",
         "release an unknown field"],
)  # fmt: skip
def test_an_id_that_does_not_exist_is_one_clear_line_and_exit_1(env, capsys, argv, error):
    _, data, _ = env
    code, out, err = cli(capsys, *argv, "--data-dir", str(data))
    assert (code, out) == (1, "")
    assert err.count("\n") == 1
    assert err.startswith(f"stashplex {argv[0]}: {error}")


def test_journal_show_by_scene_lists_the_writes_to_its_items(env, capsys):
    world, data, _ = env
    scene_id, key = item_of(world, 0)
    code, out, _ = cli(capsys, "journal", "show", "--scene", scene_id, "--data-dir", str(data))
    assert code == 0
    assert f"scene {scene_id} item {key}" in out and "title: " in out and "was unlocked" in out


def test_journal_undo_dry_run_shows_what_would_be_put_back_and_changes_nothing(env, capsys):
    world, data, _ = env
    _, key = item_of(world, 1)
    title = world.plex.item(key)["fields"]["title"]
    code, out, _ = cli(capsys, "journal", "undo", str(key), "--dry-run", "--data-dir", str(data))
    assert code == 0
    assert f"item {key} title: {title!r} -> " in out and "(unlocked)" in out
    assert "would be put back" in out
    assert world.plex.item(key)["fields"]["title"] == title


def test_release_hands_a_preserved_field_back_and_follows_the_re_sync(env, capsys):
    # Given a title a person changed in Plex, preserved over a Stash edit
    world, data, _ = env
    scene_id, key = item_of(world, 2)
    PlexServer(world.plex.url, world.plex.token).fetchItem(key).editTitle("Person's title")
    world.stash.update_scene(scene_id, title="Stash's new title")
    assert cli(capsys, "sync", "--scene", scene_id, "--data-dir", str(data))[0] == 0
    assert world.plex.item(key)["fields"]["title"] == "Person's title"
    # When the preserved fields of that scene are released
    code, out, _ = cli(capsys, "release", "--scene", scene_id, "--data-dir", str(data))
    # Then the re-sync ran and Stash's title is back
    assert code == 0, out
    assert "released 1 field(s) of 1 item(s)" in out and "1 synced" in out
    assert world.plex.item(key)["fields"]["title"] == "Stash's new title"


def test_the_release_task_runs_through_the_plugin_runner(env):
    _, _, runner = env
    run = runner.run_task("stashplex", "Release preserved fields")
    assert run.exit_code == 0, run.logs
    assert run.error is None


def test_sync_help_says_what_force_overrides_and_what_it_does_not(capsys):
    with pytest.raises(SystemExit):
        main(["sync", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "--force" in out and "preserve_plex_edits" in out and "organized_only" in out
