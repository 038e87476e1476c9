"""``stashplex uninstall``: what stays behind after the plugin is gone, removed on request."""

from __future__ import annotations

import pytest

from stashplex.cli import main
from stashplex.runtime.datadir import DataDir, read_holder
from tests.support.processes import answering, configure_for, start_supervisor, stop_supervisor
from tests.support.waiting import wait_until
from tests.support.world import SyncWorld


def cli(capsys, *argv) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture
def data_dir(tmp_path):
    """A data directory as a supervisor leaves it."""
    data = tmp_path / "data"
    DataDir(data).ensure()
    (data / "config.toml").write_text('plex_url = "http://127.0.0.1:1"\n')
    (data / "logs" / "supervisor.log").write_text("x" * 2048)
    return data


def test_without_yes_it_says_what_would_go_and_deletes_nothing(capsys, data_dir):
    # When uninstall runs without --yes
    code, out, err = cli(capsys, "uninstall", "--data-dir", str(data_dir))

    # Then it exits 2 with one line naming the flag, and the folder is untouched
    assert code == 2
    assert out.startswith(f"would stop the supervisor if it runs and delete {data_dir} (")
    assert err.strip().splitlines() == [
        f"stashplex uninstall: nothing removed: add --yes to delete {data_dir}"
    ]
    assert (data_dir / "config.toml").is_file()


def test_a_folder_that_is_no_data_directory_is_never_deleted(capsys, tmp_path):
    # Given a folder with unrelated files (a mistyped --data-dir)
    (tmp_path / "photos").mkdir()

    # When uninstall --yes is pointed at it
    code, _, err = cli(capsys, "uninstall", "--data-dir", str(tmp_path), "--yes")

    # Then it refuses in one line and deletes nothing
    assert code == 2
    assert "does not look like a stashplex data directory" in err
    assert (tmp_path / "photos").is_dir()


def test_a_missing_data_directory_is_nothing_to_do(capsys, tmp_path):
    code, out, _ = cli(capsys, "uninstall", "--data-dir", str(tmp_path / "gone"), "--yes")

    assert code == 0 and out.startswith("nothing to remove")


def test_with_yes_it_stops_the_running_supervisor_and_deletes_the_data_directory(capsys, tmp_path):
    # Given a running supervisor with its data directory
    world = SyncWorld(tmp_path)
    data = tmp_path / "data"
    configure_for(world, data)
    supervisor = start_supervisor(data)
    try:
        wait_until(lambda: answering(data), timeout=30, message="supervisor answering")

        # When uninstall --yes runs
        code, out, _ = cli(capsys, "uninstall", "--data-dir", str(data), "--yes")

        # Then the supervisor is stopped and the folder is gone
        assert code == 0
        assert "stopped the supervisor (pid " in out and f"removed {data} (" in out
        assert not data.exists()
        assert read_holder(DataDir(data)) is None
        supervisor.wait(10)
    finally:
        stop_supervisor(supervisor)
        world.close()
