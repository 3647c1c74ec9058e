"""Chunking of ``upsert_course_content`` (mintqo_lms/moodle/content.py): courses, quizzes and form fields per call,
a course too big for one call split in order, each call with exactly the question sets its quizzes use."""

from __future__ import annotations

from typing import Any

import pytest

from mintqo_lms.moodle import Moodle, MoodleClient
from mintqo_lms.moodle.client import PROTOCOL_FIELDS
from mintqo_lms.moodle.content import MAX_CONTENT_COURSES, MAX_CONTENT_QUIZZES, plan_calls
from mintqo_lms.moodle.encoding import encode_params
from mintqo_lms.moodle.errors import RequestTooLargeError
from mintqo_lms.sandbox import Sandbox

XML = """<?xml version="1.0" encoding="UTF-8"?><quiz>{}</quiz>"""
QUESTION = ("<question type=\"multichoice\"><name><text>{0}</text></name><questiontext format=\"html\"><text>{0}"
            "</text></questiontext><idnumber>{0}</idnumber><single>true</single><answer fraction=\"100\"><text>ja"
            "</text></answer><answer fraction=\"0\"><text>nein</text></answer></question>")


def xml(key: str, n: int = 3) -> str:
    return XML.format("".join(QUESTION.format(f"{key}-q{i}") for i in range(n)))


def quiz(idnumber: str, questionset: str, section: int = 1, n: int = 3) -> dict[str, Any]:
    return {"section": section, "modname": "quiz", "idnumber": idnumber, "name": f"Quiz {idnumber}",
            "intro": "<p>Selbstanalyse</p>", "visible": 1,
            "quiz": {"questionset": questionset,
                     "sections": [{"heading": "Teil 1", "questionidnumbers": [f"{questionset}-q{i}" for i in range(n)]}],
                     "settings": {"attempts": 1, "grademethod": 4}}}


def page(idnumber: str, section: int = 1) -> dict[str, Any]:
    return {"section": section, "modname": "page", "idnumber": idnumber, "name": f"Seite {idnumber}",
            "intro": "", "content": "<p>Inhalt</p>", "completion": 1}


def course(courseid: int, *, pages: int = 3, quizzes: tuple[str, ...] = (), events: int = 2) -> dict[str, Any]:
    modules = [page(f"c{courseid}-p{i}", section=1 + i % 2) for i in range(pages)]
    modules += [quiz(f"c{courseid}-quiz-{key}", key) for key in quizzes]
    modules.append({"section": 1, "modname": "url", "idnumber": f"c{courseid}-team", "name": "Team",
                    "teamquiz": f"c{courseid}-quiz-{quizzes[0]}"} if quizzes else page(f"c{courseid}-last"))
    return {"courseid": courseid,
            "sections": [{"section": 1, "name": "Einstieg"}, {"section": 2, "name": "Vertiefung"}],
            "modules": modules,
            "completioncriteria": [{"idnumber": f"c{courseid}-p0"}],
            "events": [{"idnumber": f"termin-{i}", "name": f"Termin {i}", "timestart": 1760000000 + i * 86400}
                       for i in range(events)]}


SETS = {key: xml(key) for key in ("sa1", "sa2", "sa3")}


def call_fields(call: Any) -> int:
    return len(encode_params(call.params(SETS))) + PROTOCOL_FIELDS


def entries_of(calls: list[Any], courseid: int) -> list[dict[str, Any]]:
    return [piece.entry for call in calls for piece in call.pieces if piece.entry["courseid"] == courseid]


@pytest.mark.parametrize("max_form_fields", [1000, 90])
def test_every_call_stays_within_the_field_budget_and_the_course_and_quiz_limits(max_form_fields):
    courses = [course(n, pages=4 + n % 5, quizzes=("sa1", "sa2") if n % 2 else ("sa3",)) for n in range(2, 30)]
    calls = plan_calls(courses, max_form_fields - PROTOCOL_FIELDS)
    for call in calls:
        assert call_fields(call) <= max_form_fields
        assert len(call.pieces) <= MAX_CONTENT_COURSES
        assert sum(1 for e in call.params(SETS)["courses"] for m in e.get("modules", []) if "quiz" in m) <= MAX_CONTENT_QUIZZES
    # Nothing lost, nothing twice: each course's modules arrive in their order, once.
    for wanted in courses:
        sent = [m["idnumber"] for e in entries_of(calls, wanted["courseid"]) for m in e.get("modules", [])]
        assert sent == [m["idnumber"] for m in wanted["modules"]]
    if max_form_fields == 1000:
        assert len(calls) < len(courses) / 2   # many courses a call
    else:                                      # some courses had to be split
        assert any(len(entries_of(calls, c["courseid"])) > 1 for c in courses)


