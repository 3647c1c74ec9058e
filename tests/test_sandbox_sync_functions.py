"""Sandbox: local_mintqo 1.3.0 sync functions — keyset cursors of the two reads, enrolments with digests, batch
completion overrides — through the typed client (issue 10, plugin side)."""

from __future__ import annotations

from typing import Any

import pytest

from mintqo_lms.moodle.client import MoodleClient
from mintqo_lms.moodle.errors import MoodleError
from mintqo_lms.moodle.plugin import PluginAPI
from mintqo_lms.moodle.syncpages import enrolment_digest
from mintqo_lms.sandbox import Sandbox
from mintqo_lms.sandbox.plugin_sync import SETTLE_SECONDS

T0 = 1_760_000_000
STUDENT, TEACHER = 5, 3


class World:
    def __init__(self, sandbox: Sandbox, now: list[int]):
        self.sb, self.now = sandbox, now
        self.client = MoodleClient(sandbox.url, sandbox.token, retries=0)
        self.api = PluginAPI(self.client)

    def at(self, t: int) -> None:
        self.now[0] = t

    def course(self, shortname: str) -> int:
        return self.client.call("core_course_create_courses", courses=[{
            "fullname": f"Kurs {shortname} & „Ümläute“", "shortname": shortname, "categoryid": 1,
            "enablecompletion": 1}])[0]["id"]

    def users(self, n: int, prefix: str = "u") -> list[int]:
        made = self.client.call("core_user_create_users", users=[{
            "username": f"{prefix}{i}", "firstname": "Jörg", "lastname": f"O'Brien & Co {i}",
            "email": f"{prefix}{i}@example.org", "password": "Passwort-123!"} for i in range(n)])
        return [u["id"] for u in made]

    def enrol(self, course: int, userids: list[int], roleid: int = STUDENT) -> None:
        self.client.call("enrol_manual_enrol_users", enrolments=[
            {"roleid": roleid, "userid": u, "courseid": course} for u in userids])

    def activity(self, course: int, idnumber: str, completion: int = 1) -> int:
        result = self.api.upsert_activities(course, [{
            "section": 1, "modname": "page", "idnumber": idnumber, "name": f"Seite {idnumber}",
            "content": "<p>x</p>", "completion": completion}])
        return result.activities[0].cmid

    def group(self, course: int, idnumber: str, members: list[int]) -> int:
        gid = self.client.call("core_group_create_groups", groups=[{
            "courseid": course, "name": f"Initiative \"{idnumber}\" & Söhne", "description": "",
            "idnumber": idnumber}])[0]["id"]
        if members:
            self.client.call("core_group_add_group_members", members=[{"groupid": gid, "userid": u}
                                                                      for u in members])
        return gid


@pytest.fixture
def w():
    now = [T0]
    with Sandbox(clock=lambda: now[0]) as sandbox:
        yield World(sandbox, now)


def errorcode(call, *args: Any, **kwargs: Any) -> tuple[str, str]:
    with pytest.raises(MoodleError) as caught:
        call(*args, **kwargs)
    return caught.value.errorcode, str(caught.value)


# ------------------------------------------------------------------------------------------ completions
@pytest.fixture
def completions(w: World):
    """One course, three students who complete two pages, all in the same second T0."""
    course = w.course("K1")
    users = w.users(3)
    w.enrol(course, users)
    cms = [w.activity(course, "mintqo:a"), w.activity(course, "mintqo:b")]
    for cm in cms:
        for u in users:
            w.sb.site.complete_activity(u, cm)
    return course, users, cms


def all_rows(pages) -> list[tuple[int, int]]:
    return [(a.cmid, a.userid) for p in pages for a in p.activities]


def test_rows_younger_than_the_settle_time_wait(w: World, completions) -> None:
    course, _, _ = completions
    w.at(T0 + SETTLE_SECONDS - 1)
    page = w.api.get_completions_page([course], "", 100)
    assert page.activities == [] and page.hasmore is False
    assert page.nextcursor == ""          # nothing new: the cursor given comes back
    w.at(T0 + SETTLE_SECONDS)
    assert len(w.api.get_completions_page([course], "", 100).activities) == 6


