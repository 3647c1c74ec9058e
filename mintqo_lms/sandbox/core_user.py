"""core_user_*, enrol_* and core_group_* functions."""

from __future__ import annotations

import re
from typing import Any

from . import completion
from .common import (course_image, enrolled_userids, enrolment, format_string, fullname, require_capability,
                     require_course, require_course_access, require_course_context, user_courses, user_picture,
                     user_roles)
from .params import (ALPHA, ALPHANUMEXT, AUTH, BOOL, INT, LANG, NOTAGS, PLUGIN, RAW, RAW_TRIMMED, TEXT, THEME,
                     TIMEZONE, USERNAME, M, Params, S, V)
from .protocol import MoodleError, coding_error, invalid_parameter, missing_record, moodle_exception
from .registry import Call, ws
from .state import ASSIGNABLE_COURSE_ROLES, Record, Site

AUTH_PLUGINS = {"manual", "nologin", "email", "oauth2", "ldap", "cas", "shibboleth", "lti", "db", "webservice"}
EMAIL_RE = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
                      r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$")

# Capabilities the sandbox's default roles have in a course (used by withcapability).
CAPABILITY_ROLES = {
    "moodle/course:manageactivities": {1, 3}, "moodle/course:update": {1, 3}, "moodle/grade:viewall": {1, 3, 4},
    "mod/quiz:attempt": {5}, "mod/quiz:viewreports": {1, 3, 4}, "moodle/course:viewparticipants": {1, 3, 4, 5},
    "moodle/course:isincompletionreports": {5}, "mod/assign:submit": {5}, "mod/assign:grade": {1, 3, 4},
}


# ------------------------------------------------------------------------------ users
def password_policy_errors(password: str) -> list[str]:
    errors = []
    if len(password) < 8:
        errors.append("Passwords must be at least 8 characters long.")
    if not re.search(r"\d", password):
        errors.append("Passwords must have at least 1 digit(s).")
    if not re.search(r"[a-z]", password):
        errors.append("Passwords must have at least 1 lower case letter(s).")
    if not re.search(r"[A-Z]", password):
        errors.append("Passwords must have at least 1 upper case letter(s).")
    if not re.search(r"[^A-Za-z0-9]", password):
        errors.append("The password must have at least 1 special character(s) such as *, -, or #.")
    return errors


USER_OPTIONAL = dict(
    maildisplay=V(INT, opt=True), city=V(TEXT, opt=True), country=V(ALPHA, opt=True), timezone=V(TIMEZONE, opt=True),
    description=V(RAW, opt=True), firstnamephonetic=V(NOTAGS, opt=True), lastnamephonetic=V(NOTAGS, opt=True),
    middlename=V(NOTAGS, opt=True), alternatename=V(NOTAGS, opt=True), interests=V(TEXT, opt=True),
    institution=V(TEXT, opt=True), department=V(TEXT, opt=True), phone1=V(NOTAGS, opt=True),
    phone2=V(NOTAGS, opt=True), address=V(TEXT, opt=True), theme=V(THEME, opt=True), mailformat=V(INT, opt=True),
    customfields=M(S(type=V(ALPHANUMEXT), value=V(RAW)), req=2),
    preferences=M(S(type=V(RAW), value=V(RAW)), req=2),
)


def email_taken(site: Site, email: str) -> bool:
    lowered = email.lower()
    return any(u["email"].lower() == lowered for u in site.tables["user"].values() if not u.get("deleted"))


@ws("core_user_create_users", Params(users=M(S(
    createpassword=V(BOOL, opt=True), username=V(USERNAME), auth=V(AUTH, "manual"), password=V(RAW, opt=True),
    firstname=V(NOTAGS), lastname=V(NOTAGS), email=V(RAW_TRIMMED), idnumber=V(RAW, ""), lang=V(LANG, "en"),
    calendartype=V(PLUGIN, "gregorian"), **USER_OPTIONAL))), write=True)
