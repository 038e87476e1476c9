"""The CLI says what does not map and why a start failed, and each process keeps one log.

Every command runs as a user runs it: ``python -m stashplex ...`` in a subprocess.
"""

from __future__ import annotations

import json

import pytest

from tests.support.processes import configure_for, stashplex, write_config
from tests.support.stash_plugin import CONFIGURE_PLUGIN, broken_module
from tests.support.world import TOKEN, SyncWorld


@pytest.fixture
def world(tmp_path):
    w = SyncWorld(tmp_path, scenes=4)
    yield w
    stashplex("stop", "--data-dir", str(tmp_path / "data"), env={"PYTHONPATH": ""})
    w.close()


def test_unmatched_lists_every_scene_that_does_not_map_with_its_reason(world, tmp_path):
    # Given scenes Plex has at their mapped path, and three that it does not
    unmapped = world.stash.add_scene(title="Other disk", files=[{"path": "/other/disk/x.mp4"}])
    unscanned = world.stash.add_scene(title="New file", files=[{"path": "/data/Movies/new.mp4"}])
    ambiguous = world.stash.add_scene(
        title="Two candidates", files=[{"path": "/data/nowhere/shared name.mp4"}]
    )
    data = tmp_path / "data"
    configure_for(world, data)
    # When `stashplex unmatched` runs (no supervisor needed)
    result = stashplex("unmatched", "--data-dir", str(data))
    # Then it lists exactly those three, each with its reason, and exits 1
    assert result.returncode == 1, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "3 of 7 scenes do not map to a Plex item:"
    assert lines[1:] == [
        f"scene {unmapped} 'Other disk': no path-map rule: /other/disk/x.mp4: no rule maps it, "
        "and no Plex library is there",
        f"scene {unscanned} 'New file': not in Plex: /data/Movies/new.mp4 -> "
        "/media/Movies/new.mp4: Plex has no such file (not scanned?)",
        lines[3],
    ]
    assert lines[3].startswith(f"scene {ambiguous} 'Two candidates': ambiguous: ")
    assert "shared name.mp4" in lines[3]
    # And --json gives the same, one object per scene
    listed = json.loads(stashplex("unmatched", "--json", "--data-dir", str(data)).stdout)
    assert [(row["scene_id"], row["reason"]) for row in listed] == [
        (unmapped, "no path-map rule"), (unscanned, "not in Plex"), (ambiguous, "ambiguous"),
    ]  # fmt: skip


def test_unmatched_says_so_when_every_scene_maps(world, tmp_path):
    data = tmp_path / "data"
    configure_for(world, data)
    result = stashplex("unmatched", "--data-dir", str(data))
    assert result.returncode == 0
    assert result.stdout.startswith("all 4 scenes map to a Plex item (")


def test_start_with_a_setting_stash_refuses_says_which_and_names_host_log(world, tmp_path):
    # Given a Plex URL without http:// saved in Stash's plugin settings
    data = tmp_path / "data"
    write_config(data, plex_token=TOKEN, stash_url=world.stash.url)
    world.stash.graphql(CONFIGURE_PLUGIN, {"id": "stashplex", "input": {"plex_url": "plex"}})
    # When `stashplex start` runs
    result = stashplex("start", "--data-dir", str(data))
    # Then it fails in one line with the setting, its source, the fix, and the log with more
    assert result.returncode == 1
    (line,) = result.stderr.splitlines()
    assert line.startswith("stashplex start: the supervisor cannot start: invalid settings: ")
    assert "plex_url (from Stash plugin settings): must start with http://" in line
    assert "Fix: correct plex_url in Stash" in line
    assert line.endswith(f"(details in {data / 'logs' / 'host.log'})")


def test_start_with_an_actor_host_that_cannot_import_names_the_reason_and_supervisor_log(
    world, tmp_path
):
    # Given an environment in which the actor host cannot import pykka
    data = tmp_path / "data"
    configure_for(world, data)
    broken = {"PYTHONPATH": broken_module(tmp_path / "broken", "pykka")}
    # When `stashplex start` runs
    result = stashplex("start", "--data-dir", str(data), env=broken)
    # Then it says at once why, that the supervisor keeps trying, and where to read more
    assert result.returncode == 1
    (line,) = result.stderr.splitlines()
    assert "the actor host exited with code 1 before it was ready: ImportError: pykka" in line
    assert "it keeps trying (`stashplex stop` stops it)" in line
    assert line.endswith(f"(details in {data / 'logs' / 'supervisor.log'})")


def test_a_detached_supervisor_and_its_host_each_keep_one_log_file(world, tmp_path):
    # Given a supervisor started detached and stopped again
    data = tmp_path / "data"
    configure_for(world, data)
    assert stashplex("start", "--data-dir", str(data)).returncode == 0
    assert stashplex("stop", "--data-dir", str(data)).returncode == 0
    # Then the logs are one file per process, each line written once
    logs = data / "logs"
    assert sorted(path.name for path in logs.iterdir()) == ["host.log", "supervisor.log"]
    supervisor = (logs / "supervisor.log").read_text()
    host = (logs / "host.log").read_text()
    assert supervisor.count("actor host started (pid") == 1
    assert "ready in" in host and "ready in" not in supervisor


def test_status_names_the_watchdog_and_the_host_in_user_words_within_50_columns(world, tmp_path):
    # Given a supervisor started detached, with a scene Plex cannot match given up on
    from stashplex.runtime.datadir import DataDir, read_holder
    from tests.support.processes import host_pid

    data = tmp_path / "data"
    configure_for(world, data)
    world.stash.add_scene(files=[{"path": "/data/nowhere/shared name.mp4"}])
    assert stashplex("start", "--data-dir", str(data)).returncode == 0
    assert stashplex("sync", "--data-dir", str(data)).returncode == 1  # one scene failed
    # When `stashplex status` runs
    result = stashplex("status", "--data-dir", str(data))
    # Then the watchdog is the supervisor, the host has its own pid, and every line fits
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert f"supervisor  pid {read_holder(DataDir(data)).pid}" in lines
    assert any(line.startswith(f"actor host  pid {host_pid(data)}, up ") for line in lines)
    assert max(len(line) for line in lines) <= 50
    # And it speaks of failed syncs and the problem with its fix, never in the code's names
    text = " ".join(result.stdout.split())
    assert "failed 1 (1 " in text and "Fix: `stashplex dlq list`" in text
    for name in ("plex_gateway", "dead_letter", "intake", "{}", "low_confidence"):
        assert name not in result.stdout
