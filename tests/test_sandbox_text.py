"""Names are text on the way in and HTML on the way out (recordings/09_text_rules.json, the same on 4.4-5.1).

In: PARAM_TEXT (course, category, group, section, activity names) and PARAM_NOTAGS (user names) reject a
value that changes when tags are stripped; the whole call fails with Moodle's bare invalidparameter.
Out: course, category, group, section, module and quiz names pass through external_format_string.
"""

from __future__ import annotations

from typing import Any

import pytest
import requests

from mintqo_lms.sandbox import Sandbox
from mintqo_lms.sandbox.common import format_string
from mintqo_lms.sandbox.params import clean_text, strip_tags

RELEASES = ["4.4", "5.0", "5.1"]
AMP = 'Kinder & Technik "Elektron" – D\'Angelo'
AMP_OUT = 'Kinder &amp; Technik "Elektron" – D\'Angelo'


def call(sb: Sandbox, function: str, **fields: Any) -> Any:
    data = {"wstoken": sb.admin_token, "wsfunction": function, "moodlewsrestformat": "json", **fields}
    return requests.post(sb.url + "/webservice/rest/server.php", data=data, timeout=10).json()


def ok(sb: Sandbox, function: str, **fields: Any) -> Any:
    answer = call(sb, function, **fields)
    assert not (isinstance(answer, dict) and "exception" in answer), answer
    return answer


@pytest.fixture(params=RELEASES)
def sb(request: pytest.FixtureRequest):
    with Sandbox(release=request.param) as sandbox:
        yield sandbox


def course(sb: Sandbox, fullname: str, shortname: str) -> Any:
    return call(sb, "core_course_create_courses", **{"courses[0][fullname]": fullname,
                                                     "courses[0][shortname]": shortname,
                                                     "courses[0][categoryid]": 1})


# ------------------------------------------------------------------------------ the cleaning itself
@pytest.mark.parametrize(("value", "stripped"), [
    ("Kurs <b>fett</b>", "Kurs fett"),
    ("Kurs <Großregion>", "Kurs "),
    ("Kurs mit 3 < 5", "Kurs mit 3 < 5"),  # "<" before white space is text
    ("5 > 3", "5 > 3"),  # so is a lone ">"
    ("offen <", "offen "),  # an unterminated tag swallows the rest
    ('a<b title=">">c', "ac"),  # a quoted ">" does not end the tag
    ("x<!-- Kommentar -->y", "xy"),
    ("R&D 'n' \"co\"", "R&D 'n' \"co\""),
])
def test_strip_tags_like_php(value: str, stripped: str) -> None:
    assert strip_tags(value) == stripped


def test_param_text_keeps_well_formed_multilang_only() -> None:
    spans = '<span lang="de" class="multilang">Netz</span><span lang="en" class="multilang">Net</span>'
    assert clean_text(spans) == spans
    assert clean_text('<lang lang="de">Netz</lang>') == '<lang lang="de">Netz</lang>'
    assert clean_text('<span lang="de" class="multilang">Netz</span><b>!</b>') != \
        '<span lang="de" class="multilang">Netz</span><b>!</b>'
    assert clean_text('<span class="x">Netz</span>') == "Netz"
    assert clean_text("</span>") == ""


@pytest.mark.parametrize(("value", "shown"), [
    ("Ruhr & Emscher", "Ruhr &amp; Emscher"),
    ("Tom &amp; Jerry", "Tom &amp; Jerry"),  # an entity is not escaped twice
    ("Kurs mit 3 < 5", "Kurs mit 3 &lt; 5"),
    ("Schülerlabor \"Elektron\" D'Angelo", "Schülerlabor \"Elektron\" D'Angelo"),
])
def test_format_string(value: str, shown: str) -> None:
    assert format_string(value) == shown


# ------------------------------------------------------------------------------ in: rejected as a whole call
@pytest.mark.parametrize("fullname", ["Kurs <b>fett</b>", "Kurs <Großregion>"])
def test_tag_like_course_name_fails_the_call(sb: Sandbox, fullname: str) -> None:
    answer = course(sb, fullname, "txt-a")
    assert answer["errorcode"] == "invalidparameter" and answer["message"] == "Invalid parameter value detected"
    assert "debuginfo" not in answer
    assert ok(sb, "core_course_get_courses_by_field", field="shortname", value="txt-a")["courses"] == []