def create_users(call: Call, users: list[dict]) -> list[dict]:
    site = call.site
    require_capability(call, "moodle/user:create")
    created = []
    for data in users:
        if data["auth"] not in AUTH_PLUGINS:
            raise invalid_parameter(f"Invalid authentication type: {data['auth']}")
        if site.find_one("user", username=data["username"]):
            raise invalid_parameter(f"Username already exists: {data['username']}")
        if not EMAIL_RE.match(data["email"]):
            raise invalid_parameter(f"Email address is invalid: {data['email']}")
        if email_taken(site, data["email"]):
            raise invalid_parameter(f"Email address already exists: {data['email']}")
        if not data.get("createpassword"):
            if not data.get("password"):
                raise invalid_parameter("Invalid password: you must provide a password, or set createpassword.")
            errors = password_policy_errors(data["password"])
            if errors:
                text = "".join(f"<div>{e}</div>" for e in errors)
                raise MoodleError("moodle_exception", text, f"error/{text}")
        now = site.now()
        record = {
            "username": data["username"], "firstname": data["firstname"], "lastname": data["lastname"],
            "email": data["email"], "auth": data["auth"], "idnumber": data["idnumber"], "lang": data["lang"],
            "city": data.get("city", ""), "country": data.get("country", ""), "department": data.get("department", ""),
            "institution": data.get("institution", ""), "timezone": data.get("timezone", "99"),
            "mailformat": data.get("mailformat", 1), "description": data.get("description", ""),
            "descriptionformat": 1, "suspended": 0, "confirmed": 1, "deleted": 0, "firstaccess": 0, "lastaccess": 0,
            "theme": data.get("theme", ""), "timecreated": now, "timemodified": now,
            "customfields": [{"shortname": c["type"], "value": c["value"]} for c in data.get("customfields", [])],
        }
        new_id = site.insert("user", record)
        site.update("user", new_id, contextid=site.new_context(30, new_id))
        created.append({"id": new_id, "username": data["username"]})
    return created


def user_details(call: Call, user: Record) -> dict[str, Any]:
    """user_get_user_details() for a privileged caller; empty optional fields are left out like Moodle does."""
    out: dict[str, Any] = {"id": user["id"], "username": user["username"], "firstname": user["firstname"],
                           "lastname": user["lastname"], "fullname": fullname(user), "email": user["email"],
                           "department": user.get("department", "")}
    if user["idnumber"]:
        out["idnumber"] = user["idnumber"]  # left out when empty (recordings/09_text_rules.json[13])
    if user.get("institution"):
        out["institution"] = user["institution"]
    out.update({"firstaccess": user["firstaccess"], "lastaccess": user["lastaccess"], "auth": user["auth"],
                "suspended": bool(user["suspended"]), "confirmed": bool(user["confirmed"]), "lang": user["lang"],
                "theme": user.get("theme", ""), "timezone": str(user.get("timezone", "99")),
                "mailformat": user.get("mailformat", 1), **call.release.extra("user")})
    if user.get("description"):
        out["description"] = user["description"]
        out["descriptionformat"] = user.get("descriptionformat", 1)
    if user.get("city"):
        out["city"] = user["city"]
    if user.get("country"):
        out["country"] = user["country"]
    out["profileimageurlsmall"] = user_picture(call, "f2")
    out["profileimageurl"] = user_picture(call, "f1")
    if user.get("customfields"):
        out["customfields"] = [{"type": "text", "value": c["value"], "displayvalue": c["value"], "name": c["shortname"],
                                "shortname": c["shortname"]} for c in user["customfields"]]
    return out


