"""The per-person way: what an operator would script with Moodle's core web services alone.

It is the comparison the benchmarks measure mintqo-lms against, so it is real code doing real calls against
the same (kind of) site, not an estimate. It does what a careful, straightforward script does, one person at a
time:

* provisioning: look up the cohort's category and each course by idnumber (create what is missing, one call
  each), the groups of each course (create what is missing, one call each); then for each person of the
  roster: look the account up by e-mail, create it if missing, enrol it in each of its courses (one call per
  person per course), add it to each of its groups (one call per membership), give staff their category role.
  It places no course content: core web services cannot create sections, pages or quizzes (that is what the
  plugin is for), so the per-person way is measured doing *less* than mintqo-lms' provisioning.
* reading (sync): the cohort's courses, per course its enrolled users, one completion call per person per
  course, the quizzes, per quiz and person the finished attempts, and one review per attempt for the answers.
  A script like this keeps no cursor, so an unchanged site costs the same again.

Only core functions are called (never ``local_mintqo_*``); the token must be allowed to call them (the
sandbox's admin token, or a real site's token of a service with these functions).
"""

from __future__ import annotations

import csv
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mintqo_lms.moodle import MoodleClient
from mintqo_lms.provision import cohort_category_idnumber, cohort_course_idnumber, moodle_username, unusable_password
from mintqo_lms.roster import initiative_idnumber, region_idnumber

ROLE_IDS = {"manager": 1, "editingteacher": 3, "teacher": 4, "student": 5}  # a standard Moodle's role ids

CORE_FUNCTIONS = (
    "core_course_get_categories", "core_course_create_categories", "core_course_get_courses_by_field",
    "core_course_create_courses", "core_group_get_course_groups", "core_group_create_groups",
    "core_user_get_users_by_field", "core_user_create_users", "enrol_manual_enrol_users",
    "core_group_add_group_members", "core_role_assign_roles", "core_enrol_get_enrolled_users",
    "core_completion_get_activities_completion_status", "mod_quiz_get_quizzes_by_courses",
    "mod_quiz_get_user_attempts", "mod_quiz_get_attempt_review", "core_completion_override_activity_completion_status",
    "core_completion_get_course_completion_status", "core_message_send_instant_messages",
)


@dataclass
class Person:
    role: str
    first: str
    last: str
    email: str
    network: str
    initiative: str
    buddy_of: str
    courses: list[tuple[str, str]] = field(default_factory=list)   # course idnumber, role
    groups: list[tuple[str, str]] = field(default_factory=list)    # course idnumber, group idnumber


@dataclass
class Cohort:
    """What the roster says should exist in Moodle, worked out by the script from the sheet itself."""

    key: str
    people: list[Person]
    courses: dict[str, str]                              # idnumber -> full name
    groups: dict[tuple[str, str], str]                   # (course idnumber, group idnumber) -> name


ROLE_WORDS = {"koordination": "coordinator", "initiative": "initiative", "buddy": "buddy",
              "geschäftsstelle": "staff"}


def read_roster(path: str | Path, cohort: str) -> Cohort:
    """The office's roster CSV (``;``, German headers) as courses, groups and people with their places."""
    with open(path, encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter=";"))
    people = [Person(ROLE_WORDS[r["Rolle"].strip().lower()], r["Vorname"], r["Nachname"], r["E-Mail"].strip().lower(),
                     r["Netzwerk"], r["Initiative-Name"], r["Buddy-von"].strip().lower()) for r in rows]
    main = cohort_course_idnumber(cohort)
    courses = {main: f"MINT-QO {cohort} Qualifizierung"}
    groups: dict[tuple[str, str], str] = {}
    by_email = {p.email: p for p in people}
    for person in people:
        if person.role == "coordinator":
            region = region_idnumber(cohort, person.network)
            courses[region] = f"MINT-QO {cohort} {person.network}"
            person.courses += [(main, "student"), (region, "editingteacher")]
        elif person.role == "buddy":
            person.courses.append((main, "teacher"))
            coordinator = by_email[person.buddy_of]
            key = (main, f"pp-buddy:{cohort}:{coordinator.email}")
            groups[key] = f"Buddy-Tandem {coordinator.first} {coordinator.last}"
            person.groups.append(key)
            if key not in coordinator.groups:
                coordinator.groups.append(key)
        elif person.role == "initiative":
            region = region_idnumber(cohort, person.network)
            person.courses.append((region, "student"))
            key = (region, initiative_idnumber(cohort, person.network, person.initiative))
            groups[key] = person.initiative
            person.groups.append(key)
    return Cohort(cohort, people, courses, groups)


