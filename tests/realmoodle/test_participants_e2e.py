"""The courses as participants live them, on a real Moodle (issue 17): a self-analysis is not an exam, the
team analyses as one, attendance is recorded by those who saw it, and the timetable's dates are in Moodle.

One cohort (key ``2099-p<digits>``) is provisioned from the example roster with a timetable whose dates lie
around today, so the self-analysis is open. Participants are then real logged-in users: PHP CLI (needs
``MOODLE_DIR``) gives two members of one initiative and one of another a known password and finishes an
attempt for one of them; their pages are fetched over HTTP as their browser would, and read.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
import time
from collections import Counter
from pathlib import Path

import pytest
import requests

from mintqo_lms.config import Config
from mintqo_lms.moodle import Moodle
from mintqo_lms.moodle.client import is_read_function
from mintqo_lms.programme import import_roster
from mintqo_lms.provision import activity_idnumber, provision
from mintqo_lms.store import Store
from mintqo_lms.timetable import import_timetable

pytestmark = pytest.mark.realmoodle

PROJECT = Path(__file__).resolve().parents[2]
EXAMPLE_ROSTER = PROJECT / "lms_templates" / "roster.example.csv"
NETWORK = "zdi-Netzwerk Ruhr & Emscher"
PASSWORD = "Teilnahme-2099!"
# What must never appear on a participant's self-analysis screens (the test language Moodle would use).
EXAM_WORDS = re.compile(r"\bcorrect\b|incorrect|partially correct|richtig|falsch|right answer|"
                        r"marked out of|mark [\d.,]+ out of|grade[:\s]+[\d.,]+|bewertung:", re.I)

FINISH_PHP = r"""<?php
define('CLI_SCRIPT', true);
require(getenv('MOODLE_DIR') . '/config.php');
require_once($CFG->dirroot . '/mod/quiz/locallib.php');
[$quizid, $userid, $finish] = [(int)$argv[1], (int)$argv[2], $argv[3] === 'finish'];
\core\session\manager::set_user($DB->get_record('user', ['id' => $userid], '*', MUST_EXIST));
$quizobj = \mod_quiz\quiz_settings::create($quizid, $userid);
$attempt = quiz_prepare_and_start_new_attempt($quizobj, 1, false, false, [], [], $userid);
$attemptobj = \mod_quiz\quiz_attempt::create($attempt->id);
$submit = [];
$chosen = [];
foreach ($attemptobj->get_slots() as $slot) {
    if ($attemptobj->is_real_question($slot)) {
        $question = $attemptobj->get_question_attempt($slot)->get_question();
        $answers = array_values($question->answers);
        $submit[$slot] = ['answer' => $answers[$slot % count($answers)]->answer];
        $chosen[$question->idnumber] = $answers[$slot % count($answers)]->answer;
    }
}
$attemptobj->process_submitted_actions(time(), false, $submit);
if ($finish) {
    \mod_quiz\quiz_attempt::create($attempt->id)->process_finish(time(), false);
}
echo json_encode(['attemptid' => (int)$attempt->id, 'chosen' => $chosen]);
"""


def german(day: dt.datetime) -> str:
    return day.strftime("%d.%m.%Y %H:%M")


def timetable_around_today(target: Path) -> Path:
    """Workshop 1 yesterday, the self-analysis open until in four weeks, the rest later."""
    today = dt.datetime.now().replace(hour=15, minute=0, second=0, microsecond=0)
    rows = [
        ("Qualifizierung", "kickoff", german(today - dt.timedelta(days=30)), "16:00", "Tagungshaus Wannsee, Berlin"),
        (NETWORK, "workshop-1", german(today - dt.timedelta(days=1)), "18:00", "Makerspace Bochum, Werkhalle"),
        (NETWORK, "selbstanalyse-1", (today - dt.timedelta(days=1)).strftime("%d.%m.%Y"),
         (today + dt.timedelta(days=28)).strftime("%d.%m.%Y"), ""),
        (NETWORK, "workshop-2", german(today + dt.timedelta(days=35)), "19:00", "Schülerlabor Witten"),
        (NETWORK, "ws2-massnahmenplan", "", (today + dt.timedelta(days=56)).strftime("%d.%m.%Y"), ""),
    ]
    target.write_text("Kurs;Termin;Beginn;Ende;Ort\n" + "".join(";".join(r) + "\n" for r in rows), encoding="utf-8")
    return target


def php(script: str, *args: str) -> str:
    done = subprocess.run(["php", script, *args], capture_output=True, text=True, timeout=180, env={**os.environ})
    assert done.returncode == 0, done.stdout[-1500:] + done.stderr[-1500:]
    return done.stdout


class Participant:
    """A logged-in browser session of one user (cookies, sesskey), reading pages as they render."""

    def __init__(self, url: str, username: str):
        self.url, self.session = url, requests.Session()
        page = self.session.get(f"{url}/login/index.php", timeout=60)
        token = re.search(r'name="logintoken" value="([^"]+)"', page.text)
        answer = self.session.post(f"{url}/login/index.php", timeout=60, data={
            "username": username, "password": PASSWORD, "logintoken": token.group(1) if token else ""})
        assert "/login/" not in answer.url, f"login as {username} failed"
        self.sesskey = re.search(r'"sesskey":"([^"]+)"', answer.text).group(1)

    def main_html(self, path: str) -> str:
        page = self.session.get(self.url + path, timeout=60)
        assert page.status_code == 200, path
        start = page.text.find('id="region-main"')
        html = page.text[start:] if start >= 0 else page.text
        end = html.find('id="page-footer"')
        return html[:end] if end >= 0 else html

    def main_text(self, path: str) -> str:
        """The page's main region as text (navigation and footer left out: they are Moodle's, not ours)."""
        page = self.session.get(self.url + path, timeout=60)
        assert page.status_code == 200, path
        html = page.text
        start = html.find('id="region-main"')
        html = html[start:] if start >= 0 else html
        end = html.find('id="page-footer"')
        html = html[:end] if end >= 0 else html
        html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
        return " ".join(re.sub(r"<[^>]+>", " ", html).split())

    def ajax(self, method: str, **args) -> dict:
        answer = self.session.post(f"{self.url}/lib/ajax/service.php?sesskey={self.sesskey}&info={method}",
                                   json=[{"index": 0, "methodname": method, "args": args}], timeout=60)
        return answer.json()[0]


@pytest.fixture(scope="module")
def cohort(moodle, tmp_path_factory):
    moodle_dir = os.environ.get("MOODLE_DIR", "")
    if not moodle_dir:
        pytest.skip("needs MOODLE_DIR: the Moodle code of the test site, for participants' passwords and attempts")
    stamp = time.strftime("%Y%m%d%H%M%S") + f"{time.time_ns() % 1000:03d}"
    key, tmp = f"2099-p{stamp}", tmp_path_factory.mktemp("participants")
    roster = tmp / "roster.csv"
    roster.write_text(re.sub(r"@[A-Za-z0-9.-]+\.example\b", f"@p{stamp}.example",
                             EXAMPLE_ROSTER.read_text(encoding="utf-8")), encoding="utf-8")
    site, store = Moodle(moodle), Store(tmp / "mintqo.db")
    import_roster(store, roster, key)
    import_timetable(store, timetable_around_today(tmp / "termine.csv"), key)
    result = provision(site, store, Config(), key)
    plan = result.plan
    course = next(c for c in plan.courses if c.network_slug and "ruhr" in c.network_slug)
    groups = [g for g in plan.groups if g.course_idnumber == course.idnumber and len(g.member_ids) >= 2]
    team, other = groups[0], next(g for g in plan.groups if g.course_idnumber == course.idnumber and g != groups[0])
    people = {p["id"]: p for p in store.db["people"].rows}
    coordinator_id = next(n["coordinator_id"] for n in store.db["networks"].rows_where("cohort = ?", [key])
                          if n["slug"] == course.network_slug)
    staff_id = next(m["person_id"] for m in store.db["memberships"].rows_where("cohort = ? AND role = 'staff'", [key]))
    users = {pid: site.core.get_users_by_field("idnumber", [people[pid]["idnumber"]])[0]
             for pid in [*team.member_ids[:2], other.member_ids[0], coordinator_id, staff_id]}
    for user in users.values():
        subprocess.run(["php", f"{moodle_dir}/admin/cli/reset_password.php", f"--username={user.username}",
                        f"--password={PASSWORD}", "--ignore-password-policy"], check=True, capture_output=True,
                       timeout=120, env={**os.environ})
    script = tmp / "attempt.php"
    script.write_text(FINISH_PHP, encoding="utf-8")
    quiz_cm = next(store.db["activities"].rows_where("course_idnumber = ? AND idnumber = ?", [
        course.idnumber, activity_idnumber(course.curriculum, course.curriculum.activity("selbstanalyse-1"))]))
    submitter, teammate, outsider = (users[pid] for pid in [*team.member_ids[:2], other.member_ids[0]])
    made = json.loads(php(str(script), str(quiz_cm["instance_id"]), str(submitter.id), "finish"))
    finished = made["attemptid"]
    in_progress = json.loads(php(str(script), str(quiz_cm["instance_id"]), str(outsider.id), "open"))["attemptid"]
    yield {"key": key, "site": site, "store": store, "result": result, "course": course, "quiz": quiz_cm,
           "submitter": submitter, "teammate": teammate, "outsider": outsider, "finished": finished,
           "in_progress": in_progress, "tmp": tmp, "url": moodle.url, "chosen": made["chosen"], "team": team,
           "people": people, "coordinator": users[coordinator_id],
           "staff": users[staff_id]}
    store.close()


def test_the_self_analysis_is_not_an_exam_on_any_screen(cohort):
    submitter = Participant(cohort["url"], cohort["submitter"].username)
    review = submitter.main_text(f"/mod/quiz/review.php?attempt={cohort['finished']}")
    assert "trifft" in review   # the answers themselves are there
    assert not EXAM_WORDS.search(review), EXAM_WORDS.search(review).group(0)
    view = submitter.main_text(f"/mod/quiz/view.php?id={cohort['quiz']['cmid']}")
    assert not EXAM_WORDS.search(view) and "Grading method" not in view
    outsider = Participant(cohort["url"], cohort["outsider"].username)
    attempt = outsider.main_text(f"/mod/quiz/attempt.php?attempt={cohort['in_progress']}")
    assert "trifft voll zu" in attempt and not EXAM_WORDS.search(attempt)


def test_the_self_analysis_never_counts_in_a_grade(cohort):
    quizzes = cohort["site"].core.get_quizzes_by_courses([cohort["course"].moodle_id])
    assert quizzes and all(q.grade == 0 for q in quizzes)
    items = cohort["site"].client.call("gradereport_user_get_grade_items", courseid=cohort["course"].moodle_id,
                                       userid=cohort["submitter"].id)["usergrades"][0]["gradeitems"]
    assert not [i for i in items if i.get("itemmodule") == "quiz" and float(i.get("grademax") or 0) > 0]


def test_one_member_submits_and_the_whole_team_is_complete(cohort):
    core, courseid, cmid = cohort["site"].core, cohort["course"].moodle_id, cohort["quiz"]["cmid"]

    def state(user):
        return next(s for s in core.get_activities_completion_status(courseid, user.id) if s.cmid == cmid)

    assert state(cohort["submitter"]).state == 1
    teammate = state(cohort["teammate"])
    assert teammate.state == 1 and teammate.overrideby == cohort["submitter"].id
    assert state(cohort["outsider"]).state == 0   # another initiative: its own analysis is still open


def test_every_member_reads_the_teams_answers(cohort):
    teammate = Participant(cohort["url"], cohort["teammate"].username)
    page = teammate.main_text(f"/local/mintqo/team.php?id={cohort['quiz']['cmid']}")
    assert cohort["submitter"].lastname in page and "trifft" in page
    assert not EXAM_WORDS.search(page)


def test_participants_cannot_mark_their_own_attendance(cohort):
    store, course = cohort["store"], cohort["course"]
    attendance = next(store.db["activities"].rows_where("course_idnumber = ? AND idnumber = ?", [
        course.idnumber, activity_idnumber(course.curriculum, course.curriculum.activity("ws1-teilnahme"))]))
    member = Participant(cohort["url"], cohort["teammate"].username)
    page = member.main_text(f"/course/view.php?id={course.moodle_id}")
    assert "Teilnahme an Workshop 1" in page and "Mark as done" not in page
    answer = member.ajax("core_completion_update_activity_completion_status_manually",
                         cmid=attendance["cmid"], completed=True)
    assert answer["error"] is True
    # The coordinator's (here: the service's) override is what records attendance.
    core = cohort["site"].core
    core.override_activity_completion(cohort["teammate"].id, attendance["cmid"], 1)
    status = next(s for s in core.get_activities_completion_status(course.moodle_id, cohort["teammate"].id)
                  if s.cmid == attendance["cmid"])
    assert status.state == 1 and status.overrideby


def test_the_timetable_is_in_the_calendar_and_an_unchanged_rerun_writes_nothing(cohort):
    site, course = cohort["site"], cohort["course"]
    events = site.client.call("core_calendar_get_calendar_events", events={"courseids": [course.moodle_id]},
                              options={"siteevents": 0, "userevents": 0, "timestart": 0,
                                       "timeend": int(time.time()) + 400 * 86400})["events"]
    names = Counter(e["name"] for e in events)
    assert any(name.startswith("Workshop 1") for name in names) and any(n.startswith("Workshop 2") for n in names)
    assert any(e["modulename"] == "quiz" for e in events)      # the self-analysis window opens and closes
    assert any(e["modulename"] == "assign" for e in events)    # the action plan's due date
    workshop1 = next(e for e in events if e["name"].startswith("Workshop 1"))
    assert workshop1.get("location", "Makerspace Bochum, Werkhalle") == "Makerspace Bochum, Werkhalle"
    [moodle_course] = site.core.get_courses_by_field("id", course.moodle_id)
    assert moodle_course.startdate <= workshop1["timestart"] < moodle_course.enddate

    before = site.client.stats.as_dict()
    again = provision(site, cohort["store"], Config(), cohort["key"])
    calls = {name for name, row in site.client.stats.delta(before).items() if row.get("calls")}
    assert not again.plan.has_work, [c for c in again.plan.changes if c.action != "unchanged"]
    assert all(is_read_function(name) for name in calls), calls


def test_the_coordinator_sees_the_participants_but_cannot_unenrol_anyone(cohort):
    """Enrolments follow the roster: the coordinator (editing teacher) has no unenrol action, not even on
    their own enrolment; the office's `people remove` is the way."""
    coordinator = Participant(cohort["url"], cohort["coordinator"].username)
    page = coordinator.main_html(f"/user/index.php?id={cohort['course'].moodle_id}&perpage=5000")
    assert cohort["submitter"].lastname in page and cohort["coordinator"].lastname in page
    assert "/enrol/unenroluser.php" not in page