@ws("core_user_get_users_by_field", Params(field=V(ALPHA), values=M(V(RAW))))
def get_users_by_field(call: Call, field: str, values: list[str]) -> list[dict]:
    site = call.site
    if field not in ("id", "idnumber", "username", "email"):
        raise invalid_parameter("The search field 'field' is not supported, look at the web service documentation")
    if field == "id":
        wanted: set[Any] = set()
        for value in values:
            if re.match(r"^\s*-?\d+\s*$", value):
                wanted.add(int(value))
    elif field == "username":
        wanted = {v.strip().lower() for v in values}
    else:
        wanted = set(values)  # e-mail match is case-sensitive, as recorded
    users = [u for u in site.tables["user"].values() if not u.get("deleted") and u[field] in wanted and u["id"] != 1]
    return [user_details(call, u) for u in sorted(users, key=lambda u: u["id"])]


@ws("core_user_get_users", Params(criteria=M(S(key=V(ALPHA), value=V(RAW)))))
def get_users(call: Call, criteria: list[dict]) -> dict:
    site = call.site
    users = [u for u in site.tables["user"].values() if not u.get("deleted") and u["id"] != 1]
    warnings = []
    for crit in criteria:
        key, value = crit["key"], crit["value"]
        if key in ("id",):
            users = [u for u in users if str(u["id"]) == value.strip()]
        elif key == "email":
            users = [u for u in users if u["email"].lower() == value.lower()]
        elif key in ("idnumber", "username", "auth", "firstname", "lastname"):
            users = [u for u in users if u[key] == value]
        else:
            warnings.append({"item": key, "warningcode": "invalidfieldparameter",
                             "message": "The search key '" + key + "' is not supported, look at the web service "
                                        "documentation"})
    return {"users": [user_details(call, u) for u in sorted(users, key=lambda u: u["id"])], "warnings": warnings}


# ------------------------------------------------------------------------------ enrolments
def enrol_user(site: Site, courseid: int, userid: int, roleid: int, timestart: int = 0, timeend: int = 0,
               suspend: int = 0) -> None:
    now = site.now()
    existing = enrolment(site, courseid, userid)
    if existing is None:
        site.insert("user_enrolments", {"courseid": courseid, "userid": userid, "status": suspend,
                                        "timestart": timestart, "timeend": timeend, "timecreated": now,
                                        "timemodified": now})
        completion.ensure_course_completion(site, courseid, userid, now)
    else:
        site.update("user_enrolments", existing["id"], status=suspend, timestart=timestart, timeend=timeend,
                    timemodified=now)
    if not site.find_one("role_assignments", courseid=courseid, userid=userid, roleid=roleid):
        site.insert("role_assignments", {"courseid": courseid, "userid": userid, "roleid": roleid,
                                         "timemodified": now})


@ws("enrol_manual_enrol_users", Params(enrolments=M(S(
    roleid=V(INT), userid=V(INT), courseid=V(INT), timestart=V(INT, opt=True), timeend=V(INT, opt=True),
    suspend=V(INT, opt=True)))), write=True)
def enrol_users(call: Call, enrolments: list[dict]) -> None:
    site = call.site
    for item in enrolments:
        require_course_context(site, item["courseid"])
        require_capability(call, "enrol/manual:enrol", item["courseid"])
        if item["roleid"] not in ASSIGNABLE_COURSE_ROLES:
            raise moodle_exception(
                "wsusercannotassign",
                f"You don't have the permission to assign this role ({item['roleid']}) to this user "
                f"({item['userid']}) in this course ({item['courseid']}).")
        user = site.get("user", item["userid"])
        if user is None or user.get("deleted"):
            if call.release.enrol_missing_user_is_missing_record:
                raise invalid_user(item["userid"])
            raise coding_error("User ID does not exist or is deleted!", f"userid:{item['userid']}")
        enrol_user(site, item["courseid"], item["userid"], item["roleid"], item.get("timestart") or 0,
                   item.get("timeend") or 0, item.get("suspend") or 0)
    return None


def invalid_user(userid: int) -> MoodleError:
    """5.x: enrol/unenrol look the user up with MUST_EXIST (debugging off turns it into invalidrecordunknown)."""
    return MoodleError("dml_missing_record_exception", "invaliduser", "Invalid user",
                       f"SELECT * FROM {{user}} WHERE id = ?\n[array (\n  0 => {userid},\n)]")