def test_same_second_rows_page_by_id_each_exactly_once(w: World, completions) -> None:
    course, users, cms = completions
    w.at(T0 + 10)
    pages = list(w.api.iter_completions([course], "", limit=4))
    assert [len(p.activities) for p in pages] == [4, 2]
    assert [p.hasmore for p in pages] == [True, False]
    rows = all_rows(pages)
    assert len(rows) == len(set(rows)) == 6
    assert [a.timemodified for p in pages for a in p.activities] == [T0] * 6
    ids = [(a.cmid, a.userid) for a in w.api.get_completions_page([course], "", 100).activities]
    assert rows == ids                      # (time, id) order, stable
    again = w.api.get_completions_page([course], pages[-1].nextcursor, 100)
    assert again.activities == [] and again.nextcursor == pages[-1].nextcursor and not again.hasmore


def test_rows_changing_while_paging_are_neither_lost_nor_duplicated(w: World, completions) -> None:
    course, users, cms = completions
    w.at(T0 + 10)
    first = w.api.get_completions_page([course], "", 2)
    seen = [(a.cmid, a.userid) for a in first.activities]
    # Between two pages: a row already read changes, and a row not yet read changes.
    w.sb.site.complete_activity(users[0], cms[0], state=0)      # already read (the first row)
    w.sb.site.complete_activity(users[2], cms[1], state=0)      # the last row, not read yet
    w.at(T0 + 10 + SETTLE_SECONDS)
    rest = list(w.api.iter_completions([course], first.nextcursor, limit=2))
    later = [(a.cmid, a.userid, a.state) for p in rest for a in p.activities]
    assert seen == [(cms[0], users[0]), (cms[0], users[1])]
    # the four not yet read come once each, the changed ones with their new state at the end
    assert later == [(cms[0], users[2], 1), (cms[1], users[0], 1), (cms[1], users[1], 1),
                     (cms[0], users[0], 0), (cms[1], users[2], 0)]


def test_course_completions_share_the_cursor(w: World, completions) -> None:
    course, users, cms = completions
    w.at(T0 + 10)
    page = w.api.get_completions_page([course], "", 100)
    assert sorted(c.userid for c in page.courses) == users   # created at enrolment, time T0
    assert all(c.timemodified == max(c.timeenrolled, c.timestarted, c.timecompleted or 0) for c in page.courses)
    again = w.api.get_completions_page([course], page.nextcursor, 100)
    assert again.courses == [] and again.activities == []


def test_without_a_cursor_the_12_answer_is_unchanged(w: World, completions) -> None:
    course, _, _ = completions
    answer = w.client.call("local_mintqo_get_completions", courseids=[course], limitfrom=2, limitnum=3)
    assert answer["totalactivities"] == 6 and len(answer["activities"]) == 3
    assert answer["nextcursor"] == "" and answer["hasmore"] is True    # the current second is served here
    legacy = list(w.api.get_completions([course])[0])
    assert len(legacy) == 6


def test_bad_cursors_are_invalid_parameters(w: World, completions) -> None:
    course, _, _ = completions
    assert errorcode(w.api.get_completions_page, [course], "q1:1:2", 10)[0] == "invalidparameter"
    assert errorcode(w.api.get_completions_page, [course], "c1:x:1:2:3", 10)[0] == "invalidparameter"
    assert errorcode(w.client.call, "local_mintqo_get_completions", courseids=[course], cursor="",
                     limitfrom=1)[0] == "invalidparameter"


# ------------------------------------------------------------------------------------------ quiz responses
QUESTION = """<question type="multichoice"><name><text>{id}</text></name>
  <questiontext format="html"><text>Aussage {id}</text></questiontext><idnumber>{id}</idnumber>
  <answer fraction="100"><text>trifft zu</text></answer><answer fraction="0"><text>trifft nicht zu</text></answer>
  </question>"""


