"""Role assignments outside enrolments: ``core_role_assign_roles`` (minimal, for category roles).

Moodle's function takes ``contextid`` or ``contextlevel`` + ``instanceid``; a role that cannot be assigned at
that level (or by the calling user) is ``wsusercannotassign``; assigning an existing assignment again is a
no-op (``role_assign`` returns the existing id). The sandbox supports the system, category and course levels.
"""

from __future__ import annotations

from .common import require_capability
from .params import ALPHA, INT, M, Params, S, V
from .protocol import invalid_parameter, missing_record, moodle_exception
from .registry import Call, ws
from .state import ROLES

# Which roles Moodle's defaults let a manager assign at each level (role_context_levels).
_ASSIGNABLE = {"system": {1, 2}, "coursecat": {1, 2}, "course": {1, 3, 4, 5}}
_LEVEL_NUMBERS = {10: "system", 40: "coursecat", 50: "course"}
TABLE = "context_role_assignments"


@ws("core_role_assign_roles", Params(assignments=M(S(
    roleid=V(INT), userid=V(INT), contextid=V(INT, opt=True), contextlevel=V(ALPHA, opt=True),
    instanceid=V(INT, opt=True)))), write=True)
def assign_roles(call: Call, assignments: list[dict]) -> None:
    site = call.site
    for item in assignments:
        level, instanceid = _context(call, item)
        require_capability(call, "moodle/role:assign", instanceid if level == "course" else None)
        if item["roleid"] not in ROLES or item["roleid"] not in _ASSIGNABLE[level]:
            raise moodle_exception(
                "wsusercannotassign",
                f"You don't have the permission to assign this role ({item['roleid']}) to this user "
                f"({item['userid']}) in this context ({level} {instanceid}).")
        user = site.get("user", item["userid"])
        if user is None or user.get("deleted"):
            raise invalid_parameter(f"User ID does not exist or is deleted! userid:{item['userid']}")
        if not site.find_one(TABLE, contextlevel=level, instanceid=instanceid, userid=user["id"],
                             roleid=item["roleid"]):
            site.insert(TABLE, {"contextlevel": level, "instanceid": instanceid, "userid": user["id"],
                                "roleid": item["roleid"], "timemodified": site.now()})
    return None


def _context(call: Call, item: dict) -> tuple[str, int]:
    site = call.site
    if item.get("contextid") is not None:
        context = site.get("context", item["contextid"])
        if context is None:
            raise missing_record("context")
        level = _LEVEL_NUMBERS.get(context["contextlevel"])
        if level is None:
            raise invalid_parameter("Invalid context level")
        return level, int(context["instanceid"])
    level, instanceid = item.get("contextlevel"), item.get("instanceid")
    if level is None or instanceid is None:
        raise invalid_parameter("Missing parameters: contextid or contextlevel and instanceid")
    if level not in _ASSIGNABLE:
        raise invalid_parameter(f"Invalid context level: {level}")
    if level == "coursecat" and site.get("course_categories", instanceid) is None:
        raise missing_record("course_categories")
    if level == "course" and site.get("course", instanceid) is None:
        raise missing_record("course")
    return level, int(instanceid)


def category_roles(site, categoryid: int) -> list[dict]:
    """The role assignments at a category (for tests and the simulation): ``[{userid, roleid}]``."""
    return [{"userid": r["userid"], "roleid": r["roleid"]}
            for r in site.find(TABLE, contextlevel="coursecat", instanceid=categoryid)]