def unenrol_user(site: Site, courseid: int, userid: int) -> None:
    existing = enrolment(site, courseid, userid)
    if existing is None:
        return
    site.delete("user_enrolments", existing["id"])
    for assignment in site.find("role_assignments", courseid=courseid, userid=userid):
        site.delete("role_assignments", assignment["id"])
    for group in site.find("groups", courseid=courseid):
        for member in site.find("groups_members", groupid=group["id"], userid=userid):
            site.delete("groups_members", member["id"])


@ws("enrol_manual_unenrol_users", Params(enrolments=M(S(userid=V(INT), courseid=V(INT), roleid=V(INT, opt=True)))),
    write=True)
def unenrol_users(call: Call, enrolments: list[dict]) -> None:
    site = call.site
    for item in enrolments:
        require_course_context(site, item["courseid"])
        require_capability(call, "enrol/manual:unenrol", item["courseid"])
        user = site.get("user", item["userid"])
        if user is None or user.get("deleted"):
            if call.release.enrol_missing_user_is_missing_record:
                raise invalid_user(item["userid"])
            raise invalid_parameter(f"User id not exist: {item['userid']}")
        if item.get("roleid") is not None:
            if item["roleid"] not in ASSIGNABLE_COURSE_ROLES:
                raise moodle_exception("wsusercannotunassign",
                                       f"You don't have the permission to unassign this role ({item['roleid']}) from "
                                       f"this user ({item['userid']}) in this course ({item['courseid']}).")
        unenrol_user(site, item["courseid"], item["userid"])
    return None


USER_FIELD_ORDER = ["id", "username", "firstname", "lastname", "fullname", "email", "department", "idnumber",
                    "firstaccess", "lastaccess", "lastcourseaccess", "city", "country", "profileimageurlsmall",
                    "profileimageurl", "groups", "roles", "enrolledcourses"]


def enrolled_user_out(call: Call, course: Record, user: Record, userfields: set[str] | None) -> dict[str, Any]:
    site = call.site
    full: dict[str, Any] = {
        "id": user["id"], "username": user["username"], "firstname": user["firstname"], "lastname": user["lastname"],
        "fullname": fullname(user), "email": user["email"], "department": user.get("department", ""),
        "idnumber": user["idnumber"], "firstaccess": user["firstaccess"], "lastaccess": user["lastaccess"],
        "lastcourseaccess": 0,
    }
    if user.get("city"):
        full["city"] = user["city"]
    if user.get("country"):
        full["country"] = user["country"]
    full["profileimageurlsmall"] = user_picture(call, "f2")
    full["profileimageurl"] = user_picture(call, "f1")
    groups = [g for g in sorted(site.find("groups", courseid=course["id"]), key=lambda g: g["id"])
              if site.find_one("groups_members", groupid=g["id"], userid=user["id"])]
    if groups:
        full["groups"] = [{"id": g["id"], "name": format_string(g["name"]), "description": g["description"],
                           "descriptionformat": g["descriptionformat"]} for g in groups]
    full["roles"] = user_roles(site, course["id"], user["id"])
    courses = user_courses(site, user["id"])
    if courses:
        full["enrolledcourses"] = [{"id": c["id"], "fullname": format_string(c["fullname"]),
                                    "shortname": format_string(c["shortname"])} for c in courses]
    if userfields is None:
        return full
    wanted = userfields | {"id", "fullname"}
    return {k: full[k] for k in USER_FIELD_ORDER if k in wanted and k in full}


@ws("core_enrol_get_enrolled_users", Params(courseid=V(INT), options=M(S(name=V(ALPHANUMEXT), value=V(RAW)),
                                                                        default=[])))
