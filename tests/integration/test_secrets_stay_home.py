"""Secrets stay with their URLs: a plex_url saved through Stash never receives the file's token.

Issue 16, item 1. Anyone who can reach Stash can save the plugin's settings; the supervisor must
not follow such a plex_url with a token that came from this machine, unless the server there is
the one the token was used with (its machineIdentifier), or an operator said so (trust-plex).
"""

import pytest

from stashplex.cli import main as cli
from stashplex.config.loading import load_effective_settings
from stashplex.stash import StashClient
from tests.support.hostile import CaptureServer
from tests.support.processes import configure_for
from tests.support.world import TOKEN, SyncWorld

CONFIGURE = "mutation ($id: ID!, $input: Map!) { configurePlugin(plugin_id: $id, input: $input) }"


@pytest.fixture
def world(tmp_path):
    w = SyncWorld(tmp_path, scenes=4)
    configure_for(w, w.data.root)
    yield w
    w.close()


@pytest.fixture
def capture():
    server = CaptureServer(machine_identifier="someone-elses-server").start()
    yield server
    server.stop()


def save_in_stash(world, **values):
    """What any Stash user can do: save the plugin's settings through configurePlugin."""
    StashClient(world.stash.url).execute(CONFIGURE, {"id": "stashplex", "input": values})


def test_a_plex_url_saved_through_stash_never_receives_the_token_from_the_config_file(
    world, capture
):
    # Given a supervisor whose Plex URL and token come from config.toml, synced once
    world.start(settings=load_effective_settings(world.data.config_file))
    assert world.sync(force=True)["done"] == 4
    world.stop()
    # When a Stash user points plex_url at another server through the plugin's settings
    save_in_stash(world, plex_url=capture.url)
    settings = load_effective_settings(world.data.config_file)
    assert settings.plex_url == capture.url
    world.start(settings=settings)
    job = world.sync(force=True)
    # Then that server is asked who it is, without the token, and nothing more
    assert capture.requests, "the server was never asked who it is"
    assert capture.carrying(TOKEN) == []
    assert {r.path for r in capture.requests} == {"/identity"}
    # And every job is refused with one line naming the sources and the command to accept it
    assert job["failed"] == 4
    reasons = {d["reason"] for d in world.dead_letters()}
    errors = {d["error"] for d in world.dead_letters()}
    assert reasons == {"unauthorized"}
    (error,) = errors
    assert "\n" not in error
    assert "Stash plugin settings" in error and "stashplex trust-plex" in error
    assert TOKEN not in error


def test_a_plex_url_from_stash_naming_the_same_plex_server_is_used(world):
    # Given a first sync from config.toml, which records the Plex server's identity
    world.start(settings=load_effective_settings(world.data.config_file))
    world.sync(force=True)
    world.stop()
    # When Stash's plugin settings name the same server by another spelling (localhost)
    same = world.plex.url.replace("127.0.0.1", "localhost")
    save_in_stash(world, plex_url=same)
    settings = load_effective_settings(world.data.config_file)
    world.start(settings=settings)
    # Then the token goes there: its machineIdentifier is the recorded one
    assert settings.source_of("plex_url") == "Stash plugin settings"
    assert world.sync(force=True)["done"] == 4
    assert world.dead_letters() == []


def test_trust_plex_accepts_the_new_server_for_the_token(world, capture, capsys):
    # Given plex_url saved in Stash, pointing at a server never seen before
    save_in_stash(world, plex_url=capture.url)
    # When the operator accepts it
    code = cli(["trust-plex", "--data-dir", str(world.data.root)])
    # Then the command says what it did, and the supervisor sends that server the token
    assert code == 0
    assert "someone-elses-server" in capsys.readouterr().out
    world.start(settings=load_effective_settings(world.data.config_file))
    world.sync(force=True)
    assert capture.carrying(TOKEN), "the accepted server never received the token"
