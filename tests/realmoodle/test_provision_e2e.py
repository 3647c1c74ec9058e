"""Cohort provisioning against a real Moodle: a full cohort, an idempotent second run, a dry run, and
the plugin's report of finished self-analysis attempts in the provisioned course.

Each run provisions its own cohort (key ``2099-e2e<digits>``) from the example roster with every e-mail
moved to a per-run domain: e-mails, usernames and course shortnames are unique per site, so reruns on the
same site never collide. The roster's names are as messy as real ones (``Ruhr & Emscher``, quotes,
apostrophes, umlauts): they must read back exactly and a second run must write nothing.

Every test runs twice: with the token from the environment, and with the token of a new non-admin user that
holds only the role the plugin README documents (made with PHP CLI, so it needs ``MOODLE_DIR``): that run
proves the documented role and the service's function list suffice.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import time
from collections import Counter
from pathlib import Path

import pytest

from moodle_php import ATTEMPT_PHP, finish_attempt

from mintqo_lms.config import Config
from mintqo_lms.instrument import is_statement_idnumber, quiz_sections
from mintqo_lms.moodle import Moodle
from mintqo_lms.moodle.client import PROTOCOL_FIELDS, MoodleClient, is_read_function
from mintqo_lms.moodle.content import plan_calls
from mintqo_lms.moodle.errors import AccessDeniedError
from mintqo_lms.programme import import_roster
from mintqo_lms.provision import activity_idnumber, content_entries, provision
from mintqo_lms.store import Store
from mintqo_lms.sync import sync_cohort
from mintqo_lms.timetable import import_timetable

pytestmark = pytest.mark.realmoodle

EXAMPLE_ROSTER = Path(__file__).resolve().parents[2] / "lms_templates" / "roster.example.csv"
EXAMPLE_TIMETABLE = EXAMPLE_ROSTER.with_name("timetable.example.csv")
WRITE_FUNCTIONS = {
    "core_course_create_categories", "core_course_create_courses", "core_course_update_courses",
    "core_user_create_users", "enrol_manual_enrol_users", "core_group_create_groups",
    "core_group_add_group_members", "local_mintqo_upsert_sections", "local_mintqo_upsert_activities",
    "local_mintqo_import_quiz", "local_mintqo_upsert_events", "local_mintqo_configure_courses",
    "local_mintqo_upsert_course_content", "core_role_assign_roles",
}
ROLE_NAMES = {1: "manager", 3: "editingteacher", 4: "teacher", 5: "student"}
MOODLES_OWN_MODULES = {"forum", "qbank"}   # news forum (every release), question bank (5.0 on)
MESSY_NAMES = ["Ruhr & Emscher", 'Schülerlabor "Elektron"', "D'Angelo", "Öztürk"]


def run_roster(target: Path, domain: str) -> Path:
    """The example roster with every e-mail domain replaced by ``domain`` (also in the Buddy-von column)."""
    text = EXAMPLE_ROSTER.read_text(encoding="utf-8")
    target.write_text(re.sub(r"@[A-Za-z0-9.-]+\.example\b", "@" + domain, text), encoding="utf-8")
    return target


def called(moodle: Moodle, before: dict) -> Counter:
    """Function name -> number of calls since the ``stats.as_dict()`` snapshot ``before``."""
    return Counter({name: int(row["calls"]) for name, row in moodle.client.stats.delta(before).items()
                    if row.get("calls")})


@pytest.fixture(scope="module", params=["given token", "least-privilege service user"])
def cohort_run(request, tmp_path_factory):
    """One provisioned cohort per token kind, shared by the tests below (provisioning takes a while)."""
    client = request.getfixturevalue("moodle" if request.param == "given token" else "restricted_moodle")
    # What Moodle holds is checked through the environment's token (an admin's, in the harness): the
    # service user is not enrolled anywhere, so course-level reads such as quizzes are not its to make.
    truth = Moodle(request.getfixturevalue("moodle"))
    stamp = time.strftime("%Y%m%d%H%M%S") + f"{time.time_ns() % 1000:03d}"
    cohort, domain = f"2099-e2e{stamp}", f"run{stamp}.example"
    tmp = tmp_path_factory.mktemp("provision")
    moodle = client
    site = Moodle(moodle)
    store = Store(tmp / "mintqo.db")
    import_roster(store, run_roster(tmp / "roster.csv", domain), cohort)
    import_timetable(store, EXAMPLE_TIMETABLE, cohort)   # 2025's dates: warned about, used as they are
    stored = {row["name"] for row in store.db["initiatives"].rows} | {row["name"] for row in store.db["networks"].rows}
    stored |= {row["last_name"] for row in store.db["people"].rows}
    assert all(any(name in text for text in stored) for name in MESSY_NAMES)
    before = moodle.stats.as_dict()
    result = provision(site, store, Config(), cohort)
    yield {"cohort": cohort, "domain": domain, "site": site, "truth": truth, "store": store, "result": result,
           "calls": called(site, before), "tmp": tmp}
    store.close()


def test_first_run_creates_everything_it_planned(cohort_run):
    result, calls = cohort_run["result"], cohort_run["calls"]
    counts, plan = result.plan.counts(), result.plan
    networks = len([c for c in plan.courses if c.network_slug])
    assert counts["course"]["create"] == 1 + networks and counts["user"]["create"] == len(plan.people)
    assert result.applied["course created"] == 1 + networks
    assert result.applied["user created"] == len(plan.people)
    assert result.applied["enrolment created"] == len(plan.enrolments)
    assert result.applied["group created"] == len(plan.groups)
    assert result.applied["membership created"] == sum(len(g.member_ids) for g in plan.groups)
    assert result.applied["content created"] == 1 + networks
    assert calls["core_user_create_users"] == 1  # one batch for the whole cohort
    # The content of all courses (two self-analyses in each regional one) batched across courses: the demo
    # cohort's 4 courses and 6 quizzes need 2 calls at 1000 form fields, what the client's chunking plans.
    budget = cohort_run["site"].client.max_form_fields - PROTOCOL_FIELDS
    assert calls["local_mintqo_upsert_course_content"] == len(plan_calls(content_entries(plan.courses)[0], budget)) == 2
    assert calls["local_mintqo_configure_courses"] == 1
    assert not {"local_mintqo_upsert_sections", "local_mintqo_upsert_activities", "local_mintqo_import_quiz",
                "local_mintqo_upsert_events"} & set(calls)
    assert result.content_items["quizzes created"] == networks * 2
    run = cohort_run["store"].db["sync_runs"].get(result.run_id)
    assert run["status"] == "ok"


def test_courses_users_enrolments_groups_exist_in_moodle(cohort_run):
    core, plan, store = cohort_run["truth"].core, cohort_run["result"].plan, cohort_run["store"]
    courses = core.get_courses_by_idnumbers([c.idnumber for c in plan.courses])
    assert {idnumber: c.fullname for idnumber, c in courses.items()} == \
        {c.idnumber: c.fullname for c in plan.courses}
    assert all(c.enablecompletion == 1 and c.categoryid == plan.cohort_category_id for c in courses.values())

    people = list(store.db["people"].rows)
    users = core.get_users_by_field("idnumber", [p["idnumber"] for p in people])
    assert sorted(u.email for u in users) == sorted(p["email"] for p in people)
    assert all(u.email.endswith("@" + cohort_run["domain"]) and u.lang == "de" for u in users)
    user_of_person = {p["id"]: p["moodle_user_id"] for p in people}
    assert {u.id for u in users} == set(user_of_person.values())

    by_course = {c.idnumber: c for c in plan.courses}
    expected_roles = Counter((idnumber, user_of_person[pid], ROLE_NAMES[getattr(Config().roles, role)])
                             for idnumber, pid, role in plan.enrolments)
    expected_groups = {(g.course_idnumber, g.idnumber): {user_of_person[pid] for pid in g.member_ids}
                       for g in plan.groups}
    seen_roles, seen_groups = Counter(), {}
    for idnumber, course in by_course.items():
        moodle_groups = {g.id: g for g in core.get_course_groups(courses[idnumber].id)}
        for group in moodle_groups.values():
            seen_groups[(idnumber, group.idnumber)] = set()
        for user in core.get_enrolled_users(courses[idnumber].id, userfields=("id", "roles", "groups")):
            seen_roles.update((idnumber, user.id, role.shortname) for role in user.roles)
            for ref in user.groups:
                seen_groups[(idnumber, moodle_groups[ref.id].idnumber)].add(user.id)
    assert seen_roles == expected_roles
    assert seen_groups == expected_groups


def test_messy_names_read_back_exactly(cohort_run):
    """Moodle formats names on the way out (``&`` → ``&amp;``); what the client hands on is the text itself."""
    core, plan, store = cohort_run["truth"].core, cohort_run["result"].plan, cohort_run["store"]
    courses = core.get_courses_by_idnumbers([c.idnumber for c in plan.courses])
    assert {c.idnumber: (c.fullname, c.shortname) for c in plan.courses} == \
        {idnumber: (c.fullname, c.shortname) for idnumber, c in courses.items()}
    assert any("&" in c.fullname for c in plan.courses)
    groups = {g.idnumber: g.name for c in courses.values() for g in core.get_course_groups(c.id)}
    assert {g.idnumber: g.name for g in plan.groups} == groups
    assert any('"' in name for name in groups.values())
    people = list(store.db["people"].rows)
    users = {u.idnumber: (u.firstname, u.lastname) for u in
             core.get_users_by_field("idnumber", [p["idnumber"] for p in people])}
    assert users == {p["idnumber"]: (p["first_name"], p["last_name"]) for p in people}
    assert {"D'Angelo", "Öztürk"} & {name for pair in users.values() for name in pair}


def test_activities_and_quizzes_exist_as_the_templates_say(cohort_run):
    core, plan, store = cohort_run["truth"].core, cohort_run["result"].plan, cohort_run["store"]
    for course in plan.courses:
        curriculum, content = course.curriculum, course.content
        ours = {row["cmid"] for row in store.db["activities"].rows_where("course_idnumber = ?", [course.idnumber])}
        sections = core.get_contents(course.moodle_id)
        names = {s.section: s.name for s in sections}
        # Besides our welcome label, section 0 holds only Moodle's own modules: the news forum (named in
        # German by configure_courses), and from 5.0 on the question bank.
        own = {m.modname: m.name for s in sections if s.section == 0 for m in s.modules if m.id not in ours}
        assert set(own) <= MOODLES_OWN_MODULES and own["forum"] == "Ankündigungen"
        located = [(s.section, m.modname, m.name) for s in sections for m in s.modules if m.id in ours]
        wanted = {idnumber: item for item in [*content["activities"], *content["quizzes"]]
                  for idnumber in [item["idnumber"]]}
        expected = [(wanted[i]["section"], wanted[i].get("modname", "quiz"), wanted[i]["name"])
                    for i in content["sequence"]]
        # Per section in the template's order: instructions come before the quiz they explain.
        assert sorted(located, key=lambda x: x[0]) == sorted(expected, key=lambda x: x[0]), course.idnumber
        assert {n: names[n] for n in range(1, len(curriculum.sections) + 1)} == \
            {n: s.name for n, s in enumerate(curriculum.sections, start=1)}
    regional = [c.moodle_id for c in plan.courses if c.network_slug]
    quizzes = core.get_quizzes_by_courses(regional)
    assert Counter(q.course for q in quizzes) == Counter({courseid: 2 for courseid in regional})
    assert all(q.grade == 0 and q.attempts == 1 for q in quizzes)   # a self-analysis, never a graded test


def test_store_knows_every_course_module(cohort_run):
    """Sync maps completions and quiz responses through the stored cmids, so every course's must be there."""
    core, plan, store = cohort_run["truth"].core, cohort_run["result"].plan, cohort_run["store"]
    stored = {(row["course_idnumber"], row["cmid"]) for row in store.db["activities"].rows}
    in_moodle = {(course.idnumber, m.id) for course in plan.courses
                 for s in core.get_contents(course.moodle_id) for m in s.modules
                 if m.modname not in MOODLES_OWN_MODULES}
    assert stored == in_moodle