def get_enrolled_users(call: Call, courseid: int, options: list[dict]) -> list[dict]:
    site = call.site
    course = require_course(site, courseid)
    try:
        require_course_access(call, course["id"])
    except MoodleError as error:
        raise moodle_exception("errorcoursecontextnotvalid", "You cannot execute functions in the course context "
                               f"(course id:{course['id']}). The error message was: {error.message}") from None
    require_capability(call, "moodle/course:viewparticipants", course["id"])
    opts = {o["name"]: o["value"] for o in options}
    userids = enrolled_userids(site, course["id"])
    if "withcapability" in opts:
        roles = CAPABILITY_ROLES.get(opts["withcapability"], set())
        userids = [u for u in userids if {r["roleid"] for r in user_roles(site, course["id"], u)} & roles]
    if opts.get("groupid"):
        gid = int(opts["groupid"])
        userids = [u for u in userids if site.find_one("groups_members", groupid=gid, userid=u)]
    if opts.get("onlyactive") == "1":
        userids = [u for u in userids if enrolment(site, course["id"], u)["status"] == 0]
    limitfrom = int(opts.get("limitfrom", 0) or 0)
    limitnumber = int(opts.get("limitnumber", 0) or 0)
    userids = userids[limitfrom:limitfrom + limitnumber] if limitnumber else userids[limitfrom:]
    userfields = None
    if "userfields" in opts:
        userfields = {f.strip() for f in opts["userfields"].split(",") if f.strip()}
    return [enrolled_user_out(call, course, site.tables["user"][u], userfields) for u in userids]


@ws("core_enrol_get_users_courses", Params(userid=V(INT), returnusercount=V(BOOL, True)))
def get_users_courses(call: Call, userid: int, returnusercount: bool) -> list[dict]:
    site = call.site
    user = site.get("user", userid)
    if user is None:
        raise missing_record("user")
    out = []
    for course in sorted(user_courses(site, userid), key=lambda c: c["id"]):
        rec: dict[str, Any] = {"id": course["id"], "shortname": format_string(course["shortname"]),
                               "fullname": format_string(course["fullname"]),
                               "displayname": format_string(course["fullname"])}
        if returnusercount:
            rec["enrolledusercount"] = len(enrolled_userids(site, course["id"]))
        crit = completion.criteria(site, course["id"])
        row = completion.course_completion(site, course["id"], userid)
        rec.update({
            "idnumber": course["idnumber"], "visible": course["visible"], "summary": course["summary"],
            "summaryformat": course["summaryformat"], "format": course["format"],
            "courseimage": course_image(call, course), "showgrades": bool(course["showgrades"]),
            "lang": course["lang"], "enablecompletion": bool(course["enablecompletion"]),
            "completionhascriteria": bool(crit), "completionusertracked": True, "category": course["category"],
            "progress": _progress(site, course["id"], userid), "completed": bool(row and row["timecompleted"]), "startdate": course["startdate"],
            "enddate": course["enddate"], "marker": course["marker"], "lastaccess": None, "isfavourite": False,
            "hidden": False, "overviewfiles": [], "showactivitydates": False,
            "showcompletionconditions": bool(course.get("showcompletionconditions", 1)),
            "timemodified": course["timemodified"],
        })
        rec.update(call.release.extra("course"))
        out.append(rec)
    return out


def _progress(site: Site, courseid: int, userid: int) -> float | None:
    """Percentage of the activities with completion that the user completed (None when there are none)."""
    tracked = [cm for cm in site.find("course_modules", course=courseid) if cm["completion"]]
    if not tracked:
        return None
    done = [cm for cm in tracked if (r := completion.activity_completion(site, cm["id"], userid))
            and r["completionstate"] in (1, 2)]
    return 100.0 * len(done) / len(tracked)