def test_responses_page_by_whole_attempts_and_a_refinished_attempt_comes_again(w: World) -> None:
    course = w.course("Q1")
    users = w.users(3, "q")
    w.enrol(course, users)
    qids = ["mintqo:sa:v1:a-01", "mintqo:sa:v1:a-02", "mintqo:sa:v1:a-03"]
    quiz = w.api.import_quiz(courseid=course, section=1, idnumber="mintqo:quiz:sa", name="Selbstanalyse",
                             intro="", questionsxml="<quiz>" + "".join(QUESTION.format(id=q) for q in qids)
                             + "</quiz>", sections=[{"heading": "A", "questionidnumbers": qids}])
    attempts = [w.sb.site.submit_quiz_attempt(u, quiz.quizid, {q: 1 for q in qids}) for u in users]
    w.at(T0 + 10)
    pages = list(w.api.iter_quiz_responses([quiz.quizid], cursor="", page_size=4))
    # 3 rows per attempt, 4 rows per page: one whole attempt per page, never split
    assert [sorted({r.attemptid for r in p.rows}) for p in pages] == [[a] for a in attempts]
    assert [len(p.rows) for p in pages] == [3, 3, 3]
    bigger = w.api.get_quiz_responses_page([quiz.quizid], "", 7)
    assert len(bigger.rows) == 6 and bigger.hasmore
    # the first attempt is regraded/re-finished later: it comes again after the cursor, the others do not
    w.sb.site.tables["quiz_attempts"][attempts[0]]["timemodified"] = T0 + 20
    w.at(T0 + 20 + SETTLE_SECONDS)
    again = w.api.get_quiz_responses_page([quiz.quizid], pages[-1].nextcursor, 100)
    assert {r.attemptid for r in again.rows} == {attempts[0]} and len(again.rows) == 3 and not again.hasmore
    legacy = list(w.api.iter_quiz_responses([quiz.quizid], page_size=4))
    assert len(legacy) == 9


# ------------------------------------------------------------------------------------------ enrolments
@pytest.fixture
def roster(w: World):
    course = w.course("E1")
    students = w.users(4, "s")
    teacher = w.users(1, "t")[0]
    w.enrol(course, students)
    w.enrol(course, [teacher], TEACHER)
    g1 = w.group(course, "mintqo:ini:1", students[:2])
    g2 = w.group(course, "mintqo:ini:2", students[2:])
    return course, students, teacher, g1, g2


class Store:
    """What a client keeps: rows by key, replaced per course on a full read."""

    def __init__(self) -> None:
        self.enrolments: dict[tuple[int, int], Any] = {}
        self.members: dict[tuple[int, int], Any] = {}

    def apply(self, page, full: set[int] = frozenset()) -> None:
        for course in full:
            self.enrolments = {k: v for k, v in self.enrolments.items() if k[0] != course}
            self.members = {k: v for k, v in self.members.items() if v.courseid != course}
        for e in page.enrolments:
            self.enrolments[(e.courseid, e.userid)] = e
        for m in page.members:
            self.members[(m.groupid, m.userid)] = m

    def digest(self, course: int):
        return enrolment_digest(course, [e for k, e in self.enrolments.items() if k[0] == course],
                                [m for m in self.members.values() if m.courseid == course])


def test_enrolments_rows_roles_groups_and_digest(w: World, roster) -> None:
    course, students, teacher, g1, g2 = roster
    w.at(T0 + 10)
    page = w.api.get_enrolments_page([course], "", 100)
    assert {e.userid: e.roles for e in page.enrolments} == {**{s: ["student"] for s in students},
                                                           teacher: ["editingteacher"]}
    assert all(e.status == 0 and e.timemodified == T0 for e in page.enrolments)
    assert {(m.groupid, m.groupidnumber, m.userid) for m in page.members} == {
        (g1, "mintqo:ini:1", students[0]), (g1, "mintqo:ini:1", students[1]),
        (g2, "mintqo:ini:2", students[2]), (g2, "mintqo:ini:2", students[3])}
    digest = page.digest(course)
    assert digest.enrolments == 5 and digest.enrolsum == sum(students) + teacher and digest.roles == 5
    assert digest.members == 4 and digest.membersum == g1 * (students[0] + students[1]) + g2 * (
        students[2] + students[3])
    assert enrolment_digest(course, page.enrolments, page.members) == digest
    assert w.api.get_enrolments_page([course], page.nextcursor, 100).enrolments == []


