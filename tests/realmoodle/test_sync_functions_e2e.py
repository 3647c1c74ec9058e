"""local_mintqo 1.3.0 sync functions against a real Moodle: keyset paging, enrolment digests, completion overrides.

One course per module run (unique shortname) with messy names (``&``, quotes, apostrophes, umlauts). Reads with a
cursor serve rows only once they are ``SETTLE_SECONDS`` old, so the tests wait that long before reading what they
just wrote.
"""

from __future__ import annotations

import os
import time
import uuid

import pytest

from mintqo_lms.moodle.client import MoodleClient
from mintqo_lms.moodle.errors import MoodleError
from mintqo_lms.moodle.plugin import PluginAPI
from mintqo_lms.moodle.syncpages import enrolment_digest
from mintqo_lms.sandbox.plugin_sync import SETTLE_SECONDS

pytestmark = pytest.mark.realmoodle

STUDENT, TEACHER = 5, 3


def settle() -> None:
    time.sleep(SETTLE_SECONDS + 1.5)


@pytest.fixture(scope="module")
def api(moodle):
    return PluginAPI(moodle)


@pytest.fixture(scope="module")
def site(moodle, api):
    """A course with four students, a teacher, two groups and two staff-marked pages."""
    run = uuid.uuid4().hex[:10]
    course = moodle.call("core_course_create_courses", courses=[{
        "fullname": f"Regionalkurs „Ümläute“ & \"Quotes\" {run}", "shortname": f"mintqo-sync-{run}",
        "categoryid": 1, "enablecompletion": 1, "format": "topics", "numsections": 1}])[0]["id"]
    users = moodle.call("core_user_create_users", users=[{
        "username": f"sync{run}{i}", "firstname": "Jörg & Söhne", "lastname": f"O'Brien \"{i}\"",
        "email": f"sync{run}{i}@example.invalid", "password": "Sync-pass-1!x"} for i in range(5)])
    students, teacher = [u["id"] for u in users[:4]], users[4]["id"]
    moodle.call("enrol_manual_enrol_users", enrolments=[{"roleid": STUDENT, "userid": u, "courseid": course}
                                                        for u in students]
                + [{"roleid": TEACHER, "userid": teacher, "courseid": course}])
    groups = moodle.call("core_group_create_groups", groups=[{
        "courseid": course, "name": f"Initiative „{i}“ & 'Partner'", "description": "",
        "idnumber": f"mintqo:ini:{run}:{i}"} for i in (1, 2)])
    g1, g2 = groups[0]["id"], groups[1]["id"]
    moodle.call("core_group_add_group_members", members=[
        {"groupid": g1, "userid": students[0]}, {"groupid": g1, "userid": students[1]},
        {"groupid": g2, "userid": students[2]}, {"groupid": g2, "userid": students[3]}])
    pages = api.upsert_activities(course, [
        {"section": 1, "modname": "page", "idnumber": f"mintqo:ws{i}:{run}", "name": f"Workshop {i} & „Anwesenheit“",
         "content": "<p>x</p>", "completion": 1, "selfcompletion": 0} for i in (1, 2)]).activities
    me = moodle.call("core_webservice_get_site_info")["userid"]
    return {"course": course, "students": students, "teacher": teacher, "groups": (g1, g2),
            "groupidnumbers": [g["idnumber"] for g in groups],
            "cms": [p.cmid for p in pages], "me": me}


def core_status(moodle, course: int, userid: int, cmid: int) -> dict:
    statuses = moodle.call("core_completion_get_activities_completion_status", courseid=course,
                           userid=userid)["statuses"]
    return next(s for s in statuses if s["cmid"] == cmid)


def test_set_completions_shows_overrideby_in_core_and_is_idempotent(moodle, api, site):
    cm = site["cms"][0]
    a, b = site["students"][:2]
    results = api.set_completions(cm, [{"userid": a, "completed": True}, {"userid": b, "completed": False}])
    assert [(r.userid, r.state, r.changed, r.overrideby) for r in results] == [
        (a, 1, True, site["me"]), (b, 0, False, None)]
    status = core_status(moodle, site["course"], a, cm)
    assert status["state"] == 1 and status["overrideby"] == site["me"]
    again = api.set_completions(cm, [{"userid": a, "completed": True}, {"userid": b, "completed": False}])
    assert [r.changed for r in again] == [False, False]
    assert again[0].timemodified == results[0].timemodified


def test_set_completions_is_all_or_nothing(moodle, api, site):
    cm = site["cms"][1]
    with pytest.raises(MoodleError) as caught:
        api.set_completions(cm, [{"userid": site["students"][2], "completed": True},
                                 {"userid": site["teacher"], "completed": True}])
    assert caught.value.errorcode == "usernottracked"
    assert str(site["teacher"]) in str(caught.value)
    assert core_status(moodle, site["course"], site["students"][2], cm)["state"] == 0


