"""The sandbox's ``local_mintqo_upsert_course_content``: one transaction for the whole call, every course's access
checked before a write, errors located as the plugin's located_exception words them."""

from __future__ import annotations

import copy

import pytest
from test_course_content_chunks import SETS, course, sandbox_courses  # noqa: F401 - a fixture

from mintqo_lms.moodle import Moodle, MoodleClient
from mintqo_lms.moodle.errors import AccessDeniedError, InvalidParameterError, MoodleRemoteError


@pytest.fixture
def world(sandbox_courses):
    return sandbox_courses


def modules(sb: Sandbox, courseid: int) -> list[str]:
    return [cm["idnumber"] for cm in sb.site.find("course_modules", course=courseid) if cm["idnumber"]]


def call(moodle: Moodle, courses: list[dict], sets: dict[str, str] = SETS) -> dict:
    return moodle.client.call("local_mintqo_upsert_course_content", courses=courses,
                              questionsets=[{"key": k, "questionsxml": v} for k, v in sets.items()])


def test_two_courses_in_one_call_then_unchanged(world):
    sb, moodle, ids = world
    wanted = [course(ids[0], quizzes=("sa1",)), course(ids[1], pages=2)]
    answer = call(moodle, wanted)["courses"]
    assert [c["courseid"] for c in answer] == ids[:2]
    assert [m["idnumber"] for m in answer[0]["modules"]] == [m["idnumber"] for m in wanted[0]["modules"]]
    assert [q["idnumber"] for q in answer[0]["quizzes"]] == [f"c{ids[0]}-quiz-sa1"]
    assert [q["idnumber"] for q in answer[0]["quizzes"][0]["questions"]] == ["sa1-q0", "sa1-q1", "sa1-q2"]
    assert answer[0]["completioncriteria"] == {"status": "created", "count": 1}
    assert [s["status"] for s in answer[0]["sections"]] == ["updated", "updated"]   # a new course has sections 1-4
    again = call(moodle, wanted)["courses"]
    statuses = {m["status"] for c in again for m in c["modules"] + c["sections"] + c["events"]}
    assert statuses == {"unchanged"} and again[0]["completioncriteria"]["status"] == "unchanged"


def test_an_error_in_the_second_course_leaves_nothing_of_the_first_and_names_where(world):
    sb, moodle, ids = world
    broken = course(ids[1], pages=2)
    broken["modules"].append({"section": 1, "modname": "url", "idnumber": "team", "name": "Team",
                              "teamquiz": "no-such-quiz"})
    with pytest.raises(MoodleRemoteError) as raised:
        call(moodle, [course(ids[0], quizzes=("sa1",)), broken])
    assert raised.value.errorcode == "unknownteamquiz"
    assert raised.value.moodle_message == (f"courses[1] (course {ids[1]}): modules[3] (idnumber team): "
                                    'The team quiz "no-such-quiz" is not a quiz of this course.')
    assert modules(sb, ids[0]) == [] and modules(sb, ids[1]) == []


@pytest.mark.parametrize(("change", "errorcode", "where"), [
    (lambda m: m[-1].pop("quiz"), "quizstructuremissing", "modules[3] (idnumber c{}-quiz-sa1)"),
    (lambda m: m[0].update(quiz=copy.deepcopy(m[-1]["quiz"])), "quizstructurenotallowed",
     "modules[0] (idnumber c{}-p0)"),
    (lambda m: m[-1]["quiz"].update(questionset="sa9"), "unknownquestionset", "modules[3] (idnumber c{}-quiz-sa1)"),
    (lambda m: m.append(dict(m[0])), "invalidparameter", "modules[4] (idnumber c{}-p0)"),
])
def test_checks_name_the_module_and_write_nothing(world, change, errorcode, where):
    sb, moodle, ids = world
    wanted = course(ids[0], pages=3, quizzes=("sa1",))
    wanted["modules"] = wanted["modules"][:-1]   # no team page: the quiz comes last
    change(wanted["modules"])
    with pytest.raises(MoodleRemoteError) as raised:
        call(moodle, [course(ids[1]), wanted])
    assert raised.value.errorcode == errorcode
    assert raised.value.moodle_message.startswith(f"courses[1] (course {ids[0]}): {where.format(ids[0])}: ")
    if errorcode == "invalidparameter":
        assert isinstance(raised.value, InvalidParameterError)
        assert raised.value.moodle_message.endswith(f"(activities: idnumber c{ids[0]}-p0 appears twice)")
    assert modules(sb, ids[0]) == [] and modules(sb, ids[1]) == []


def test_every_course_is_checked_for_access_before_anything_is_written(world):
    sb, moodle, ids = world
    sb.site.inaccessible_courses.add(ids[2])
    ws = Moodle(MoodleClient(sb.url, sb.token))
    with pytest.raises(AccessDeniedError) as raised:
        call(ws, [course(ids[0]), course(ids[2])])
    assert raised.value.moodle_message.startswith(f"courses[1] (course {ids[2]}): ")
    assert modules(sb, ids[0]) == []
