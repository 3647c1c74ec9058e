"""The sandbox as Moodle 4.4, 5.0 or 5.1: what the site says about itself, defaults and new keys.

The expected values are copied from the recordings (tests/data/moodle/recordings, releases.md), not from the
sandbox's own release table, so a wrong table entry fails here.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import requests
from click.testing import CliRunner

from mintqo_lms.sandbox import Sandbox
from mintqo_lms.sandbox.cli import sandbox as sandbox_cli

SITE = {
    "4.4": ("4.4 (Build: 20240422)", "2024042200", 404),
    "5.0": ("5.0.6+ (Build: 20260403)", "2025041406.11", 500),
    "5.1": ("5.1.3 (Build: 20260216)", "2025100603", 501),
}
NOW = 1_795_425_293  # 2026-11-22 (09_text_rules.json on 5.0)
MIDNIGHT = 1_795_392_000


def call(sb: Sandbox, function: str, **fields: Any) -> Any:
    data = {"wstoken": sb.admin_token, "wsfunction": function, "moodlewsrestformat": "json", **fields}
    answer = requests.post(sb.url + "/webservice/rest/server.php", data=data, timeout=10).json()
    assert not (isinstance(answer, dict) and "exception" in answer), answer
    return answer


@pytest.fixture(params=sorted(SITE))
def sb(request: pytest.FixtureRequest):
    with Sandbox(release=request.param, clock=lambda: NOW) as sandbox:
        yield sandbox


# What the plugin's version.php declares; the sandbox must report the same as a site with it installed.
VERSION_PHP = (Path(__file__).resolve().parents[1] / "moodle/local/mintqo/version.php").read_text(encoding="utf-8")
PLUGIN_VERSION = int(re.search(r"\$plugin->version\s*=\s*(\d+);", VERSION_PHP).group(1))
PLUGIN_RELEASE = re.search(r"\$plugin->release\s*=\s*'([^']+)';", VERSION_PHP).group(1)


def test_site_info_and_plugin_info_name_the_release(sb: Sandbox) -> None:
    release, version, branch = SITE[sb.release]
    info = call(sb, "core_webservice_get_site_info")
    assert (info["release"], info["version"]) == (release, version)
    core = {f["name"]: f["version"] for f in info["functions"]}
    assert core["core_course_get_contents"] == version and core["local_mintqo_import_quiz"] == str(PLUGIN_VERSION)
    assert ("policyagreed" in info) == (sb.release != "4.4")
    plugin = call(sb, "local_mintqo_get_plugin_info")
    assert plugin == {"component": "local_mintqo", "version": PLUGIN_VERSION, "release": PLUGIN_RELEASE,
                      "requires": 2024042200, "supported": [404, 501], "moodle_release": release,
                      "moodle_version": version, "moodle_branch": branch, "moodle_supported": True}


def test_course_without_start_date(sb: Sandbox) -> None:
    created = call(sb, "core_course_create_courses", **{"courses[0][fullname]": "K", "courses[0][shortname]": "k",
                                                        "courses[0][categoryid]": 1})
    course = call(sb, "core_course_get_courses_by_field", field="id", value=str(created[0]["id"]))["courses"][0]
    if sb.release == "4.4":
        assert (course["startdate"], course["enddate"], course["showactivitydates"]) == (0, 0, False)
    else:  # today 00:00 and one year (365 days) later
        assert (course["startdate"], course["enddate"], course["showactivitydates"]) == (
            MIDNIGHT, MIDNIGHT + 365 * 86400, True)
    given = call(sb, "core_course_create_courses", **{"courses[0][fullname]": "L", "courses[0][shortname]": "l",
                                                      "courses[0][categoryid]": 1, "courses[0][startdate]": 1753999200})
    dated = call(sb, "core_course_get_courses_by_field", field="id", value=str(given[0]["id"]))["courses"][0]
    assert (dated["startdate"], dated["enddate"]) == (1753999200, 0)


def test_new_keys_of_5x(sb: Sandbox) -> None:
    five = sb.release != "4.4"
    courseid = call(sb, "core_course_create_courses", **{"courses[0][fullname]": "K", "courses[0][shortname]": "k",
                                                         "courses[0][categoryid]": 1})[0]["id"]
    call(sb, "core_user_create_users", **{"users[0][username]": "anna", "users[0][password]": "Pass-Word-123!",
                                          "users[0][firstname]": "Anna", "users[0][lastname]": "A",
                                          "users[0][email]": "anna@example.org"})
    user = call(sb, "core_user_get_users_by_field", field="username", **{"values[0]": "anna"})[0]
    assert ("trackforums" in user) == five
    section = call(sb, "core_course_get_contents", courseid=courseid)[0]
    forum = section["modules"][0]
    assert ("component" in section and "itemid" in section) == five
    if five:
        assert (forum["purpose"], forum["branded"], forum["candisplay"]) == ("collaboration", False, True)
        assert forum["customdata"] == '{"trackingtype":"1"}'
    else:
        assert not {"purpose", "branded", "candisplay"} & set(forum) and forum["customdata"] == '""'
    messages = call(sb, "core_message_send_instant_messages", **{"messages[0][touserid]": 999999,
                                                                 "messages[0][text]": "x"})
    assert ("cantsendtouser" in messages[0]) == (sb.release == "5.0")


def test_attempt_review_of_an_attempt_in_progress(sb: Sandbox) -> None:
    courseid = call(sb, "core_course_create_courses", **{"courses[0][fullname]": "K", "courses[0][shortname]": "k",
                                                         "courses[0][categoryid]": 1})[0]["id"]
    xml = ("<quiz>" + "".join(
        f'<question type="multichoice"><name><text>{q}</text></name><questiontext><text>{q}</text></questiontext>'
        f'<idnumber>{q}</idnumber><answer fraction="100"><text>ja</text></answer>'
        f'<answer fraction="0"><text>nein</text></answer></question>' for q in ("a", "b")) + "</quiz>")
    quiz = call(sb, "local_mintqo_import_quiz", courseid=courseid, section=1, idnumber="q", name="Q", intro="",
                questionsxml=xml, **{"sections[0][heading]": "A", "sections[0][questionidnumbers][0]": "a",
                                     "sections[0][questionidnumbers][1]": "b"})
    userid = call(sb, "core_user_create_users", **{
        "users[0][username]": "anna", "users[0][password]": "Pass-Word-123!", "users[0][firstname]": "Anna",
        "users[0][lastname]": "A", "users[0][email]": "anna@example.org"})[0]["id"]
    attempt = sb.site.start_quiz_attempt(userid, quiz["quizid"], {"a": 1})
    review = call(sb, "mod_quiz_get_attempt_review", attemptid=attempt)
    times = [q["lastactiontime"] for q in review["questions"]]
    unanswered = -1 if sb.release != "4.4" else NOW
    assert times == [NOW, unanswered]
    if sb.release == "4.4":
        assert "stateclass" not in review["questions"][0] and "gradeitemmarks" not in review["attempt"]
    else:
        assert [q["stateclass"] for q in review["questions"]] == ["answersaved", "notyetanswered"]
        assert review["attempt"]["gradeitemmarks"] == []


def test_unknown_release_is_refused() -> None:
    with pytest.raises(ValueError, match="4.4, 5.0, 5.1"):
        Sandbox(release="4.5")


def test_cli_serve_takes_a_release() -> None:
    help_text = CliRunner().invoke(sandbox_cli, ["serve", "--help"]).output
    assert "--release" in help_text and "5.0" in help_text and "5.1" in help_text
    wrong = CliRunner().invoke(sandbox_cli, ["serve", "--release", "3.9"])
    assert wrong.exit_code != 0 and "3.9" in wrong.output


def test_cli_serve_starts_the_chosen_release(monkeypatch: pytest.MonkeyPatch) -> None:
    started: list[Sandbox] = []

    def stop_at_once(seconds: float) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(Sandbox, "start", lambda self: started.append(self) or self)
    monkeypatch.setattr("mintqo_lms.sandbox.server.time.sleep", stop_at_once)
    result = CliRunner().invoke(sandbox_cli, ["serve", "--release", "5.1"])
    assert result.exit_code == 0, result.output
    assert started[0].release == "5.1" and "5.1.3 (Build: 20260216)" in result.output
    assert started[0].token in result.output  # the throwaway sandbox tokens are printed on purpose
