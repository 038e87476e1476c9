"""Intake and edits of related objects: a renamed, merged or deleted tag, performer, studio or
group re-syncs the scenes linked to it. Real mailboxes and stores; the Stash emulator is Intake's
only neighbour."""

from __future__ import annotations

import pytest

from actors.addresses import INTAKE, PLEX_GATEWAY, SCHEDULER
from actors.intake import Intake
from actors.intake_related import RELATED_RETRY_TIMER_PREFIX, STASH_RETRY_S
from actors.intake_state import SyncState, counters
from actors.messages import HOOK_EVENT, SYNC_DONE, SYNC_LOCATE, SYNC_REQUEST, TIMER_SET
from stashplex.sandbox.stash import StashEmulator
from stashplex.stash import StashClient
from tests.support.actors import Harness
from tests.support.waiting import wait_until

TAG_RENAME = """
mutation ($input: TagUpdateInput!) { tagUpdate(input: $input) { id } }"""


@pytest.fixture
def stash():
    emulator = StashEmulator().start()
    yield emulator
    emulator.stop()


def related(trigger: str, object_id: str, fields=("id", "name"), at=None) -> dict:
    return {
        "trigger": trigger,
        "object_id": object_id,
        "input_fields": list(fields),
        "received_at": at,
    }


def start(tmp_path, stash, **settings) -> Harness:
    h = Harness(tmp_path, stash_url=stash.url, **settings)
    Intake.start(h.context(stash=StashClient(stash.url), intake_debounce_s=0))
    wait_until(lambda: SyncState(h.data).kv.get("cursor"), message="start-up catch-up done")
    return h


def stats(h: Harness) -> dict:
    return counters(SyncState(h.data).store)


def jobs(h: Harness) -> list:
    return [e for e in h.drain(PLEX_GATEWAY) if e.kind == SYNC_LOCATE]


def scene_with(stash: StashEmulator, n: int, **links) -> str:
    return stash.add_scene(title=f"s{n}", files=[{"path": f"/data/{n}.mp4"}], **links)


def test_a_tag_rename_sends_every_scene_carrying_the_tag_and_only_those(tmp_path, stash):
    # Given two scenes with a tag and one without it
    tag, other = stash.add_tag("Old genre"), stash.add_tag("Other")
    carrying = [scene_with(stash, n, tag_ids=[tag, other]) for n in range(2)]
    scene_with(stash, 9, tag_ids=[other])
    h = start(tmp_path, stash)
    # When the tag is renamed in Stash and its hook event reaches Intake
    stash.graphql(TAG_RENAME, {"input": {"id": tag, "name": "New genre"}})
    h.send(INTAKE, HOOK_EVENT, related("Tag.Update.Post", tag))
    # Then exactly the two scenes carrying it become jobs, with the new name
    wait_until(lambda: stats(h).get("jobs_emitted") == 2, message="two jobs")
    emitted = jobs(h)
    assert sorted(e.scene_id for e in emitted) == sorted(carrying)
    assert all("New genre" in e.payload["scene"]["tags"] for e in emitted)
    assert stats(h)["related_scenes"] == 2


@pytest.mark.parametrize(
    ("trigger", "link"),
    [
        ("Performer.Update.Post", "performer"),
        ("Studio.Update.Post", "studio"),
        ("Group.Update.Post", "group"),
    ],
)
def test_a_performer_studio_or_group_rename_reaches_its_scenes_too(tmp_path, stash, trigger, link):
    # Given a scene linked to a performer, a studio and a group
    ids = {
        "performer": stash.add_performer("P"),
        "studio": stash.add_studio("S"),
        "group": stash.add_group("G"),
    }
    scene_id = scene_with(
        stash,
        1,
        performer_ids=[ids["performer"]],
        studio_id=ids["studio"],
        groups=[{"group_id": ids["group"], "scene_index": None}],
    )
    scene_with(stash, 2)
    h = start(tmp_path, stash)
    # When one of them is edited
    h.send(INTAKE, HOOK_EVENT, related(trigger, ids[link]))
    # Then the linked scene, and only it, is read again and sent on
    wait_until(lambda: stats(h).get("jobs_emitted") == 1, message="one job")
    assert [e.scene_id for e in jobs(h)] == [scene_id]