def test_second_run_has_no_work_and_writes_nothing(cohort_run):
    site, store, cohort = cohort_run["site"], cohort_run["store"], cohort_run["cohort"]
    before = site.client.stats.as_dict()
    second = provision(site, store, Config(), cohort)
    calls = called(site, before)
    assert not second.plan.has_work, [c for c in second.plan.changes if c.action != "unchanged"]
    assert second.applied == Counter()
    assert not set(calls) & WRITE_FUNCTIONS
    assert all(is_read_function(name) for name in calls), calls
    assert second.calls == sum(calls.values()) > 0
    # The whole cohort in one bulk read (issue 12): at most 5 calls, whatever the number of courses.
    assert second.calls <= 5 and set(calls) == {"local_mintqo_get_course_state"}, calls


def test_dry_run_reads_only(cohort_run, tmp_path):
    site, store, cohort = cohort_run["site"], cohort_run["store"], cohort_run["cohort"]
    before = site.client.stats.as_dict()
    again = provision(site, store, Config(), cohort, dry_run=True)
    assert not again.plan.has_work
    assert store.db["sync_runs"].get(again.run_id)["status"] == "planned"

    # A cohort Moodle has never seen: the dry run plans every create and still writes nothing.
    fresh = cohort_run["cohort"] + "x"
    with Store(tmp_path / "fresh.db") as fresh_store:
        import_roster(fresh_store, run_roster(tmp_path / "fresh.csv", "fresh-" + cohort_run["domain"]), fresh)
        planned = provision(site, fresh_store, Config(), fresh, dry_run=True)
    counts = planned.plan.counts()
    assert counts["course"]["create"] == len(planned.plan.courses) and counts["user"]["create"] == len(planned.plan.people)
    assert counts["category"] == Counter({"unchanged": 1, "create": 1})  # the root exists, the cohort's not
    calls = called(site, before)
    assert not set(calls) & WRITE_FUNCTIONS
    assert site.core.get_courses_by_idnumbers([c.idnumber for c in planned.plan.courses]) == {}


