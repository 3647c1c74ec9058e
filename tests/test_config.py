from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from mintqo_lms.config import EXAMPLE_CONFIG, load_config
from mintqo_lms.moodle.errors import ConfigError, InsecureURLError

PROJECT = Path(__file__).resolve().parents[1]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "mintqo.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_shipped_example_config_is_the_one_init_writes_and_loads():
    assert (PROJECT / "config" / "mintqo.example.toml").read_text(encoding="utf-8") == EXAMPLE_CONFIG
    config = load_config(PROJECT / "config" / "mintqo.example.toml", environ={})
    assert config.moodle.url == "https://moodle.example.org"
    assert config.moodle.max_form_fields == 1000
    assert config.store.path == PROJECT / "config" / "mintqo.db"


def test_environment_overrides_url_and_token(tmp_path):
    path = write(tmp_path, '[moodle]\nurl = "https://a.example"\ntoken = "from-file"\n')
    config = load_config(path, environ={"MINTQO_MOODLE_URL": "https://b.example", "MINTQO_MOODLE_TOKEN": "env"})
    assert config.moodle.url == "https://b.example"
    assert config.token() == "env"


def test_config_is_found_through_env_var(tmp_path, monkeypatch):
    path = write(tmp_path, '[store]\npath = "x.db"\n')
    monkeypatch.setenv("MINTQO_CONFIG", str(path))
    assert load_config(environ={}).store.path == tmp_path / "x.db"


def test_token_file_is_read_and_a_world_readable_one_warns(tmp_path, caplog):
    token_file = tmp_path / "mintqo.token"
    token_file.write_text("abc123\n")
    os.chmod(token_file, 0o644)
    config = load_config(write(tmp_path, '[moodle]\nurl = "https://a.example"\ntoken_file = "mintqo.token"\n'),
                         environ={})
    with caplog.at_level(logging.WARNING):
        assert config.token() == "abc123"
    assert "readable by other users" in caplog.text
    os.chmod(token_file, 0o600)
    caplog.clear()
    assert config.token() == "abc123"
    assert caplog.text == ""


@pytest.mark.parametrize(("text", "key", "fragment"), [
    ('[moodle]\nretries = "many"\n', "moodle.retries", "integer"),
    ('[moodle]\nurll = "x"\n', "moodle.urll", "unknown key"),
    ('[sync]\nat = ["25:00"]\n', "sync.at", "time of day"),
    ('[moodle]\nmax_form_fields = 10\n', "moodle.max_form_fields", "greater than or equal"),
])
def test_bad_values_name_the_key_and_the_file(tmp_path, text, key, fragment):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ={})
    assert caught.value.key == key
    assert str(path) in str(caught.value) and fragment in str(caught.value)


def test_broken_toml_names_the_file(tmp_path):
    path = write(tmp_path, "[moodle\nurl=")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(path, environ={})


def test_missing_token_and_insecure_url_name_the_key(tmp_path):
    config = load_config(write(tmp_path, '[moodle]\nurl = "https://a.example"\n'), environ={})
    with pytest.raises(ConfigError) as caught:
        config.client()
    assert caught.value.key == "moodle.token"
    config = load_config(write(tmp_path, '[moodle]\nurl = "http://moodle.example.org"\ntoken = "t"\n'), environ={})
    with pytest.raises(InsecureURLError) as caught:
        config.client()
    assert caught.value.key == "moodle.url"
    config = load_config(write(tmp_path, '[moodle]\nurl = "http://moodle.example.org"\ntoken = "t"\n'
                                         'allow_insecure_http = true\n'), environ={})
    assert config.client().url == "http://moodle.example.org"


def test_token_is_not_in_the_config_repr(tmp_path):
    config = load_config(write(tmp_path, '[moodle]\nurl = "https://a.example"\ntoken = "s3cr3t-t0k3n"\n'), environ={})
    assert "s3cr3t-t0k3n" not in repr(config) and "s3cr3t-t0k3n" not in str(config)


@pytest.mark.parametrize(("text", "expected"), [
    ('[sync]\nat = ["25:00"]\n', "'25:00' is not a time of day like 06:30"),
    ('[moodle]\nretries = "many"\n', "Input should be a valid integer, unable to parse string as an integer "
                                     "(got 'many')"),
])
def test_messages_have_no_library_prefix_and_show_the_value(tmp_path, text, expected):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ={})
    assert str(caught.value).startswith(expected)
    assert "Value error" not in str(caught.value)


def test_a_folder_given_as_config_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="cannot read the config file: Is a directory"):
        load_config(tmp_path, environ={})
