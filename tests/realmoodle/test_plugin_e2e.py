"""local_mintqo against a real Moodle: every plugin function, idempotency and documented shapes.

Each run builds its own course (unique shortname), so runs never depend on each other or on site state.
Every test can run alone: what one needs from another (activities, a quiz) comes from a module fixture.
Error codes are checked by what every release sends (4.4 ``invalidrecord``, 5.x ``invalidrecordunknown``)
and by the typed error the client raises for them.
"""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import pytest

from mintqo_lms.moodle.errors import MissingRecordError, MoodleError

pytestmark = pytest.mark.realmoodle

RECORDED_XML = Path(__file__).resolve().parents[1] / "data" / "moodle" / "recordings" / "likert_questions_export.xml"
SCALE = ["trifft voll zu", "trifft eher zu", "trifft eher nicht zu", "trifft nicht zu"]


def likert_xml(idnumbers: list[str]) -> str:
    """A small Moodle XML file of single-choice Likert questions (used when the recording is absent)."""
    fractions = ["100", "66.66667", "33.33333", "0"]
    questions = []
    for idnumber in idnumbers:
        answers = "".join(
            f'<answer fraction="{fraction}" format="plain_text"><text>{text}</text>'
            f'<feedback format="html"><text></text></feedback></answer>'
            for text, fraction in zip(SCALE, fractions))
        questions.append(
            f'<question type="multichoice"><name><text>{idnumber}</text></name>'
            f'<questiontext format="html"><text>Aussage {idnumber}</text></questiontext>'
            f'<generalfeedback format="html"><text></text></generalfeedback>'
            f'<defaultgrade>1</defaultgrade><penalty>0</penalty><hidden>0</hidden>'
            f'<idnumber>{idnumber}</idnumber><single>true</single><shuffleanswers>false</shuffleanswers>'
            f'<answernumbering>none</answernumbering>{answers}</question>')
    return '<?xml version="1.0" encoding="UTF-8"?><quiz>' + "".join(questions) + "</quiz>"


def question_xml() -> tuple[str, list[str]]:
    """The recorded four-question export when it is beside the project, else a generated equivalent."""
    if RECORDED_XML.exists():
        text = RECORDED_XML.read_text(encoding="utf-8")
        ids = recorded_idnumbers(text)
        if len(ids) == 4:
            return text, ids
    ids = ["e2e-q1", "e2e-q2", "e2e-q3", "e2e-q4"]
    return likert_xml(ids), ids


def recorded_idnumbers(text: str) -> list[str]:
    """Question idnumbers of an export, without the category's own idnumber."""
    questions = re.findall(r'<question type="(?!category)[^"]+">.*?</question>', text, re.S)
    return [m.group(1) for q in questions if (m := re.search(r"<idnumber>([^<]+)</idnumber>", q))]


MISSING_RECORD_CODES = {"invalidrecord", "invalidrecordunknown"}   # 4.4 / 5.x with debugging off


def assert_error(excinfo, errorcode: str) -> None:
    assert getattr(excinfo.value, "errorcode", None) == errorcode, repr(excinfo.value)


def assert_missing_record(excinfo) -> None:
    assert isinstance(excinfo.value, MissingRecordError), repr(excinfo.value)
    assert excinfo.value.errorcode in MISSING_RECORD_CODES


@pytest.fixture(scope="module")
def course(moodle):
    run = uuid.uuid4().hex[:10]
    created = moodle.call("core_course_create_courses", courses=[{
        "fullname": f"MINT-QO E2E {run}",
        "shortname": f"mintqo-e2e-{run}",
        "idnumber": f"mintqo-e2e-{run}",
        "categoryid": 1,
        "enablecompletion": 1,
        "format": "topics",
        "numsections": 0,
    }])
    return {"id": created[0]["id"], "run": run}


def test_get_site_languages(moodle):
    answer = moodle.call("local_mintqo_get_site_languages")
    assert isinstance(answer["defaultlang"], str) and answer["defaultlang"]
    codes = [language["code"] for language in answer["languages"]]
    assert answer["defaultlang"] in codes
    assert all(isinstance(language["name"], str) for language in answer["languages"])