def test_quiz_responses_of_finished_attempts(cohort_run, tmp_path):
    """Two participants finish the self-analysis; the plugin reports exactly what they chose, page by page."""
    if not os.environ.get("MOODLE_DIR"):
        pytest.skip("needs MOODLE_DIR: the Moodle code of the test site, to finish an attempt with PHP CLI")
    site, plan, store = cohort_run["site"], cohort_run["result"].plan, cohort_run["store"]
    course = next(c for c in plan.courses if c.network_slug)
    activity = next(a for s in course.curriculum.sections for a in s.activities if a.type == "quiz")
    stored = next(store.db["activities"].rows_where("course_idnumber = ? AND idnumber = ?",
                                                    [course.idnumber, activity_idnumber(course.curriculum, activity)]))
    quiz = next(q for q in cohort_run["truth"].core.get_quizzes_by_courses([course.moodle_id])
                if q.id == stored["instance_id"])
    people = {p["id"]: p for p in store.db["people"].rows}
    students = sorted(people[pid]["moodle_user_id"] for idnumber, pid, role in plan.enrolments
                      if idnumber == course.idnumber and role == "student")[:2]
    script = tmp_path / "attempt.php"
    script.write_text(ATTEMPT_PHP, encoding="utf-8")
    made = {userid: finish_attempt(script, quiz.id, userid, offset) for offset, userid in enumerate(students)}

    rows = list(site.plugin.iter_quiz_responses([quiz.id], page_size=7))
    got = {(r.userid, r.slot): (r.attemptid, r.questionidnumber, r.answertext, r.answerposition, r.fraction)
           for r in rows}
    expected = {(userid, c["slot"]): (attempt["attemptid"], c["questionidnumber"], c["answertext"],
                                      c["answerposition"], pytest.approx(c["fraction"], abs=1e-6))
                for userid, attempt in made.items() for c in attempt["chosen"]}
    assert len(rows) == len(got) == len(expected)
    assert got == expected
    assert all((r.quizid, r.cmid, r.attempt) == (quiz.id, quiz.coursemodule, 1) and r.timefinish >= r.timestart
               for r in rows)
    instrument = course.curriculum.instrument(activity.instrument or "")
    statements = {i for s in quiz_sections(instrument) for i in s["questionidnumbers"]
                  if is_statement_idnumber(instrument, i)}
    assert {r.questionidnumber for r in rows} == statements   # description items carry no answer
    newest = max(r.timemodified for r in rows)
    assert list(site.plugin.iter_quiz_responses([quiz.id], since=newest + 1)) == []

    # The sync (with the same token) brings exactly these answers into the store, and a second sync none. Its
    # keyset reads serve only rows at least two seconds old (the plugin's settle window, 1.3.0): wait for it.
    time.sleep(2.5)
    sync_cohort(site, store, cohort_run["cohort"])
    synced = {(a["userid"], r["slot"]): r["answer_text"] for r in store.db["responses"].rows
              for a in [store.db["quiz_attempts"].get(r["attemptid"])] if a["quizid"] == quiz.id}
    assert synced == {key: value[2] for key, value in got.items()}
    before = store.db["responses"].count
    sync_cohort(site, store, cohort_run["cohort"])
    assert store.db["responses"].count == before