def test_enrolments_page_with_a_cursor_covering_both_lists(w: World, roster) -> None:
    course, students, teacher, g1, g2 = roster
    w.at(T0 + 10)
    pages = list(w.api.iter_enrolments([course], "", limit=2))
    assert [p.hasmore for p in pages] == [True, True, False]
    assert sorted(e.userid for p in pages for e in p.enrolments) == sorted(students + [teacher])
    assert len([m for p in pages for m in p.members]) == 4
    # a suspension and a new role come again, with the newest change as timemodified
    w.at(T0 + 100)
    w.enrol(course, [students[0]], TEACHER)
    w.client.call("enrol_manual_enrol_users", enrolments=[{"roleid": STUDENT, "userid": students[1],
                                                          "courseid": course, "suspend": 1}])
    w.at(T0 + 100 + SETTLE_SECONDS)
    changed = w.api.get_enrolments_page([course], pages[-1].nextcursor, 100)
    assert {e.userid: (e.roles, e.status, e.timemodified) for e in changed.enrolments} == {
        students[0]: (["editingteacher", "student"], 0, T0 + 100), students[1]: (["student"], 1, T0 + 100)}


def test_digest_shows_a_manual_unenrol_and_a_group_removal_and_a_full_read_repairs(w: World, roster) -> None:
    course, students, teacher, g1, g2 = roster
    other = w.course("E3")
    w.enrol(other, students[:1])
    w.at(T0 + 10)
    store = Store()
    for page in w.api.iter_enrolments([course, other], ""):
        store.apply(page)
    cursor = page.nextcursor
    assert all(store.digest(d.courseid) == d for d in page.digests)
    # by hand in Moodle: a student unenrolled (role and group go with it), another removed from their group
    w.client.call("enrol_manual_unenrol_users", enrolments=[{"userid": students[3], "courseid": course}])
    member = w.sb.site.find_one("groups_members", groupid=g1, userid=students[0])
    w.sb.site.delete("groups_members", member["id"])
    w.at(T0 + 20)
    page = w.api.get_enrolments_page([course, other], cursor, 100)
    assert page.enrolments == [] and page.members == []          # deletions leave no row to read
    store.apply(page)
    assert store.digest(course) != page.digest(course)           # … but the digest shows them
    assert store.digest(other) == page.digest(other)
    full = w.api.get_enrolments_page([course, other], page.nextcursor, 100, fullcourseids=[course])
    store.apply(full, {course})
    assert store.digest(course) == full.digest(course)
    assert sorted(e.userid for e in full.enrolments) == sorted(students[:3] + [teacher])
    assert {(m.groupid, m.userid) for m in full.members} == {(g1, students[1]), (g2, students[2])}
    assert full.nextcursor == page.nextcursor                    # a full read does not move the cursor


def test_enrolments_checks(w: World, roster) -> None:
    course, *_ = roster
    other = w.course("E4")
    assert errorcode(w.api.get_enrolments_page, [course], "", 10, [other])[0] == "invalidparameter"
    assert errorcode(w.api.get_enrolments_page, [course], "c1:1:1:1:1", 10)[0] == "invalidparameter"
    w.sb.deny_capability("moodle/site:accessallgroups", course)
    assert errorcode(w.api.get_enrolments_page, [course], "", 10)[0] == "nopermissions"


# ------------------------------------------------------------------------------------------ set_completions
@pytest.fixture
def attendance(w: World):
    course = w.course("C1")
    users = w.users(3, "c")
    w.enrol(course, users)
    teacher = w.users(1, "ct")[0]
    w.enrol(course, [teacher], TEACHER)
    return course, users, teacher, w.activity(course, "mintqo:ws1")


