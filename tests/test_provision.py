"""Provisioning against the sandbox Moodle: full cohort, idempotency, faults and converging re-runs."""

from __future__ import annotations

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

PROJECT = Path(__file__).resolve().parents[1]
EXAMPLE_ROSTER = PROJECT / "lms_templates" / "roster.example.csv"
WRITE_FUNCTIONS = {
    "core_course_create_categories", "core_course_create_courses", "core_course_update_courses",
    "core_user_create_users", "enrol_manual_enrol_users", "core_group_create_groups",
    "core_group_add_group_members", "local_mintqo_upsert_sections", "local_mintqo_upsert_activities",
    "local_mintqo_import_quiz",
}


@pytest.fixture
def sandbox():
    with Sandbox() as sb:
        yield sb


@pytest.fixture
def store(tmp_path):
    with Store(tmp_path / "mintqo.db") as s:
        yield s


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
    assert state["enrolments"] == {"student": 20 + 450, "teacher": 5, "manager": 2 * 21, "editingteacher": 20}
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
    ("local_mintqo_upsert_sections", 2, "exception"),
    ("local_mintqo_import_quiz", 3, "exception"),
    ("local_mintqo_import_quiz", 1, "reset"),
    ("local_mintqo_upsert_activities", 2, "exception"),
    ("local_mintqo_upsert_activities", 1, "reset"),
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
    ("core_course_get_courses_by_field", "exception"),
    ("core_enrol_get_enrolled_users", "exception"),
    ("core_group_get_course_groups", "http503"),
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