def test_debuginfo_names_the_field_like_moodle(sb: Sandbox) -> None:
    sb.debug = True
    answer = call(sb, "core_course_create_courses", **{
        "courses[0][fullname]": "gut", "courses[0][shortname]": "ok-1", "courses[0][categoryid]": 1,
        "courses[1][fullname]": "Kurs <b>fett</b>", "courses[1][shortname]": "txt-b", "courses[1][categoryid]": 1})
    assert answer["debuginfo"] == (
        'courses => Invalid parameter value detected: fullname => Invalid parameter value detected: Invalid '
        'external api parameter: the value is "Kurs <b>fett</b>", the server was expecting "text" type')
    assert ok(sb, "core_course_get_courses_by_field", field="shortname", value="ok-1")["courses"] == []
    user = call(sb, "core_user_create_users", **{
        "users[0][username]": "luke", "users[0][password]": "Pass-Word-123!", "users[0][firstname]": "Łukasz <Luke>",
        "users[0][lastname]": "D'Angelo", "users[0][email]": "luke@example.org"})
    assert user["debuginfo"].endswith('the value is "Łukasz <Luke>", the server was expecting "notags" type')


def test_every_name_field_refuses_tags(sb: Sandbox) -> None:
    courseid = ok(sb, "core_course_create_courses", **{"courses[0][fullname]": "K", "courses[0][shortname]": "k",
                                                       "courses[0][categoryid]": 1})[0]["id"]
    bad = "Gruppe <Nord>"
    attempts = {
        "course shortname": ("core_course_create_courses", {"courses[0][fullname]": "K2", "courses[0][shortname]": bad,
                                                            "courses[0][categoryid]": 1}),
        "course update": ("core_course_update_courses", {"courses[0][id]": courseid, "courses[0][fullname]": bad}),
        "category": ("core_course_create_categories", {"categories[0][name]": bad}),
        "group": ("core_group_create_groups", {"groups[0][courseid]": courseid, "groups[0][name]": bad,
                                               "groups[0][description]": ""}),
        "lastname": ("core_user_create_users", {"users[0][username]": "u1", "users[0][password]": "Pass-Word-123!",
                                                "users[0][firstname]": "A", "users[0][lastname]": bad,
                                                "users[0][email]": "u1@example.org"}),
        "section": ("local_mintqo_upsert_sections", {"courseid": courseid, "sections[0][section]": 1,
                                                     "sections[0][name]": bad}),
        "activity": ("local_mintqo_upsert_activities", {"courseid": courseid, "activities[0][section]": 1,
                                                        "activities[0][modname]": "label",
                                                        "activities[0][idnumber]": "l1",
                                                        "activities[0][name]": bad}),
    }
    for what, (function, fields) in attempts.items():
        assert call(sb, function, **fields).get("errorcode") == "invalidparameter", what


def test_ampersands_quotes_apostrophes_and_lone_less_than_pass(sb: Sandbox) -> None:
    assert course(sb, "Kurs mit 3 < 5", "txt-lt")[0]["shortname"] == "txt-lt"
    created = course(sb, AMP, "txt-amp & 'q'")
    assert created[0]["shortname"] == "txt-amp & 'q'"  # create_courses echoes raw
    user = ok(sb, "core_user_create_users", **{
        "users[0][username]": "ayse", "users[0][password]": "Pass-Word-123!", "users[0][firstname]": "Ayşe & Co",
        "users[0][lastname]": "D'Angelo", "users[0][email]": "ayse@example.org"})
    assert user[0]["username"] == "ayse"


