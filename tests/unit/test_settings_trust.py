"""Where each setting came from decides where its secrets may go (issue 16, items 1 and 5)."""

import pytest

from stashplex.config.settings import SettingsError, load_settings


def test_a_token_from_the_file_may_not_follow_a_plex_url_saved_in_stash(tmp_path):
    # Given the token in config.toml and plex_url saved through Stash's plugin settings
    config = tmp_path / "config.toml"
    config.write_text('plex_url = "http://plex.lan:32400"\nplex_token = "file-token"\n')
    settings = load_settings(
        config_file=config, env={}, stash_plugin_config={"plex_url": "http://evil:32400"}
    )
    # When asked whether the token may go to that URL
    # Then no: the URL is less trusted than the token
    assert settings.plex_url == "http://evil:32400"
    assert settings.source_of("plex_url") == "Stash plugin settings"
    assert not settings.secret_may_reach("plex_token", "plex_url")


@pytest.mark.parametrize(
    ("file", "env", "stash", "allowed"),
    [
        # URL and token both from the file, or URL from the environment: this machine's choice
        ({"plex_url": "http://a", "plex_token": "t"}, {}, {}, True),
        ({"plex_token": "t"}, {"STASHPLEX_PLEX_URL": "http://a"}, {}, True),
        # both saved in Stash: whoever set the URL set the token too
        ({}, {}, {"plex_url": "http://a", "plex_token": "t"}, True),
        # the token from Stash may go to a URL from the file
        ({"plex_url": "http://a"}, {}, {"plex_token": "t"}, True),
        # no token at all: nothing to protect
        ({}, {}, {"plex_url": "http://a"}, True),
        # the token from the environment, the URL from Stash
        ({}, {"STASHPLEX_PLEX_TOKEN": "t"}, {"plex_url": "http://a"}, False),
    ],
)
def test_a_secret_goes_only_to_a_url_from_the_same_or_a_more_trusted_source(
    tmp_path, file, env, stash, allowed
):
    config = tmp_path / "config.toml"
    config.write_text("".join(f'{k} = "{v}"\n' for k, v in file.items()))
    settings = load_settings(config_file=config, env=env, stash_plugin_config=stash)
    assert settings.secret_may_reach("plex_token", "plex_url") is allowed


def test_the_stash_url_and_api_key_are_never_taken_from_stash(tmp_path, caplog):
    # Given a Stash URL and key in the file, and others saved in Stash's plugin settings
    config = tmp_path / "config.toml"
    config.write_text('stash_url = "http://stash:9999"\nstash_api_key = "key-from-file"\n')
    stash = {"stash_url": "http://evil:9999", "stash_api_key": "stash-set-key"}
    # When they are merged
    settings = load_settings(config_file=config, env={}, stash_plugin_config=stash)
    # Then the file's values stand, and the log says why Stash's were ignored
    assert settings.stash_url == "http://stash:9999"
    assert settings.stash_api_key.get_secret_value() == "key-from-file"
    assert "ignoring stash_api_key, stash_url saved in Stash" in caplog.text


@pytest.mark.parametrize("raw", ["tok-123\n", "  tok-123", "tok-123\r\n", "\ttok-123 "])
def test_whitespace_around_a_token_is_removed_with_a_warning(raw, caplog):
    # Given a token pasted with a newline or spaces around it (echo > file, a copied line)
    settings = load_settings(env={"STASHPLEX_PLEX_TOKEN": raw})
    # Then the bare token is used, and the log says what happened without showing it
    assert settings.plex_token.get_secret_value() == "tok-123"
    assert "plex_token: whitespace around the value removed" in caplog.text
    assert "tok-123" not in caplog.text


@pytest.mark.parametrize("raw", ["tok 123", "tok\n123", "tök-123", "tok\x00123"])
def test_a_token_with_a_space_or_a_character_no_header_can_carry_is_refused(raw):
    with pytest.raises(SettingsError) as error:
        load_settings(env={"STASHPLEX_STASH_API_KEY": raw})
    message = str(error.value)
    assert "stash_api_key (from environment STASHPLEX_STASH_API_KEY)" in message
    assert "must be the token alone" in message
    assert "\n" not in message
    assert raw not in message
