import sqlite3

from stashplex.plex.handback import release, release_targets, select_undo
from stashplex.plex.journal import journal_entries
from stashplex.plex.state import GatewayState, Written
from stashplex.runtime.datadir import DataDir


def test_state_written_before_backgrounds_existed_is_upgraded_in_place(tmp_path):
    # Given a gateway state file from before backgrounds were synced, holding one write
    data = DataDir(tmp_path)
    data.state.mkdir(parents=True)
    old = sqlite3.connect(data.state / "plex_gateway.db")
    old.execute(
        "CREATE TABLE written (rating_key INTEGER PRIMARY KEY, scene_id TEXT NOT NULL,"
        " revision INTEGER NOT NULL, fields TEXT NOT NULL, poster_source TEXT, poster_sha1 TEXT,"
        " written_at REAL NOT NULL)"
    )
    old.execute("INSERT INTO written VALUES (7, '3', 2, '{}', '/scene/3/screenshot', 'abc', 1.0)")
    old.commit()
    old.close()
    # When it is opened now
    state = GatewayState(data)
    # Then the old row reads back unchanged, and a background can be recorded beside it
    assert state.written([7])[7] == Written("3", 2, {}, "/scene/3/screenshot", "abc")
    state.record(8, Written("4", 1, {}, None, None, "/scene/4/screenshot", "def"))
    assert state.written([8])[8].background_sha1 == "def"


def test_a_journal_from_before_locks_were_recorded_is_upgraded_and_still_undoable(tmp_path):
    # Given a journal row written by an older version: no job, no old lock, no old ownership
    data = DataDir(tmp_path)
    data.state.mkdir(parents=True)
    old = sqlite3.connect(data.state / "plex_gateway.db")
    old.execute(
        "CREATE TABLE journal (id INTEGER PRIMARY KEY AUTOINCREMENT, batch TEXT NOT NULL,"
        " at REAL NOT NULL, rating_key INTEGER NOT NULL, scene_id TEXT, action TEXT NOT NULL,"
        " field TEXT NOT NULL, old TEXT, new TEXT)"
    )
    old.execute(
        "INSERT INTO journal(batch, at, rating_key, scene_id, action, field, old, new)"
        " VALUES ('b', 1.0, 7, '3', 'write', 'title', '\"Agent\"', '\"Stash\"')"
    )
    old.commit()
    old.close()
    # When it is opened now
    state = GatewayState(data)
    # Then the row reads back with its lock and ownership unknown, and an undo plans it locked
    (entry,) = journal_entries(state.store, 7)
    assert (entry["job_id"], entry["old_locked"], entry["owned_before"]) == (None, None, None)
    (restore,), skipped = select_undo(state.store, rating_key=7)
    assert (restore.value, restore.written, restore.locked, skipped) == ("Agent", "Stash", None, [])
    # And the journal can be read by scene
    assert journal_entries(state.store, scene_id="3") == [entry]


def test_a_release_forgets_the_fields_and_their_preserved_mark_and_is_journaled(tmp_path):
    # Given two items of one scene, one preserving a person's title
    state = GatewayState(DataDir(tmp_path))
    owned = {"title": "Ours", "summary": "S"}
    state.record(1, Written("5", 1, dict(owned), preserved=("title",)))
    state.record(2, Written("5", 1, dict(owned)))
    state.record(3, Written("6", 1, dict(owned), preserved=("title",)))
    # When the scene's preserved fields are released (no field named)
    assert release_targets(state, [], scene_id="5") == {1: ("5", ["title"])}
    targets = release(state, [], scene_id="5")
    # Then only that item's title is no longer ours, and the release is journaled
    assert targets == {1: ("5", ["title"])}
    assert state.written([1])[1].fields == {"summary": "S"}
    assert state.written([1])[1].preserved == ()
    assert state.written([2])[2].fields == owned
    assert state.written([3])[3].preserved == ("title",)
    (entry,) = journal_entries(state.store, 1)
    assert (entry["action"], entry["field"], entry["old"]) == ("release", "title", "Ours")
    # And naming a field releases it wherever it is ours
    assert set(release(state, ["summary"])) == {1, 2, 3}
