"""Provisioning against the sandbox Moodle: full cohort, idempotency, faults and converging re-runs."""

from __future__ import annotations

import datetime as dt
import re
import shutil
from collections import Counter
from pathlib import Path

import pytest

from mintqo_lms.config import Config
from mintqo_lms.moodle import Moodle, MoodleClient
from mintqo_lms.moodle.errors import MoodleError
from mintqo_lms.programme import import_roster, person_idnumber
from mintqo_lms.provision import ProvisionError, cohort_course_idnumber, provision
from mintqo_lms.samples import write_synthetic_roster
from mintqo_lms.sandbox import Sandbox
from mintqo_lms.store import Store
from mintqo_lms.templates import TemplateError
from mintqo_lms.timetable import TIMEZONE, import_timetable

PROJECT = Path(__file__).resolve().parents[1]
EXAMPLE_ROSTER = PROJECT / "lms_templates" / "roster.example.csv"
WRITE_FUNCTIONS = {
    "core_course_create_categories", "core_course_create_courses", "core_course_update_courses",
    "core_user_create_users", "enrol_manual_enrol_users", "core_group_create_groups",
    "core_group_add_group_members", "local_mintqo_upsert_sections", "local_mintqo_upsert_activities",
    "local_mintqo_import_quiz", "local_mintqo_configure_courses", "local_mintqo_upsert_events",
    "core_role_assign_roles", "local_mintqo_upsert_course_content",
}
EXAMPLE_TIMETABLE = PROJECT / "lms_templates" / "timetable.example.csv"


def site(sb: Sandbox, *, admin: bool = False, retries: int = 0) -> Moodle:
    return Moodle(MoodleClient(sb.url, sb.admin_token if admin else sb.token, retries=retries, backoff=0.0))


def snapshot(sb: Sandbox, store: Store, cohort: str = "2025") -> dict:
    """What Moodle holds for the cohort, read through the admin token: counts that must converge."""
    admin = site(sb, admin=True)
    courses = [row["moodle_id"] for row in store.db["courses"].rows_where("cohort = ?", [cohort])]
    people = [row["idnumber"] for row in store.db["people"].rows]
    users = admin.core.get_users_by_field("idnumber", people)
    enrolments, groups, memberships, modules = Counter(), Counter(), 0, Counter()
    for courseid in courses:
        for user in admin.core.get_enrolled_users(courseid, userfields=("id", "roles", "groups")):
            enrolments.update(role.shortname for role in user.roles)
            memberships += len(user.groups)
        groups.update(g.idnumber for g in admin.core.get_course_groups(courseid))
        for section in admin.core.get_contents(courseid):
            modules.update(m.modname for m in section.modules)
    return {"courses": len(courses), "users": len(users), "enrolments": dict(enrolments),
            "groups": len(groups), "duplicate_groups": [k for k, v in groups.items() if v > 1],
            "memberships": memberships, "modules": dict(modules)}


def category_managers(sb: Sandbox, store: Store, cohort: str = "2025") -> set[int]:
    from mintqo_lms.sandbox.core_role import category_roles

    category = sb.site.find_one("course_categories", idnumber=f"mintqo:category:{cohort}")
    return {r["userid"] for r in category_roles(sb.site, category["id"]) if r["roleid"] == 1}


def writes(sb: Sandbox, since: int = 0) -> Counter:
    return Counter(name for name in list(sb.calls)[since:] if name in WRITE_FUNCTIONS)


def test_full_cohort_is_provisioned_with_calls_growing_with_courses_not_people(sandbox, store, tmp_path):
    roster = write_synthetic_roster(tmp_path / "roster.csv", coordinators=20, initiatives=150,
                                    members_per_initiative=3, buddies=5, staff=2)
    import_roster(store, roster, "2025")
    result = provision(site(sandbox), store, Config(), "2025")

    state = snapshot(sandbox, store)
    assert state["courses"] == 21                       # the cohort course + one regional course per network
    assert state["users"] == 20 + 450 + 5 + 2
    assert state["enrolments"] == {"student": 20 + 450, "teacher": 5, "editingteacher": 20}   # staff: category role
    assert len(category_managers(sandbox, store)) == 2
    assert state["groups"] == 150 + 5                   # one per initiative, one per buddy tandem
    assert state["duplicate_groups"] == []
    assert state["memberships"] == 450 + 5 * 2
    assert state["modules"]["quiz"] == 20 * 2           # two self-analyses per regional course
    # Calls grow with the number of courses (21), not with the 477 people.
    assert result.calls <= 12 * 21
    run = store.db["sync_runs"].get(result.run_id)
    assert run["status"] == "ok" and "core_user_create_users" in run["calls"]


