import logging

import pytest

from stashplex.config.settings import SettingsError, load_settings, secret_values
from stashplex.runtime.logs import SecretMaskingFilter, configure_logging, mask_secrets


def test_stash_settings_win_over_environment_which_wins_over_the_file(tmp_path):
    # Given the same setting in all three places
    config = tmp_path / "config.toml"
    config.write_text('transient_retries = 1\nnot_found_retries = 2\nbreaker_failures = 3\n')
    env = {"STASHPLEX_TRANSIENT_RETRIES": "10", "STASHPLEX_NOT_FOUND_RETRIES": "20"}
    stash = {"transient_retries": 7, "unknown_old_key": True}
    # When they are merged
    settings = load_settings(config_file=config, env=env, stash_plugin_config=stash)
    # Then Stash beats the environment, which beats the file
    assert (settings.transient_retries, settings.not_found_retries,
            settings.breaker_failures) == (7, 20, 3)


def test_a_bad_setting_names_itself_its_source_and_its_range(tmp_path):
    with pytest.raises(SettingsError) as error:
        load_settings(env={"STASHPLEX_DEAD_LETTER_RETENTION_DAYS": "400"})
    message = str(error.value)
    assert "dead_letter_retention_days" in message
    assert "environment STASHPLEX_DEAD_LETTER_RETENTION_DAYS" in message
    assert "365" in message


def test_a_setting_refused_by_its_own_rule_says_only_the_rule():
    # Given a Plex address that is not http(s)
    with pytest.raises(SettingsError) as error:
        # When the settings are read
        load_settings(env={"STASHPLEX_PLEX_URL": "ftp://plex.lan"})
    # Then the message is the rule in words, with no validator's code word before it
    message = str(error.value)
    assert "plex_url (from environment STASHPLEX_PLEX_URL): must start with http://" in message
    assert "Value error" not in message


def test_an_unknown_key_in_the_config_file_is_refused(tmp_path):
    config = tmp_path / "config.toml"
    config.write_text('plex_urll = "http://x"\n')
    with pytest.raises(SettingsError, match="unknown setting"):
        load_settings(config_file=config, env={})


def test_a_cap_below_its_base_is_refused():
    with pytest.raises(SettingsError, match="must not be below transient_base_seconds"):
        load_settings(env={"STASHPLEX_TRANSIENT_BASE_SECONDS": "50",
                           "STASHPLEX_TRANSIENT_CAP_SECONDS": "10"})


@pytest.mark.parametrize(
    ("hours", "accepted"),
    [("0", True), ("0.25", True), ("24", True), ("720", True), ("0.1", False), ("721", False),
     ("-1", False)],
)  # fmt: skip
def test_reconciliation_is_off_at_0_or_runs_every_quarter_hour_to_30_days(hours, accepted):
    env = {"STASHPLEX_RECONCILE_INTERVAL_HOURS": hours}
    if accepted:
        assert load_settings(env=env).reconcile_interval_hours == float(hours)
        return
    with pytest.raises(SettingsError, match="reconcile_interval_hours"):
        load_settings(env=env)


def test_reconciliation_runs_nightly_by_default():
    assert load_settings(env={}).reconcile_interval_hours == 24


def test_secrets_never_print_in_the_settings_repr():
    settings = load_settings(env={"STASHPLEX_PLEX_TOKEN": "super-secret-token"})
    assert "super-secret-token" not in repr(settings)
    assert secret_values(settings) == ["super-secret-token"]


@pytest.fixture
def restored_logging():
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        root.removeHandler(handler)
        if handler not in handlers:
            handler.close()
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)


def test_the_token_is_masked_in_every_log_line_and_traceback(tmp_path, restored_logging):
    # Given logging configured and the token registered as a secret
    log_file = tmp_path / "x.log"
    configure_logging(log_file=log_file, stderr=False)
    mask_secrets(["tok-ABCDEF-123"])
    log = logging.getLogger("stashplex.test")
    # When code logs it, directly, as an argument, and inside an exception
    log.error("token is tok-ABCDEF-123")
    log.warning("url %s", "http://plex/?X-Plex-Token=tok-ABCDEF-123")
    try:
        raise RuntimeError("failed with tok-ABCDEF-123")
    except RuntimeError:
        log.exception("boom")
    for handler in logging.getLogger().handlers:
        handler.flush()
    # Then the file shows only the mask
    text = log_file.read_text()
    assert "tok-ABCDEF-123" not in text
    assert text.count("***") >= 3


def test_short_strings_are_not_treated_as_secrets():
    masker = SecretMaskingFilter(["ab", ""])
    assert masker.mask("abc") == "abc"
