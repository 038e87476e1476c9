"""Choosing what reaches Plex and taking it back: organized_only, release, undo.

Real plexapi against the Plex emulator; requests go through the supervisor's control handler,
as the CLI's and the Stash tasks' do.
"""

import time

import pytest
from plexapi.server import PlexServer

from tests.support.waiting import wait_until
from tests.support.world import SyncWorld


@pytest.fixture
def world(tmp_path):
    w = SyncWorld(tmp_path)
    yield w
    w.close()


def agent_items(world, *names):
    """One scene per name, each matched to an item an agent titled and summarised, unlocked."""
    section = world.plex.add_section("Movies", "movie", ["/media/"])
    scenes, items = [], []
    for name in names:
        path = f"/a/{name}.mp4"
        scenes.append(world.stash.add_scene(files=[{"path": "/data" + path, "size": 1_000}]))
        items.append(
            world.plex.add_movie(
                section,
                "/media" + path,
                title=f"Agent {name}",
                summary=f"Agent summary of {name}",
                size=1_000,
            )
        )
    return scenes, items


def test_with_organized_only_an_unorganized_scene_is_not_written_until_it_is_organized(world):
    # Given two titled scenes, only one of them organized, and organized_only on
    (loose, tidy), (loose_item, tidy_item) = agent_items(world, "loose", "tidy")
    world.stash.update_scene(loose, title="Loose in Stash")
    world.stash.update_scene(tidy, title="Tidy in Stash", organized=True)
    world.start(organized_only=True)
    # When everything is synced
    job = world.sync()
    # Then only the organized scene reached Plex
    assert (job["done"], job["skipped"]) == (1, 1)
    assert world.plex.item(tidy_item)["fields"]["title"] == "Tidy in Stash"
    assert world.plex.item(loose_item)["fields"]["title"] == "Agent loose"
    assert world.plex.item(loose_item)["locks"] == []
    # When the other scene is marked organized, and nothing else about it changes
    world.stash.update_scene(loose, organized=True)
    job = world.sync()
    # Then it is synced: becoming organized is a change
    assert job["done"] == 1
    assert world.plex.item(loose_item)["fields"]["title"] == "Loose in Stash"


def test_a_released_preserved_field_takes_stash_s_value_again(world):
    # Given a title stashplex wrote, then retitled by a person in Plex, preserved on request
    (scene,), (key,) = agent_items(world, "kept")
    world.stash.update_scene(scene, title="From Stash")
    world.start(preserve_plex_edits=True)
    world.sync()
    PlexServer(world.plex.url, world.plex.token).fetchItem(key).editTitle("A person's title")
    world.stash.update_scene(scene, title="From Stash, edited")
    world.sync()
    assert world.plex.item(key)["fields"]["title"] == "A person's title"
    # When the preserved field is released for that item
    reply = world.ask(type="release", fields=["title"], rating_key=key)
    assert reply["ok"], reply
    world.wait_job(reply["job"])
    # Then Stash's value flows again, locked
    item = world.plex.item(key)
    assert item["fields"]["title"] == "From Stash, edited"
    assert "title" in item["locks"]
    # And a release naming an item stashplex never wrote is refused in one line
    refused = world.ask(type="release", fields=["title"], rating_key=999_999)
    assert refused == {"ok": False, "error": "stashplex has written nothing to Plex item 999999"}


def test_undo_puts_back_the_agent_s_value_unlocked_as_it_was(world):
    # Given an agent's unlocked title that a sync replaced and locked
    (scene,), (key,) = agent_items(world, "undone")
    world.stash.update_scene(scene, title="Stash title")
    world.start()
    world.sync()
    assert "title" in world.plex.item(key)["locks"]
    # When that write is undone
    reply = world.ask(type="journal", action="undo", rating_key=key)
    assert reply["ok"], reply
    # Then the agent's title is back, and unlocked again, as before the write
    wait_until(
        lambda: world.plex.item(key)["fields"]["title"] == "Agent undone", message="undo applied"
    )
    assert "title" not in world.plex.item(key)["locks"]
    # And the field is no longer stashplex's: an empty title in Stash leaves it alone
    world.stash.update_scene(scene, title="")
    world.sync()
    assert world.plex.item(key)["fields"]["title"] == "Agent undone"


def test_undo_of_a_whole_sync_job_reverts_every_item_it_wrote(world):
    # Given one sync job that wrote two items, then a later job that wrote one of them again
    (first, second), (first_item, second_item) = agent_items(world, "first", "second")
    world.stash.update_scene(first, title="First in Stash", details="First details")
    world.stash.update_scene(second, title="Second in Stash")
    world.start()
    job_id = world.sync()["job_id"]
    world.stash.update_scene(first, details="Later details")
    world.sync("scenes", scene_ids=[first])
    # When the first job is looked at as a dry run
    dry = world.ask(type="journal", action="undo", job_id=job_id, dry_run=True)
    # Then it names what it would put back and what a later job wrote again, and changes nothing
    assert {(r["rating_key"], r["field"]) for r in dry["restores"]} == {
        (first_item, "title"),
        (second_item, "title"),
    }
    assert [(s["rating_key"], s["field"]) for s in dry["skipped"]] == [(first_item, "summary")]
    time.sleep(0.5)
    assert world.plex.item(second_item)["fields"]["title"] == "Second in Stash"
    # When the whole job is undone
    assert world.ask(type="journal", action="undo", job_id=job_id)["requested"]
    # Then both items have the agent's titles back, unlocked
    wait_until(
        lambda: world.plex.item(second_item)["fields"]["title"] == "Agent second",
        message="the job's writes undone",
    )
    first_now = world.plex.item(first_item)
    assert first_now["fields"]["title"] == "Agent first"
    assert "title" not in first_now["locks"]
    # And the later job's summary stays, since it was written after the job undone
    assert first_now["fields"]["summary"] == "Later details"
    # And a job the journal does not know is refused in one line
    unknown = world.ask(type="journal", action="undo", job_id="nosuchjob")
    assert unknown == {"ok": False, "error": "the journal has no write of sync job nosuchjob"}


def test_undo_since_a_time_puts_back_everything_written_after_it(world):
    (scene,), (key,) = agent_items(world, "since")
    world.start()
    before = time.time()
    world.stash.update_scene(scene, title="One", details="Details one")
    world.sync()
    world.stash.update_scene(scene, title="Two")
    world.sync()
    reply = world.ask(type="journal", action="undo", since=before)
    assert reply["ok"] and reply["requested"], reply
    wait_until(
        lambda: world.plex.item(key)["fields"]["title"] == "Agent since", message="undone"
    )
    item = world.plex.item(key)
    assert item["fields"]["summary"] == "Agent summary of since"
    assert not {"title", "summary"} & set(item["locks"])
