"""Look-ups and record formatting shared by the handlers (one place for Moodle's output shapes)."""

from __future__ import annotations

import re
from typing import Any

from .params import strip_tags
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
    if course["id"] in site.inaccessible_courses:
        raise require_login_error()
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


def section_name(section: Record, default_name: str | None = None) -> str:
    """The stored name, else the course format's default: "General" for 0, "Topic N" (4.4) or the release's."""
    if section.get("name"):
        return section["name"]
    if section["section"] == 0:
        return "General"
    return default_name or f"Topic {section['section']}"


# --------------------------------------------------------------------------------------------
# Names on the way out
# --------------------------------------------------------------------------------------------
_BARE_AMPERSAND = re.compile(r"&(?![a-zA-Z0-9#]{1,8};)")


def format_string(text: str | None) -> str | None:
    """external_format_string() with a site's defaults (formatstringstriptags on, filters off).

    Why: course, category, group, section, module and quiz names are text on the way in and HTML on the
    way out. A bare "&" becomes "&amp;" (an entity such as "&amp;" stays as it is), tags are stripped and a
    remaining "<" or ">" is escaped; quotes and apostrophes are left alone (recordings/09_text_rules.json).
    """
    if text is None:
        return None
    return strip_tags(_BARE_AMPERSAND.sub("&amp;", text)).replace("<", "&lt;").replace(">", "&gt;")


# --------------------------------------------------------------------------------------------
# Simulated permissions (Sandbox.deny_capability / deny_course_access)
# --------------------------------------------------------------------------------------------
# The English names Moodle shows for the capabilities our functions check (get_capability_string).
CAPABILITY_NAMES = {
    "moodle/category:manage": "Manage course categories",
    "moodle/course:create": "Create courses",
    "moodle/course:update": "Update course settings",
    "moodle/course:viewhiddencourses": "View hidden courses",
    "moodle/course:viewparticipants": "View participants",
    "moodle/course:managegroups": "Manage groups",
    "moodle/course:manageactivities": "Manage activities",
    "moodle/course:overridecompletion": "Override activity completion status",
    "moodle/user:create": "Create users",
    "moodle/user:viewdetails": "View user profiles",
    "moodle/site:sendmessage": "Send messages to any user",
    "moodle/question:add": "Add new questions",
    "moodle/grade:viewall": "View grades of other users",
    "enrol/manual:enrol": "Enrol users",
    "enrol/manual:unenrol": "Unenrol users from the course",
    "report/progress:view": "View activity completion reports",
    "report/completion:view": "View course completion report",
    "mod/quiz:viewreports": "View quiz reports",
    "local/mintqo:provision": "Provision MINT-QO courses, activities and quizzes",
    "local/mintqo:publishcertificates": "Publish certificates of participation for the verification page",
}


def required_capability(capability: str) -> MoodleError:
    name = CAPABILITY_NAMES.get(capability, capability)
    return MoodleError("required_capability_exception", "nopermissions",
                       f"Sorry, but you do not currently have permissions to do that ({name}).")


def require_capability(call: Call, capability: str, courseid: int | None = None) -> None:
    """require_capability() for the calling user; ``courseid`` None = system (or category) context."""
    if call.site.lacks(capability, courseid):
        raise required_capability(capability)


def require_login_error() -> MoodleError:
    return MoodleError("require_login_exception", "requireloginerror", "Course or activity not accessible.",
                       "Not enrolled")


def require_course_access(call: Call, courseid: int) -> None:
    """validate_context() on a course: require_login() fails for a course the user may not enter."""
    if courseid in call.site.inaccessible_courses:
        raise require_login_error()


def error_text(error: MoodleError) -> str:
    return error.message
