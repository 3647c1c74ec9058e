"""One team, one analysis on the sandbox, as local_mintqo's attempt_submitted observer does it on a real site.

The PHPUnit twin is moodle/local/mintqo/tests/team_completion_test.php: one member of group A submits, the
whole of A is complete (the teammates by an override set by the submitter, course completion at once), nobody
of B; a second submission changes nothing; quizzes the plugin did not make stay individual.
"""

from __future__ import annotations

from typing import Any

import pytest
import requests

from mintqo_lms.sandbox import Sandbox
from mintqo_lms.sandbox import team

QUESTION = """<question type="multichoice"><name><text>{id}</text></name>
  <questiontext format="html"><text>Aussage {id}</text></questiontext><idnumber>{id}</idnumber>
  <answer fraction="0"><text>trifft nicht zu</text></answer>
  <answer fraction="50"><text>trifft eher zu</text></answer>
  <answer fraction="100"><text>trifft voll zu</text></answer></question>"""
SA1 = "mintqo:regional_cycle:selbstanalyse-1"


def flat(prefix: str, items: list[dict]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for index, item in enumerate(items):
        for key, value in item.items():
            out[f"{prefix}[{index}][{key}]"] = value
    return out


class Client:
    def __init__(self, sb: Sandbox) -> None:
        self.sb, self.http = sb, requests.Session()

    def __call__(self, function: str, **fields: Any) -> Any:
        data = {"wstoken": self.sb.token, "wsfunction": function, "moodlewsrestformat": "json", **fields}
        answer = self.http.post(self.sb.url + "/webservice/rest/server.php", data=data, timeout=10).json()
        assert not (isinstance(answer, dict) and "exception" in answer), answer
        return answer


@pytest.fixture(params=["4.4", "5.0", "5.1"])
def sb(request: pytest.FixtureRequest):
    now = [1_760_000_000]
    with Sandbox(clock=lambda: now[0], release=request.param) as sandbox:
        sandbox.now = now  # type: ignore[attr-defined]
        yield sandbox


@pytest.fixture()
def ws(sb: Sandbox) -> Client:
    return Client(sb)


def make_course(ws: Client, quiz_idnumber: str = SA1) -> dict[str, Any]:
    """A regional-course-like setup: a plugin quiz as the completion criterion, initiatives A and B, a teacher."""
    cat = ws("core_course_create_categories", **flat("categories", [{"name": "K", "idnumber": "k"}]))[0]["id"]
    course = ws("core_course_create_courses", **flat("courses", [
        {"fullname": "Kurs", "shortname": "K1", "categoryid": cat, "numsections": 2, "enablecompletion": 1}]))[0]["id"]
    quiz = ws("local_mintqo_import_quiz", courseid=course, section=1, idnumber=quiz_idnumber, name="Selbstanalyse",
              intro="", questionsxml="<quiz>" + QUESTION.format(id="s1") + QUESTION.format(id="s2") + "</quiz>",
              **{"sections[0][heading]": "Angebot", "sections[0][questionidnumbers][0]": "s1",
                 "sections[0][questionidnumbers][1]": "s2"})
    ws("local_mintqo_upsert_activities", courseid=course, **flat("activities", [
        {"section": 1, "modname": "page", "idnumber": "mintqo:anleitung", "name": "Anleitung", "content": "Text"}]),
        **{"completioncriteria[0][idnumber]": quiz_idnumber})
    names = ["a1", "a2", "a3", "b1", "b2", "lehrkraft"]
    users = dict(zip(names, (u["id"] for u in ws("core_user_create_users", **flat("users", [
        {"username": n, "password": "Lern#Pfad2025!", "firstname": n, "lastname": "Test",
         "email": f"{n}@example.org"} for n in names])))))
    ws("enrol_manual_enrol_users", **flat("enrolments", [
        {"roleid": 3 if n == "lehrkraft" else 5, "userid": users[n], "courseid": course} for n in names]))
    groups = ws("core_group_create_groups", **flat("groups", [
        {"courseid": course, "name": "Initiative A", "description": ""},
        {"courseid": course, "name": "Initiative B", "description": ""}]))
    ga, gb = groups[0]["id"], groups[1]["id"]
    ws("core_group_add_group_members", **flat("members", [
        {"groupid": ga if n[0] in "al" else gb, "userid": users[n]} for n in names]))
    return {"course": course, "cmid": quiz["cmid"], "quizid": quiz["quizid"], "users": users, "A": ga, "B": gb}


def quiz_state(ws: Client, setup: dict[str, Any], name: str) -> dict[str, Any]:
    statuses = ws("core_completion_get_activities_completion_status", courseid=setup["course"],
                  userid=setup["users"][name])["statuses"]
    return next(s for s in statuses if s["cmid"] == setup["cmid"])


def course_complete(ws: Client, setup: dict[str, Any], name: str) -> bool:
    return ws("core_completion_get_course_completion_status", courseid=setup["course"],
              userid=setup["users"][name])["completionstatus"]["completed"]


def test_one_member_submits_and_the_whole_initiative_is_complete(sb: Sandbox, ws: Client) -> None:
    setup = make_course(ws)
    users = setup["users"]
    sb.site.submit_quiz_attempt(users["a1"], setup["quizid"], {"s1": 3, "s2": 2})

    for name in ("a2", "a3"):
        state = quiz_state(ws, setup, name)
        assert (state["state"], state["overrideby"]) == (1, users["a1"]), name
        assert course_complete(ws, setup, name), f"{name}: course completion agrees at once"
    assert (quiz_state(ws, setup, "a1")["state"], quiz_state(ws, setup, "a1")["overrideby"]) == (1, None)
    for name in ("b1", "b2"):
        assert quiz_state(ws, setup, name)["state"] == 0, name
        assert not course_complete(ws, setup, name), name
    # The teacher in group A is not tracked by completion: no row.
    rows = ws("local_mintqo_get_completions", **{"courseids[0]": setup["course"]})["activities"]
    assert sorted(r["userid"] for r in rows) == sorted(users[n] for n in ("a1", "a2", "a3"))
    assert {r["userid"]: r["overrideby"] for r in rows}[users["a3"]] == users["a1"]


def test_a_second_submission_changes_nothing(sb: Sandbox, ws: Client) -> None:
    setup = make_course(ws)
    users = setup["users"]
    sb.site.submit_quiz_attempt(users["a1"], setup["quizid"], {"s1": 3})
    before = ws("local_mintqo_get_completions", **{"courseids[0]": setup["course"]})
    sb.now[0] += 60
    sb.site.submit_quiz_attempt(users["a2"], setup["quizid"], {"s1": 1, "s2": 1})
    assert ws("local_mintqo_get_completions", **{"courseids[0]": setup["course"]}) == before
    assert team.complete_team(sb.site, sb.site.get("course_modules", setup["cmid"]), users["a3"]) == []


def test_group_b_is_completed_by_its_own_member_only(sb: Sandbox, ws: Client) -> None:
    setup = make_course(ws)
    users = setup["users"]
    sb.site.submit_quiz_attempt(users["b2"], setup["quizid"], {"s1": 2})
    assert quiz_state(ws, setup, "b1")["overrideby"] == users["b2"]
    assert [quiz_state(ws, setup, n)["state"] for n in ("a1", "a2", "a3")] == [0, 0, 0]


def test_a_quiz_the_plugin_did_not_make_stays_individual(sb: Sandbox, ws: Client) -> None:
    setup = make_course(ws, quiz_idnumber="extern-quiz")
    users = setup["users"]
    sb.site.submit_quiz_attempt(users["a1"], setup["quizid"], {"s1": 3})
    assert quiz_state(ws, setup, "a1")["state"] == 1
    assert [quiz_state(ws, setup, n)["state"] for n in ("a2", "a3")] == [0, 0]


def test_the_teams_analysis_is_the_latest_finished_attempt_of_any_member(sb: Sandbox, ws: Client) -> None:
    setup = make_course(ws)
    users = setup["users"]
    assert team.latest_attempt(sb.site, setup["quizid"], setup["A"]) is None
    first = sb.site.submit_quiz_attempt(users["a1"], setup["quizid"], {"s1": 3})
    sb.now[0] += 60
    second = sb.site.submit_quiz_attempt(users["a3"], setup["quizid"], {"s1": 1})
    sb.now[0] += 60
    sb.site.start_quiz_attempt(users["a2"], setup["quizid"], {"s1": 2})  # in progress: does not count
    assert first != second
    assert team.latest_attempt(sb.site, setup["quizid"], setup["A"])["id"] == second
    assert team.latest_attempt(sb.site, setup["quizid"], setup["B"]) is None


def test_teams_are_completed_again_after_the_quizs_completion_was_recalculated(sb: Sandbox, ws: Client) -> None:
    setup = make_course(ws)
    users = setup["users"]
    sb.site.submit_quiz_attempt(users["a1"], setup["quizid"], {"s1": 3})
    cm = sb.site.get("course_modules", setup["cmid"])
    # What reset_all_state does when provisioning changes the quiz's completion rules: the overrides are gone.
    for row in sb.site.find("course_modules_completion", coursemoduleid=cm["id"]):
        sb.site.delete("course_modules_completion", row["id"])
    sb.site.submit_quiz_attempt(users["b1"], setup["quizid"], {"s1": 1})  # B's own state comes back by itself
    assert sorted(team.complete_all_teams(sb.site, cm)) == sorted([users["a2"], users["a3"]])
    assert quiz_state(ws, setup, "a2")["overrideby"] == users["a1"]
    assert quiz_state(ws, setup, "b2")["overrideby"] == users["b1"]
    assert team.complete_all_teams(sb.site, cm) == []