def test_second_run_plans_and_does_nothing(sandbox, store):
    import_roster(store, EXAMPLE_ROSTER, "2025")
    moodle = site(sandbox)
    provision(moodle, store, Config(), "2025")
    before = snapshot(sandbox, store)
    mark = len(sandbox.calls)
    second = provision(moodle, store, Config(), "2025")
    assert not second.plan.has_work
    assert writes(sandbox, mark) == Counter()
    assert snapshot(sandbox, store) == before
    assert store.db["sync_runs"].count == 2


def test_dry_run_reads_only_and_shows_the_plan(sandbox, store):
    import_roster(store, EXAMPLE_ROSTER, "2025")
    result = provision(site(sandbox), store, Config(), "2025", dry_run=True)
    assert writes(sandbox) == Counter()
    counts = result.plan.counts()
    assert counts["course"]["create"] == 4 and counts["user"]["create"] == 20
    assert "course" in result.plan.table() and "create" in result.plan.table()
    assert store.db["sync_runs"].get(result.run_id)["status"] == "planned"


def test_roster_changes_are_applied_on_the_next_run(sandbox, store, tmp_path):
    import_roster(store, EXAMPLE_ROSTER, "2025")
    provision(site(sandbox), store, Config(), "2025")
    text = EXAMPLE_ROSTER.read_text(encoding="utf-8") + (
        "Initiative;Neu;Mitglied;neu.mitglied@forscherwerkstatt.example;MINT-Region Trier;;"
        "Forscherwerkstatt Saarburg;Forscher-AG Klasse 3–4;;\n")
    grown = tmp_path / "grown.csv"
    grown.write_text(text, encoding="utf-8")
    import_roster(store, grown, "2025")
    mark = len(sandbox.calls)
    result = provision(site(sandbox), store, Config(), "2025")
    assert result.applied == Counter({"user created": 1, "enrolment created": 1, "membership created": 1})
    assert writes(sandbox, mark) == Counter({"core_user_create_users": 1, "enrol_manual_enrol_users": 1,
                                             "core_group_add_group_members": 1})


# -- faults: every kind of call fails once; the next run converges ---------------------------------

FAULTS = [
    ("core_course_get_categories", 1, "exception"),
    ("core_course_create_categories", 2, "exception"),
    ("core_course_create_courses", 1, "exception"),
    ("core_user_get_users_by_field", 1, "http503"),
    ("core_user_get_users_by_field", 2, "exception"),
    ("core_user_create_users", 1, "exception"),
    ("core_user_create_users", 1, "reset"),
    ("local_mintqo_get_site_languages", 1, "exception"),
    ("enrol_manual_enrol_users", 1, "exception"),
    ("enrol_manual_enrol_users", 1, "reset"),
    ("core_group_create_groups", 1, "exception"),
    ("core_group_create_groups", 1, "reset"),
    ("core_group_add_group_members", 1, "exception"),
    ("local_mintqo_configure_courses", 1, "exception"),
    ("local_mintqo_upsert_course_content", 1, "exception"),
    ("local_mintqo_upsert_course_content", 1, "reset"),
    ("local_mintqo_upsert_course_content", 2, "exception"),
    ("local_mintqo_upsert_course_content", 2, "reset"),
]


@pytest.fixture(scope="module")
def clean_state(tmp_path_factory):
    """The state a fault-free run reaches, to compare converged runs with."""
    tmp = tmp_path_factory.mktemp("clean")
    with Sandbox() as sb, Store(tmp / "clean.db") as store:
        import_roster(store, EXAMPLE_ROSTER, "2025")
        provision(site(sb), store, Config(), "2025")
        return snapshot(sb, store)