def provision_per_person(client: MoodleClient, roster: str | Path, cohort: str) -> dict[str, int]:
    """Create/enrol the roster's people one at a time (see the module docstring). Returns what it did."""
    plan = read_roster(roster, cohort)
    done: dict[str, int] = defaultdict(int)
    category_idnumber = cohort_category_idnumber(cohort)
    found = client.call("core_course_get_categories", criteria=[{"key": "idnumber", "value": category_idnumber}])
    if found:
        category = found[0]["id"]
    else:
        category = client.call("core_course_create_categories", categories=[{
            "name": f"MINT-QO {cohort}", "parent": 0, "idnumber": category_idnumber}])[0]["id"]
        done["categories created"] += 1
    course_ids: dict[str, int] = {}
    for idnumber, fullname in plan.courses.items():
        existing = client.call("core_course_get_courses_by_field", field="idnumber", value=idnumber)["courses"]
        if existing:
            course_ids[idnumber] = existing[0]["id"]
            continue
        course_ids[idnumber] = client.call("core_course_create_courses", courses=[{
            "fullname": fullname, "shortname": f"PP {idnumber}"[:250], "categoryid": category,
            "idnumber": idnumber, "groupmode": 1}])[0]["id"]
        done["courses created"] += 1
    group_ids: dict[tuple[str, str], int] = {}
    for idnumber, courseid in course_ids.items():
        have = {g["idnumber"]: g["id"] for g in client.call("core_group_get_course_groups", courseid=courseid)}
        for (course, group), name in plan.groups.items():
            if course != idnumber:
                continue
            if group in have:
                group_ids[(course, group)] = have[group]
                continue
            group_ids[(course, group)] = client.call("core_group_create_groups", groups=[{
                "courseid": courseid, "name": name, "description": "", "idnumber": group}])[0]["id"]
            done["groups created"] += 1
    for person in plan.people:
        users = client.call("core_user_get_users_by_field", field="email", values=[person.email])
        if users:
            userid = users[0]["id"]
        else:
            userid = client.call("core_user_create_users", users=[{
                "username": moodle_username(person.email), "password": unusable_password(), "auth": "manual",
                "firstname": person.first, "lastname": person.last, "email": person.email, "lang": "de"}])[0]["id"]
            done["accounts created"] += 1
        for course, role in person.courses:
            client.call("enrol_manual_enrol_users", enrolments=[{
                "roleid": ROLE_IDS[role], "userid": userid, "courseid": course_ids[course]}])
            done["enrolments"] += 1
        for key in person.groups:
            client.call("core_group_add_group_members", members=[{"groupid": group_ids[key], "userid": userid}])
            done["group memberships"] += 1
        if person.role == "staff":
            client.call("core_role_assign_roles", assignments=[{
                "roleid": ROLE_IDS["manager"], "userid": userid, "contextlevel": "coursecat", "instanceid": category}])
            done["category roles"] += 1
    return dict(done)


def read_per_person(client: MoodleClient, cohort: str) -> dict[str, int]:
    """Read completion and self-analysis answers of ``cohort`` one person at a time (see the module docstring)."""
    counts: dict[str, int] = defaultdict(int)
    category = client.call("core_course_get_categories",
                           criteria=[{"key": "idnumber", "value": cohort_category_idnumber(cohort)}])
    if not category:
        return dict(counts)
    courses = client.call("core_course_get_courses_by_field", field="category", value=category[0]["id"])["courses"]
    students: dict[int, list[int]] = {}
    for course in courses:
        enrolled = client.call("core_enrol_get_enrolled_users", courseid=course["id"])
        students[course["id"]] = [u["id"] for u in enrolled
                                  if any(r.get("shortname") == "student" for r in u.get("roles", []))]
        for userid in students[course["id"]]:
            status = client.call("core_completion_get_activities_completion_status",
                                 courseid=course["id"], userid=userid)
            counts["activity completion records"] += len(status.get("statuses", []))
            counts["activities completed"] += sum(1 for s in status.get("statuses", []) if s.get("state") in (1, 2))
    if not courses:
        return dict(counts)
    quizzes = client.call("mod_quiz_get_quizzes_by_courses", courseids=[c["id"] for c in courses])["quizzes"]
    for quiz in quizzes:
        for userid in students.get(quiz["course"], []):
            attempts = client.call("mod_quiz_get_user_attempts", quizid=quiz["id"], userid=userid,
                                   status="finished")["attempts"]
            for attempt in attempts:
                review = client.call("mod_quiz_get_attempt_review", attemptid=attempt["id"])
                counts["self-analysis attempts"] += 1
                counts["answers"] += sum(1 for q in review.get("questions", []) if q.get("type") != "description")
    return dict(counts)


def attendance_per_person(client: MoodleClient, sheets: list[dict[str, Any]]) -> dict[str, int]:
    """Each sheet's attendance as Moodle's own completion override, one call per person present. Each person is
    looked up once by e-mail (the sheet has e-mails); the activity's id comes with the sheet."""
    counts: dict[str, int] = defaultdict(int)
    userids: dict[str, int] = {}
    for sheet in sheets:
        with open(sheet["path"], encoding="utf-8-sig", newline="") as handle:
            rows = list(csv.DictReader(handle, delimiter=";"))
        counts["sheets"] += 1
        for row in rows:
            if not row["anwesend"].strip():
                continue
            email = row["E-Mail"].strip().lower()
            if email not in userids:
                userids[email] = client.call("core_user_get_users_by_field", field="email", values=[email])[0]["id"]
            client.call("core_completion_override_activity_completion_status", userid=userids[email],
                        cmid=sheet["cmid"], newstate=1)
            counts["overrides"] += 1
    return dict(counts)


def certificates_per_person(client: MoodleClient, cohort: str) -> dict[str, int]:
    """Who completed the cohort course, one call per coordinator, and one message to each who did."""
    counts: dict[str, int] = defaultdict(int)
    course = client.call("core_course_get_courses_by_field", field="idnumber",
                         value=cohort_course_idnumber(cohort))["courses"]
    if not course:
        return dict(counts)
    courseid = course[0]["id"]
    for user in client.call("core_enrol_get_enrolled_users", courseid=courseid):
        if not any(r.get("shortname") == "student" for r in user.get("roles", [])):
            continue
        status = client.call("core_completion_get_course_completion_status", courseid=courseid, userid=user["id"])
        counts["coordinators checked"] += 1
        if status.get("completionstatus", {}).get("completed"):
            client.call("core_message_send_instant_messages", messages=[{
                "touserid": user["id"], "text": f"Ihre Teilnahmebescheinigung MINT-QO {cohort} liegt bereit.",
                "textformat": 2, "clientmsgid": f"pp-cert-{cohort}-{user['id']}"}])
            counts["messages sent"] += 1
    return dict(counts)
