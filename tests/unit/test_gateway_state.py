import sqlite3

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
