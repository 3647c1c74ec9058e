"""Look-ups and record formatting shared by the handlers (one place for Moodle's output shapes)."""

from __future__ import annotations

from typing import Any

from .protocol import MoodleError, invalid_parameter, missing_record
from .registry import Call
from .state import ROLES, Record, Site

THEME_REV = 1795331526  # any stable number: Moodle puts the theme revision into image URLs


def require_course(site: Site, courseid: Any) -> Record:
    course = site.get("course", courseid)
    if course is None:
        raise missing_record("course")
    return course


def require_course_context(site: Site, courseid: Any) -> Record:
    """Like validate_context() on a course context that may not exist ("Context does not exist")."""
    course = site.get("course", courseid)
    if course is None:
        raise invalid_parameter("Context does not exist")
    return course


def require_user(site: Site, userid: Any) -> Record:
    user = site.get("user", userid)
    if user is None or user.get("deleted"):
        raise missing_record("user")
    return user


def fullname(user: Record) -> str:
    return f"{user['firstname']} {user['lastname']}"


def user_picture(call: Call, size: str) -> str:
    return f"{call.wwwroot}/theme/image.php/boost/core/{THEME_REV}/u/{size}"


def course_image(call: Call, course: Record) -> str:
    return f"{call.wwwroot}/pluginfile.php/{course['contextid']}/course/generated/course.svg"


def enrolment(site: Site, courseid: int, userid: int) -> Record | None:
    return site.find_one("user_enrolments", courseid=courseid, userid=userid)


def enrolled_userids(site: Site, courseid: int) -> list[int]:
    return sorted(e["userid"] for e in site.find("user_enrolments", courseid=courseid))


def user_roles(site: Site, courseid: int, userid: int) -> list[dict[str, Any]]:
    roles = sorted({a["roleid"] for a in site.find("role_assignments", courseid=courseid, userid=userid)})
    return [{"roleid": r, "name": "", "shortname": ROLES[r][0], "sortorder": 0} for r in roles if r in ROLES]


def user_courses(site: Site, userid: int) -> list[Record]:
    ids = sorted({e["courseid"] for e in site.find("user_enrolments", userid=userid)}, reverse=True)
    return [site.tables["course"][i] for i in ids if i in site.tables["course"]]


def modules_of_course(site: Site, courseid: int) -> list[Record]:
    return sorted(site.find("course_modules", course=courseid), key=lambda cm: cm["id"])


def cm_by_idnumber(site: Site, courseid: int, idnumber: str) -> Record | None:
    if idnumber == "":
        return None
    return site.find_one("course_modules", course=courseid, idnumber=idnumber)


def section_name(section: Record) -> str:
    if section.get("name"):
        return section["name"]
    return "General" if section["section"] == 0 else f"Topic {section['section']}"


def error_text(error: MoodleError) -> str:
    return error.message
