"""The Stash client against the Stash emulator: how a long walk pages through scenes."""

import pytest

from stashplex.sandbox.stash import StashEmulator
from stashplex.stash import StashAuthError, StashClient, StashQueryError

DESTROY = "mutation ($input: SceneDestroyInput!) { sceneDestroy(input: $input) }"


@pytest.fixture
def stash():
    emulator = StashEmulator().start()
    yield emulator
    emulator.stop()


def test_a_walk_misses_no_scene_when_others_are_edited_or_deleted_during_it(stash):
    # Given 25 scenes, walked 10 at a time
    ids = [stash.add_scene(title=f"s{n}", files=[{"path": f"/data/{n}.mp4"}]) for n in range(25)]
    pages = StashClient(stash.url).scene_pages(page_size=10)
    total, first = next(pages)
    seen = [s["id"] for s in first]
    # When, after the first page, two scenes already seen are deleted and one is edited
    for scene_id in ids[:2]:
        stash.graphql(DESTROY, {"input": {"id": scene_id}})
    stash.update_scene(ids[2], title="edited during the walk")
    for _, scenes in pages:
        seen += [s["id"] for s in scenes]
    # Then every scene was seen exactly once, and the count was the whole walk's
    assert total == 25
    assert seen == ids
    assert len(seen) == len(set(seen)) == 25


COVER = b"\x89PNG\r\n\x1a\n" + b"a real cover" * 20


@pytest.fixture
def stash_with_login():
    emulator = StashEmulator(username="admin", password="secret").start()
    yield emulator
    emulator.stop()


def cover_url(stash, scene_id):
    data = stash.graphql("query($id: ID) { findScene(id: $id) { paths { screenshot } } }",
                         {"id": scene_id})  # fmt: skip
    return data["data"]["findScene"]["paths"]["screenshot"]


def test_a_cover_read_with_a_live_plugin_session_is_the_image(stash_with_login):
    # Given Stash with a login and a scene with a cover, and the session a hook handed over
    scene_id = stash_with_login.add_scene(files=[{"path": "/data/a.mp4"}], cover=COVER)
    client = StashClient(stash_with_login.url)
    client.use_session_cookie(stash_with_login.session_cookie)
    # When the cover is fetched, Then it is the image byte for byte
    assert client.fetch_image(cover_url(stash_with_login, scene_id)) == COVER


def test_an_expired_session_never_turns_the_login_page_into_a_cover(stash_with_login):
    # Given a plugin session that has expired (Stash then redirects image routes to /login,
    # which answers 200 with HTML)
    scene_id = stash_with_login.add_scene(files=[{"path": "/data/a.mp4"}], cover=COVER)
    client = StashClient(stash_with_login.url)
    client.use_session_cookie(stash_with_login.session_cookie)
    stash_with_login.expire_sessions()
    # When the cover is fetched
    with pytest.raises(StashAuthError, match="wants a login"):
        client.fetch_image(cover_url(stash_with_login, scene_id))
    # Then no bytes came back to upload: the caller sees an authentication problem


def test_the_placeholder_stash_serves_for_a_coverless_scene_is_not_a_cover(stash):
    # Given a scene without a cover (Stash serves its built-in svg for it)
    scene_id = stash.add_scene(files=[{"path": "/data/a.mp4"}])
    client = StashClient(stash.url)
    # When it is fetched, Then it is refused rather than uploaded as a poster
    with pytest.raises(StashQueryError, match="image/svg"):
        client.fetch_image(cover_url(stash, scene_id))


def test_without_a_stash_url_the_address_stash_hands_a_plugin_run_is_used(stash):
    # Given a client on the default address, which is not where this Stash listens
    client = StashClient("http://127.0.0.1:9", follow_plugin_connection=True)
    # When a hook's server_connection names Stash's real port
    client.use_connection({"scheme": "http", "host": "127.0.0.1", "port": stash.port})
    # Then reads go there
    assert client.version() is not None


def test_a_configured_stash_url_is_never_replaced_by_a_plugin_runs_address(stash):
    client = StashClient(stash.url, follow_plugin_connection=False)

    client.use_connection({"scheme": "http", "host": "127.0.0.1", "port": 9})

    assert client.url == stash.url and client.version() is not None
