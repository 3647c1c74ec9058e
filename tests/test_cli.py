from __future__ import annotations

import os
import time
import re
import shutil
import ssl
import subprocess
import threading
from pathlib import Path

import pytest
import responses
from click.testing import CliRunner

from mintqo_lms.cli import main
from mintqo_lms.config import Config
from mintqo_lms.locking import store_lock
from mintqo_lms.moodle import Moodle, MoodleClient
from mintqo_lms.moodle.plugin import PLUGIN_FUNCTIONS
from mintqo_lms.programme import import_roster
from mintqo_lms.provision import provision as do_provision
from mintqo_lms.sandbox import Sandbox
from mintqo_lms.store import Store

TOKEN = "cl1t0k3nab5ecr3tcl1t0k3nab5ecr3t"
# The plugin's release as version.php declares it (the sandbox reports the same).
PLUGIN_RELEASE = re.search(r"\$plugin->release\s*=\s*'([^']+)'",
                           (Path(__file__).resolve().parents[1] / "moodle/local/mintqo/version.php").read_text()).group(1)


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
                      '[store]\npath = "x.db"\n')
    result = run(["--config", str(config), "doctor"], env={"MINTQO_MOODLE_TOKEN": TOKEN})
    assert result.exit_code == 1
    errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert errors == ["Error: core_webservice_get_site_info: cannot reach Moodle: connection refused by 127.0.0.1:9 "
                      "(is the site up and moodle.url right?)"]
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
    assert f"cannot call {len(PLUGIN_FUNCTIONS)} function(s)" in result.output
    assert "Plugin: the token cannot ask local_mintqo for its version" in result.output
    assert "  - local_mintqo_import_quiz" in result.output
    assert "  - core_course_create_courses" not in result.output


# -- issue 15: one clear line for every mistake a user can make ---------------------------------------


PROJECT = Path(__file__).resolve().parents[1]
EXAMPLE_ROSTER = PROJECT / "lms_templates" / "roster.example.csv"


def error_lines(result) -> list[str]:
    return [line for line in result.output.splitlines() if line.startswith("Error:")]


def assert_one_clear_line(result, fragment: str, exit_code: int = 1) -> str:
    assert result.exit_code == exit_code, result.output
    assert "Traceback" not in result.output and TOKEN not in result.output
    [line] = error_lines(result)
    assert fragment in line, line
    return line


@pytest.fixture
def site(tmp_path):
    """A sandbox with cohort 2025 provisioned, and a config pointing at both."""
    with Sandbox() as sb:
        with Store(tmp_path / "mintqo.db") as store:
            import_roster(store, EXAMPLE_ROSTER, "2025")
            do_provision(Moodle(MoodleClient(sb.url, sb.token, retries=0)), store, Config(), "2025")
        config = tmp_path / "mintqo.toml"
        config.write_text(f'[moodle]\nurl = "{sb.url}"\nretries = 0\n[store]\npath = "mintqo.db"\n')
        yield sb, config


def test_sync_of_an_unknown_cohort_names_the_known_ones(site):
    sb, config = site
    result = run(["--config", str(config), "sync", "--cohort", "1999"], env={"MINTQO_MOODLE_TOKEN": sb.token})
    line = assert_one_clear_line(result, "unknown cohort '1999'")
    assert "(known cohorts: 2025)" in line
    assert "Synced" not in result.output


def test_sync_with_a_wrong_token_is_a_clear_error_not_an_empty_success(site):
    sb, config = site
    result = run(["--config", str(config), "sync", "--cohort", "2025"], env={"MINTQO_MOODLE_TOKEN": TOKEN})
    line = assert_one_clear_line(result, "invalidtoken")
    assert "check moodle.token_file (or MINTQO_MOODLE_TOKEN)" in line
    assert "Synced" not in result.output


def test_sync_reports_what_its_numbers_count(site):
    sb, config = site
    sb.site.clock = lambda: int(time.time()) + 5   # the plugin serves rows once they are two seconds old
    result = run(["--config", str(config), "sync", "--cohort", "2025"], env={"MINTQO_MOODLE_TOKEN": sb.token})
    assert result.exit_code == 0, result.output
    assert "0 course completions (of 22 course enrolment records read)" in result.output