@pytest.mark.parametrize(("function", "nth", "kind"), FAULTS)
def test_a_fault_on_any_call_is_followed_by_a_converging_rerun(sandbox, store, clean_state, function, nth, kind):
    import_roster(store, EXAMPLE_ROSTER, "2025")
    # "reset" lets Moodle apply the call and then loses the answer: the worst case for duplicates.
    sandbox.faults.add(function, nth=nth, kind=kind, execute=(kind == "reset"))
    with pytest.raises(MoodleError):
        provision(site(sandbox), store, Config(), "2025")
    assert store.db["sync_runs"].get(1)["status"] == "failed"
    provision(site(sandbox), store, Config(), "2025")
    assert snapshot(sandbox, store) == clean_state
    mark = len(sandbox.calls)
    assert not provision(site(sandbox), store, Config(), "2025").plan.has_work
    assert writes(sandbox, mark) == Counter()


@pytest.mark.parametrize(("function", "kind"), [
    ("local_mintqo_get_course_state", "exception"),
    ("local_mintqo_get_course_state", "http503"),
    ("core_user_get_users_by_field", "exception"),
    ("core_user_create_users", "reset"),
    ("enrol_manual_enrol_users", "exception"),
    ("core_group_add_group_members", "reset"),
])
def test_a_fault_while_updating_an_existing_cohort_converges(sandbox, store, tmp_path, function, kind):
    """The reads of an existing site, and the writes of a grown roster, fail once; the next run converges."""
    import_roster(store, EXAMPLE_ROSTER, "2025")
    provision(site(sandbox), store, Config(), "2025")
    grown = tmp_path / "grown.csv"
    grown.write_text(EXAMPLE_ROSTER.read_text(encoding="utf-8") + (
        "Initiative;Neu;Mitglied;neu.mitglied@robotik-mosel.example;MINT-Region Trier;;"
        "Robotik-Club Mosel e. V.;Roboter-Ferienkurs;;\n"), encoding="utf-8")
    import_roster(store, grown, "2025")
    sandbox.faults.add(function, nth=1, kind=kind, execute=(kind == "reset"))
    with pytest.raises(MoodleError):
        provision(site(sandbox), store, Config(), "2025")
    provision(site(sandbox), store, Config(), "2025")
    state = snapshot(sandbox, store)
    assert state["users"] == 21 and state["enrolments"]["student"] == 19 and state["memberships"] == 18
    assert not provision(site(sandbox), store, Config(), "2025").plan.has_work


# -- what real sites throw at us --------------------------------------------------------------------

def test_missing_german_language_pack_falls_back_and_says_why(store):
    with Sandbox(german_language_pack=False) as sb:
        import_roster(store, EXAMPLE_ROSTER, "2025")
        result = provision(site(sb), store, Config(), "2025")
        assert any("no 'de' language pack" in w for w in result.plan.warnings)
        users = site(sb, admin=True).core.get_users_by_field("idnumber", [person_idnumber(
            "oezlem.kaya@mint-netz-ruhr.example")])
        assert users[0].lang == "en"


def test_existing_accounts_and_hand_made_groups_are_adopted_not_duplicated(sandbox, store):
    admin = site(sandbox, admin=True)
    admin.core.create_users([{"username": "o.kaya", "auth": "manual", "password": "Lern#Pfad2025!",
                              "firstname": "Özlem", "lastname": "Kaya", "email": "oezlem.kaya@mint-netz-ruhr.example"}])
    import_roster(store, EXAMPLE_ROSTER, "2025")
    provision(site(sandbox), store, Config(), "2025")
    found = admin.core.get_users_by_field("email", ["oezlem.kaya@mint-netz-ruhr.example"])
    assert [u.username for u in found] == ["o.kaya"]


def test_username_taken_by_someone_else_is_named(sandbox, store):
    site(sandbox, admin=True).core.create_users([{
        "username": "lea.schaefer@forscherwerkstatt.example", "auth": "manual", "password": "Lern#Pfad2025!",
        "firstname": "Andere", "lastname": "Person", "email": "andere@example.org"}])
    import_roster(store, EXAMPLE_ROSTER, "2025")
    with pytest.raises(ProvisionError, match="username 'lea.schaefer@forscherwerkstatt.example' belongs to another"):
        provision(site(sandbox), store, Config(), "2025")


