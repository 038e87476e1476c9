"""The Stash client against the Stash emulator: how a long walk pages through scenes."""

import pytest

from stashplex.sandbox.stash import StashEmulator
from stashplex.stash import StashClient

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