def test_a_bad_cohort_key_is_refused_with_the_pattern(site):
    sb, config = site
    result = run(["--config", str(config), "sync", "--cohort", "25/26"], env={"MINTQO_MOODLE_TOKEN": sb.token})
    assert result.exit_code == 2 and "a year with an optional lowercase slug" in result.output


def test_a_second_writer_gets_one_line_naming_the_holder(site):
    sb, config = site
    with store_lock(config.parent / "mintqo.db", "mintqo-lms provision --cohort 2025"):
        for args in (["sync", "--cohort", "2025"], ["provision", "--cohort", "2025"],
                     ["people", "remove", "lea.schaefer@forscherwerkstatt.example", "--cohort", "2025", "--yes"],
                     ["roster", "import", str(EXAMPLE_ROSTER), "--cohort", "2025"]):
            result = run(["--config", str(config), *args], env={"MINTQO_MOODLE_TOKEN": sb.token})
            line = assert_one_clear_line(result, f"is in use by pid {os.getpid()} (mintqo-lms provision --cohort 2025)"
                                                 " since ")
            assert "wait for it to finish" in line
    result = run(["--config", str(config), "sync", "--cohort", "2025"], env={"MINTQO_MOODLE_TOKEN": sb.token})
    assert result.exit_code == 0, result.output


def test_provision_counts_a_dry_run_apart(tmp_path):
    with Sandbox() as sb:
        with Store(tmp_path / "mintqo.db") as store:
            import_roster(store, EXAMPLE_ROSTER, "2025")
        config = tmp_path / "mintqo.toml"
        config.write_text(f'[moodle]\nurl = "{sb.url}"\n[store]\npath = "mintqo.db"\n')
        env = {"MINTQO_MOODLE_TOKEN": sb.token}
        dry = run(["--config", str(config), "provision", "--cohort", "2025", "--dry-run"], env=env)
        assert dry.exit_code == 0 and "Dry run: nothing changed." in dry.output
        real = run(["--config", str(config), "provision", "--cohort", "2025"], env=env)
        assert real.exit_code == 0, real.output
        assert "run #1 of cohort 2025)" in real.output
    with Store(tmp_path / "mintqo.db") as store:
        assert [(r["kind"], r["dry_run"], r["status"]) for r in store.db["sync_runs"].rows] == [
            ("provision", 1, "planned"), ("provision", 0, "ok")]


def test_a_run_left_running_by_a_killed_process_is_marked_interrupted_by_the_next_command(site):
    import sys

    sb, config = site
    db = config.parent / "mintqo.db"
    subprocess.run([sys.executable, "-c", "from mintqo_lms.store import Store; "
                    f"Store({str(db)!r}).start_run('sync', '2025')"], check=True)
    result = run(["--config", str(config), "sync", "--cohort", "2025"], env={"MINTQO_MOODLE_TOKEN": sb.token})
    assert result.exit_code == 0, result.output
    with Store(db) as store:
        assert [r["status"] for r in store.db["sync_runs"].rows_where("kind = 'sync'")] == ["interrupted", "ok"]


def test_init_validates_the_url_and_writes_nothing_for_a_bad_one(tmp_path):
    target = tmp_path / "mintqo.toml"
    result = run(["init", "--path", str(target), "--url", "moodle.example.org"])
    assert_one_clear_line(result, "did you mean https://moodle.example.org?")
    result = run(["init", "--path", str(target), "--url", "https://"])
    assert_one_clear_line(result, "with a host name")
    result = run(["init", "--path", str(target), "--url", "http://moodle.example.org"])
    assert_one_clear_line(result, "refusing plain http:// for moodle.example.org")
    assert not target.exists() and not (tmp_path / "mintqo.db").exists()