def test_a_broken_template_stops_before_any_call(sandbox, store, tmp_path):
    templates = tmp_path / "templates"
    shutil.copytree(PROJECT / "lms_templates", templates)
    path = templates / "curriculum" / "qualification.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("type: page", "type: forum", 1), encoding="utf-8")
    import_roster(store, EXAMPLE_ROSTER, "2025")
    config = Config()
    config.programme.templates_dir = templates
    with pytest.raises(TemplateError) as caught:
        provision(site(sandbox), store, config, "2025")
    assert "qualification.yaml" in str(caught.value) and "forum" in str(caught.value)
    assert writes(sandbox) == Counter()


def test_an_edited_instrument_sends_the_courses_with_its_quiz_again_and_then_nothing(sandbox, store, tmp_path):
    # The content fingerprint names a quiz's XML by its hash: an edit in the instrument must still be found.
    templates = tmp_path / "templates"
    shutil.copytree(PROJECT / "lms_templates", templates)
    config = Config()
    config.programme.templates_dir = templates
    import_roster(store, EXAMPLE_ROSTER, "2025")
    first = provision(site(sandbox), store, config, "2025")
    regional = [c.idnumber for c in first.plan.courses if c.network_slug]
    path = templates / "selfanalysis" / "v1.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("knüpft an die Interessen", "knüpft an die Fragen", 1), encoding="utf-8")

    mark = len(sandbox.calls)
    edited = provision(site(sandbox), store, config, "2025")
    assert {c.key for c in edited.plan.changes if c.kind == "content" and c.action != "unchanged"} == set(regional)
    assert edited.applied["content updated"] == len(regional) and writes(sandbox, mark)["local_mintqo_upsert_course_content"]
    mark = len(sandbox.calls)
    again = provision(site(sandbox), store, config, "2025")
    assert not again.plan.has_work and writes(sandbox, mark) == Counter()


def test_unknown_cohort_is_a_clear_error(sandbox, store):
    with pytest.raises(MoodleError.__mro__[1], match="no roster yet"):
        provision(site(sandbox), store, Config(), "2031")


def test_course_completion_criteria_follow_the_template(sandbox, store):
    import_roster(store, EXAMPLE_ROSTER, "2025")
    provision(site(sandbox), store, Config(), "2025")
    courseid = store.db["courses"].get(cohort_course_idnumber("2025"))["moodle_id"]
    coordinator = store.db["people"].rows_where("email = ?", ["hannah.gross@mint-erzgebirge.example"])
    userid = next(coordinator)["moodle_user_id"]
    status = site(sandbox, admin=True).core.get_course_completion_status(courseid, userid)
    assert status.completed is False  # criteria exist (no "nocriteriaset" error) and are not met yet


def test_people_remove_unenrols_explicitly_and_provisioning_does_not_undo_it(sandbox, store):
    from mintqo_lms.programme import remove_member

    import_roster(store, EXAMPLE_ROSTER, "2025")
    provision(site(sandbox), store, Config(), "2025")
    before = snapshot(sandbox, store)
    assert remove_member(site(sandbox), store, "lea.schaefer@forscherwerkstatt.example", "2025") == 1
    after = snapshot(sandbox, store)
    assert after["enrolments"]["student"] == before["enrolments"]["student"] - 1
    assert after["users"] == before["users"]  # the account stays
    mark = len(sandbox.calls)
    assert not provision(site(sandbox), store, Config(), "2025").plan.has_work
    assert writes(sandbox, mark) == Counter()


# -- issue 17: dates from the timetable, order, names, roles, accounts -------------------------------

def local_time(*args: int) -> int:
    return int(dt.datetime(*args, tzinfo=TIMEZONE).timestamp())


def course_id(store: Store, idnumber: str) -> int:
    return store.db["courses"].get(idnumber)["moodle_id"]


