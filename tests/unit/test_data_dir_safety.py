"""The data directory is ours alone, and nothing in it is opened through a link (issue 16, 6)."""

import logging
import os
import sqlite3

import pytest

from stashplex.link.spool import drain_spool
from stashplex.runtime.datadir import DataDir, DataDirError, InstanceLock
from stashplex.runtime.logs import configure_logging
from stashplex.runtime.mailbox import Mailbox
from stashplex.runtime.store import Store

SECRET = b"the victim's own bytes\n"


@pytest.fixture
def victim(tmp_path):
    """A file outside the data directory that a planted link points at."""
    path = tmp_path / "victim.txt"
    path.write_bytes(SECRET)
    os.utime(path, (1_000_000, 1_000_000))
    return path


@pytest.fixture
def data(tmp_path):
    return DataDir(tmp_path / "data").ensure()


def untouched(victim) -> bool:
    return victim.read_bytes() == SECRET and victim.stat().st_mtime == 1_000_000


def test_a_data_directory_others_can_write_to_is_refused_in_one_line(tmp_path):
    # Given a data directory anyone may write to (anyone could plant links there)
    root = tmp_path / "data"
    root.mkdir()
    root.chmod(0o777)
    # When stashplex is to use it, Then it refuses, saying how to fix it
    with pytest.raises(DataDirError) as error:
        DataDir(root).ensure()
    assert str(error.value) == (
        f"{root} can be written by other users (mode 777); run `chmod 700 {root}`"
    )


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a directory away needs root")
def test_a_data_directory_owned_by_another_user_is_refused(tmp_path):
    root = tmp_path / "data"
    root.mkdir(mode=0o700)
    os.chown(root, 65534, 65534)
    with pytest.raises(DataDirError, match="belongs to uid 65534, not to this user"):
        DataDir(root).ensure()


def test_a_symlinked_folder_inside_is_set_aside_not_followed(tmp_path, data):
    # Given the logs folder replaced by a link to a folder elsewhere
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    data.logs.rmdir()
    data.logs.symlink_to(elsewhere)
    # When the tree is ensured, Then the link is moved aside and a real folder made
    data.ensure()
    assert data.logs.is_dir() and not data.logs.is_symlink()
    (aside,) = data.root.glob("logs.set-aside-*")
    assert aside.is_symlink() and aside.resolve() == elsewhere


def test_a_log_file_that_is_a_link_is_set_aside_and_the_log_is_written_owner_only(
    data, victim, caplog
):
    # Given a planted link where the host's log should be
    log_file = data.logs / "host.log"
    log_file.symlink_to(victim)
    root = logging.getLogger()
    before = list(root.handlers)
    try:
        # When logging is configured and a line written
        configure_logging(log_file=log_file, stderr=False)
        logging.getLogger("stashplex.test").error("a line")
        for handler in root.handlers:
            handler.flush()
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
            handler.close()
        for handler in before:
            root.addHandler(handler)
    # Then the victim is untouched and the log is a fresh 0600 file
    assert untouched(victim)
    assert not log_file.is_symlink() and "a line" in log_file.read_text()
    assert log_file.stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize("name", ["intake.db", "intake.db-wal"])
def test_a_sqlite_file_that_is_a_link_is_set_aside_and_never_opened(data, victim, name):
    (data.state / name).symlink_to(victim)
    store = Store(data.state / "intake.db", ["CREATE TABLE t (x)"])
    with store.transaction() as conn:
        conn.execute("INSERT INTO t VALUES (1)")
    store.close()
    assert untouched(victim)
    assert not (data.state / name).is_symlink()


def test_a_folder_where_a_sqlite_file_should_be_is_set_aside(data):
    (data.state / "intake.db").mkdir()
    (data.state / "intake.db" / "keep.txt").write_text("kept")
    store = Store(data.state / "intake.db", ["CREATE TABLE t (x)"])
    assert store.scalar("SELECT COUNT(*) FROM t") == 0
    store.close()
    (aside,) = data.state.glob("intake.db.set-aside-*")
    assert (aside / "keep.txt").read_text() == "kept"


def test_a_mailbox_file_that_is_a_link_is_set_aside(data, victim):
    folder = data.mailboxes / "intake"
    folder.mkdir()
    (folder / "data.db").symlink_to(victim)
    box = Mailbox("intake", folder)
    box.close()
    assert untouched(victim)
    with sqlite3.connect(folder / "data.db") as conn:
        assert conn.execute("PRAGMA quick_check").fetchone()[0] == "ok"


@pytest.mark.parametrize("name", ["supervisor.lock", "heartbeat", "host.pid"])
def test_lock_heartbeat_and_pid_files_are_never_written_through_a_link(data, victim, name):
    # Given a link where one of the supervisor's own files goes
    (data.root / name).symlink_to(victim)
    # When the supervisor takes its lock, beats and records the host's pid
    with InstanceLock(data):
        data.touch_heartbeat()
        data.write_host_pid(os.getpid())
    # Then the victim is neither truncated, written nor touched
    assert untouched(victim)
    assert not (data.root / name).is_symlink()


def test_a_spool_entry_that_is_a_link_is_quarantined_unread(data, victim):
    (data.spool / "00000000000000000001-1-aa.json").symlink_to(victim)
    seen = []
    report = drain_spool(data.root, seen.append)
    assert (seen, report.quarantined) == ([], 1)
    assert untouched(victim)
    assert (data.spool / "bad" / "00000000000000000001-1-aa.json").is_symlink()