# ------------------------------------------------------------------------------ out: function by function
def test_names_come_back_as_recorded(sb: Sandbox) -> None:
    courseid = course(sb, AMP, "txt-amp & 'q'")[0]["id"]
    by_field = ok(sb, "core_course_get_courses_by_field", field="id", value=str(courseid))["courses"][0]
    assert (by_field["fullname"], by_field["displayname"], by_field["shortname"]) == (
        AMP_OUT, AMP_OUT, "txt-amp &amp; 'q'")
    listed = ok(sb, "core_course_get_courses", **{"options[ids][0]": courseid})[0]
    assert (listed["fullname"], listed["displayname"], listed["shortname"]) == (AMP_OUT, AMP_OUT, "txt-amp &amp; 'q'")

    category = ok(sb, "core_course_create_categories", **{"categories[0][name]": "Netz & Werk",
                                                          "categories[0][idnumber]": "txt-cat"})
    assert category[0]["name"] == "Netz &amp; Werk"  # create_categories answers escaped already
    found = ok(sb, "core_course_get_categories", **{"criteria[0][key]": "idnumber", "criteria[0][value]": "txt-cat"})
    assert found[0]["name"] == "Netz &amp; Werk"
    ok(sb, "core_course_update_courses", **{"courses[0][id]": courseid, "courses[0][categoryid]": category[0]["id"]})
    moved = ok(sb, "core_course_get_courses_by_field", field="id", value=str(courseid))["courses"][0]
    assert moved["categoryname"] == "Netz &amp; Werk"

    group_name = 'Schülerlabor "Elektron" & Co'
    group = ok(sb, "core_group_create_groups", **{"groups[0][courseid]": courseid, "groups[0][name]": group_name,
                                                  "groups[0][description]": ""})
    assert group[0]["name"] == group_name  # create_groups echoes raw
    groups = ok(sb, "core_group_get_course_groups", courseid=courseid)
    assert groups[0]["name"] == 'Schülerlabor "Elektron" &amp; Co'

    userid = ok(sb, "core_user_create_users", **{
        "users[0][username]": "ayse", "users[0][password]": "Pass-Word-123!", "users[0][firstname]": "Ayşe & Co",
        "users[0][lastname]": "D'Angelo", "users[0][email]": "ayse@example.org"})[0]["id"]
    back = ok(sb, "core_user_get_users_by_field", field="username", **{"values[0]": "ayse"})[0]
    assert (back["firstname"], back["lastname"], back["fullname"]) == ("Ayşe & Co", "D'Angelo", "Ayşe & Co D'Angelo")

    ok(sb, "enrol_manual_enrol_users", **{"enrolments[0][roleid]": 5, "enrolments[0][userid]": userid,
                                          "enrolments[0][courseid]": courseid})
    ok(sb, "core_group_add_group_members", **{"members[0][groupid]": group[0]["id"], "members[0][userid]": userid})
    enrolled = ok(sb, "core_enrol_get_enrolled_users", courseid=courseid)[0]
    assert enrolled["firstname"] == "Ayşe & Co"
    assert enrolled["groups"][0]["name"] == 'Schülerlabor "Elektron" &amp; Co'
    assert enrolled["enrolledcourses"][0]["fullname"] == AMP_OUT


def test_sections_modules_and_quizzes_come_back_formatted(sb: Sandbox) -> None:
    courseid = course(sb, "K", "k")[0]["id"]
    ok(sb, "local_mintqo_upsert_sections", courseid=courseid, **{"sections[0][section]": 1,
                                                                 "sections[0][name]": "Netz & Werk"})
    ok(sb, "local_mintqo_upsert_activities", courseid=courseid, **{
        "activities[0][section]": 1, "activities[0][modname]": "page", "activities[0][idnumber]": "p1",
        "activities[0][name]": "Lesen & Schreiben"})
    section = ok(sb, "core_course_get_contents", courseid=courseid)[1]
    assert section["name"] == "Netz &amp; Werk" and section["modules"][0]["name"] == "Lesen &amp; Schreiben"
    xml = ('<quiz><question type="multichoice"><name><text>a</text></name><questiontext><text>a</text>'
           '</questiontext><idnumber>a</idnumber><answer fraction="100"><text>ja</text></answer>'
           '<answer fraction="0"><text>nein</text></answer></question></quiz>')
    ok(sb, "local_mintqo_import_quiz", courseid=courseid, section=1, idnumber="q", name="Fragen & Antworten",
       intro="", questionsxml=xml, **{"sections[0][heading]": "A", "sections[0][questionidnumbers][0]": "a"})
    quizzes = ok(sb, "mod_quiz_get_quizzes_by_courses", **{"courseids[0]": courseid})["quizzes"]
    assert quizzes[0]["name"] == "Fragen &amp; Antworten"
