"""Sandbox behaviour over HTTP: tokens, faults, all-or-nothing, core semantics, plugin contract, simulation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import requests
from click.testing import CliRunner

from mintqo_lms.sandbox import Sandbox
from mintqo_lms.sandbox.cli import sandbox as sandbox_cli
from mintqo_lms.sandbox.functions import REGISTRY
from mintqo_lms.sandbox.server import SERVICE_FUNCTIONS

LIKERT = Path(__file__).resolve().parent / "data" / "moodle" / "recordings" / "likert_questions_export.xml"
QUIZ_XML = """<?xml version="1.0" encoding="UTF-8"?>
<quiz>
  <question type="category"><category><text>$course$/top/x</text></category></question>
  {questions}
</quiz>"""
QUESTION = """<question type="multichoice"><name><text>{id}</text></name>
  <questiontext format="html"><text>Aussage {id}</text></questiontext><idnumber>{id}</idnumber>
  <answer fraction="100"><text>trifft voll zu</text></answer>
  <answer fraction="66.66667"><text>trifft eher zu</text></answer>
  <answer fraction="33.33333"><text>trifft eher nicht zu</text></answer>
  <answer fraction="0"><text>trifft nicht zu</text></answer></question>"""


def quiz_xml(*idnumbers: str) -> str:
    return QUIZ_XML.format(questions="".join(QUESTION.format(id=i) for i in idnumbers))


class Client:
    def __init__(self, sb: Sandbox, token: str) -> None:
        self.sb, self.token, self.http = sb, token, requests.Session()

    def raw(self, function: str, **fields: Any) -> Any:
        data = {"wstoken": self.token, "wsfunction": function, "moodlewsrestformat": "json", **fields}
        return self.http.post(self.sb.url + "/webservice/rest/server.php", data=data, timeout=10).json()

    def __call__(self, function: str, **fields: Any) -> Any:
        answer = self.raw(function, **fields)
        assert not (isinstance(answer, dict) and "exception" in answer), answer
        return answer

    def error(self, function: str, **fields: Any) -> str:
        answer = self.raw(function, **fields)
        assert isinstance(answer, dict) and "exception" in answer, answer
        return answer["errorcode"]


def flat(prefix: str, items: list[dict]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for index, item in enumerate(items):
        for key, value in item.items():
            if isinstance(value, list):
                for j, sub in enumerate(value):
                    out[f"{prefix}[{index}][{key}][{j}]"] = sub
            else:
                out[f"{prefix}[{index}][{key}]"] = value
    return out


# What each release answers where they differ (tests/data/moodle/recordings/releases.md), written down
# here on its own so that the sandbox's release table is checked against the recordings' wording.
RELEASES = ["4.4", "5.0", "5.1"]
EXPECT = {
    "4.4": {"missing": "invalidrecord", "enrol_missing_user": "codingerror", "unenrol_missing_user": "invalidparameter",
            "batch_raises": True, "section_1": "Topic 1", "class_prefix": "", "qbank": False},
    "5.0": {"missing": "invalidrecordunknown", "enrol_missing_user": "invalidrecordunknown",
            "unenrol_missing_user": "invalidrecordunknown", "batch_raises": False, "section_1": "New section",
            "class_prefix": "core\\exception\\", "qbank": True},
    "5.1": {"missing": "invalidrecordunknown", "enrol_missing_user": "invalidrecordunknown",
            "unenrol_missing_user": "invalidrecordunknown", "batch_raises": True, "section_1": "New section",
            "class_prefix": "core\\exception\\", "qbank": True},
}
per_release = pytest.mark.parametrize("sb", RELEASES, indirect=True)


@pytest.fixture()
def sb(request: pytest.FixtureRequest):
    """A sandbox on a fixed clock; 4.4 unless a test is marked ``per_release``."""
    now = [1_760_000_000]
    with Sandbox(clock=lambda: now[0], release=getattr(request, "param", "4.4")) as sandbox:
        sandbox.now = now  # type: ignore[attr-defined]
        yield sandbox


@pytest.fixture()
def ws(sb: Sandbox) -> Client:
    return Client(sb, sb.token)


@pytest.fixture()
def admin(sb: Sandbox) -> Client:
    return Client(sb, sb.admin_token)


def user(name: str, **extra: Any) -> dict[str, Any]:
    return {"username": name, "password": "Lern#Pfad2025!", "firstname": name.title(), "lastname": "Test",
            "email": f"{name}@example.org", **extra}


def make_course(ws: Client) -> int:
    cat = ws("core_course_create_categories", **flat("categories", [{"name": "K", "idnumber": "k"}]))[0]["id"]
    return ws("core_course_create_courses", **flat("courses", [
        {"fullname": "Kurs", "shortname": "K1", "categoryid": cat, "idnumber": "k1", "numsections": 2}]))[0]["id"]


# ------------------------------------------------------------------------------ tokens and service
@per_release
def test_ids_follow_a_fresh_moodle(ws: Client) -> None:
    cats = ws("core_course_create_categories", **flat("categories", [{"name": "A"}, {"name": "B", "parent": 2}]))
    assert [c["id"] for c in cats] == [2, 3]
    course = ws("core_course_create_courses", **flat("courses", [{"fullname": "F", "shortname": "S",
                                                                   "categoryid": 3, "numsections": 3}]))
    assert course == [{"id": 2, "shortname": "S"}]
    assert ws("core_user_create_users", **flat("users", [user("anna")]))[0]["id"] == 3
    contents = ws("core_course_get_contents", courseid=2)
    assert [s["section"] for s in contents] == [0, 1, 2, 3]
    assert [s["name"] for s in contents[:2]] == ["General", EXPECT[ws.sb.release]["section_1"]]
    assert [m["modname"] for m in contents[0]["modules"]] == ["forum"]


def test_service_token_is_restricted(sb: Sandbox, ws: Client, admin: Client) -> None:
    answer = ws.raw("core_user_get_users", **{"criteria[0][key]": "id", "criteria[0][value]": "2"})
    assert answer["exception"] == "webservice_access_exception" and answer["message"] == "Access control exception"
    assert admin("core_user_get_users", **{"criteria[0][key]": "id", "criteria[0][value]": "2"})["users"]
    names = {f["name"] for f in ws("core_webservice_get_site_info")["functions"]}
    assert names == set(SERVICE_FUNCTIONS)
    assert len(admin("core_webservice_get_site_info")["functions"]) == len(REGISTRY)


def test_registry_holds_every_service_function() -> None:
    assert SERVICE_FUNCTIONS <= set(REGISTRY)


@per_release
def test_token_and_function_errors(sb: Sandbox, ws: Client) -> None:
    expect = EXPECT[sb.release]
    assert Client(sb, "wrong").raw("core_webservice_get_site_info")["exception"] == \
        expect["class_prefix"] + "moodle_exception"
    assert Client(sb, "wrong").error("core_webservice_get_site_info") == "invalidtoken"
    missing = ws.raw("core_does_not_exist")
    assert (missing["exception"], missing["errorcode"]) == ("dml_missing_record_exception", expect["missing"])
    sb.debug = True  # with debugging on every release names the table (08[20])
    assert ws.error("core_does_not_exist") == "invalidrecord"
    answer = requests.post(sb.url + "/webservice/rest/server.php", data={"wstoken": sb.token}, timeout=10)
    assert "<ERRORCODE>invalidparameter</ERRORCODE>" in answer.text  # no format -> XML
    assert f'<EXCEPTION class="{expect["class_prefix"]}invalid_parameter_exception">' in answer.text
    assert "wstoken" not in repr(sb) and sb.token not in repr(sb)


def test_debug_knob_adds_debuginfo(sb: Sandbox, ws: Client) -> None:
    assert "debuginfo" not in ws.raw("core_course_get_contents", courseid="abc")
    sb.debug = True
    assert "expecting \"int\" type" in ws.raw("core_course_get_contents", courseid="abc")["debuginfo"]


def test_max_input_vars_truncates_silently(sb: Sandbox, ws: Client) -> None:
    sb.max_input_vars = 10
    values = {f"values[{i}]": str(100 + i) for i in range(20)}
    values["values[6]"] = "2"  # field 10 of 24 -> kept
    values["values[8]"] = "3"  # field 12 -> dropped
    ws("core_user_create_users", **flat("users", [user("anna")]))
    found = ws("core_user_get_users_by_field", field="id", **values)
    assert [u["id"] for u in found] == [2]


# ------------------------------------------------------------------------------ faults and knobs
def test_exception_fault_hits_the_nth_call_only(sb: Sandbox, ws: Client) -> None:
    sb.faults.add(function="core_webservice_get_site_info", nth=2, kind="exception", errorcode="servicebusy")
    ws("core_webservice_get_site_info")
    assert ws.error("core_webservice_get_site_info") == "servicebusy"
    ws("core_webservice_get_site_info")
    assert sb.calls.counter()["core_webservice_get_site_info"] == 3


def test_fault_times_and_not_executed(sb: Sandbox, ws: Client) -> None:
    sb.faults.add(function="core_user_create_users", kind="exception", times=2)
    assert ws.error("core_user_create_users", **flat("users", [user("anna")])) == "dmlwriteexception"
    assert ws.error("core_user_create_users", **flat("users", [user("anna")])) == "dmlwriteexception"
    assert ws("core_user_create_users", **flat("users", [user("anna")]))[0]["username"] == "anna"


def test_reset_and_http503_faults(sb: Sandbox, ws: Client) -> None:
    sb.faults.add(function="core_webservice_get_site_info", kind="reset")
    with pytest.raises(requests.ConnectionError):
        ws.raw("core_webservice_get_site_info")
    sb.faults.add(function="core_webservice_get_site_info", kind="http503")
    answer = requests.post(sb.url + "/webservice/rest/server.php",
                           data={"wstoken": sb.token, "wsfunction": "core_webservice_get_site_info"}, timeout=10)
    assert answer.status_code == 503
    assert ws("core_webservice_get_site_info")["userid"] == 2


def test_reset_after_execution_leaves_the_write_done(sb: Sandbox, ws: Client) -> None:
    sb.faults.add(function="core_user_create_users", kind="reset", execute=True)
    with pytest.raises(requests.ConnectionError):
        ws.raw("core_user_create_users", **flat("users", [user("anna")]))
    assert ws("core_user_get_users_by_field", field="username", **{"values[0]": "anna"})


def test_timeout_fault_outlasts_the_client_timeout(sb: Sandbox, ws: Client) -> None:
    sb.faults.add(function="core_webservice_get_site_info", kind="timeout", seconds=0.2)
    with pytest.raises(requests.Timeout):
        requests.post(sb.url + "/webservice/rest/server.php",
                      data={"wstoken": sb.token, "wsfunction": "core_webservice_get_site_info"}, timeout=0.2)


def test_bad_fault_kind_is_rejected(sb: Sandbox) -> None:
    with pytest.raises(ValueError, match="fault kind"):
        sb.faults.add(function="x", kind="explode")


def test_latency_is_a_live_knob(sb: Sandbox, ws: Client) -> None:
    sb.latency = 0.001
    assert ws("core_webservice_get_site_info")["siteurl"] == sb.url


# ------------------------------------------------------------------------------ core semantics
def test_create_users_is_all_or_nothing(ws: Client) -> None:
    ws("core_user_create_users", **flat("users", [user("anna")]))
    batch = [user("berta"), user("carl", email="ANNA@example.org")]
    assert ws.error("core_user_create_users", **flat("users", batch)) == "invalidparameter"
    assert ws("core_user_get_users_by_field", field="username", **{"values[0]": "berta"}) == []
    # ids are not burnt by the rolled-back batch
    assert ws("core_user_create_users", **flat("users", [user("berta")]))[0]["id"] == 4


def test_user_rules(sb: Sandbox, ws: Client) -> None:
    assert ws.error("core_user_create_users", **flat("users", [user("Jörg")])) == "invalidparameter"
    weak = ws.raw("core_user_create_users", **flat("users", [user("weak", password="123")]))
    assert weak["errorcode"].startswith("<div>Passwords must be at least 8 characters long.</div>")
    ws("core_user_create_users", **flat("users", [user("anna", lang="de")]))
    by_mail = ws("core_user_get_users_by_field", field="email",
                 **{"values[0]": "ANNA@example.org", "values[1]": "anna@example.org"})
    assert [u["username"] for u in by_mail] == ["anna"]  # the differently cased one finds nothing
    assert by_mail[0]["timezone"] == "99" and by_mail[0]["suspended"] is False


def test_lang_de_rejected_without_language_pack() -> None:
    with Sandbox(german_language_pack=False) as sb:
        ws = Client(sb, sb.token)
        assert ws.error("core_user_create_users", **flat("users", [user("anna", lang="de")])) == "invalidparameter"
        assert [l["code"] for l in ws("local_mintqo_get_site_languages")["languages"]] == ["en"]


@per_release
def test_course_errors_and_update_warnings(sb: Sandbox, ws: Client) -> None:
    course = make_course(ws)
    dup = flat("courses", [{"fullname": "X", "shortname": "K2", "categoryid": 2, "idnumber": "k1"}])
    assert ws.error("core_course_create_courses", **dup) == "courseidnumbertaken"
    batch = flat("courses", [{"fullname": "X", "shortname": "K3", "categoryid": 2},
                             {"fullname": "Y", "shortname": "K1", "categoryid": 2}])
    assert ws.error("core_course_create_courses", **batch) == "shortnametaken"
    assert ws("core_course_get_courses_by_field", field="shortname", value="K3")["courses"] == []
    result = ws("core_course_update_courses", **flat("courses", [{"id": course, "fullname": "Neu"},
                                                                   {"id": 999, "fullname": "nie"}]))
    assert [w["warningcode"] for w in result["warnings"]] == [EXPECT[sb.release]["missing"]]
    assert ws("core_course_get_courses_by_field", field="id", value=str(course))["courses"][0]["fullname"] == "Neu"
    assert ws.error("core_course_create_categories", **flat("categories", [{"name": "D", "idnumber": "k"}])) == \
        "categoryidnumbertaken"


@per_release
def test_enrolment_and_groups(sb: Sandbox, ws: Client) -> None:
    course = make_course(ws)
    ids = [u["id"] for u in ws("core_user_create_users", **flat("users", [user("anna"), user("bert")]))]
    assert ws("enrol_manual_enrol_users", **flat("enrolments", [
        {"roleid": 5, "userid": ids[0], "courseid": course}])) is None
    assert ws.error("enrol_manual_enrol_users", **flat("enrolments", [
        {"roleid": 5, "userid": ids[1], "courseid": course}, {"roleid": 99, "userid": ids[0], "courseid": course}
    ])) == "wsusercannotassign"
    assert ws.error("enrol_manual_enrol_users", **flat("enrolments", [
        {"roleid": 5, "userid": 999, "courseid": course}])) == EXPECT[sb.release]["enrol_missing_user"]
    assert ws.error("enrol_manual_unenrol_users", **flat("enrolments", [
        {"userid": 999, "courseid": course}])) == EXPECT[sb.release]["unenrol_missing_user"]
    enrolled = ws("core_enrol_get_enrolled_users", courseid=course)
    assert [(u["id"], u["roles"][0]["shortname"]) for u in enrolled] == [(ids[0], "student")]
    group = ws("core_group_create_groups", **flat("groups", [{"courseid": course, "name": "Nord",
                                                               "description": "", "idnumber": "n"}]))[0]
    assert ws.error("core_group_create_groups", **flat("groups", [
        {"courseid": course, "name": "Nord", "description": ""}])) == "invalidparameter"
    assert ws.error("core_group_create_groups", **flat("groups", [
        {"courseid": course, "name": "Süd", "description": "", "idnumber": "n"}])) == "idnumbertaken"
    assert ws.error("core_group_add_group_members", **flat("members", [
        {"groupid": group["id"], "userid": ids[1]}])) == "invalidparameter"
    ws("core_group_add_group_members", **flat("members", [{"groupid": group["id"], "userid": ids[0]}]))
    ws("enrol_manual_unenrol_users", **flat("enrolments", [{"userid": ids[0], "courseid": course}]))
    assert ws("core_enrol_get_enrolled_users", courseid=course) == []


@per_release
def test_messages_are_not_transactional(sb: Sandbox, ws: Client) -> None:
    anna = ws("core_user_create_users", **flat("users", [user("anna")]))[0]["id"]
    batch = flat("messages", [{"touserid": anna, "text": "Hallo", "clientmsgid": "m1"},
                              {"touserid": 999, "text": "niemand", "clientmsgid": "m2"}])
    if EXPECT[sb.release]["batch_raises"]:
        assert ws.error("core_message_send_instant_messages", **batch) == "formatnotsupported"
    else:
        answer = ws("core_message_send_instant_messages", **batch)
        assert [(m["clientmsgid"], m["msgid"] > 0) for m in answer] == [("m1", True), ("m2", False)]
        assert answer[1]["msgid"] == -1 and answer[1]["cantsendtouser"] == ""
    assert len(sb.site.tables["messages"]) == 1  # the valid message is delivered either way
    alone = ws("core_message_send_instant_messages", **flat("messages", [{"touserid": 999, "text": "x"}]))
    assert alone[0]["msgid"] == -1


# ------------------------------------------------------------------------------ plugin
def test_upsert_sections_statuses(ws: Client) -> None:
    course = make_course(ws)
    first = ws("local_mintqo_upsert_sections", courseid=course, **flat("sections", [
        {"section": 1, "name": "Start"}, {"section": 4, "name": "Neu"}]))["sections"]
    assert [(s["section"], s["status"]) for s in first] == [(1, "updated"), (4, "created")]
    again = ws("local_mintqo_upsert_sections", courseid=course, **flat("sections", [
        {"section": 1, "name": "Start"}, {"section": 4, "name": "Neu"}]))["sections"]
    assert [s["status"] for s in again] == ["unchanged", "unchanged"]
    names = [s["name"] for s in ws("core_course_get_contents", courseid=course)]
    assert names == ["General", "Start", "Topic 2", "Topic 3", "Neu"]
    assert ws.error("local_mintqo_upsert_sections", courseid=course, **flat("sections", [
        {"section": 2, "name": "a"}, {"section": 2, "name": "b"}])) == "invalidsection"
    assert ws.error("local_mintqo_upsert_sections", courseid=999, **flat("sections", [
        {"section": 1, "name": "a"}])) == "invalidrecord"


def test_upsert_activities_statuses_and_errors(ws: Client) -> None:
    course = make_course(ws)
    page = {"section": 1, "modname": "page", "idnumber": "p1", "name": "Seite", "content": "<p>x</p>",
            "completion": 2, "completionview": 1}
    created = ws("local_mintqo_upsert_activities", courseid=course, **flat("activities", [page]))
    assert created["activities"][0]["status"] == "created"
    assert created["completioncriteria"] == {"status": "unchanged", "count": 0}
    same = ws("local_mintqo_upsert_activities", courseid=course, **flat("activities", [page]),
              **{"completioncriteria[0][idnumber]": "p1"})
    assert same["activities"][0]["status"] == "unchanged"
    assert same["completioncriteria"] == {"status": "created", "count": 1}
    changed = ws("local_mintqo_upsert_activities", courseid=course, **flat("activities", [dict(page, name="Neu")]))
    assert changed["activities"][0]["status"] == "updated"
    assert ws.error("local_mintqo_upsert_activities", courseid=course, **flat("activities", [
        dict(page, modname="forum")])) == "unsupportedmodule"
    assert ws.error("local_mintqo_upsert_activities", courseid=course, **flat("activities", [
        dict(page, modname="url")])) == "activitytypemismatch"
    label = {"section": 1, "modname": "label", "idnumber": "l1", "name": "Hinweis"}
    assert ws.error("local_mintqo_upsert_activities", courseid=course, **flat("activities", [label]),
                    **{"completioncriteria[0][idnumber]": "l1"}) == "invalidcompletioncriteria"
    # the failed call created nothing
    assert not any(m["modname"] == "label" for s in ws("core_course_get_contents", courseid=course)
                   for m in s["modules"])


def import_quiz(ws: Client, course: int, **overrides: Any) -> Any:
    fields = {"courseid": course, "section": 1, "idnumber": "q1", "name": "Quiz", "intro": "",
              "questionsxml": quiz_xml("a1", "a2", "b1"), "sections[0][heading]": "Teil A",
              "sections[0][questionidnumbers][0]": "a1", "sections[0][questionidnumbers][1]": "a2",
              "sections[1][heading]": "Teil B", "sections[1][questionidnumbers][0]": "b1"}
    fields.update(overrides)
    return fields


@per_release
def test_import_quiz_created_unchanged_and_errors(sb: Sandbox, ws: Client) -> None:
    course = make_course(ws)
    created = ws("local_mintqo_import_quiz", **import_quiz(ws, course))
    assert created["status"] == "created"
    assert [(q["idnumber"], q["slot"]) for q in created["questions"]] == [("a1", 1), ("a2", 2), ("b1", 3)]
    again = ws("local_mintqo_import_quiz", **import_quiz(ws, course))
    assert again["status"] == "unchanged" and again["questions"] == created["questions"]
    assert ws.error("local_mintqo_import_quiz", **import_quiz(ws, course, idnumber="q2",
                                                               questionsxml="<quiz><question")) == \
        "questionimportfailed"
    assert ws.error("local_mintqo_import_quiz", **import_quiz(
        ws, course, idnumber="q2", **{"sections[1][questionidnumbers][0]": "zz"})) == "unknownquestionidnumber"
    assert ws.error("local_mintqo_import_quiz", **import_quiz(
        ws, course, idnumber="q2", **{"sections[1][questionidnumbers][0]": "a1"})) == "duplicatequestionidnumber"
    assert ws.error("local_mintqo_import_quiz", **import_quiz(
        ws, course, idnumber="q2", questionsxml=quiz_xml("a1", "a1", "b1"))) == "duplicatequestionidnumber"
    quizzes = ws("mod_quiz_get_quizzes_by_courses", **{"courseids[0]": course})["quizzes"]
    assert [(q["name"], q["sumgrades"], q["grade"]) for q in quizzes] == [("Quiz", 3, 0)]  # a self-analysis has maximum grade 0
    section0 = ws("core_course_get_contents", courseid=course)[0]["modules"]
    if EXPECT[sb.release]["qbank"]:  # the questions live in the course's system question bank
        assert [(m["modname"], m["name"], m["visible"]) for m in section0] == [
            ("forum", "Announcements", 1), ("qbank", "System shared question bank", 0)]
    else:
        assert [m["modname"] for m in section0] == ["forum"]


@per_release
def test_second_quiz_reuses_the_banks_questions(sb: Sandbox, ws: Client) -> None:
    course = make_course(ws)
    first = ws("local_mintqo_import_quiz", **import_quiz(ws, course))
    second = ws("local_mintqo_import_quiz", **import_quiz(ws, course, idnumber="q2", section=2))
    assert second["status"] == "created" and second["cmid"] != first["cmid"]
    assert [q["questionid"] for q in second["questions"]] == [q["questionid"] for q in first["questions"]]
    assert second["questioncategoryid"] == first["questioncategoryid"]
    modules = [m["modname"] for s in ws("core_course_get_contents", courseid=course) for m in s["modules"]]
    assert modules.count("qbank") == (1 if EXPECT[sb.release]["qbank"] else 0)
    other = make_other_course(ws)
    third = ws("local_mintqo_import_quiz", **import_quiz(ws, other))
    assert not {q["questionid"] for q in third["questions"]} & {q["questionid"] for q in first["questions"]}


def make_other_course(ws: Client) -> int:
    return ws("core_course_create_courses", **flat("courses", [
        {"fullname": "Kurs 2", "shortname": "K9", "categoryid": 1, "numsections": 2}]))[0]["id"]


def test_import_of_the_recorded_likert_export(ws: Client) -> None:
    course = make_course(ws)
    fields = {"courseid": course, "section": 1, "idnumber": "sa", "name": "SA", "intro": "",
              "questionsxml": LIKERT.read_text(encoding="utf-8"), "sections[0][heading]": "Alle"}
    for index in range(4):
        fields[f"sections[0][questionidnumbers][{index}]"] = f"sa-v1-ang-0{index + 1}"
    assert len(ws("local_mintqo_import_quiz", **fields)["questions"]) == 4


def test_quiz_responses_paging_and_since(sb: Sandbox, ws: Client) -> None:
    course = make_course(ws)
    quiz = ws("local_mintqo_import_quiz", **import_quiz(ws, course))
    users = [u["id"] for u in ws("core_user_create_users", **flat("users", [user("anna"), user("bert")]))]
    sb.site.submit_quiz_attempt(users[0], quiz["quizid"], {"a1": 1, "a2": 2})
    sb.now[0] += 10
    sb.site.submit_quiz_attempt(users[1], quiz["quizid"], {"a1": 4, "a2": 3, "b1": 2})
    sb.site.start_quiz_attempt(users[1], quiz["quizid"], {"a1": 1})
    page = ws("local_mintqo_get_quiz_responses", **{"quizids[0]": quiz["quizid"]}, limitnum=4)
    assert page["total"] == 6 and len(page["responses"]) == 4
    first = page["responses"][0]
    assert (first["userid"], first["slot"], first["answerposition"], first["answertext"], first["fraction"]) == \
        (users[0], 1, 1, "trifft voll zu", 1)
    unanswered = page["responses"][2]
    assert (unanswered["answerposition"], unanswered["answertext"], unanswered["fraction"]) == (0, "", None)
    rest = ws("local_mintqo_get_quiz_responses", **{"quizids[0]": quiz["quizid"]}, limitnum=4, limitfrom=4)
    assert [r["slot"] for r in rest["responses"]] == [2, 3]
    later = ws("local_mintqo_get_quiz_responses", **{"quizids[0]": quiz["quizid"]}, since=sb.now[0])
    assert {r["userid"] for r in later["responses"]} == {users[1]} and later["total"] == 3
    assert ws.error("local_mintqo_get_quiz_responses", **{"quizids[0]": 999}) == "invalidrecord"
    assert ws.error("local_mintqo_get_quiz_responses", **{"quizids[0]": quiz["quizid"]}, limitnum=5001) == \
        "invalidparameter"


def test_quiz_responses_by_course_as_by_quiz_ids_and_checked_per_course(sb: Sandbox, ws: Client) -> None:
    course, other = make_course(ws), make_other_course(ws)
    quizzes = [ws("local_mintqo_import_quiz", **import_quiz(ws, course))["quizid"]]
    quizzes.append(ws("local_mintqo_import_quiz", **import_quiz(ws, course, idnumber="q2"))["quizid"])
    elsewhere = ws("local_mintqo_import_quiz", **import_quiz(ws, other))["quizid"]
    users = [u["id"] for u in ws("core_user_create_users", **flat("users", [user("anna"), user("bert")]))]
    for userid, quizid in zip(users * 2, [*quizzes, elsewhere]):
        sb.site.submit_quiz_attempt(userid, quizid, {"a1": 1, "a2": 2})
    by_quiz = ws("local_mintqo_get_quiz_responses", **{"quizids[0]": quizzes[0], "quizids[1]": quizzes[1]})
    assert by_quiz["total"] > 0 and {r["quizid"] for r in by_quiz["responses"]} == set(quizzes)
    assert ws("local_mintqo_get_quiz_responses", **{"courseids[0]": course}) == by_quiz
    union = ws("local_mintqo_get_quiz_responses", **{"quizids[0]": quizzes[1], "courseids[0]": course,
                                                     "courseids[1]": course})
    assert union == by_quiz, "a quiz named both ways is read once"
    assert ws("local_mintqo_get_quiz_responses", **{"quizids[0]": elsewhere, "courseids[0]": course})["total"] > \
        by_quiz["total"]
    assert ws("local_mintqo_get_quiz_responses")["total"] == 0
    assert ws.error("local_mintqo_get_quiz_responses", **{"courseids[0]": 999}) == "invalidrecord"
    sb.site.inaccessible_courses.add(other)
    assert ws.error("local_mintqo_get_quiz_responses", **{"courseids[0]": other}) == "requireloginerror"


def test_completion_waits_for_cron_but_override_is_immediate(sb: Sandbox, ws: Client) -> None:
    course = make_course(ws)
    quiz = ws("local_mintqo_import_quiz", **import_quiz(ws, course))
    page = ws("local_mintqo_upsert_activities", courseid=course, **flat("activities", [
        {"section": 1, "modname": "page", "idnumber": "p1", "name": "Seite", "completion": 2,
         "completionview": 1}]))["activities"][0]
    anna = ws("core_user_create_users", **flat("users", [user("anna")]))[0]["id"]
    ws("enrol_manual_enrol_users", **flat("enrolments", [{"roleid": 5, "userid": anna, "courseid": course}]))
    assert ws.error("core_completion_get_course_completion_status", courseid=course, userid=anna) == "nocriteriaset"
    ws("local_mintqo_upsert_activities", courseid=course, **flat("activities", [
        {"section": 1, "modname": "page", "idnumber": "p1", "name": "Seite", "completion": 2, "completionview": 1}]),
        **{"completioncriteria[0][idnumber]": "p1", "completioncriteria[1][idnumber]": "q1"})
    sb.site.submit_quiz_attempt(anna, quiz["quizid"], {"a1": 1})
    status = ws("core_completion_get_course_completion_status", courseid=course, userid=anna)["completionstatus"]
    assert [c["complete"] for c in status["completions"]] == [False, False]
    sb.site.run_cron()
    status = ws("core_completion_get_course_completion_status", courseid=course, userid=anna)["completionstatus"]
    assert [c["complete"] for c in status["completions"]] == [False, True] and status["completed"] is False
    sb.now[0] += 5
    result = ws("core_completion_override_activity_completion_status", userid=anna, cmid=page["cmid"], newstate=1)
    assert (result["state"], result["overrideby"], result["timecompleted"]) == (1, 2, sb.now[0])
    status = ws("core_completion_get_course_completion_status", courseid=course, userid=anna)["completionstatus"]
    assert status["completed"] is True
    assert ws.error("core_completion_override_activity_completion_status", userid=anna, cmid=page["cmid"],
                    newstate=2) == "err_system"
    completions = ws("local_mintqo_get_completions", **{"courseids[0]": course})
    assert completions["totalactivities"] == 2 and completions["totalcourses"] == 1
    assert completions["courses"][0]["timecompleted"] is not None
    by_cm = {a["idnumber"]: a for a in completions["activities"]}
    assert by_cm["p1"]["overrideby"] == 2 and by_cm["q1"]["overrideby"] is None
    since = ws("local_mintqo_get_completions", **{"courseids[0]": course}, since=sb.now[0])
    assert [a["idnumber"] for a in since["activities"]] == ["p1"]


def test_complete_activity_helper_uses_the_clock(sb: Sandbox, ws: Client) -> None:
    course = make_course(ws)
    page = ws("local_mintqo_upsert_activities", courseid=course, **flat("activities", [
        {"section": 1, "modname": "page", "idnumber": "p1", "name": "Seite", "completion": 1}]))["activities"][0]
    anna = ws("core_user_create_users", **flat("users", [user("anna")]))[0]["id"]
    ws("enrol_manual_enrol_users", **flat("enrolments", [{"roleid": 5, "userid": anna, "courseid": course}]))
    sb.now[0] = 1_770_000_000
    sb.site.complete_activity(anna, page["cmid"])
    statuses = ws("core_completion_get_activities_completion_status", courseid=course, userid=anna)["statuses"]
    assert (statuses[0]["state"], statuses[0]["timecompleted"]) == (1, 1_770_000_000)


# ------------------------------------------------------------------------------ persistence and CLI
def test_state_file_survives_a_restart(tmp_path: Path) -> None:
    state = tmp_path / "site.json"
    with Sandbox(state_file=state) as first:
        Client(first, first.token)("core_user_create_users", **flat("users", [user("anna")]))
    with Sandbox(state_file=state) as second:
        ws = Client(second, second.token)
        assert ws("core_user_get_users_by_field", field="username", **{"values[0]": "anna"})[0]["id"] == 3
        assert ws("core_user_create_users", **flat("users", [user("bert")]))[0]["id"] == 4


def test_cli_serve_is_documented() -> None:
    result = CliRunner().invoke(sandbox_cli, ["serve", "--help"])
    assert result.exit_code == 0 and "--state" in result.output and "--latency" in result.output