def test_an_edit_of_a_tag_field_we_do_not_sync_is_dropped_without_asking_stash(tmp_path, stash):
    # Given a tag on a scene
    tag = stash.add_tag("Genre")
    scene_with(stash, 1, tag_ids=[tag])
    h = start(tmp_path, stash)
    stash.requests.reset()
    # When only its description and aliases are edited
    h.send(INTAKE, HOOK_EVENT, related("Tag.Update.Post", tag, ("id", "description", "aliases")))
    # Then the event is dropped before any Stash request, and nothing goes to Plex
    wait_until(lambda: stats(h).get("dropped_irrelevant") == 1, message="dropped")
    assert stash.requests.count(root_field="findScenes") == 0
    assert h.post[PLEX_GATEWAY].depth() == 0


def test_with_tags_switched_off_even_a_tag_rename_is_dropped(tmp_path, stash):
    tag = stash.add_tag("Genre")
    scene_with(stash, 1, tag_ids=[tag])
    h = start(tmp_path, stash, sync_tags=False)
    stash.requests.reset()

    h.send(INTAKE, HOOK_EVENT, related("Tag.Update.Post", tag))

    wait_until(lambda: stats(h).get("dropped_irrelevant") == 1, message="dropped")
    assert stash.requests.count(root_field="findScenes") == 0


def test_a_rename_that_changes_nothing_plex_shows_is_read_but_sends_no_job(tmp_path, stash):
    # Given a scene synced once with its tag
    tag = stash.add_tag("Genre")
    scene_id = scene_with(stash, 1, tag_ids=[tag])
    h = start(tmp_path, stash)
    h.send(INTAKE, HOOK_EVENT, related("Tag.Update.Post", tag))
    wait_until(lambda: stats(h).get("jobs_emitted") == 1, message="first job")
    (first,) = jobs(h)
    done = {
        "scene_id": scene_id,
        "fingerprint": first.payload["fingerprint"],
        "revision": first.payload["revision"],
        "status": "written",
    }
    h.send(INTAKE, SYNC_DONE, done)
    # When the tag's edit form is saved again with the name as it was (name is in inputFields)
    h.send(INTAKE, HOOK_EVENT, related("Tag.Update.Post", tag, ("id", "name", "description")))
    # Then its scene is read again, but the unchanged fingerprint sends nothing to Plex
    wait_until(lambda: stats(h).get("related_scenes") == 2, message="scene re-read")
    h.drain(SCHEDULER)
    wait_until(lambda: SyncState(h.data).pending_count() == 0, message="flushed")
    assert stats(h)["jobs_emitted"] == 1
    assert jobs(h) == []


def test_a_rename_is_never_dropped_as_older_than_our_last_fetch_of_its_scenes(tmp_path, stash):
    # Given a scene fetched (and sent) just now
    tag = stash.add_tag("Old genre")
    scene_id = scene_with(stash, 1, tag_ids=[tag])
    h = start(tmp_path, stash)
    h.send(INTAKE, HOOK_EVENT, related("Tag.Update.Post", tag))
    wait_until(lambda: stats(h).get("jobs_emitted") == 1, message="first job")
    jobs(h)
    # When a rename arrives stamped before that fetch (a fetch in flight may have read the old
    # name, and no catch-up would ever see the rename)
    stash.graphql(TAG_RENAME, {"input": {"id": tag, "name": "New genre"}})
    h.send(INTAKE, HOOK_EVENT, related("Tag.Update.Post", tag, at=1.0))
    # Then the scene is read again all the same, and the new name goes to Plex
    wait_until(lambda: stats(h).get("jobs_emitted") == 2, message="second job")
    (job,) = jobs(h)
    assert (job.scene_id, job.payload["scene"]["tags"]) == (scene_id, ["New genre"])
    assert stats(h).get("dropped_stale", 0) == 0


def test_when_stash_cannot_list_the_scenes_the_event_is_tried_again_later(tmp_path, stash):
    # Given Intake running, then Stash going down
    tag = stash.add_tag("Genre")
    scene_with(stash, 1, tag_ids=[tag])
    h = start(tmp_path, stash)
    h.drain(SCHEDULER)
    stash.faults.down()
    # When a tag rename arrives
    event = related("Tag.Update.Post", tag, at=123.0)
    h.send(INTAKE, HOOK_EVENT, event)
    # Then the event is handed to the Scheduler to come back to Intake, not lost
    wait_until(lambda: h.post[SCHEDULER].depth() > 0, message="a retry timer")
    (timer,) = [e for e in h.drain(SCHEDULER) if e.kind == TIMER_SET]
    assert timer.payload["timer_id"] == f"{RELATED_RETRY_TIMER_PREFIX}tag:{tag}"
    assert timer.payload["due_at"] >= timer.created_at + STASH_RETRY_S - 1
    assert timer.payload["job"] == {"to": INTAKE, "kind": HOOK_EVENT, "payload": event}
    assert SyncState(h.data).pending_count() == 0


