"""The sandbox's ``local_mintqo_get_course_state`` against what core's reads and the store say of the same cohort."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from mintqo_lms.moodle import Moodle, MoodleClient
from mintqo_lms.moodle.errors import AccessDeniedError, InvalidParameterError, MissingRecordError
from mintqo_lms.provision import cohort_category_idnumber, cohort_course_idnumber
from mintqo_lms.sandbox import Sandbox
from mintqo_lms.store import Store

sys.path.insert(0, str(Path(__file__).resolve().parent / "realmoodle"))
from record_course_state import provision_example  # noqa: E402 - the recorder's own scenario

CATEGORY = cohort_category_idnumber("2025")


def test_one_call_answers_the_cohort_category_with_what_core_answers_per_course(world):
    sb, store, moodle = world
    mark = len(sb.calls)
    state = moodle.plugin.get_course_state(categoryidnumber=CATEGORY)
    assert list(sb.calls)[mark:] == ["local_mintqo_get_course_state"]

    assert [c.idnumber for c in state.categories] == [CATEGORY, "mintqo:root"]
    assert state.categories[0].parent == state.categories[1].id and state.categories[1].parent == 0
    courses = {row["idnumber"]: row for row in store.db["courses"].rows}
    assert state.total == 4 and {c.idnumber for c in state.courses} == set(courses)
    assert [c.id for c in state.courses] == sorted(c.id for c in state.courses)

    admin = moodle.core
    for course in state.courses:
        assert course.id == courses[course.idnumber]["moodle_id"]
        assert course.fullname == courses[course.idnumber]["fullname"]
        enrolled = {u.id: {r.shortname for r in u.roles}
                    for u in admin.get_enrolled_users(course.id, userfields=("id", "roles", "groups"))}
        assert {e.userid: {r.shortname for r in e.roles} for e in course.enrolments} == enrolled
        groups = {g.id: g.idnumber for g in admin.get_course_groups(course.id)}
        assert {g.id: g.idnumber for g in course.groups} == groups
        stored = {r["idnumber"]: r["cmid"] for r in store.db["activities"].rows_where(
            "course_idnumber = ?", [course.idnumber])}
        assert {a.idnumber: a.cmid for a in course.activities if a.idnumber in stored} == stored

    people = {row["idnumber"] for row in store.db["people"].rows}
    assert {u.idnumber for u in state.users} == people          # the staff member through the category role
    staff = next(store.db["people"].rows_where("email = ?", ["stefan.brueckner@mint-qualitaetsoffensive.example"]))
    assert [(r.userid, r.shortname) for r in state.categoryroles] == [(staff["moodle_user_id"], "manager")]
    assert all(u.email for u in state.users)


def test_names_are_raw_and_quizzes_list_their_questions_in_slot_order(world):
    sb, store, moodle = world
    from mintqo_lms.config import Config
    from mintqo_lms.provision import Provisioner

    desired = {c.idnumber: c for c in Provisioner(moodle, store, Config()).desired_courses("2025")}
    state = moodle.plugin.get_course_state(categoryidnumber=CATEGORY)
    ruhr = next(c for c in state.courses if "ruhr" in c.idnumber)
    assert "&" in ruhr.fullname and "&amp;" not in ruhr.fullname
    assert ruhr.fullname == desired[ruhr.idnumber].fullname
    # Core formats names on the way out; this answer does not.
    formatted = moodle.client.call("core_course_get_courses_by_field", field="id", value=ruhr.id)["courses"][0]
    assert "&amp;" in formatted["fullname"]

    for course in state.courses:
        wanted = desired[course.idnumber].content
        sections = {s.section: s.name for s in course.sections}
        assert all(sections[s["section"]] == s["name"] for s in wanted["sections"])
        quizzes = {q.idnumber: q for q in course.quizzes}
        assert set(quizzes) == {q["idnumber"] for q in wanted["quizzes"]}
        for quiz in wanted["quizzes"]:
            order = [qid for section in quiz["sections"] for qid in section["questionidnumbers"]]
            assert quizzes[quiz["idnumber"]].questions == order
            assert quizzes[quiz["idnumber"]].attempts == 1
        activities = {a.idnumber: a for a in course.activities}
        for item in wanted["activities"]:
            assert activities[item["idnumber"]].name == item["name"]
            assert activities[item["idnumber"]].modname == item["modname"]
            assert activities[item["idnumber"]].section == item["section"]
            # Attendance is marked by coordinator or staff only.
            assert activities[item["idnumber"]].selfcompletion == item.get("selfcompletion", 1)


def test_pages_by_course_and_selection_by_id_and_idnumber(world):
    sb, store, moodle = world
    whole = moodle.plugin.get_course_state(categoryidnumber=CATEGORY)
    mark = len(sb.calls)
    paged = moodle.plugin.get_course_state(categoryidnumber=CATEGORY, page_size=1)
    assert len(sb.calls) - mark == 4
    assert paged == whole

    first = moodle.client.call("local_mintqo_get_course_state", categoryidnumber=CATEGORY, limitfrom=3, limitnum=2)
    assert first["total"] == 4 and len(first["courses"]) == 1
    assert {u["id"] for u in first["users"]} <= {u.id for u in whole.users}

    cohort = whole.courses[0]
    other = moodle.core.create_courses([{"fullname": "Andere", "shortname": "andere", "categoryid": 1,
                                         "idnumber": "fremd"}])[0]
    picked = moodle.plugin.get_course_state(courseids=[other.id, cohort.id],
                                            courseidnumbers=[cohort_course_idnumber("2025"), "fremd", "unbekannt"])
    assert [c.id for c in picked.courses] == sorted({other.id, cohort.id}
                                                    | {c.id for c in whole.courses
                                                       if c.idnumber == cohort_course_idnumber("2025")})
    assert picked.categories == [] and picked.categoryroles == []

    nothing = moodle.plugin.get_course_state(categoryidnumber="mintqo:category:1999")
    assert nothing.total == 0 and nothing.courses == [] and nothing.categories == []


@pytest.mark.parametrize("limits", [{"limitnum": 0}, {"limitnum": 201}, {"limitfrom": -1}])
def test_bad_paging_is_invalid_parameter(world, limits):
    _, _, moodle = world
    with pytest.raises(InvalidParameterError):
        moodle.client.call("local_mintqo_get_course_state", categoryidnumber=CATEGORY, **limits)


def test_a_missing_course_is_a_missing_record(world):
    _, _, moodle = world
    with pytest.raises(MissingRecordError):
        moodle.plugin.get_course_state(courseids=[99999])


def test_capabilities_like_the_core_reads_it_replaces(world):
    sb, store, moodle = world
    course = store.db["courses"].get(cohort_course_idnumber("2025"))["moodle_id"]
    sb.deny_capability("moodle/site:viewuseridentity")
    assert not any(u.email for u in moodle.plugin.get_course_state(categoryidnumber=CATEGORY).users)
    sb.deny_capability("moodle/course:managegroups", course)
    with pytest.raises(AccessDeniedError, match="Manage groups"):
        moodle.plugin.get_course_state(categoryidnumber=CATEGORY)
    sb.deny_capability("moodle/role:assign")
    with pytest.raises(AccessDeniedError, match="nopermissions"):
        moodle.plugin.get_course_state(categoryidnumber=CATEGORY)


# -- what real sites answered (recordings/…/11_course_state.json, tests/realmoodle/record_course_state.py) ----------

RECORDINGS = Path(__file__).resolve().parent / "data" / "moodle" / "recordings"
RECORDED = {release: folder / "11_course_state.json" for release, folder in
            {"4.4": RECORDINGS, "5.0": RECORDINGS / "5.0", "5.1": RECORDINGS / "5.1"}.items()}


def comparable(answer: dict) -> dict:
    """The answer without the ids a site hands out: users by idnumber, activities and groups by idnumber."""
    users = {u["id"]: u["idnumber"] for u in answer["users"]}
    categories = {c["id"]: c["idnumber"] for c in answer["categories"]}

    def course(c: dict) -> dict:
        return {
            **{k: c[k] for k in ("idnumber", "shortname", "fullname", "summary", "summaryformat", "visible",
                                 "startdate", "enddate", "format")},
            "category": categories.get(c["category"]),
            "sections": [{k: s[k] for k in ("section", "name", "summary", "visible")} for s in c["sections"]],
            "activities": sorted(({k: v for k, v in a.items() if k not in ("cmid", "instance")}
                                  for a in c["activities"]), key=lambda a: (a["idnumber"], a["modname"])),
            "quizzes": sorted(({k: v for k, v in q.items() if k not in ("cmid", "quizid")} for q in c["quizzes"]),
                              key=lambda q: q["idnumber"]),
            "groups": sorted(({"idnumber": g["idnumber"], "name": g["name"],
                               "members": sorted(users[m] for m in g["members"])} for g in c["groups"]),
                             key=lambda g: g["name"]),
            "enrolments": sorted((users[e["userid"]], e["status"], sorted(r["shortname"] for r in e["roles"]))
                                 for e in c["enrolments"]),
        }

    return {
        "categories": [{k: c[k] for k in ("idnumber", "name", "visible")} for c in answer["categories"]],
        "categoryroles": sorted((users[r["userid"]], r["shortname"]) for r in answer["categoryroles"]),
        "courses": sorted((course(c) for c in answer["courses"]), key=lambda c: c["idnumber"]),
        "users": sorted((u["idnumber"], u["username"], u["email"], u["suspended"]) for u in answer["users"]),
        "total": answer["total"],
    }


@pytest.mark.parametrize("release", sorted(RECORDED))
def test_the_sandbox_answers_what_the_real_site_answered(release, tmp_path):
    if not RECORDED[release].exists():
        pytest.fail(f"no recording {RECORDED[release]} (tests/realmoodle/record_course_state.py makes it)")
    recorded = json.loads(RECORDED[release].read_text(encoding="utf-8"))
    with Sandbox(release=release) as sb, Store(tmp_path / "s.db") as store:
        moodle = Moodle(MoodleClient(sb.url, sb.admin_token))
        provision_example(moodle, store, recorded["cohort"], recorded["domain"], tmp_path)
        answer = moodle.client.call("local_mintqo_get_course_state", **recorded["request"])
    assert comparable(answer) == comparable(recorded["answer"])
