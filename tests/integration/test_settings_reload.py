"""Changed settings apply without a restart: at the next save, with what changed in the log.

A running supervisor, our plugin in Stash (the plugin runner), the settings changed where users
change them: the plugin's settings page in Stash, or ``config.toml``.
"""

from __future__ import annotations

import pytest

from stashplex.link.ipc import send_request
from stashplex.runtime.problems import SETTINGS, ProblemLog
from tests.support.processes import (
    answering,
    configure_for,
    host_pid,
    intake_counters,
    start_supervisor,
    stop_supervisor,
)
from tests.support.stash_plugin import StashWithPlugin
from tests.support.waiting import wait_until


@pytest.fixture
def running(tmp_path):
    world = StashWithPlugin(tmp_path)
    supervisor = start_supervisor(world.data)
    wait_until(lambda: answering(world.data), timeout=30, message="supervisor answering")
    yield world
    stop_supervisor(supervisor)
    world.close()


def plex_title(world: StashWithPlugin) -> str:
    return world.world.plex_items_of(world.scene_id)[0]["fields"]["title"]


def journaled(world: StashWithPlugin, action: str, title: str) -> bool:
    """Whether the journal holds ``action`` (write, dry_run) of ``title`` for the scene."""
    try:
        reply = send_request(
            world.data, {"v": 1, "type": "journal", "action": "show", "scene_id": world.scene_id}
        )
    except OSError:
        return False  # the actor host is restarting
    entries = reply.get("entries") or []
    return any(e["action"] == action and e["new"] == title for e in entries)


def host_log(world: StashWithPlugin) -> str:
    return (world.data / "logs" / "host.log").read_text()


def test_toggling_dry_run_in_stashs_plugin_settings_takes_effect_on_the_next_save(running):
    # Given a scene synced to Plex
    running.save()
    wait_until(lambda: plex_title(running) == "Edit 1", timeout=30, message="first sync")
    first_host = host_pid(running.data)
    # When dry_run is ticked in Stash's plugin settings and the scene is saved again
    running.save_plugin_settings(dry_run=True)
    running.save()
    # Then that save is only a dry run: journaled, and Plex still shows the old title
    wait_until(lambda: journaled(running, "dry_run", "Edit 2"), timeout=30, message="dry run")
    assert plex_title(running) == "Edit 1"
    # And the supervisor said what changed, without being restarted by anyone
    assert "settings changed: dry_run false -> true" in host_log(running)
    assert host_pid(running.data) != first_host
    # When dry_run is unticked and the scene saved once more, Then that save reaches Plex
    running.save_plugin_settings(dry_run=False)
    running.save()
    wait_until(lambda: plex_title(running) == "Edit 3", timeout=30, message="real sync again")


def test_a_plex_token_changed_in_stash_is_used_at_the_next_save_and_never_logged(running):
    # Given a running supervisor that syncs
    running.save()
    wait_until(lambda: plex_title(running) == "Edit 1", timeout=30, message="first sync")
    # When a wrong token is saved in Stash's plugin settings and a scene is saved
    running.save_plugin_settings(plex_token="a-wrong-token-0123")
    lines = running.save()
    # Then the next sync uses it: Plex rejects it, and by the next save Stash's log says so
    wait_until(lambda: ProblemLog(running.data).active().get("plex_token"), timeout=30,
               message="the new token rejected")  # fmt: skip
    errors = running.errors(lines + running.save())
    assert any("rejects the token (401)" in line for line in errors)
    # And the log names the change without the token
    log = host_log(running)
    assert "settings changed: plex_token changed" in log
    assert "a-wrong-token-0123" not in log


def test_refused_changed_settings_keep_the_supervisor_syncing_and_are_an_error_in_stash(running):
    # Given a running supervisor
    # When a Plex URL without http:// is saved in Stash and a scene is saved
    running.save_plugin_settings(plex_url="plex:32400")
    lines = running.save()
    # Then the supervisor keeps its settings and syncs that save all the same
    wait_until(lambda: plex_title(running) == "Edit 1", timeout=30, message="sync despite it")
    wait_until(lambda: ProblemLog(running.data).active().get(SETTINGS), timeout=30,
               message="the refusal recorded")  # fmt: skip
    # And by the next save the refusal is logged at error level with its source and fix
    (error,) = running.errors(lines + running.save())
    assert "changed settings are refused, the supervisor keeps the previous ones" in error
    assert "plex_url (from Stash plugin settings): must start with http://" in error
    assert "Fix: correct plex_url in Stash" in error
    # When the setting is corrected, Then the refusal is gone at the next save
    running.save_plugin_settings(plex_url=running.world.plex.url)
    running.save()
    wait_until(lambda: SETTINGS not in ProblemLog(running.data).active(), timeout=30,
               message="the refusal resolved")  # fmt: skip


def test_a_change_in_config_toml_is_picked_up_at_the_next_save(running):
    # Given a running supervisor
    # When config.toml turns title syncing off and a scene's title is edited
    configure_for(running.world, running.data, sync_title=False)
    running.save()
    # Then the supervisor applied it: the edit touches nothing it syncs, so Plex keeps its title
    wait_until(lambda: intake_counters(running.data).get("dropped_irrelevant", 0) >= 1,
               timeout=30, message="the title edit ignored")  # fmt: skip
    assert "settings changed: sync_title true -> false" in host_log(running)
    assert plex_title(running) != "Edit 1"
