"""Sandbox: local_mintqo 1.2.0 — a self-analysis is not an exam, attendance only by staff, dates, group
submission, course defaults (news forum, welcome message) and course calendar events (issue 17)."""

from __future__ import annotations

from typing import Any

import pytest

from mintqo_lms.moodle.client import MoodleClient
from mintqo_lms.moodle.errors import MoodleError
from mintqo_lms.moodle.plugin import PluginAPI
from mintqo_lms.sandbox import Sandbox

RELEASES = ["4.4", "5.0", "5.1"]
NOW = 1_760_000_000
QUESTION = """<question type="multichoice"><name><text>{id}</text></name>
  <questiontext format="html"><text>Aussage {id}</text></questiontext><idnumber>{id}</idnumber>
  <answer fraction="100"><text>trifft voll zu</text></answer>
  <answer fraction="50"><text>trifft teilweise zu</text></answer>
  <answer fraction="0"><text>trifft nicht zu</text></answer></question>"""
DESCRIPTION = """<question type="description"><name><text>{title}</text></name>
  <questiontext format="html"><text><![CDATA[<h4>{title}</h4>]]></text></questiontext>
  <defaultgrade>0</defaultgrade><idnumber>{id}</idnumber></question>"""


@pytest.fixture(params=RELEASES)
def site(request: pytest.FixtureRequest):
    with Sandbox(clock=lambda: NOW, release=request.param) as sandbox:
        client = MoodleClient(sandbox.url, sandbox.token, retries=0)
        yield sandbox, client, PluginAPI(client)


def make_course(client: MoodleClient, shortname: str = "K1") -> int:
    return client.call("core_course_create_courses", courses=[{
        "fullname": "Kurs", "shortname": shortname, "categoryid": 1, "numsections": 3}])[0]["id"]


def quiz_xml() -> str:
    parts = [DESCRIPTION.format(title="Angebot &amp; Ziele", id="mintqo:sa:v1:ang"),
             QUESTION.format(id="mintqo:sa:v1:ang-01"), QUESTION.format(id="mintqo:sa:v1:ang-02"),
             DESCRIPTION.format(title="Qualität", id="mintqo:sa:v1:qua"), QUESTION.format(id="mintqo:sa:v1:qua-01")]
    return "<quiz>" + "".join(parts) + "</quiz>"


SECTIONS = [{"heading": "Angebot", "questionidnumbers": ["mintqo:sa:v1:ang", "mintqo:sa:v1:ang-01",
                                                        "mintqo:sa:v1:ang-02"]},
            {"heading": "Qualität", "questionidnumbers": ["mintqo:sa:v1:qua", "mintqo:sa:v1:qua-01"]}]


def import_quiz(api: PluginAPI, course: int, **settings: Any):
    return api.import_quiz(courseid=course, section=1, idnumber="mintqo:quiz:sa", name="Selbstanalyse",
                           intro="<p>Keine richtigen oder falschen Antworten.</p>", questionsxml=quiz_xml(),
                           sections=SECTIONS, settings=settings)


def error(call, *args: Any, **kwargs: Any) -> str:
    with pytest.raises(MoodleError) as caught:
        call(*args, **kwargs)
    return caught.value.errorcode


