"""Do no harm: a library an agent (and another tool) filled, synced with real plexapi.

The Plex side is staged through the emulator's Python API exactly as an agent leaves an item:
values set, nothing locked. Stash scenes are empty (freshly scanned) or partial.
"""

import pytest
from plexapi.server import PlexServer

from tests.support.world import SyncWorld

AGENT = {
    "title": "Agent Title",
    "summary": "The agent's summary.",
    "studio": "Agent Studio",
    "originallyAvailableAt": "1999-05-06",
}
AGENT_TAGS = {
    "genre": ["Agent Genre"],
    "director": ["Agent Director"],
    "collection": ["Kometa: Top Rated"],
}


@pytest.fixture
def world(tmp_path):
    w = SyncWorld(tmp_path)
    yield w
    w.close()


def agent_item(world, section, path):
    """A movie as an agent matched it: its values filled in, every field unlocked."""
    return world.plex.add_movie(
        section,
        path,
        size=1_000,
        duration_ms=60_000,
        genres=AGENT_TAGS["genre"],
        actors=("Agent Actor",),
        directors=AGENT_TAGS["director"],
        collections=AGENT_TAGS["collection"],
        **AGENT,
    )


def shows_the_agent_s_values(item, except_fields=()):
    fields, tags = item["fields"], item["tags"]
    for name, value in AGENT.items():
        if name not in except_fields:
            assert fields[name] == value, name
    for name, value in AGENT_TAGS.items():
        if name not in except_fields:
            assert tags.get(name) == value, name
    if "actor" not in except_fields:
        assert [r["tag"] for r in item["roles"]] == ["Agent Actor"]
    return True


@pytest.fixture
def agent_library(world):
    """An empty scene (freshly scanned) and a partial one (a title and a tag), each matched to
    an item an agent filled."""
    section = world.plex.add_section("Movies", "movie", ["/media/"])
    empty = world.stash.add_scene(files=[{"path": "/data/new/empty.mp4", "size": 1_000}])
    tag = world.stash.add_tag("Stash Tag")
    partial = world.stash.add_scene(
        title="Stash Title", tag_ids=[tag], files=[{"path": "/data/new/partial.mp4", "size": 1_000}]
    )
    items = {
        empty: agent_item(world, section, "/media/new/empty.mp4"),
        partial: agent_item(world, section, "/media/new/partial.mp4"),
    }
    return empty, partial, items


def test_a_first_sync_changes_no_agent_value_and_locks_nothing_it_did_not_write(
    world, agent_library
):
    # Given an agent-filled library, one scene with no metadata and one with a title and a tag
    empty, partial, items = agent_library
    world.start()
    # When the new user runs the first sync
    job = world.sync()
    assert job["done"] == 2
    # Then the empty scene's item is exactly as the agent left it, and nothing is locked
    untouched = world.plex.item(items[empty])
    assert shows_the_agent_s_values(untouched)
    assert untouched["locks"] == []
    # And the partial scene filled only its title and genre, locked, leaving the rest alone
    filled = world.plex.item(items[partial])
    assert filled["fields"]["title"] == "Stash Title"
    assert filled["tags"]["genre"] == ["Stash Tag"]
    assert shows_the_agent_s_values(filled, except_fields=("title", "genre", "collection"))
    assert filled["tags"]["collection"] == AGENT_TAGS["collection"]
    assert filled["locks"] == ["genre", "title"]


def test_stash_values_then_flow_and_a_value_removed_clears_only_what_stashplex_wrote(
    world, agent_library
):
    # Given a first sync over the agent's library
    empty, _partial, items = agent_library
    world.start()
    world.sync()
    # When the scene gets metadata in Stash
    studio = world.stash.add_studio("Stash Studio")
    world.stash.update_scene(
        empty, title="Now Titled", details="Line one\n\nLine two  \nthree", studio_id=studio,
        director="Kubrick, Stanley; Jane Doe",
    )  # fmt: skip
    world.sync("scenes", scene_ids=[empty])
    # Then Stash's values flow into Plex, locked, line breaks and names as typed
    item = world.plex.item(items[empty])
    assert item["fields"]["title"] == "Now Titled"
    assert item["fields"]["summary"] == "Line one\n\nLine two  \nthree"
    assert item["fields"]["studio"] == "Stash Studio"
    assert sorted(item["tags"]["director"]) == ["Jane Doe", "Kubrick, Stanley"]
    assert {"title", "summary", "studio", "director"} <= set(item["locks"])
    # When the details and the studio are removed in Stash again
    world.stash.update_scene(empty, details="", studio_id=None)
    world.sync("scenes", scene_ids=[empty])
    # Then what stashplex wrote there is cleared (and stays locked against the agent)
    item = world.plex.item(items[empty])
    assert "summary" not in item["fields"] and "studio" not in item["fields"]
    assert {"summary", "studio"} <= set(item["locks"])
    # And the fields it never wrote still show the agent's values, unlocked
    assert item["fields"]["originallyAvailableAt"] == AGENT["originallyAvailableAt"]
    assert item["tags"]["genre"] == AGENT_TAGS["genre"]
    assert not {"originallyAvailableAt", "genre", "actor"} & set(item["locks"])


