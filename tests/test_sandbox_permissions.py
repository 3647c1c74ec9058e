"""Simulated missing rights: ``Sandbox.deny_capability`` and ``deny_course_access``, for clients' tests."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from mintqo_lms.moodle.client import MoodleClient
from mintqo_lms.moodle.errors import AccessDeniedError
from mintqo_lms.sandbox import Sandbox

RELEASES = ["4.4", "5.0", "5.1"]
PREFIX = {"4.4": "", "5.0": "core\\exception\\", "5.1": "core\\exception\\"}


def call(sb: Sandbox, function: str, token: str | None = None, **fields: Any) -> Any:
    data = {"wstoken": token or sb.token, "wsfunction": function, "moodlewsrestformat": "json", **fields}
    return requests.post(sb.url + "/webservice/rest/server.php", data=data, timeout=10).json()


@pytest.fixture(params=RELEASES)
def sb(request: pytest.FixtureRequest):
    with Sandbox(release=request.param) as sandbox:
        yield sandbox


def new_course(sb: Sandbox, shortname: str) -> int:
    return call(sb, "core_course_create_courses", **{"courses[0][fullname]": shortname,
                                                     "courses[0][shortname]": shortname,
                                                     "courses[0][categoryid]": 1})[0]["id"]


def test_missing_capability_is_nopermissions(sb: Sandbox) -> None:
    sb.deny_capability("moodle/course:create")
    answer = call(sb, "core_course_create_courses", **{"courses[0][fullname]": "K", "courses[0][shortname]": "k",
                                                       "courses[0][categoryid]": 1})
    assert answer == {"exception": PREFIX[sb.release] + "required_capability_exception", "errorcode": "nopermissions",
                      "message": "Sorry, but you do not currently have permissions to do that (Create courses)."}
    assert call(sb, "core_course_get_courses_by_field", field="shortname", value="k")["courses"] == []
    sb.allow_everything()
    assert call(sb, "core_course_create_courses", **{"courses[0][fullname]": "K", "courses[0][shortname]": "k",
                                                     "courses[0][categoryid]": 1})[0]["shortname"] == "k"


def test_capability_denied_in_one_course_only(sb: Sandbox) -> None:
    first, second = new_course(sb, "k1"), new_course(sb, "k2")
    sb.deny_capability("moodle/course:update", first)
    result = call(sb, "core_course_update_courses", **{"courses[0][id]": first, "courses[0][fullname]": "neu",
                                                       "courses[1][id]": second, "courses[1][fullname]": "neu"})
    assert [(w["itemid"], w["warningcode"]) for w in result["warnings"]] == [(first, "nopermissions")]
    names = {c["id"]: c["fullname"] for c in call(sb, "core_course_get_courses_by_field")["courses"]}
    assert (names[first], names[second]) == ("k1", "neu")
    sb.deny_capability("local/mintqo:provision", second)
    denied = call(sb, "local_mintqo_upsert_sections", courseid=second,
                  **{"sections[0][section]": 1, "sections[0][name]": "x"})
    assert denied["errorcode"] == "nopermissions" and "(Provision MINT-QO courses" in denied["message"]


@pytest.mark.parametrize(("function", "fields", "capability"), [
    ("core_user_create_users", {"users[0][username]": "u", "users[0][password]": "Pass-Word-123!",
                                "users[0][firstname]": "U", "users[0][lastname]": "V",
                                "users[0][email]": "u@example.org"}, "moodle/user:create"),
    ("core_course_create_categories", {"categories[0][name]": "C"}, "moodle/category:manage"),
    ("core_message_send_instant_messages", {"messages[0][touserid]": 2, "messages[0][text]": "x"},
     "moodle/site:sendmessage"),
])
def test_system_capabilities(sb: Sandbox, function: str, fields: dict, capability: str) -> None:
    sb.deny_capability(capability)
    assert call(sb, function, **fields)["errorcode"] == "nopermissions"


def test_course_without_access_is_requireloginerror(sb: Sandbox) -> None:
    courseid = new_course(sb, "k1")
    sb.deny_course_access(courseid)
    answer = call(sb, "core_course_get_contents", courseid=courseid)
    assert (answer["exception"], answer["errorcode"], answer["message"]) == (
        PREFIX[sb.release] + "require_login_exception", "requireloginerror", "Course or activity not accessible.")
    sb.debug = True
    assert call(sb, "core_course_get_contents", courseid=courseid)["debuginfo"] == "Not enrolled"
    assert call(sb, "local_mintqo_upsert_activities", courseid=courseid, **{
        "activities[0][section]": 1, "activities[0][modname]": "label", "activities[0][idnumber]": "l",
        "activities[0][name]": "L"})["errorcode"] == "requireloginerror"
    enrolled = call(sb, "core_enrol_get_enrolled_users", courseid=courseid)
    assert enrolled["errorcode"] == "errorcoursecontextnotvalid"
    assert enrolled["message"].endswith(f"(course id:{courseid}). The error message was: Course or activity not "
                                        "accessible.")
    quizzes = call(sb, "mod_quiz_get_quizzes_by_courses", **{"courseids[0]": courseid})
    assert quizzes["quizzes"] == [] and quizzes["warnings"][0]["itemid"] == courseid


def test_python_client_sees_an_access_error(sb: Sandbox) -> None:
    courseid = new_course(sb, "k1")
    sb.deny_capability("moodle/course:managegroups", courseid)
    client = MoodleClient(sb.url, sb.token, retries=0, backoff=0.0)
    with pytest.raises(AccessDeniedError) as caught:
        client.call("core_group_get_course_groups", courseid=courseid)
    assert caught.value.errorcode == "nopermissions" and "Manage groups" in str(caught.value)
    assert sb.token not in str(caught.value)
    sb.deny_course_access(courseid)
    with pytest.raises(AccessDeniedError) as caught:
        client.call("core_course_get_contents", courseid=courseid)
    assert caught.value.errorcode == "requireloginerror"