# ------------------------------------------------------------------------------ groups
def group_out(group: Record, enrolmentkey: Any, formatted: bool = True) -> dict[str, Any]:
    """A group record; the reads format the name, create_groups echoes it raw (as recorded)."""
    return {"id": group["id"], "courseid": group["courseid"],
            "name": format_string(group["name"]) if formatted else group["name"],
            "description": group["description"], "descriptionformat": group["descriptionformat"],
            "enrolmentkey": enrolmentkey, "idnumber": group["idnumber"], "visibility": group["visibility"],
            "participation": bool(group["participation"])}


@ws("core_group_create_groups", Params(groups=M(S(
    courseid=V(INT), name=V(TEXT), description=V(RAW), descriptionformat=V(INT, 1), enrolmentkey=V(RAW, opt=True),
    idnumber=V(RAW, opt=True), visibility=V(INT, 0), participation=V(BOOL, True),
    customfields=M(S(shortname=V(ALPHANUMEXT), value=V(RAW)), req=2)))), write=True)
def create_groups(call: Call, groups: list[dict]) -> list[dict]:
    site = call.site
    out = []
    for data in groups:
        require_course_context(site, data["courseid"])
        require_capability(call, "moodle/course:managegroups", data["courseid"])
        if site.find_one("groups", courseid=data["courseid"], name=data["name"]):
            raise invalid_parameter("Group with the same name already exists in the course")
        idnumber = data.get("idnumber") or ""
        if idnumber and site.find_one("groups", courseid=data["courseid"], idnumber=idnumber):
            raise moodle_exception("idnumbertaken", "This ID number is already in use")
        now = site.now()
        gid = site.insert("groups", {"courseid": data["courseid"], "name": data["name"],
                                     "description": data["description"],
                                     "descriptionformat": data["descriptionformat"],
                                     "enrolmentkey": data.get("enrolmentkey") or "", "idnumber": idnumber,
                                     "visibility": data["visibility"], "participation": int(data["participation"]),
                                     "timecreated": now, "timemodified": now})
        out.append(group_out(site.tables["groups"][gid], data.get("enrolmentkey") or "", formatted=False))
    return out


@ws("core_group_add_group_members", Params(members=M(S(groupid=V(INT), userid=V(INT)))), write=True)
def add_group_members(call: Call, members: list[dict]) -> None:
    site = call.site
    for item in members:
        group = site.get("groups", item["groupid"])
        if group is None:
            raise missing_record("groups")
        require_course_context(site, group["courseid"])
        require_capability(call, "moodle/course:managegroups", group["courseid"])
        user = site.get("user", item["userid"])
        if user is None or user.get("deleted"):
            raise missing_record("user")
        if enrolment(site, group["courseid"], user["id"]) is None:
            raise invalid_parameter("Only enrolled users may be members of groups")
        if not site.find_one("groups_members", groupid=group["id"], userid=user["id"]):
            site.insert("groups_members", {"groupid": group["id"], "userid": user["id"], "timeadded": site.now()})
    return None


@ws("core_group_get_course_groups", Params(courseid=V(INT)))
def get_course_groups(call: Call, courseid: int) -> list[dict]:
    require_course(call.site, courseid)
    require_course_access(call, courseid)
    require_capability(call, "moodle/course:managegroups", courseid)
    groups = sorted(call.site.find("groups", courseid=courseid), key=lambda g: g["name"])
    return [group_out(g, None) for g in groups]


@ws("core_group_get_groups", Params(groupids=M(V(INT))))
def get_groups(call: Call, groupids: list[int]) -> list[dict]:
    out = []
    for gid in groupids:
        group = call.site.get("groups", gid)
        if group is None:
            raise missing_record("groups")
        out.append(dict(group_out(group, None), customfields=[]))
    return out


@ws("core_group_get_group_members", Params(groupids=M(V(INT))))
def get_group_members(call: Call, groupids: list[int]) -> list[dict]:
    out = []
    for gid in groupids:
        if call.site.get("groups", gid) is None:
            raise missing_record("groups")
        members = sorted(m["userid"] for m in call.site.find("groups_members", groupid=gid))
        out.append({"groupid": gid, "userids": members})
    return out