def test_completions_keyset_paging_reads_each_row_once(moodle, api, site):
    cm = site["cms"][1]
    api.set_completions(cm, [{"userid": s, "completed": True} for s in site["students"]])  # one request: one second
    settle()
    pages = list(api.iter_completions([site["course"]], "", limit=2))
    rows = [(a.cmid, a.userid, a.state) for p in pages for a in p.activities]
    assert len(pages) >= 2 and all(p.hasmore for p in pages[:-1]) and not pages[-1].hasmore
    assert len(rows) == len(set(rows))
    legacy = moodle.call("local_mintqo_get_completions", courseids=[site["course"]])
    assert sorted(rows) == sorted((a["cmid"], a["userid"], a["state"]) for a in legacy["activities"])
    assert {(cm, s, 1) for s in site["students"]} <= set(rows)
    same_second = [a.timemodified for p in pages for a in p.activities if a.cmid == cm]
    assert len(set(same_second)) <= 2           # written by one call: one (or two) seconds, paged by id
    last = pages[-1].nextcursor
    nothing = api.get_completions_page([site["course"]], last, 2)
    assert nothing.activities == [] and nothing.nextcursor == last and not nothing.hasmore

    # a row already read changes: it comes again, once, with its new state
    api.set_completions(cm, [{"userid": site["students"][3], "completed": False}])
    young = api.get_completions_page([site["course"]], last, 100)
    assert young.activities == []               # not yet settled
    settle()
    changed = api.get_completions_page([site["course"]], last, 100)
    assert [(a.userid, a.state, a.overrideby) for a in changed.activities] == [
        (site["students"][3], 0, site["me"])]


def test_enrolment_digest_shows_a_manual_unenrol_and_a_full_read_repairs(moodle, api, site):
    settle()
    enrolments: dict[int, object] = {}
    members: dict[tuple[int, int], object] = {}
    for page in api.iter_enrolments([site["course"]], "", limit=2):
        enrolments.update({e.userid: e for e in page.enrolments})
        members.update({(m.groupid, m.userid): m for m in page.members})
    cursor = page.nextcursor
    digest = page.digest(site["course"])
    assert enrolment_digest(site["course"], enrolments.values(), members.values()) == digest
    assert enrolments[site["teacher"]].roles == ["editingteacher"]
    assert all(enrolments[s].roles == ["student"] and enrolments[s].status == 0 for s in site["students"])
    assert {m.groupidnumber for m in members.values()} == set(site["groupidnumbers"])

    gone = site["students"][3]
    moodle.call("enrol_manual_unenrol_users", enrolments=[{"userid": gone, "courseid": site["course"]}])
    settle()
    after = api.get_enrolments_page([site["course"]], cursor, 100)
    assert after.enrolments == [] and after.members == []
    assert enrolment_digest(site["course"], enrolments.values(), members.values()) != after.digest(site["course"])
    full = api.get_enrolments_page([site["course"]], after.nextcursor, 100, fullcourseids=[site["course"]])
    assert sorted(e.userid for e in full.enrolments) == sorted(site["students"][:3] + [site["teacher"]])
    assert (site["groups"][1], gone) not in {(m.groupid, m.userid) for m in full.members}
    assert enrolment_digest(site["course"], full.enrolments, full.members) == full.digest(site["course"])


def test_a_suspension_comes_again_after_the_cursor(moodle, api, site):
    settle()
    cursor = ""
    for page in api.iter_enrolments([site["course"]], cursor):
        cursor = page.nextcursor
    who = site["students"][1]
    moodle.call("enrol_manual_enrol_users", enrolments=[{"roleid": STUDENT, "userid": who,
                                                         "courseid": site["course"], "suspend": 1}])
    settle()
    changed = api.get_enrolments_page([site["course"]], cursor, 100)
    assert [(e.userid, e.status, e.roles) for e in changed.enrolments] == [(who, 1, ["student"])]


def test_the_least_privilege_service_user_reads_enrolments_and_sets_completions(restricted_moodle, site):
    """The role the plugin README lists is enough for both new functions (no admin token)."""
    restricted = PluginAPI(restricted_moodle)
    settle()
    pages = list(restricted.iter_enrolments([site["course"]], ""))
    assert site["teacher"] in {e.userid for p in pages for e in p.enrolments}
    assert pages[-1].digest(site["course"]).members >= 1
    who = site["students"][2]
    result = restricted.set_completions(site["cms"][0], [{"userid": who, "completed": True}])
    assert result[0].state == 1 and result[0].overrideby not in (None, site["me"])


def test_without_accessallgroups_get_enrolments_is_refused(service_user_token, site):
    url = os.environ["MINTQO_TEST_MOODLE_URL"]
    client = MoodleClient(url, service_user_token(without=("moodle/site:accessallgroups",)), allow_insecure_http=True)
    with pytest.raises(MoodleError) as caught:
        PluginAPI(client).get_enrolments_page([site["course"]])
    assert caught.value.errorcode == "nopermissions"