def cm_of(sb: Sandbox, store: Store, course_idnumber: str, key: str) -> dict:
    row = next(r for r in store.db["activities"].rows_where("course_idnumber = ?", [course_idnumber])
               if r["idnumber"].endswith(f":{key}"))
    return sb.site.tables["course_modules"][row["cmid"]]


def instance_of(sb: Sandbox, cm: dict) -> dict:
    return sb.site.tables[cm["modname"]][cm["instance"]]


TRIER = "mintqo:region:2025:mint-region-trier"


def provisioned_with_timetable(sb: Sandbox, store: Store, timetable: Path = EXAMPLE_TIMETABLE):
    import_roster(store, EXAMPLE_ROSTER, "2025")
    import_timetable(store, timetable, "2025")
    return provision(site(sb), store, Config(), "2025")


def test_the_timetable_reaches_sections_calendar_activities_and_course_dates(sandbox, store):
    provisioned_with_timetable(sandbox, store)
    trier = course_id(store, TRIER)
    contents = site(sandbox, admin=True).core.get_contents(trier)
    workshop1 = next(s for s in contents if s.section == 1)
    assert ("Termin: Di, 17.06.2025, 15:00–18:00 Uhr, Ort: Wissenschaftspark Trier, Seminarraum 2"
            in " ".join(re.sub(r"<[^>]+>", "", workshop1.summary).split()))
    events = sorted(sandbox.site.find("event", courseid=trier), key=lambda e: e["timestart"])
    assert [(e["name"], e["timestart"], e["timeduration"], e["location"]) for e in events] == [
        ("Workshop 1: Einführung in die Selbstanalyse", local_time(2025, 6, 17, 15), 3 * 3600,
         "Wissenschaftspark Trier, Seminarraum 2"),
        ("Workshop 2: Ergebnisse und Verbesserungspotenziale", local_time(2025, 9, 9, 15), 3 * 3600,
         "Wissenschaftspark Trier, Seminarraum 2"),
        ("Workshop 3: Austausch und Ausblick", local_time(2025, 11, 18, 15), 3 * 3600,
         "Wissenschaftspark Trier, Seminarraum 2")]
    quiz = instance_of(sandbox, cm_of(sandbox, store, TRIER, "selbstanalyse-1"))
    assert (quiz["timeopen"], quiz["timeclose"]) == (local_time(2025, 6, 18), local_time(2025, 9, 2, 23, 59))
    plan = instance_of(sandbox, cm_of(sandbox, store, TRIER, "ws2-massnahmenplan"))
    assert plan["duedate"] == local_time(2025, 9, 30, 23, 59) and plan["teamsubmission"] == 1
    attendance = cm_of(sandbox, store, TRIER, "ws1-teilnahme")
    assert attendance["completionexpected"] == local_time(2025, 6, 17, 18)   # the workshop in the timeline
    course = sandbox.site.tables["course"][trier]
    assert (course["startdate"], course["enddate"]) == (local_time(2025, 6, 17), local_time(2025, 12, 12, 23, 59))
    cohort = course_id(store, cohort_course_idnumber("2025"))
    rounds = [e["name"] for e in sandbox.site.find("event", courseid=cohort) if e["name"].startswith("Kollegiale")]
    assert sorted(rounds) == [f"Kollegiale Runden – Termin {n}" for n in (1, 2, 3)]
    assert sandbox.site.tables["course"][cohort]["startdate"] == local_time(2025, 1, 30)


def test_a_moved_date_moves_only_that_and_an_unchanged_timetable_writes_nothing(sandbox, store, tmp_path):
    provisioned_with_timetable(sandbox, store)
    mark = len(sandbox.calls)
    again = provision(site(sandbox), store, Config(), "2025")
    assert not again.plan.has_work and writes(sandbox, mark) == Counter()
    moved = tmp_path / "termine.csv"
    moved.write_text(EXAMPLE_TIMETABLE.read_text(encoding="utf-8").replace(
        "MINT-Region Trier;workshop-2;09.09.2025 15:00", "MINT-Region Trier;workshop-2;10.09.2025 15:00"),
        encoding="utf-8")
    import_timetable(store, moved, "2025")
    mark = len(sandbox.calls)
    result = provision(site(sandbox), store, Config(), "2025")
    assert result.applied == Counter({"content updated": 1})     # one course, nothing else
    assert [c.key for c in result.plan.changes if c.action != "unchanged"] == [TRIER]
    assert result.content_items["calendar events updated"] == 1
    assert result.content_items["sections updated"] == 1
    trier = course_id(store, TRIER)
    assert local_time(2025, 9, 10, 15) in {e["timestart"] for e in sandbox.site.find("event", courseid=trier)}
    assert writes(sandbox, mark) == Counter({"local_mintqo_configure_courses": 1,
                                             "local_mintqo_upsert_course_content": 1})
    mark = len(sandbox.calls)
    assert not provision(site(sandbox), store, Config(), "2025").plan.has_work
    assert writes(sandbox, mark) == Counter()


