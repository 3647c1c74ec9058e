"""Malformed Moodle answers — an HTML error page, truncated JSON, wrong types, missing keys, an XML answer, a PHP
warning before the JSON — are always one clear error naming the web-service function, never a traceback, and a
command that had nothing to write leaves the store byte for byte as it was."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from urllib.parse import parse_qsl

import pytest
import requests
from click.testing import CliRunner

from mintqo_lms.cli import main
from mintqo_lms.moodle import Moodle, MoodleClient
from mintqo_lms.moodle.errors import MoodleProtocolError
from mintqo_lms.store import Store

PROJECT = Path(__file__).resolve().parents[1]

SITE_INFO = {"sitename": "Sandbox", "siteurl": "http://127.0.0.1", "userid": 2, "username": "ws", "functions": []}
PHP_WARNING = ('<br />\n<b>Warning</b>:  Undefined array key "x" in <b>/var/www/moodle/lib/weblib.php</b> on line '
               '<b>12</b><br />\n')

# kind -> (content type, body for a function whose answer is an object, body for one whose answer is a list)
BAD: dict[str, tuple[str, str, str]] = {
    "html-page": ("text/html", "<!DOCTYPE html><html><head><title>Site under maintenance</title></head>"
                               "<body><h1>Wartungsmodus</h1></body></html>", ""),
    "truncated-json": ("application/json", json.dumps(SITE_INFO)[:40], '[{"id": 3, "name": "Durchg'),
    "xml": ("application/xml", '<?xml version="1.0" encoding="UTF-8" ?>\n<RESPONSE><SINGLE><KEY name="userid">'
                               "<VALUE>2</VALUE></KEY></SINGLE></RESPONSE>", ""),
    "php-warning": ("application/json", PHP_WARNING + json.dumps(SITE_INFO), PHP_WARNING + "[]"),
    "wrong-types": ("application/json", json.dumps({**SITE_INFO, "userid": "zwei", "functions": "keine"}),
                    '[{"id": "drei", "name": ["x"]}]'),
    "missing-keys": ("application/json", json.dumps({"siteurl": "http://127.0.0.1"}), '[{"name": "ohne id"}]'),
    "list-for-object": ("application/json", "[1, 2]", '{"courses": 5}'),
}
for kind, (ctype, obj, lst) in list(BAD.items()):
    BAD[kind] = (ctype, obj, lst or obj)


def fake_response(ctype: str, body: str) -> requests.Response:
    response = requests.Response()
    response.status_code = 200
    response._content = body.encode("utf-8")
    response.headers["Content-Type"] = ctype
    response.encoding = "utf-8"
    return response


@pytest.fixture
def answer_badly(monkeypatch):
    """``answer_badly(function, kind, as_list)``: that function's answer is replaced by the malformed one (the
    request still reaches the sandbox first, as when a proxy or PHP spoils an answer Moodle produced)."""
    original = requests.Session.post

    def arm(function: str, kind: str, as_list: bool = False) -> None:
        ctype, obj, lst = BAD[kind]

        def post(self, url, data=None, **kwargs):
            response = original(self, url, data=data, **kwargs)
            if dict(parse_qsl(data or "")).get("wsfunction") == function:
                return fake_response(ctype, lst if as_list else obj)
            return response

        monkeypatch.setattr(requests.Session, "post", post)

    return arm


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("kind", sorted(BAD))
def test_each_malformed_answer_is_one_error_naming_the_function(sandbox, answer_badly, kind):
    answer_badly("core_webservice_get_site_info", kind)
    moodle = Moodle(MoodleClient(sandbox.url, sandbox.token, retries=0))
    with pytest.raises(MoodleProtocolError) as caught:
        moodle.core.get_site_info()
    text = str(caught.value)
    assert text.startswith("core_webservice_get_site_info: unexpected answer from Moodle: ")
    assert "\n" not in text and sandbox.token not in text
    expected = {"html-page": "HTML page titled 'Site under maintenance'", "truncated-json": "cut off",
                "xml": "XML instead of JSON", "php-warning": "PHP printed text before the JSON",
                "wrong-types": "key 'userid'", "missing-keys": "key 'sitename'", "list-for-object": "expected shape"}
    assert expected[kind] in text


@pytest.mark.parametrize("kind", sorted(BAD))
def test_list_answers_name_the_function_too(sandbox, answer_badly, kind):
    moodle = Moodle(MoodleClient(sandbox.url, sandbox.token, retries=0))
    answer_badly("core_course_get_categories", kind, as_list=True)
    with pytest.raises(MoodleProtocolError, match=r"^core_course_get_categories: unexpected answer"):
        moodle.core.get_categories_by_idnumber("mintqo:root")


def write_config(tmp_path: Path, sb, store_path: Path) -> Path:
    token = tmp_path / "mintqo.token"
    token.write_text(sb.token, encoding="utf-8")
    token.chmod(0o600)
    config = tmp_path / "mintqo.toml"
    config.write_text(f'[moodle]\nurl = "{sb.url}"\ntoken_file = "{token}"\nretries = 0\n\n'
                      f'[store]\npath = "{store_path}"\n', encoding="utf-8")
    return config


@pytest.mark.parametrize("kind", sorted(BAD))
def test_doctor_prints_one_line_and_leaves_the_store_untouched(sandbox, tmp_path, answer_badly, kind):
    with Store(tmp_path / "mintqo.db"):
        pass
    config = write_config(tmp_path, sandbox, tmp_path / "mintqo.db")
    before = digest(tmp_path / "mintqo.db")
    answer_badly("core_webservice_get_site_info", kind)
    result = CliRunner().invoke(main, ["--config", str(config), "doctor"])
    assert result.exit_code == 1
    errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and errors[0].startswith("Error: core_webservice_get_site_info: unexpected answer")
    assert "Traceback" not in result.output and sandbox.token not in result.output
    assert digest(tmp_path / "mintqo.db") == before


@pytest.mark.parametrize("kind", ["html-page", "php-warning", "truncated-json", "xml"])
def test_provision_stops_with_one_line_and_records_nothing_but_the_failed_run(world, tmp_path, answer_badly, kind):
    """An unchanged provisioning whose reads come back malformed: no data row changes, the run is recorded as
    failed with the one-line reason, and the token is nowhere."""
    sb, store, moodle = world
    config = write_config(tmp_path, sb, store.path)
    mark = len(sb.calls)
    assert CliRunner().invoke(main, ["--config", str(config), "provision", "--cohort", "2025"]).exit_code == 0
    first = sb.calls[mark]  # the first read of an unchanged provisioning, whichever it is
    tables = [t for t in store.db.table_names() if t not in ("sync_runs",)]
    before = {t: list(store.db.query(f'SELECT * FROM "{t}"')) for t in tables}
    answer_badly(first, kind, as_list=True)
    result = CliRunner().invoke(main, ["--config", str(config), "provision", "--cohort", "2025"])
    assert result.exit_code == 1, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and f"{first}: unexpected answer from Moodle" in errors[0]
    assert "Traceback" not in result.output
    after = {t: list(store.db.query(f'SELECT * FROM "{t}"')) for t in tables}
    assert after == before
    run = list(store.db.query("SELECT * FROM sync_runs ORDER BY id DESC LIMIT 1"))[0]
    assert run["status"] != "ok" and sb.token not in json.dumps(run)


def test_an_unreadable_answer_to_a_message_leaves_it_unknown_and_never_sends_it_twice(world, answer_badly,
                                                                                      monkeypatch):
    """PHP printed a warning before the JSON of a message send: Moodle may well have sent it, so the invitation
    is 'uncertain' (not failed, which the next run would send again)."""
    from mintqo_lms.invite import invite

    sb, store, moodle = world
    answer_badly("core_message_send_instant_messages", "php-warning", as_list=True)
    first = invite(moodle, store, "2025", site_url=sb.url)
    assert first.uncertain and not first.failed
    monkeypatch.undo()
    again = invite(moodle, store, "2025", site_url=sb.url)
    delivered = [m["useridto"] for m in sb.site.tables["messages"].values()]
    assert len(delivered) == len(set(delivered))      # nobody has it twice
    assert not again.failed and len(delivered) == store.db["invitations"].count  # the rest went out once