def statuses(w: World, course: int, userid: int, cmid: int) -> dict:
    answer = w.client.call("core_completion_get_activities_completion_status", courseid=course, userid=userid)
    return next(s for s in answer["statuses"] if s["cmid"] == cmid)


def test_set_completions_overrides_and_is_idempotent(w: World, attendance) -> None:
    course, users, _, cmid = attendance
    admin = w.client.call("core_webservice_get_site_info")["userid"]
    results = w.api.set_completions(cmid, [{"userid": users[0], "completed": True},
                                           {"userid": users[1], "completed": False}])
    assert [(r.userid, r.state, r.changed, r.overrideby, r.timemodified) for r in results] == [
        (users[0], 1, True, admin, T0), (users[1], 0, False, None, 0)]
    status = statuses(w, course, users[0], cmid)
    assert status["state"] == 1 and status["overrideby"] == admin
    w.at(T0 + 50)
    again = w.api.set_completions(cmid, [{"userid": users[0], "completed": True},
                                         {"userid": users[1], "completed": False}])
    assert [(r.changed, r.timemodified) for r in again] == [(False, T0), (False, 0)]
    undone = w.api.set_completions(cmid, [{"userid": users[0], "completed": False}])
    assert [(r.state, r.changed, r.timemodified) for r in undone] == [(0, True, T0 + 50)]


def test_set_completions_all_or_nothing(w: World, attendance) -> None:
    course, users, teacher, cmid = attendance
    stranger = w.users(1, "x")[0]
    code, text = errorcode(w.api.set_completions, cmid, [{"userid": users[0], "completed": True},
                                                         {"userid": stranger, "completed": True}])
    assert code == "usernottracked" and str(stranger) in text
    assert statuses(w, course, users[0], cmid)["state"] == 0       # nothing written
    assert errorcode(w.api.set_completions, cmid, [{"userid": teacher, "completed": True}])[0] == "usernottracked"
    assert errorcode(w.api.set_completions, cmid, [{"userid": users[0], "completed": True},
                                                   {"userid": users[0], "completed": False}])[0] == "invalidparameter"
    nocompletion = w.activity(course, "mintqo:info", completion=0)
    assert errorcode(w.api.set_completions, nocompletion, [{"userid": users[0], "completed": True}])[0] == \
        "completionnotenabled"
    w.sb.deny_capability("moodle/course:overridecompletion", course)
    assert errorcode(w.api.set_completions, cmid, [{"userid": users[0], "completed": True}])[0] == "nopermissions"


def test_set_completions_chunks_below_max_input_vars(w: World, attendance) -> None:
    course, _, _, cmid = attendance
    many = w.users(30, "m")
    w.enrol(course, many)
    small = PluginAPI(MoodleClient(w.sb.url, w.sb.token, retries=0, max_form_fields=25))
    before = w.sb.calls.counter()["local_mintqo_set_completions"]
    results = small.set_completions(cmid, [{"userid": u, "completed": True} for u in many])
    calls = w.sb.calls.counter()["local_mintqo_set_completions"] - before
    assert [r.userid for r in results] == many and all(r.changed for r in results)
    assert calls > 1


def test_set_completions_leaves_a_failed_completion_as_core_does(w: World, attendance) -> None:
    """completion_info::update_state(): "complete" does not overwrite complete-pass or complete-fail."""
    course, users, _, cmid = attendance
    w.sb.site.complete_activity(users[0], cmid, state=3)
    w.sb.site.complete_activity(users[1], cmid, state=2)
    results = w.api.set_completions(cmid, [{"userid": users[0], "completed": True},
                                           {"userid": users[1], "completed": True},
                                           {"userid": users[2], "completed": False}])
    assert [(r.state, r.changed, r.overrideby) for r in results] == [(3, False, None), (2, False, None),
                                                                     (0, False, None)]
    assert w.api.set_completions(cmid, [{"userid": users[0], "completed": False}])[0].changed is True