def test_a_dry_run_shows_each_field_as_owned_filled_or_left_alone(world, agent_library):
    # Given a first sync has filled the partial scene's title and genre
    _empty, partial, items = agent_library
    world.start()
    world.sync()
    # When its title changes in Stash and a dry run looks at it
    world.stash.update_scene(partial, title="Retitled", details="New details")
    job = world.sync("scenes", scene_ids=[partial], dry_run=True)
    # Then every field of the item is listed with its verdict
    (diff,) = job["diffs"]
    verdicts = {c["field"]: (c["verdict"], c["changed"]) for c in diff["changes"]}
    assert verdicts["title"] == ("owned", True)
    assert verdicts["summary"] == ("filled", True)
    assert verdicts["genre"] == ("owned", False)
    assert verdicts["studio"] == ("left alone", False)
    assert verdicts["director"] == ("left alone", False)
    # And nothing was written
    assert world.plex.item(items[partial])["fields"]["title"] == "Stash Title"


def test_stash_authoritative_writes_every_field_empty_included(world, agent_library):
    empty, _partial, items = agent_library
    world.start(stash_authoritative=True)
    world.sync()
    item = world.plex.item(items[empty])
    assert item["fields"]["title"] == "empty"  # the file name: Stash's own display title
    assert "summary" not in item["fields"] and not item["tags"].get("genre")
    assert {"title", "summary", "genre", "director"} <= set(item["locks"])
    # Even then, another tool's collection is not Stash's to clear
    assert item["tags"]["collection"] == AGENT_TAGS["collection"]


def test_another_writer_s_collection_survives_three_syncs_and_ours_stay_exact(world):
    # Given a scene in two groups, and its item in Plex
    stash = world.stash
    series = {name: stash.add_group(name) for name in ("Series A", "Series B", "Series C")}
    scene = stash.add_scene(
        title="Grouped",
        files=[{"path": "/data/g/grouped.mp4", "size": 1_000}],
        groups=[{"group_id": series["Series A"], "scene_index": 1}],
    )
    section = world.plex.add_section("Movies", "movie", ["/media/"])
    key = world.plex.add_movie(section, "/media/g/grouped.mp4", title="grouped", size=1_000)
    world.start()
    plex = PlexServer(world.plex.url, world.plex.token)

    def groups(*names):
        return [{"group_id": series[n], "scene_index": i} for i, n in enumerate(names, 1)]

    def collections():
        return sorted(world.plex.item(key)["tags"].get("collection", []))

    world.sync("scenes", scene_ids=[scene])
    assert collections() == ["Series A"]
    # When another tool adds its own collection through plexapi between our syncs
    plex.fetchItem(key).addCollection("Kometa: Top Rated")
    # And the groups change in Stash before each of three syncs
    for names, expected in [
        (("Series B",), ["Kometa: Top Rated", "Series B"]),
        (("Series B", "Series C"), ["Kometa: Top Rated", "Series B", "Series C"]),
        (("Series A",), ["Kometa: Top Rated", "Series A"]),
    ]:
        stash.update_scene(scene, groups=groups(*names))
        world.sync("scenes", scene_ids=[scene])
        # Then the other tool's collection is still there, and ours are exactly Stash's groups
        assert collections() == expected
        # And an agent refresh between syncs changes none of it
        plex.fetchItem(key).refresh()
        assert collections() == expected
    # And when the scene leaves every group, only the other tool's collection is left
    stash.update_scene(scene, groups=[])
    world.sync("scenes", scene_ids=[scene])
    assert collections() == ["Kometa: Top Rated"]
