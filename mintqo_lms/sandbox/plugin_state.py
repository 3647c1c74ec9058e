"""``local_mintqo_get_course_state``: everything provisioning compares, for many courses in one call.

Why one function: core answers one course per read (enrolled users, groups, contents), so an unchanged
provisioning run grew with the number of courses. This answers a whole cohort category, paged by course,
with names as Moodle stores them (raw, not external_format_string'ed), mirroring
moodle/local/mintqo/classes/external/get_course_state.php (the contract is in the plugin README).
"""

from __future__ import annotations

from typing import Any

from .common import require_capability, require_course, require_course_access
from .core_role import TABLE as CATEGORY_ROLES
from .params import INT, RAW, M, Params, V
from .protocol import invalid_parameter
from .registry import Call, ws
from .state import ROLES, Record, Site

MAX_COURSES = 200   # courses per page: a regional course answers ~11 KB
COURSE_CAPABILITIES = ("moodle/course:update", "moodle/course:viewparticipants", "moodle/course:managegroups")


@ws("local_mintqo_get_course_state", Params(
    categoryidnumber=V(RAW, ""), courseids=M(V(INT), req=0, default=[]),
    courseidnumbers=M(V(RAW), req=0, default=[]), limitfrom=V(INT, 0), limitnum=V(INT, 50)))
def get_course_state(call: Call, categoryidnumber: str, courseids: list[int], courseidnumbers: list[str],
                     limitfrom: int, limitnum: int) -> dict:
    site = call.site
    if limitfrom < 0:
        raise invalid_parameter("limitfrom must be >= 0")
    if limitnum < 1 or limitnum > MAX_COURSES:
        raise invalid_parameter(f"limitnum must be between 1 and {MAX_COURSES}")
    selected: dict[int, Record] = {}
    categories: list[dict[str, Any]] = []
    categoryroles: list[dict[str, Any]] = []
    if categoryidnumber:
        category = site.find_one("course_categories", idnumber=categoryidnumber)
        if category is not None:
            require_capability(call, "moodle/role:assign")   # who holds which role in the category
            categories = _category_chain(site, category)
            categoryroles = [{"userid": r["userid"], "roleid": r["roleid"], "shortname": ROLES[r["roleid"]][0]}
                             for r in sorted(site.find(CATEGORY_ROLES, contextlevel="coursecat",
                                                       instanceid=category["id"]),
                                             key=lambda r: (r["userid"], r["roleid"]))]
            selected.update((c["id"], c) for c in site.find("course", category=category["id"]))
    for courseid in courseids:
        course = require_course(site, courseid)
        selected[course["id"]] = course
    for idnumber in courseidnumbers:
        course = site.find_one("course", idnumber=idnumber) if idnumber else None
        if course is not None:
            selected[course["id"]] = course
    page = [selected[i] for i in sorted(selected)][limitfrom:limitfrom + limitnum]
    userids = {r["userid"] for r in categoryroles}
    index = _Index(site, {c["id"] for c in page})
    courses = []
    for course in page:
        require_course_access(call, course["id"])
        for capability in COURSE_CAPABILITIES:
            require_capability(call, capability, course["id"])
        out = _course(site, index, course)
        userids.update(e["userid"] for e in out["enrolments"])
        courses.append(out)
    users = [_user(call, site.tables["user"][u]) for u in sorted(userids) if u in site.tables["user"]]
    return {"categories": categories, "categoryroles": categoryroles, "courses": courses, "users": users,
            "total": len(selected)}


def _category_chain(site: Site, category: Record) -> list[dict[str, Any]]:
    """The category, then its parents up to the top: provisioning finds its root category here too."""
    chain = []
    current: Record | None = category
    while current is not None:
        chain.append({"id": current["id"], "idnumber": current["idnumber"] or "", "name": current["name"],
                      "parent": current["parent"], "visible": current["visible"]})
        current = site.get("course_categories", current["parent"]) if current["parent"] else None
    return chain


