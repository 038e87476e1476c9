import sqlite3

import pytest

from stashplex.runtime.corruption import is_corruption
from stashplex.runtime.store import Store


@pytest.mark.parametrize(
    ("error", "corrupt"),
    [
        (sqlite3.DatabaseError("file is not a database"), True),
        (sqlite3.DatabaseError("database disk image is malformed"), True),
        (sqlite3.DatabaseError("integrity check failed"), True),
        (sqlite3.OperationalError("database is locked"), False),
        (sqlite3.OperationalError("database or disk is full"), False),
        (sqlite3.OperationalError("disk I/O error"), False),
        (sqlite3.IntegrityError("UNIQUE constraint failed: t.id"), False),
        (sqlite3.ProgrammingError("Cannot operate on a closed database."), False),
    ],
)
def test_only_a_damaged_file_counts_as_corruption(error, corrupt):
    # Given an error SQLite raised / Then only an unreadable file is one to set aside
    assert is_corruption(error) is corrupt


def test_a_corrupt_store_is_moved_aside_with_its_reason_and_a_fresh_one_is_used(tmp_path):
    # Given a store file that is not SQLite
    path = tmp_path / "state" / "intake.db"
    path.parent.mkdir()
    path.write_bytes(b"this is not sqlite at all" * 100)
    # When the store is opened
    store = Store(path, ["CREATE TABLE IF NOT EXISTS kv (k TEXT PRIMARY KEY, v TEXT)"])
    # Then the old file sits beside it with a REASON file, and the new one works
    (moved,) = [
        p
        for p in path.parent.iterdir()
        if p.name.startswith("intake.db.corrupt-") and not p.name.endswith(".REASON.txt")
    ]
    assert moved.read_bytes().startswith(b"this is not sqlite")
    reason = moved.with_name(moved.name + ".REASON.txt").read_text()
    assert "not a database" in reason
    with store.transaction() as conn:
        conn.execute("INSERT INTO kv VALUES ('a', '1')")
    assert store.query("SELECT v FROM kv")[0]["v"] == "1"


def test_a_store_that_is_only_locked_is_not_thrown_away(tmp_path):
    # Given a store whose file another connection holds an exclusive lock on
    path = tmp_path / "busy.db"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("CREATE TABLE t (x)")
    holder.execute("BEGIN EXCLUSIVE")
    # When the store is opened with a short busy timeout and cannot get in
    # Then it raises the lock error and leaves the file where it is
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        Store(path, ["CREATE TABLE IF NOT EXISTS t (x)", "INSERT INTO t VALUES (1)"], busy_s=0.1)
    holder.execute("ROLLBACK")
    assert [p.name for p in tmp_path.iterdir() if "corrupt" in p.name] == []