def test_a_moved_course_boundary_updates_the_course_dates(sandbox, store, tmp_path):
    provisioned_with_timetable(sandbox, store)
    later = tmp_path / "termine.csv"
    later.write_text(EXAMPLE_TIMETABLE.read_text(encoding="utf-8").replace(
        "MINT-Region Trier;workshop-1;17.06.2025 15:00", "MINT-Region Trier;workshop-1;18.06.2025 15:00"),
        encoding="utf-8")
    import_timetable(store, later, "2025")
    result = provision(site(sandbox), store, Config(), "2025")
    assert result.applied == Counter({"course updated": 1, "content updated": 1})
    assert sandbox.site.tables["course"][course_id(store, TRIER)]["startdate"] == local_time(2025, 6, 18)


def test_instructions_before_the_quiz_and_the_welcome_text_on_the_course_page(sandbox, store):
    provisioned_with_timetable(sandbox, store)
    contents = {s.section: s for s in site(sandbox, admin=True).core.get_contents(course_id(store, TRIER))}
    names = lambda n: [m.name for m in contents[n].modules]  # noqa: E731
    assert names(2) == ["So füllen Sie die Selbstanalyse aus", "Selbstanalyse nach dem Orientierungsrahmen",
                        "Unsere Antworten im Team: Selbstanalyse nach dem Orientierungsrahmen"]
    assert names(5) == ["Austausch und Ausblick", "Teilnahme an Workshop 3", "Zweite Selbstanalyse (freiwillig)",
                        "Unsere Antworten im Team: Zweite Selbstanalyse (freiwillig)"]
    quiz_cmid = next(m.id for m in contents[2].modules if m.modname == "quiz")
    team_page = instance_of(sandbox, sandbox.site.tables["course_modules"][contents[2].modules[2].id])
    assert team_page["externalurl"] == f"{sandbox.url}/local/mintqo/team.php?id={quiz_cmid}"
    welcome = [m for m in contents[0].modules if m.modname == "label"]
    assert len(welcome) == 1
    label = instance_of(sandbox, sandbox.site.tables["course_modules"][welcome[0].id])
    assert "Willkommen im Workshop-Zyklus Ihres MINT-Netzwerks" in label["intro"]


def test_the_second_analysis_has_no_completion_tracking_and_each_quiz_one_attempt(sandbox, store):
    provisioned_with_timetable(sandbox, store)
    assert cm_of(sandbox, store, TRIER, "selbstanalyse-2")["completion"] == 0
    assert cm_of(sandbox, store, TRIER, "selbstanalyse-1")["completion"] == 2
    quizzes = sandbox.site.tables["quiz"]
    for key in ("selbstanalyse-1", "selbstanalyse-2"):
        quiz = quizzes[cm_of(sandbox, store, TRIER, key)["instance"]]
        assert quiz["attempts"] == 1 and quiz["grade"] == 0
        assert "niemand bewertet Sie von außen" in quiz["intro"]   # the instrument's description reaches the quiz