def test_upsert_sections_twice(moodle, course):
    sections = [
        {"section": 1, "name": "Workshop 1 – Einführung", "summary": "<p>Start</p>"},
        {"section": 3, "name": "Workshop 3", "visible": 0},
        {"section": 2, "name": "Workshop 2"},
    ]
    first = moodle.call("local_mintqo_upsert_sections", courseid=course["id"], sections=sections)["sections"]
    assert [row["section"] for row in first] == [1, 3, 2]
    assert {row["status"] for row in first} <= {"created", "updated"}
    assert all(isinstance(row["id"], int) and row["id"] > 0 for row in first)
    second = moodle.call("local_mintqo_upsert_sections", courseid=course["id"], sections=sections)["sections"]
    assert [row["status"] for row in second] == ["unchanged"] * 3
    assert [row["id"] for row in second] == [row["id"] for row in first]

    renamed = moodle.call("local_mintqo_upsert_sections", courseid=course["id"],
                          sections=[{"section": 2, "name": "Workshop 2 (neu)"}])["sections"]
    assert renamed[0]["status"] == "updated"
    contents = moodle.call("core_course_get_contents", courseid=course["id"])
    names = {section["section"]: section["name"] for section in contents}
    assert names[2] == "Workshop 2 (neu)"
    assert names[1] == "Workshop 1 – Einführung"


def test_upsert_sections_rejects_bad_numbers(moodle, course):
    for sections in ([{"section": 0, "name": "x"}], [{"section": 4, "name": "a"}, {"section": 4, "name": "b"}]):
        with pytest.raises(MoodleError) as excinfo:
            moodle.call("local_mintqo_upsert_sections", courseid=course["id"], sections=sections)
        assert_error(excinfo, "invalidsection")


def test_missing_course_is_a_missing_record(moodle):
    with pytest.raises(MoodleError) as excinfo:
        moodle.call("local_mintqo_upsert_sections", courseid=987654321, sections=[{"section": 1, "name": "x"}])
    assert_missing_record(excinfo)


ACTIVITIES = [
    {"section": 1, "modname": "page", "idnumber": "e2e-page", "name": "Leitfaden", "intro": "<p>Intro</p>",
     "content": "<p>Inhalt</p>", "completion": 2, "completionview": 1},
    {"section": 1, "modname": "url", "idnumber": "e2e-url", "name": "Orientierungsrahmen",
     "externalurl": "https://example.org/orientierungsrahmen.pdf", "completion": 2, "completionview": 1},
    {"section": 2, "modname": "label", "idnumber": "e2e-label", "name": "Hinweis", "intro": "<p>Hinweis</p>"},
    {"section": 2, "modname": "assign", "idnumber": "e2e-assign", "name": "Angebotsbeschreibung",
     "intro": "<p>Bitte hochladen</p>", "completion": 2, "completionsubmit": 1, "duedate": 1893456000},
]
CRITERIA = [{"idnumber": "e2e-page"}, {"idnumber": "e2e-url"}, {"idnumber": "e2e-assign"}]


@pytest.fixture(scope="module")
def activities(moodle, course):
    """The activities' first upload (the test below checks its answer; others need the cmids)."""
    first = moodle.call("local_mintqo_upsert_activities", courseid=course["id"], activities=ACTIVITIES,
                        completioncriteria=CRITERIA)
    return {"first": first, "cmids": {row["idnumber"]: row["cmid"] for row in first["activities"]}}


def test_upsert_activities_twice(moodle, course, activities):
    first = activities["first"]
    assert [row["status"] for row in first["activities"]] == ["created"] * 4
    assert [row["modname"] for row in first["activities"]] == ["page", "url", "label", "assign"]
    assert first["completioncriteria"] == {"status": "created", "count": 3}

    second = moodle.call("local_mintqo_upsert_activities", courseid=course["id"], activities=ACTIVITIES,
                         completioncriteria=CRITERIA)
    assert [row["status"] for row in second["activities"]] == ["unchanged"] * 4
    assert [row["cmid"] for row in second["activities"]] == [row["cmid"] for row in first["activities"]]
    assert second["completioncriteria"] == {"status": "unchanged", "count": 3}

    changed = [dict(ACTIVITIES[0], name="Leitfaden (2. Auflage)", section=2), ACTIVITIES[1]]
    third = moodle.call("local_mintqo_upsert_activities", courseid=course["id"], activities=changed)
    assert [row["status"] for row in third["activities"]] == ["updated", "unchanged"]
    assert third["completioncriteria"]["status"] == "unchanged"
    contents = moodle.call("core_course_get_contents", courseid=course["id"])
    located = {module["id"]: (section["section"], module["name"])
               for section in contents for module in section["modules"]}
    assert located[first["activities"][0]["cmid"]] == (2, "Leitfaden (2. Auflage)")