def test_office_staff_manage_every_course_of_the_cohort_without_being_enrolled(cohort):
    """Staff hold the manager role at the cohort's category: a real role in every course, no enrolment."""
    staff = Participant(cohort["url"], cohort["staff"].username)
    courseid = cohort["course"].moodle_id
    page = staff.main_text(f"/course/view.php?id={courseid}")
    assert "Workshop 1" in page and "Enrol me" not in page
    participants = staff.main_html(f"/user/index.php?id={courseid}&perpage=5000")
    assert cohort["submitter"].lastname in participants and cohort["staff"].lastname not in participants


def test_after_sync_the_profile_scores_the_teams_answers_and_each_member_gets_one_message(cohort):
    """Issue 9 on a real site: scores equal the formula computed by hand from the chosen answers; every member
    of the initiative (the submitter included) has exactly one feedback message; a second sync sends none."""
    from mintqo_lms.feedback import send_feedback
    from mintqo_lms.profile import profile
    from mintqo_lms.sync import sync_cohort
    from mintqo_lms.templates import load_curriculum

    site, store, key, team = cohort["site"], cohort["store"], cohort["key"], cohort["team"]
    sync_cohort(site, store, key)
    first = send_feedback(site, store, key)
    instrument = load_curriculum("regional_cycle").instrument("selfanalysis/v1")
    value = {level.label: level.value for level in instrument.scale}
    low, high = min(value.values()), max(value.values())
    by_statement = {idnumber.rsplit(":", 1)[-1]: (value[text] - low) / (high - low) * 100
                    for idnumber, text in cohort["chosen"].items()}
    expected = {d.key: round(sum(by_statement[s.key] for s in d.statements()) / len(d.statements()), 2)
                for d in instrument.dimensions}

    data = profile(store, key)
    [initiative] = [i for i in data["initiatives"] if i["name"] == team.name]
    [analysis] = initiative["analyses"]
    assert analysis["attemptid"] == cohort["finished"] and analysis["quiz"] == "selbstanalyse-1"
    assert analysis["dimensions"] == pytest.approx(expected, abs=0.01)

    members = [cohort["people"][pid] for pid in team.member_ids]
    assert first.ok and sorted(first.sent) == sorted(f"{m['email']} (analysis {cohort['finished']})" for m in members)
    again = send_feedback(site, store, key)
    assert again.sent == [] and again.already == len(members)
    # In Moodle: the teammate has exactly one message, from the service user.
    teammate = Participant(cohort["url"], cohort["teammate"].username)
    answer = teammate.ajax("core_message_get_conversations", userid=cohort["teammate"].id)
    assert answer["error"] is False
    individual = [c for c in answer["data"]["conversations"] if c["type"] == 1]   # 3 is one's own notes
    assert [c["unreadcount"] for c in individual] == [1]