def read_once(h: Harness, scene_ids: list[str]) -> None:
    """Intake reads these scenes (a sync of them), so its table knows their links."""
    h.send(INTAKE, SYNC_REQUEST, {"mode": "scenes", "scene_ids": scene_ids})
    wait_until(lambda: stats(h).get("jobs_emitted", 0) >= len(scene_ids), message="first read")
    jobs(h)


@pytest.mark.parametrize(
    ("kind", "link"),
    [("performer", "performer_ids"), ("tag", "tag_ids"), ("group", "groups"), ("studio", None)],
)
def test_a_deleted_object_re_reads_the_scenes_it_had_at_their_last_read(
    tmp_path, stash, kind, link
):
    # Given two scenes linked to an object, read once by Intake, and a third without it
    target = getattr(stash, f"add_{kind}")("Gone soon")
    linked = {
        "performer_ids": lambda: {"performer_ids": [target]},
        "tag_ids": lambda: {"tag_ids": [target]},
        "groups": lambda: {"groups": [{"group_id": target}]},
        None: lambda: {"studio_id": target},
    }[link]
    carrying = [scene_with(stash, n, **linked()) for n in range(2)]
    other = scene_with(stash, 9)
    h = start(tmp_path, stash)
    read_once(h, [*carrying, other])
    # When the object is deleted in Stash (which drops the links) and its hook event arrives
    stash.destroy(kind, target)
    trigger = f"{kind.capitalize()}.Destroy.Post"
    event = related(trigger, target, fields=()) | {"input": {"id": target}}
    h.send(INTAKE, HOOK_EVENT, event)
    # Then exactly the scenes that carried it are read again and sent on without it
    wait_until(lambda: stats(h).get("jobs_emitted") == 5, message="two more jobs")
    emitted = jobs(h)
    assert sorted(e.scene_id for e in emitted) == sorted(carrying)
    assert stats(h)["related_scenes"] == 2


def test_a_tag_merge_re_reads_the_scenes_of_the_destination_and_of_the_sources(tmp_path, stash):
    # Given a scene with the source tag, one with the destination, one with neither, all read
    source, destination = stash.add_tag("Old name"), stash.add_tag("Kept name")
    had_source = scene_with(stash, 1, tag_ids=[source])
    had_destination = scene_with(stash, 2, tag_ids=[destination])
    scene_with(stash, 3)
    h = start(tmp_path, stash)
    read_once(h, [had_source, had_destination])
    # When the source is merged into the destination and Tag.Merge.Post arrives (for the
    # destination, with the merge input)
    stash.merge_tags([source], destination)
    event = related("Tag.Merge.Post", destination, fields=())
    event["input"] = {"source": [source], "destination": destination}
    h.send(INTAKE, HOOK_EVENT, event)
    # Then both scenes are read again; the one that had the source now shows the destination
    wait_until(lambda: stats(h).get("related_scenes") == 2, message="both re-read")
    wait_until(lambda: stats(h).get("jobs_emitted") == 3, message="one new job")
    (job,) = jobs(h)
    assert (job.scene_id, job.payload["scene"]["tags"]) == (had_source, ["Kept name"])


def test_the_client_pages_through_every_linked_scene_in_id_order(stash):
    # Given seven scenes with a tag and two without
    tag = stash.add_tag("Genre")
    ids = [scene_with(stash, n, tag_ids=[tag] if n % 4 else []) for n in range(1, 10)]
    client = StashClient(stash.url)
    stash.requests.reset()
    # When the client lists the tag's scenes three to a page
    found = client.linked_scene_ids("tag", tag, page_size=3)
    # Then it gets all seven, in id order, in three requests
    assert found == [sid for n, sid in enumerate(ids, start=1) if n % 4]
    assert stash.requests.count(root_field="findScenes") == 3


def test_the_client_refuses_a_kind_it_has_no_criterion_for(stash):
    with pytest.raises(ValueError, match="no scene criterion for 'gallery'"):
        StashClient(stash.url).linked_scene_ids("gallery", "1")