# ------------------------------------------------------------------------------ the self-analysis
def test_quiz_is_a_self_analysis_whatever_the_settings(site) -> None:
    sb, client, api = site
    course = make_course(client)
    result = import_quiz(api, course, timeopen=NOW, timeclose=NOW + 30 * 86400, completionexpected=NOW + 20 * 86400)
    assert result.status == "created"
    assert [q.idnumber for q in result.questions][:2] == ["mintqo:sa:v1:ang", "mintqo:sa:v1:ang-01"]
    quiz = client.call("mod_quiz_get_quizzes_by_courses", courseids=[course])["quizzes"][0]
    assert quiz["grade"] == 0 and quiz["sumgrades"] == 3  # description items carry no mark
    assert quiz["reviewattempt"] == 0x11110
    for field in ("correctness", "maxmarks", "marks", "specificfeedback", "generalfeedback", "rightanswer",
                  "overallfeedback"):
        assert quiz[f"review{field}"] == 0, field
    assert (quiz["timeopen"], quiz["timeclose"]) == (NOW, NOW + 30 * 86400)

    student = client.call("core_user_create_users", users=[{
        "username": "anna", "firstname": "Anna", "lastname": "Ö", "email": "anna@example.org",
        "createpassword": 1}])[0]["id"]
    client.call("enrol_manual_enrol_users", enrolments=[{"roleid": 5, "userid": student, "courseid": course}])
    attempt = sb.site.submit_quiz_attempt(student, result.quizid, {"mintqo:sa:v1:ang-01": 1, "mintqo:sa:v1:ang-02": 2,
                                                                   "mintqo:sa:v1:qua-01": 3})
    admin = MoodleClient(sb.url, sb.admin_token, retries=0)  # the quiz review functions are not in MINT-QO Sync
    review = admin.call("mod_quiz_get_attempt_review", attemptid=attempt)
    statements = [q for q in review["questions"] if q["type"] == "multichoice"]
    assert len(statements) == 3 and len(review["questions"]) == 5
    for question in statements:
        assert "state" not in question and "mark" not in question and "maxmark" not in question
        assert question["status"] == "Complete"
    assert review["grade"] == 0
    assert admin.call("mod_quiz_get_user_best_grade", quizid=result.quizid, userid=student)["hasgrade"] is False
    status = client.call("core_completion_get_activities_completion_status", courseid=course, userid=student)
    quiz_status = next(s for s in status["statuses"] if s["cmid"] == result.cmid)
    assert quiz_status["state"] == 1
    assert [d["rulename"] for d in quiz_status["details"]] == ["completionminattempts"]

    responses = list(api.iter_quiz_responses([result.quizid]))
    assert [r.questionidnumber for r in responses] == ["mintqo:sa:v1:ang-01", "mintqo:sa:v1:ang-02",
                                                       "mintqo:sa:v1:qua-01"]  # no description items


def test_reimport_applies_changed_settings_only(site) -> None:
    sb, client, api = site
    course = make_course(client)
    first = import_quiz(api, course)
    assert import_quiz(api, course).status == "unchanged"
    # A quiz made before 1.2.0: graded, Moodle's default review options, completion on a grade.
    sb.site.update("quiz", first.quizid, grade=10.0, reviewcorrectness=0x11110, reviewmarks=0x11110,
                   completionminattempts=0)
    sb.site.update("course_modules", first.cmid, completionusegrade=1)
    again = import_quiz(api, course)
    assert again.status == "updated" and again.questions == first.questions
    quiz = client.call("mod_quiz_get_quizzes_by_courses", courseids=[course])["quizzes"][0]
    assert (quiz["grade"], quiz["reviewcorrectness"], quiz["reviewmarks"]) == (0, 0, 0)
    assert import_quiz(api, course).status == "unchanged"
    assert import_quiz(api, course, timeclose=NOW + 86400).status == "updated"
    assert import_quiz(api, course, timeclose=NOW + 86400).status == "unchanged"
    assert error(import_quiz, api, course, timeopen=NOW, timeclose=NOW - 1) == "invalidparameter"
    assert error(import_quiz, api, course, completionexpected=-1) == "invalidparameter"


# ------------------------------------------------------------------------------ activities
ATTENDANCE = {"section": 1, "modname": "label", "idnumber": "mintqo:t:ws1-teilnahme", "name": "Teilnahme an Workshop 1",
              "intro": "<p>Ihre Regionalkoordination trägt die Anwesenheit ein.</p>", "completion": 1,
              "selfcompletion": 0, "completionexpected": NOW + 86400}


def test_attendance_only_by_staff(site) -> None:
    sb, client, api = site
    course = make_course(client)
    selfmarked = dict(ATTENDANCE, idnumber="mintqo:t:reflexion", selfcompletion=1)
    result = api.upsert_activities(course, [ATTENDANCE, selfmarked])
    assert [a.status for a in result.activities] == ["created", "created"]
    label, other = (sb.site.tables["course_modules"][a.cmid] for a in result.activities)
    # A staff-only label: automatic completion on a rule nobody can meet, participants lose togglecompletion.
    assert (label["completion"], label["completionview"], label["togglecompletion_prevented"]) == (2, 1, 1)
    assert (other["completion"], other["togglecompletion_prevented"]) == (1, 0)
    assert label["completionexpected"] == NOW + 86400
    again = api.upsert_activities(course, [ATTENDANCE, selfmarked])
    assert [a.status for a in again.activities] == ["unchanged", "unchanged"]
    # The coordinator's override completes it.
    student = client.call("core_user_create_users", users=[{
        "username": "bea", "firstname": "Bea", "lastname": "B", "email": "bea@example.org",
        "createpassword": 1}])[0]["id"]
    client.call("enrol_manual_enrol_users", enrolments=[{"roleid": 5, "userid": student, "courseid": course}])
    answer = client.call("core_completion_override_activity_completion_status", userid=student, cmid=label["id"],
                         newstate=1)
    assert answer["state"] == 1
    opened = api.upsert_activities(course, [dict(ATTENDANCE, selfcompletion=1)])
    assert opened.activities[0].status == "updated"
    assert (label["completion"], label["togglecompletion_prevented"]) == (1, 0)