def test_a_new_instrument_version_is_published_beside_the_first_and_again_changes_nothing(cohort):
    """v2 quizzes (with "kann ich nicht beurteilen") join every regional course after the v1 ones; v1's quiz and
    its finished attempt stay; publishing again makes no call."""
    from mintqo_lms.publish import publish

    site, store, key, course = cohort["site"], cohort["store"], cohort["key"], cohort["course"]
    first = publish(site, store, Config(), key, "selfanalysis/v2")
    regional = [c for c in first.published if "mintqo:region:" in c]
    assert first.quizzes["created"] == len(regional) > 0
    contents = site.core.get_contents(course.moodle_id)
    section = next(s for s in contents if any(m.id == cohort["quiz"]["cmid"] for m in s.modules))
    names = [m.name for m in section.modules if m.modname == "quiz"]
    assert names[0] == "Selbstanalyse nach dem Orientierungsrahmen" and names[1].endswith("(Version 2)")
    kept = list(site.plugin.iter_quiz_responses([cohort["quiz"]["instance_id"]]))
    assert {r.attemptid for r in kept} == {cohort["finished"]}
    before = site.client.stats.total_calls
    again = publish(site, store, Config(), key, "selfanalysis/v2")
    assert again.quizzes["created"] == 0 and site.client.stats.total_calls == before