def test_a_capability_the_service_user_lacks_is_named(moodle, service_user_token, tmp_path):
    """A role without moodle/course:create: provisioning stops with an access error that names it."""
    token = service_user_token(without=("moodle/course:create",))
    site = Moodle(MoodleClient(moodle.url, token, allow_insecure_http=True))
    stamp = time.strftime("%Y%m%d%H%M%S") + f"{time.time_ns() % 1000:03d}"
    with Store(tmp_path / "mintqo.db") as store:
        import_roster(store, run_roster(tmp_path / "roster.csv", f"cap{stamp}.example"), f"2099-cap{stamp}")
        with pytest.raises(AccessDeniedError) as caught:
            provision(site, store, Config(), f"2099-cap{stamp}")
    assert caught.value.function == "core_course_create_courses"
    assert caught.value.errorcode == "nopermissions"
    assert "moodle/course:create" in str(caught.value) or "Create courses" in str(caught.value)
    assert token not in str(caught.value)


def test_invitations_reach_everyone_once(cohort_run):
    """No mail at provisioning; ``invite`` sends each person one German message, and never a second one."""
    from mintqo_lms.invite import invite

    site, store, cohort, plan = cohort_run["site"], cohort_run["store"], cohort_run["cohort"], cohort_run["result"].plan
    first = invite(site, store, cohort, site_url=site.client.url)
    assert first.ok, (first.failed, first.uncertain, first.stopped)
    assert sorted(first.sent) == sorted(p.email for p in plan.people.values())
    again = invite(site, store, cohort, site_url=site.client.url)
    assert again.ok and again.sent == [] and sorted(again.already) == sorted(first.sent)


def test_the_example_timetable_is_in_the_calendar(cohort_run):
    """Workshop dates become course events, deadlines quiz and assignment events, course dates follow them."""
    truth, plan = cohort_run["truth"], cohort_run["result"].plan
    trier = next(c for c in plan.courses if c.network_slug and "trier" in c.network_slug)
    events = truth.client.call("core_calendar_get_calendar_events", events={"courseids": [trier.moodle_id]},
                               options={"siteevents": 0, "userevents": 0, "timestart": 0,
                                        "timeend": 1798761600})["events"]
    workshop1 = next(e for e in events if e["name"].startswith("Workshop 1"))
    berlin = dt.timezone(dt.timedelta(hours=2))   # 17 June 2025 is summer time
    assert dt.datetime.fromtimestamp(workshop1["timestart"], berlin) == dt.datetime(2025, 6, 17, 15, 0, tzinfo=berlin)
    assert workshop1["timeduration"] == 3 * 3600
    assert {e["modulename"] for e in events} >= {"quiz", "assign"}
    [course] = truth.core.get_courses_by_field("id", trier.moodle_id)
    assert course.startdate <= workshop1["timestart"] < course.enddate