def test_dates_and_group_submission(site) -> None:
    sb, client, api = site
    course = make_course(client)
    plan = {"section": 2, "modname": "assign", "idnumber": "mintqo:t:plan", "name": "Unser Maßnahmenplan",
            "completion": 2, "completionsubmit": 1, "duedate": NOW + 9 * 86400,
            "allowsubmissionsfromdate": NOW + 86400, "teamsubmission": 1, "completionexpected": NOW + 8 * 86400}
    result = api.upsert_activities(course, [plan])
    assign = sb.site.tables["assign"][result.activities[0].instanceid]
    assert (assign["teamsubmission"], assign["requireallteammemberssubmit"], assign["preventsubmissionnotingroup"],
            assign["allowsubmissionsfromdate"]) == (1, 0, 0, NOW + 86400)
    assert api.upsert_activities(course, [plan]).activities[0].status == "unchanged"
    assert api.upsert_activities(course, [dict(plan, completionexpected=NOW)]).activities[0].status == "updated"
    for bad in ({"selfcompletion": 2}, {"teamsubmission": 3}, {"completionexpected": -1}):
        assert error(api.upsert_activities, course, [dict(plan, **bad)]) == "invalidparameter"


# ------------------------------------------------------------------------------ course defaults and events
def test_configure_courses(site) -> None:
    sb, client, api = site
    course = make_course(client)
    wanted = {"courseid": course, "newsforumname": "Ankündigungen", "newsforumintro": "<p>Neuigkeiten</p>",
              "sendwelcomemessage": 0}
    assert [r.status for r in api.configure_courses([wanted])] == ["updated"]
    assert [r.status for r in api.configure_courses([wanted])] == ["unchanged"]
    forum = next(f for f in sb.site.tables["forum"].values() if f["course"] == course and f.get("type") == "news")
    assert (forum["name"], forum["intro"]) == ("Ankündigungen", "<p>Neuigkeiten</p>")
    welcome_exists = sb.site.release.manual_welcome_message
    assert sb.site.tables["course"][course].get("manual_welcome", None if not welcome_exists else 1) == (
        0 if welcome_exists else None)
    on = [r.status for r in api.configure_courses([dict(wanted, sendwelcomemessage=1)])]
    assert on == (["updated"] if welcome_exists else ["unchanged"])  # 4.4's manual enrolment sends none
    for bad in ({"newsforumname": " "}, {"sendwelcomemessage": 2}, {"courseid": 1}):
        assert error(api.configure_courses, [dict(wanted, **bad)]) == "invalidparameter"
    assert error(api.configure_courses, [wanted, wanted]) == "invalidparameter"
    sb.site.denied_capabilities.add(("moodle/course:update", course))
    assert error(api.configure_courses, [wanted]) == "nopermissions"


def test_upsert_events(site) -> None:
    sb, client, api = site
    course = make_course(client)
    events = [{"idnumber": "mintqo:event:2025:trier:ws1", "name": "Workshop 1", "description": "<p>Laptop</p>",
               "timestart": NOW + 7 * 86400, "timeduration": 6 * 3600, "location": "Trier"},
              {"idnumber": "mintqo:event:2025:trier:ws2", "name": "Workshop 2", "timestart": NOW + 14 * 86400}]
    created = api.upsert_events(course, events)
    assert [e.status for e in created] == ["created", "created"]
    stored = sb.site.tables["event"][created[0].id]
    assert (stored["eventtype"], stored["courseid"], stored["uuid"], stored["location"]) == (
        "course", course, "mintqo:event:2025:trier:ws1", "Trier")
    assert [e.status for e in api.upsert_events(course, events)] == ["unchanged", "unchanged"]
    moved = [events[0], dict(events[1], timestart=NOW + 15 * 86400)]
    assert [e.status for e in api.upsert_events(course, moved)] == ["unchanged", "updated"]
    assert len(sb.site.tables["event"]) == 2
    for bad in ({"idnumber": ""}, {"name": " "}, {"timestart": 0}, {"timeduration": -1}):
        assert error(api.upsert_events, course, [dict(events[0], **bad)]) == "invalidparameter"
    assert error(api.upsert_events, course, [events[0], events[0]]) == "invalidparameter"
    sb.site.denied_capabilities.add(("moodle/calendar:manageentries", None))
    assert error(api.upsert_events, course, events) == "nopermissions"