def test_limits_of_eight_courses_and_eight_quizzes_a_call():
    small = [course(n, pages=1, quizzes=(), events=0) for n in range(2, 20)]
    assert [len(c.pieces) for c in plan_calls(small, 10_000)] == [8, 8, 2]
    quizzy = [course(n, pages=0, quizzes=("sa1", "sa2", "sa3"), events=0) for n in range(2, 8)]
    assert [sum(p.quizzes for p in c.pieces) for c in plan_calls(quizzy, 10_000)] == [6, 6, 6]


def test_a_split_course_keeps_module_order_and_puts_criteria_and_events_into_its_last_entry():
    big = course(7, pages=30, quizzes=("sa1", "sa2"), events=5)
    calls = plan_calls([course(5, pages=2), big, course(9, pages=2)], 120 - PROTOCOL_FIELDS)
    entries = entries_of(calls, 7)
    assert len(entries) > 2
    assert entries[0]["sections"] == big["sections"]
    assert all("sections" not in e or not e["sections"] for e in entries[1:])
    assert [m["idnumber"] for e in entries for m in e.get("modules", [])] == [m["idnumber"] for m in big["modules"]]
    assert entries[-1]["completioncriteria"] == big["completioncriteria"] and entries[-1]["events"] == big["events"]
    assert all(not e.get("completioncriteria") and not e.get("events") for e in entries[:-1])
    # The pieces follow each other: course 5 before, course 9 after, and only the last piece completes course 7.
    order = [(p.entry["courseid"], p.last) for call in calls for p in call.pieces]
    assert order[0] == (5, True) and order[-1] == (9, True)
    assert [last for cid, last in order if cid == 7] == [False] * (len(entries) - 1) + [True]


def test_each_call_carries_exactly_the_question_sets_its_quizzes_use():
    courses = [course(2, quizzes=("sa1",)), course(3, quizzes=("sa2",)), course(4), course(5, quizzes=("sa1", "sa3"))]
    calls = plan_calls(courses, 80 - PROTOCOL_FIELDS)
    assert len(calls) > 3
    for call in calls:
        params = call.params(SETS)
        used = {m["quiz"]["questionset"] for e in params["courses"] for m in e.get("modules", []) if "quiz" in m}
        assert {s["key"] for s in params["questionsets"]} == used
        assert all(s["questionsxml"] == SETS[s["key"]] for s in params["questionsets"])


def test_an_item_that_alone_exceeds_the_budget_is_refused_before_any_call():
    with pytest.raises(RequestTooLargeError, match="course 2: one item of modules"):
        plan_calls([course(2, quizzes=("sa1",))], 12)


@pytest.fixture
def sandbox_courses():
    """A sandbox with four empty courses: (sandbox, the admin's Moodle, course ids)."""
    with Sandbox() as sb:
        admin = Moodle(MoodleClient(sb.url, sb.admin_token))
        category = admin.client.call("core_course_create_categories", categories=[{"name": "K"}])[0]["id"]
        ids = [c["id"] for c in admin.client.call("core_course_create_courses", courses=[
            {"fullname": f"Kurs {n}", "shortname": f"k{n}", "categoryid": category} for n in range(4)])]
        yield sb, admin, ids


def test_split_calls_leave_moodle_as_one_call_would(sandbox_courses):
    sb, _, ids = sandbox_courses
    wanted = [course(ids[0], pages=25, quizzes=("sa1", "sa2"), events=4), course(ids[1], quizzes=("sa3",))]
    small = Moodle(MoodleClient(sb.url, sb.token, max_form_fields=80))
    mark = len(sb.calls)
    results = small.plugin.upsert_course_content(wanted, SETS)
    assert len(list(sb.calls)[mark:]) > 3
    assert [r.courseid for r in results] == ids[:2]
    first = results[0]
    assert [m.idnumber for m in first.modules] == [m["idnumber"] for m in wanted[0]["modules"]]
    assert {m.status for m in first.modules} == {"created"} and len(first.quizzes) == 2
    assert first.completioncriteria.status == "created" and len(first.events) == 4
    team = next(m for m in first.modules if m.idnumber.endswith("-team"))
    quiz_cmid = next(q.cmid for q in first.quizzes if q.idnumber == wanted[0]["modules"][-1]["teamquiz"])
    assert sb.site.tables["url"][team.instanceid]["externalurl"] == f"{sb.url}/local/mintqo/team.php?id={quiz_cmid}"
    # The same content again, now in one large call: everything is unchanged, nothing new.
    big = Moodle(MoodleClient(sb.url, sb.token, max_form_fields=10_000))
    mark = len(sb.calls)
    again = big.plugin.upsert_course_content(wanted, SETS)
    assert list(sb.calls)[mark:] == ["local_mintqo_upsert_course_content"]
    assert {m.status for r in again for m in r.modules} == {"unchanged"}
    assert [m.cmid for m in again[0].modules] == [m.cmid for m in first.modules]
