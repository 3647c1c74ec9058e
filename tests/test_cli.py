from __future__ import annotations

import responses
from click.testing import CliRunner

from mintqo_lms.cli import main

TOKEN = "cl1t0k3nab5ecr3tcl1t0k3nab5ecr3t"


def run(args, env=None, **kwargs):
    return CliRunner().invoke(main, args, env={"MINTQO_CONFIG": "", **(env or {})}, **kwargs)


def test_help_lists_commands():
    result = run(["--help"])
    assert result.exit_code == 0
    assert "doctor" in result.output and "init" in result.output


def test_init_writes_config_and_store(tmp_path):
    target = tmp_path / "mintqo.toml"
    result = run(["init", "--path", str(target), "--url", "https://moodle.example.org"])
    assert result.exit_code == 0, result.output
    assert 'url = "https://moodle.example.org"' in target.read_text()
    assert (tmp_path / "mintqo.db").exists()
    again = run(["init", "--path", str(target)])
    assert "keeping it" in again.output


def test_doctor_unreachable_url_is_one_clear_line(tmp_path):
    config = tmp_path / "mintqo.toml"
    config.write_text('[moodle]\nurl = "http://127.0.0.1:9"\nretries = 0\nconnect_timeout = 1\n'
                      f'[store]\npath = "x.db"\n')
    result = run(["--config", str(config), "doctor"], env={"MINTQO_MOODLE_TOKEN": TOKEN})
    assert result.exit_code == 1
    errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert errors == ["Error: core_webservice_get_site_info: cannot reach Moodle: connection refused"]
    assert "Traceback" not in result.output and TOKEN not in result.output


@responses.activate
def test_doctor_bad_token_is_one_clear_line(tmp_path, recording):
    record = recording("07_protocol_edge_cases.json", "core_webservice_get_site_info", "wrong token")
    responses.post("https://moodle.example.org/webservice/rest/server.php", body=record["response_raw"])
    config = tmp_path / "mintqo.toml"
    config.write_text('[moodle]\nurl = "https://moodle.example.org"\n')
    result = run(["--config", str(config), "doctor"], env={"MINTQO_MOODLE_TOKEN": TOKEN})
    assert result.exit_code == 1
    assert "Error: core_webservice_get_site_info: invalidtoken: Invalid token - token not found" in result.output
    assert TOKEN not in result.output


@responses.activate
def test_doctor_lists_functions_the_token_cannot_call(tmp_path, recording):
    record = recording("00_site_info.json", "core_webservice_get_site_info")
    responses.post("https://moodle.example.org/webservice/rest/server.php", body=record["response_raw"])
    config = tmp_path / "mintqo.toml"
    config.write_text('[moodle]\nurl = "https://moodle.example.org"\n')
    result = run(["--config", str(config), "doctor"], env={"MINTQO_MOODLE_TOKEN": TOKEN})
    # The recorded site has no local_mintqo plugin: exactly its functions are missing.
    assert result.exit_code == 2
    assert "Moodle: Moodle Harness — release 4.4dev (Build: 20231124)" in result.output
    assert "cannot call 6 function(s)" in result.output
    assert "  - local_mintqo_import_quiz" in result.output
    assert "  - core_course_create_courses" not in result.output