def test_upsert_activities_errors(moodle, course, activities):
    cases = [
        ([{"section": 1, "modname": "forum", "idnumber": "e2e-forum", "name": "F"}], [], "unsupportedmodule"),
        ([{"section": 1, "modname": "url", "idnumber": "e2e-page", "name": "P",
           "externalurl": "https://example.org"}], [], "activitytypemismatch"),
        # REST cannot send an empty list, so the criteria ride along with an unchanged activity.
        ([ACTIVITIES[2]], [{"idnumber": "e2e-label"}], "invalidcompletioncriteria"),
        ([ACTIVITIES[2]], [{"idnumber": "does-not-exist"}], "invalidcompletioncriteria"),
    ]
    for activities, criteria, errorcode in cases:
        with pytest.raises(MoodleError) as excinfo:
            moodle.call("local_mintqo_upsert_activities", courseid=course["id"], activities=activities,
                        completioncriteria=criteria)
        assert_error(excinfo, errorcode)


@pytest.fixture(scope="module")
def quiz(moodle, course):
    """The quiz's first import (the test below checks its answer; others need the quiz)."""
    xml, ids = question_xml()
    sections = [
        {"heading": "Angebotsqualität", "questionidnumbers": ids[:2]},
        {"heading": "Ressourcenqualität", "questionidnumbers": ids[2:]},
    ]
    params = dict(courseid=course["id"], section=3, idnumber="e2e-quiz", name="Selbsteinschätzung",
                  intro="<p>Bitte ehrlich</p>", questionsxml=xml, sections=sections,
                  settings={"attempts": 1, "questionsperpage": 0})
    return {"first": moodle.call("local_mintqo_import_quiz", **params), "params": params, "sections": sections}


def test_import_quiz_twice(moodle, course, quiz):
    first, params, sections = quiz["first"], quiz["params"], quiz["sections"]
    assert first["status"] == "created"
    expected = [i for section in sections for i in section["questionidnumbers"]]
    assert [q["idnumber"] for q in first["questions"]] == expected
    assert [q["slot"] for q in first["questions"]] == list(range(1, len(expected) + 1))
    assert first["questioncategoryid"] > 0

    second = moodle.call("local_mintqo_import_quiz", **params)
    assert second["status"] == "unchanged"
    assert (second["cmid"], second["quizid"]) == (first["cmid"], first["quizid"])
    assert second["questions"] == first["questions"]
    assert second["questioncategoryid"] == first["questioncategoryid"]

    quizzes = moodle.call("mod_quiz_get_quizzes_by_courses", courseids=[course["id"]])["quizzes"]
    listed = next(q for q in quizzes if q["id"] == first["quizid"])
    assert listed["coursemodule"] == first["cmid"]


def test_import_quiz_errors(moodle, course, activities):
    xml, ids = likert_xml(["err-1", "err-2"]), ["err-1", "err-2"]
    base = dict(courseid=course["id"], section=3, name="Fehlerfall", intro="", settings={})
    cases = [
        (dict(idnumber="e2e-err-1", questionsxml=xml,
              sections=[{"heading": "A", "questionidnumbers": ["err-1"]}]), "unknownquestionidnumber"),
        (dict(idnumber="e2e-err-2", questionsxml=xml,
              sections=[{"heading": "A", "questionidnumbers": ids + ["nope"]}]), "unknownquestionidnumber"),
        (dict(idnumber="e2e-err-3", questionsxml=likert_xml(["dup", "dup"]),
              sections=[{"heading": "A", "questionidnumbers": ["dup"]}]), "duplicatequestionidnumber"),
        (dict(idnumber="e2e-err-4", questionsxml="<quiz><question",
              sections=[{"heading": "A", "questionidnumbers": ids}]), "questionimportfailed"),
        (dict(idnumber="e2e-page", questionsxml=xml,
              sections=[{"heading": "A", "questionidnumbers": ids}]), "activitytypemismatch"),
    ]
    for params, errorcode in cases:
        with pytest.raises(MoodleError) as excinfo:
            moodle.call("local_mintqo_import_quiz", **base, **params)
        assert_error(excinfo, errorcode)

    # Rejected by qformat_xml itself (after the quiz was begun): the importer's first message comes back.
    badgrade = likert_xml(ids).replace('fraction="66.66667"', 'fraction="55"')
    with pytest.raises(MoodleError) as excinfo:
        moodle.call("local_mintqo_import_quiz", **base, idnumber="e2e-err-5", questionsxml=badgrade,
                    sections=[{"heading": "A", "questionidnumbers": ids}])
    assert_error(excinfo, "questionimportfailed")
    assert "0.55" in str(excinfo.value) and "Dismiss" not in str(excinfo.value)
    contents = moodle.call("core_course_get_contents", courseid=course["id"])
    names = [module["name"] for section in contents for module in section["modules"]]
    assert "Fehlerfall" not in names  # Failed imports leave nothing behind.