def test_init_takes_the_url_from_the_environment(tmp_path):
    target = tmp_path / "mintqo.toml"
    result = run(["init", "--path", str(target)], env={"MINTQO_MOODLE_URL": "https://lms.example.de/moodle"})
    assert result.exit_code == 0, result.output
    assert 'url = "https://lms.example.de/moodle"' in target.read_text()


def test_doctor_refuses_an_empty_store_file_and_leaves_it_alone(tmp_path):
    config = tmp_path / "mintqo.toml"
    config.write_text('[moodle]\nurl = "https://moodle.example.org"\n[store]\npath = "mintqo.db"\n')
    (tmp_path / "mintqo.db").touch()
    os.chmod(tmp_path / "mintqo.db", 0o644)
    result = run(["--config", str(config), "doctor"], env={"MINTQO_MOODLE_TOKEN": TOKEN})
    assert_one_clear_line(result, "mintqo.db is an empty file, not a programme store; nothing was changed")
    assert (tmp_path / "mintqo.db").stat().st_size == 0


@responses.activate
def test_doctor_makes_a_store_readable_by_others_private(tmp_path, recording):
    record = recording("00_site_info.json", "core_webservice_get_site_info")
    responses.post("https://moodle.example.org/webservice/rest/server.php", body=record["response_raw"])
    config = tmp_path / "mintqo.toml"
    config.write_text('[moodle]\nurl = "https://moodle.example.org"\n[store]\npath = "mintqo.db"\n')
    Store(tmp_path / "mintqo.db").close()
    os.chmod(tmp_path / "mintqo.db", 0o644)
    run(["--config", str(config), "doctor"], env={"MINTQO_MOODLE_TOKEN": TOKEN})
    assert (tmp_path / "mintqo.db").stat().st_mode & 0o077 == 0


def test_a_template_typo_is_one_line_with_file_line_and_what_to_do(tmp_path):
    root = tmp_path / "lms_templates"
    shutil.copytree(PROJECT / "lms_templates", root)
    curriculum = root / "curriculum" / "regional_cycle.yaml"
    curriculum.write_text(curriculum.read_text(encoding="utf-8").replace("type: quiz", "type: quizz", 1),
                          encoding="utf-8")
    result = run(["demo", "--out", str(tmp_path / "out")], env={"MINTQO_TEMPLATES_DIR": str(root)})
    line = assert_one_clear_line(result, "curriculum/regional_cycle.yaml: sections[")
    assert "unknown activity type 'quizz'" in line and "(line " in line
    assert "correct the template file" in line


def test_a_yaml_syntax_error_is_one_line_with_line_and_column(tmp_path):
    root = tmp_path / "lms_templates"
    shutil.copytree(PROJECT / "lms_templates", root)
    curriculum = root / "curriculum" / "qualification.yaml"
    curriculum.write_text(curriculum.read_text(encoding="utf-8").replace("kind: cohort", "kind: [cohort"),
                          encoding="utf-8")
    result = run(["demo", "--out", str(tmp_path / "out")], env={"MINTQO_TEMPLATES_DIR": str(root)})
    line = assert_one_clear_line(result, "curriculum/qualification.yaml: bad YAML syntax: ")
    assert ", column " in line and "(line " in line


def test_an_unexpected_error_is_one_line_with_a_hint_and_vv_shows_the_traceback(monkeypatch, tmp_path):
    import mintqo_lms.cli as cli

    def boom(*args, **kwargs):
        MoodleClient("https://moodle.example.org", TOKEN)  # the token is known to this process …
        raise KeyError(f"something odd near {TOKEN}")      # … and never printed, even by a bug

    monkeypatch.setattr(cli, "load_config", boom)
    result = run(["doctor"])
    assert_one_clear_line(result, "Error: unexpected KeyError: ")
    assert "run it again with -vv to see the traceback" in result.output
    verbose = run(["-vv", "doctor"])
    assert verbose.exit_code == 1 and "Traceback" in verbose.output and TOKEN not in verbose.output