class _Index:
    """The page's rows grouped by course, in one pass over each table (a 16x cohort has 300 courses and
    thousands of enrolments: looking each up by scanning would take minutes)."""

    def __init__(self, site: Site, courseids: set[int]) -> None:
        def by(table: str, key: str) -> dict[Any, list[Record]]:
            grouped: dict[Any, list[Record]] = {}
            for row in site.tables[table].values():
                grouped.setdefault(row.get(key), []).append(row)
            return grouped

        self.sections = by("course_sections", "course")
        self.modules = by("course_modules", "course")
        self.groups = by("groups", "courseid")
        self.members = by("groups_members", "groupid")
        self.enrolments = by("user_enrolments", "courseid")
        self.roles: dict[tuple[int, int], set[int]] = {}
        for row in site.tables["role_assignments"].values():
            if row.get("courseid") in courseids:
                self.roles.setdefault((row["courseid"], row["userid"]), set()).add(row["roleid"])
        self.slots = by("quiz_slots", "quizid")


def _course(site: Site, index: _Index, course: Record) -> dict[str, Any]:
    sections = sorted(index.sections.get(course["id"], []), key=lambda s: s["section"])
    numbers = {s["id"]: s["section"] for s in sections}
    activities, quizzes = [], []
    for cm in sorted(index.modules.get(course["id"], []), key=lambda cm: cm["id"]):
        instance = site.tables[cm["modname"]].get(cm["instance"], {})
        activities.append({
            "cmid": cm["id"], "instance": cm["instance"], "idnumber": cm.get("idnumber") or "",
            "modname": cm["modname"], "name": instance.get("name", ""), "section": numbers.get(cm["section"], 0),
            "visible": cm["visible"], "completion": cm.get("completion", 0),
            "completionview": cm.get("completionview", 0), "completionexpected": cm.get("completionexpected", 0),
            "completionsubmit": cm.get("completionsubmit", 0) if cm["modname"] == "assign" else 0,
            "selfcompletion": 0 if cm.get("togglecompletion_prevented") else 1})
        if cm["modname"] == "quiz":
            quizzes.append({
                "cmid": cm["id"], "quizid": cm["instance"], "idnumber": cm.get("idnumber") or "",
                "name": instance.get("name", ""), "attempts": instance.get("attempts", 0),
                "grademethod": instance.get("grademethod", 1), "timeopen": instance.get("timeopen", 0),
                "timeclose": instance.get("timeclose", 0),
                "questions": [site.tables["question"][s["questionid"]]["idnumber"] or ""
                              for s in sorted(index.slots.get(cm["instance"], []), key=lambda s: s["slot"])]})
    groups = []
    for group in sorted(index.groups.get(course["id"], []), key=lambda g: g["id"]):
        members = sorted(m["userid"] for m in index.members.get(group["id"], []))
        groups.append({"id": group["id"], "idnumber": group["idnumber"] or "", "name": group["name"],
                       "members": members})
    enrolments = []
    for enrolment in sorted(index.enrolments.get(course["id"], []), key=lambda e: e["userid"]):
        roles = sorted(index.roles.get((course["id"], enrolment["userid"]), set()))
        enrolments.append({"userid": enrolment["userid"], "status": enrolment.get("status", 0),
                           "roles": [{"roleid": r, "shortname": ROLES[r][0]} for r in roles if r in ROLES]})
    return {
        "id": course["id"], "idnumber": course.get("idnumber") or "", "shortname": course["shortname"],
        "fullname": course["fullname"], "summary": course.get("summary") or "",
        "summaryformat": course.get("summaryformat", 1), "visible": course.get("visible", 1),
        "startdate": course.get("startdate", 0), "enddate": course.get("enddate", 0),
        "format": course.get("format", "topics"), "category": course["category"],
        "sections": [{"id": s["id"], "section": s["section"], "name": s.get("name") or "",
                      "summary": s.get("summary") or "", "visible": s.get("visible", 1)} for s in sections],
        "activities": activities, "quizzes": quizzes, "groups": groups, "enrolments": enrolments,
    }


def _user(call: Call, user: Record) -> dict[str, Any]:
    # Like core: the e-mail only for a caller who may see people's identity fields.
    email = "" if call.site.lacks("moodle/site:viewuseridentity") else user["email"]
    return {"id": user["id"], "username": user["username"], "idnumber": user.get("idnumber") or "",
            "email": email, "suspended": user.get("suspended", 0)}