def test_get_quiz_responses_shape(moodle, quiz):
    answer = moodle.call("local_mintqo_get_quiz_responses", quizids=[quiz["first"]["quizid"]])
    assert set(answer) == {"responses", "total", "nextcursor", "hasmore"}  # 1.3.0 added the keyset cursor
    assert (answer["nextcursor"], answer["hasmore"]) == ("", False)  # asked without a cursor: none handed out
    assert answer["total"] == len(answer["responses"]) == 0  # Fresh quiz: nobody has attempted it.
    with pytest.raises(MoodleError) as excinfo:
        moodle.call("local_mintqo_get_quiz_responses", quizids=[987654321])
    assert_missing_record(excinfo)


def test_get_quiz_responses_by_course(moodle, course, quiz):
    """1.4.1: the quizzes of a course, in one form field; the same answer as by the quiz id, cursor included."""
    by_quiz = moodle.call("local_mintqo_get_quiz_responses", quizids=[quiz["first"]["quizid"]], cursor="")
    by_course = moodle.call("local_mintqo_get_quiz_responses", courseids=[course["id"]], cursor="")
    assert by_course == by_quiz and set(by_course) == {"responses", "total", "nextcursor", "hasmore"}
    with pytest.raises(MoodleError) as excinfo:
        moodle.call("local_mintqo_get_quiz_responses", courseids=[987654321])
    assert_missing_record(excinfo)


def test_get_completions_sees_an_override(moodle, course, activities):
    run = course["run"]
    user = moodle.call("core_user_create_users", users=[{
        "username": f"e2e-{run}", "password": "E2e-pass#" + run, "firstname": "Erika",
        "lastname": "Muster", "email": f"e2e-{run}@example.invalid"}])[0]
    moodle.call("enrol_manual_enrol_users", enrolments=[{"roleid": 5, "userid": user["id"], "courseid": course["id"]}])
    cmid = activities["cmids"]["e2e-page"]
    moodle.call("core_completion_override_activity_completion_status", userid=user["id"], cmid=cmid, newstate=1)

    answer = moodle.call("local_mintqo_get_completions", courseids=[course["id"]], since=0)
    assert set(answer) == {"activities", "courses", "totalactivities", "totalcourses", "nextcursor", "hasmore"}
    rows = [row for row in answer["activities"] if row["userid"] == user["id"]]
    assert len(rows) == 1
    row = rows[0]
    assert (row["courseid"], row["cmid"], row["idnumber"], row["modname"], row["state"]) == \
        (course["id"], cmid, "e2e-page", "page", 1)
    assert isinstance(row["overrideby"], int) and isinstance(row["timemodified"], int)
    assert answer["totalactivities"] >= 1
    for course_row in answer["courses"]:
        assert set(course_row) == {"courseid", "userid", "timeenrolled", "timestarted", "timecompleted",
                                   "timemodified"}

    later = moodle.call("local_mintqo_get_completions", courseids=[course["id"]], since=row["timemodified"] + 3600)
    assert all(r["timemodified"] >= row["timemodified"] + 3600 for r in later["activities"])
    paged = moodle.call("local_mintqo_get_completions", courseids=[course["id"]], limitnum=1)
    assert len(paged["activities"]) <= 1 and paged["totalactivities"] == answer["totalactivities"]


def test_the_exported_v2_instrument_imports_through_moodles_xml_importer(moodle, course, tmp_path):
    """`selfanalysis export-xml` writes what Moodle's own importer (qformat_xml, used by import_quiz) takes:
    every statement and criterion title arrives with its v2 idnumber."""
    from click.testing import CliRunner

    from mintqo_lms.cli import main
    from mintqo_lms.instrument import quiz_sections
    from mintqo_lms.templates import load_instrument

    target = tmp_path / "v2.xml"
    done = CliRunner().invoke(main, ["selfanalysis", "export-xml", "--instrument", "selfanalysis/v2",
                                     "-o", str(target)], env={"MINTQO_CONFIG": ""})
    assert done.exit_code == 0, done.output
    sections = [dict(s) for s in quiz_sections(load_instrument("selfanalysis/v2"))]
    answer = moodle.call("local_mintqo_import_quiz", courseid=course["id"], section=4, idnumber="e2e-v2",
                         name="Selbstanalyse v2", intro="", questionsxml=target.read_text(encoding="utf-8"),
                         sections=sections, settings={"attempts": 1})
    expected = [i for s in sections for i in s["questionidnumbers"]]
    assert answer["status"] == "created"
    assert [q["idnumber"] for q in answer["questions"]] == expected
    assert all(i.startswith("mintqo:sa:v2:") for i in expected) and len(expected) == 45
