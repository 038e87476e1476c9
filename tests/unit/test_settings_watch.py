"""Changed settings are noticed at the next hook or within a minute, and never judged wrongly."""

from __future__ import annotations

import logging

import pytest

from stashplex.config.settings import Settings, SettingsError, load_settings
from stashplex.config.watch import SettingsWatch, describe_changes, settings_fix
from stashplex.runtime.problems import SETTINGS, ProblemLog


class Sources:
    """What the settings' sources say, and how often they were asked."""

    def __init__(self, settings: Settings, *, from_stash: bool = True) -> None:
        self.settings: Settings | Exception = settings
        self.from_stash = from_stash
        self.reads = 0

    def load(self) -> tuple[Settings, bool]:
        self.reads += 1
        if isinstance(self.settings, Exception):
            raise self.settings
        return self.settings, self.from_stash


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


RUNNING = Settings(plex_url="http://plex:32400", plex_token="old-secret-token")


def watch_of(sources: Sources, tmp_path, clock: Clock | None = None):
    changes: list[str] = []
    watch = SettingsWatch(
        RUNNING,
        from_stash=True,
        load=sources.load,
        problems=ProblemLog(tmp_path),
        on_change=changes.append,
        clock=clock or Clock(),
    )
    return watch, changes


def test_without_a_hook_the_sources_are_read_again_only_after_a_minute(tmp_path):
    # Given a watch whose sources say what runs
    clock = Clock()
    sources = Sources(RUNNING)
    watch, _ = watch_of(sources, tmp_path, clock)
    # When Intake asks before each take, within the minute and after it
    assert watch.current() and sources.reads == 0
    clock.now += 61
    assert watch.current()
    # Then the sources were read once, when the minute had passed
    assert sources.reads == 1


def test_a_hook_makes_the_next_take_read_the_sources_and_a_change_is_applied_once(tmp_path):
    # Given a watch, and dry_run switched on in Stash
    sources = Sources(RUNNING)
    watch, changes = watch_of(sources, tmp_path)
    sources.settings = RUNNING.model_copy(update={"dry_run": True})
    # When a hook arrives and Intake asks before taking its event (twice)
    watch.poke()
    first, second = watch.current(), watch.current()
    # Then the running settings are stale and a restart is asked for once, naming the change
    assert (first, second) == (False, False)
    assert changes == ["dry_run false -> true"]
    assert sources.reads == 1


def test_confirming_reads_the_sources_without_a_hook_and_says_whether_they_still_hold(tmp_path):
    # Given a watch within its minute and with no hook since its last look
    sources = Sources(RUNNING)
    watch, changes = watch_of(sources, tmp_path)
    # When a catch-up pass confirms the settings, before and after sync_title is turned off
    before = watch.confirm()
    sources.settings = RUNNING.model_copy(update={"sync_title": False})
    after = watch.confirm()
    # Then each confirmation read the sources, and the second found the change and asked once
    assert (before, after) == (True, False)
    assert sources.reads == 2
    assert changes == ["sync_title true -> false"]


def test_a_changed_secret_is_named_but_never_shown(tmp_path, caplog):
    sources = Sources(RUNNING.model_copy(update={"plex_token": "new-secret-token"}))
    watch, changes = watch_of(sources, tmp_path)
    with caplog.at_level(logging.WARNING):
        watch.poke()
        assert not watch.current()
    assert changes == ["plex_token changed"]
    assert "secret-token" not in caplog.text
    assert "settings changed: plex_token changed" in caplog.text


def test_stash_that_does_not_answer_is_no_reason_to_restart(tmp_path):
    # Given settings that came partly from Stash, and Stash not answering now
    changed = RUNNING.model_copy(update={"dry_run": True})
    sources = Sources(changed, from_stash=False)
    watch, changes = watch_of(sources, tmp_path)
    # When a hook arrives
    watch.poke()
    # Then what runs stays, since nobody can tell what Stash says
    assert watch.current() and changes == []


def test_refused_settings_keep_the_running_ones_and_are_recorded_until_valid_again(tmp_path):
    # Given plex_url saved in Stash without http://
    sources = Sources(RUNNING)
    watch, changes = watch_of(sources, tmp_path)
    try:
        load_settings(env={}, stash_plugin_config={"plex_url": "plex:32400"})
    except SettingsError as exc:
        sources.settings = exc
    # When a hook arrives
    watch.poke()
    # Then the supervisor keeps running with what it has, and the problem is recorded once
    assert watch.current() and changes == []
    problem = ProblemLog(tmp_path).active()[SETTINGS]
    assert "plex_url (from Stash plugin settings): must start with http://" in problem.message
    assert "keeps the previous ones" in problem.message
    assert problem.fix.startswith("correct plex_url in Stash (Settings > Plugins")
    # And once the sources are valid again the problem is gone
    sources.settings = RUNNING
    watch.poke()
    assert watch.current()
    assert SETTINGS not in ProblemLog(tmp_path).active()


@pytest.mark.parametrize(
    ("source", "fix"),
    [
        ({"env": {"STASHPLEX_BREAKER_FAILURES": "0"}}, "correct STASHPLEX_BREAKER_FAILURES in the"),
        ({"stash_plugin_config": {"rss_cap_mb": 1}}, "correct rss_cap_mb in Stash"),
    ],
    ids=["environment", "Stash"],
)
def test_the_fix_of_a_refused_setting_names_where_it_is_set(source, fix):
    with pytest.raises(SettingsError) as error:
        load_settings(**{"env": {}, **source})
    assert settings_fix(error.value).startswith(fix)


def test_the_fix_of_a_setting_in_the_config_file_names_the_file(tmp_path):
    config = tmp_path / "config.toml"
    config.write_text("max_attempts = 0\n")
    with pytest.raises(SettingsError) as error:
        load_settings(config_file=config, env={})
    fix = settings_fix(error.value)
    assert fix == f"correct max_attempts in {config}; the next save applies it"


def test_changes_are_described_on_one_line_in_the_settings_order():
    new = RUNNING.model_copy(update={"path_map": ("/data/ => /media/",), "transient_retries": 9})
    assert describe_changes(RUNNING, new) == (
        "path_map '' -> '/data/ => /media/', transient_retries 5 -> 9"
    )