def test_the_second_analysis_is_no_criterion_and_attendance_is_not_self_marked(sandbox, store):
    provisioned_with_timetable(sandbox, store)
    trier = course_id(store, TRIER)
    criteria = {c["moduleinstance"] for c in sandbox.site.find("course_completion_criteria", course=trier)}
    assert cm_of(sandbox, store, TRIER, "selbstanalyse-1")["id"] in criteria
    assert cm_of(sandbox, store, TRIER, "selbstanalyse-2")["id"] not in criteria
    for key in ("ws1-teilnahme", "ws2-teilnahme", "ws3-teilnahme"):
        assert cm_of(sandbox, store, TRIER, key)["togglecompletion_prevented"] == 1
    cohort = cohort_course_idnumber("2025")
    assert cm_of(sandbox, store, cohort, "kickoff-teilnahme")["togglecompletion_prevented"] == 1
    assert cm_of(sandbox, store, cohort, "kollegiale-runden-teilnahme")["togglecompletion_prevented"] == 0


def test_readable_unique_short_names_german_news_forum_and_no_welcome_mail(store):
    with Sandbox(release="5.0") as sb:
        provisioned_with_timetable(sb, store)
        shortnames = {c.shortname for c in site(sb, admin=True).core.get_courses_by_field(
            "category", store.db["courses"].get(TRIER)["moodle_id"] and sb.site.find_one(
                "course_categories", idnumber="mintqo:category:2025")["id"])}
        assert shortnames == {"MINT-QO 2025 Qualifizierung", "MINT-QO 2025 Trier", "MINT-QO 2025 Ruhr & Emscher",
                              "MINT-QO 2025 Erzgebirge"}
        for row in store.db["courses"].rows:
            forums = [sb.site.tables["forum"][cm["instance"]] for cm in
                      sb.site.find("course_modules", course=row["moodle_id"], modname="forum")]
            assert [f["name"] for f in forums if f.get("type") == "news"] == ["Ankündigungen"]
            assert sb.site.tables["course"][row["moodle_id"]]["manual_welcome"] == 0
            # Regional courses: coordinators cannot unenrol anyone (enrolments follow the roster).
            locked = sb.site.tables["course"][row["moodle_id"]].get("enrolments_locked", 0)
            assert locked == (1 if row["network_slug"] else 0)


def test_networks_with_the_same_short_name_keep_unique_short_names(sandbox, store, tmp_path):
    roster = tmp_path / "roster.csv"
    roster.write_text(EXAMPLE_ROSTER.read_text(encoding="utf-8") + (
        "Koordination;Nina;Berg;nina.berg@mint-netz-trier.example;MINT-Netzwerk Trier;Rheinland-Pfalz;;;;\n"),
        encoding="utf-8")
    import_roster(store, roster, "2025")
    plan = provision(site(sandbox), store, Config(), "2025", dry_run=True).plan
    names = sorted(c.shortname for c in plan.courses if "Trier" in c.shortname)
    assert names == ["MINT-QO 2025 MINT-Netzwerk Trier", "MINT-QO 2025 MINT-Region Trier"]


def test_staff_are_managers_of_the_cohort_category_not_enrolled(sandbox, store):
    provisioned_with_timetable(sandbox, store)
    staff = next(store.db["people"].rows_where("email = ?",
                                               ["stefan.brueckner@mint-qualitaetsoffensive.example"]))
    assert category_managers(sandbox, store) == {staff["moodle_user_id"]}
    assert "manager" not in snapshot(sandbox, store)["enrolments"]
    mark = len(sandbox.calls)
    assert not provision(site(sandbox), store, Config(), "2025").plan.has_work
    assert writes(sandbox, mark) == Counter()


def test_accounts_are_created_without_any_mail_and_the_password_is_kept_nowhere(sandbox, store, monkeypatch):
    from mintqo_lms.moodle.api import CoreAPI

    sent: list[dict] = []
    original = CoreAPI.create_users

    def spy(self, users):
        sent.extend(users)
        return original(self, users)

    monkeypatch.setattr(CoreAPI, "create_users", spy)
    result = provisioned_with_timetable(sandbox, store)
    assert len(sent) == 20 and all("createpassword" not in u for u in sent)
    passwords = {u["password"] for u in sent}
    assert len(passwords) == 20 and all(len(p) >= 40 for p in passwords)
    dump = "\n".join(str(row) for table in store.db.table_names() for row in store.db[table].rows)
    assert not any(p in dump for p in passwords)
    assert not any(p in str(result.plan.changes) for p in passwords)