def _tls_server(tmp_path):
    """A TLS server on loopback with a self-signed certificate no one trusts."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    import socket

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    listener = socket.create_server(("127.0.0.1", 0))

    def serve():
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            try:
                context.wrap_socket(conn, server_side=True).close()
            except (ssl.SSLError, OSError):
                conn.close()

    threading.Thread(target=serve, daemon=True).start()
    return listener


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command to make a certificate")
def test_a_tls_error_names_the_host_and_the_reason(tmp_path):
    listener = _tls_server(tmp_path)
    try:
        port = listener.getsockname()[1]
        config = tmp_path / "mintqo.toml"
        config.write_text(f'[moodle]\nurl = "https://127.0.0.1:{port}"\nretries = 0\n[store]\npath = "x.db"\n')
        result = run(["--config", str(config), "doctor"], env={"MINTQO_MOODLE_TOKEN": TOKEN})
        assert_one_clear_line(result, f"cannot reach Moodle: TLS error with 127.0.0.1:{port}: certificate not trusted")
    finally:
        listener.close()


def test_an_unknown_host_name_is_named(tmp_path):
    config = tmp_path / "mintqo.toml"
    config.write_text('[moodle]\nurl = "https://moodle.invalid"\nretries = 0\nconnect_timeout = 2\n'
                      '[store]\npath = "x.db"\n')
    result = run(["--config", str(config), "doctor"], env={"MINTQO_MOODLE_TOKEN": TOKEN})
    assert_one_clear_line(result, "cannot reach Moodle: host name moodle.invalid not found")


def test_sync_without_a_store_says_so_and_creates_none(tmp_path):
    config = tmp_path / "mintqo.toml"
    config.write_text('[moodle]\nurl = "https://moodle.example.org"\n[store]\npath = "mintqo.db"\n')
    result = run(["--config", str(config), "sync", "--cohort", "2025"], env={"MINTQO_MOODLE_TOKEN": TOKEN})
    assert_one_clear_line(result, f"no store at {tmp_path / 'mintqo.db'}: run 'mintqo-lms init'")
    assert not (tmp_path / "mintqo.db").exists()


@pytest.mark.parametrize("release", ["4.4", "5.0", "5.1"])
def test_doctor_shows_the_release_and_the_installed_plugin(tmp_path, release):
    with Sandbox(release=release) as sb:
        config = tmp_path / "mintqo.toml"
        config.write_text(f'[moodle]\nurl = "{sb.url}"\nretries = 0\n[store]\npath = "mintqo.db"\n')
        result = run(["--config", str(config), "doctor"], env={"MINTQO_MOODLE_TOKEN": sb.token})
    assert result.exit_code == 0, result.output
    assert f"Plugin: local_mintqo {PLUGIN_RELEASE}" in result.output and "supports Moodle 4.4 to 5.1" in result.output
    assert f"Release: Moodle {release} is supported." in result.output


@responses.activate
def test_doctor_warns_about_a_release_outside_the_supported_range(tmp_path, recording):
    site_info = recording("00_site_info.json", "core_webservice_get_site_info")["response"]
    needed = Moodle(MoodleClient("https://moodle.example.org", TOKEN)).required_functions
    site_info["functions"] += [{"name": name, "version": "2025061100"} for name in needed]
    responses.post("https://moodle.example.org/webservice/rest/server.php", json=site_info)
    plugin_info = {"component": "local_mintqo", "version": 2025061100, "release": "1.1.0", "requires": 2024042200,
                   "supported": [404, 501], "moodle_release": "5.2dev (Build: 20261101)",
                   "moodle_version": "2026041400.00", "moodle_branch": 502, "moodle_supported": False}
    responses.post("https://moodle.example.org/webservice/rest/server.php", json=plugin_info)
    config = tmp_path / "mintqo.toml"
    config.write_text('[moodle]\nurl = "https://moodle.example.org"\nretries = 0\n[store]\npath = "mintqo.db"\n')
    result = run(["--config", str(config), "doctor"], env={"MINTQO_MOODLE_TOKEN": TOKEN})
    assert "Moodle 5.2dev (Build: 20261101) is outside the plugin's supported range (4.4 to 5.1)" in result.output
