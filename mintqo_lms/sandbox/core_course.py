"""core_course_* functions: categories, courses, contents."""

from __future__ import annotations

import json
import re
from typing import Any

from . import completion
from .common import (course_image, enrolled_userids, format_string, fullname, require_capability, require_course,
                     require_course_access, section_name)
from .params import ALPHA, ALPHANUM, ALPHANUMEXT, BOOL, INT, PLUGIN, RAW, SAFEDIR, TEXT, THEME, M, Params, S, V
from .protocol import MoodleError, invalid_parameter, missing_record, moodle_exception
from .registry import Call, ws
from .state import Record, Site

MODPLURAL = {"forum": "Forums", "page": "Pages", "label": "Text and media areas", "url": "URLs",
             "assign": "Assignments", "quiz": "Quizzes", "qbank": "Question banks"}
# FEATURE_MOD_PURPOSE of each module, which 5.x reports as "purpose".
PURPOSE = {"forum": "collaboration", "page": "content", "label": "content", "url": "content", "qbank": "content",
           "assign": "assessment", "quiz": "assessment"}
QBANK_NAME = "System shared question bank"
QBANK_INTRO = "This question bank was created automatically when the site was upgraded."
YEAR = 365 * 24 * 3600
FILTERS = ["displayh5p", "activitynames", "mathjaxloader", "emoticon", "urltolink", "mediaplugin"]


# ------------------------------------------------------------------------------ categories
def _category_out(cat: Record) -> dict[str, Any]:
    keys = ["id", "name", "idnumber", "description", "descriptionformat", "parent", "sortorder", "coursecount",
            "visible", "visibleold", "timemodified", "depth", "path", "theme"]
    return dict({k: cat[k] for k in keys}, name=format_string(cat["name"]))


@ws("core_course_create_categories", Params(categories=M(S(
    name=V(TEXT), parent=V(INT, 0), idnumber=V(RAW, opt=True), description=V(RAW, opt=True),
    descriptionformat=V(INT, 1), theme=V(THEME, opt=True)))), write=True)
def create_categories(call: Call, categories: list[dict]) -> list[dict]:
    site = call.site
    created = []
    for data in categories:
        require_capability(call, "moodle/category:manage")
        idnumber = data.get("idnumber") or ""
        if idnumber and site.find_one("course_categories", idnumber=idnumber):
            raise moodle_exception("categoryidnumbertaken", "ID number is already used for another category")
        parent = None
        if data["parent"]:
            parent = site.get("course_categories", data["parent"])
            if parent is None:
                raise missing_record("course_categories")
        if data["name"].strip() == "":
            raise moodle_exception("categorynamerequired", "The category name is required")
        sortorder = 10000 * (len(site.tables["course_categories"]) + 1)
        new_id = site.insert("course_categories", {
            "name": data["name"], "idnumber": idnumber, "description": data.get("description") or "",
            "descriptionformat": data["descriptionformat"], "parent": data["parent"], "sortorder": sortorder,
            "coursecount": 0, "visible": 1, "visibleold": 1, "timemodified": site.now(),
            "depth": (parent["depth"] + 1) if parent else 1, "path": "", "theme": data.get("theme") or "",
        })
        path = (parent["path"] if parent else "") + f"/{new_id}"
        site.update("course_categories", new_id, path=path, contextid=site.new_context(40, new_id))
        created.append({"id": new_id, "name": format_string(data["name"])})  # escaped, as recorded
    return created


@ws("core_course_get_categories", Params(
    criteria=M(S(key=V(ALPHA), value=V(RAW)), default=[]), addsubcategories=V(BOOL, True)))
def get_categories(call: Call, criteria: list[dict], addsubcategories: bool) -> list[dict]:
    site = call.site
    cats = [c for c in site.tables["course_categories"].values()]
    for crit in criteria:
        key, value = crit["key"], crit["value"]
        if key == "id":
            cats = [c for c in cats if str(c["id"]) == value.strip()]
        elif key == "ids":
            wanted = {v.strip() for v in value.split(",")}
            cats = [c for c in cats if str(c["id"]) in wanted]
        elif key in ("name", "idnumber", "theme"):
            cats = [c for c in cats if c[key] == value]
        elif key in ("parent", "visible"):
            cats = [c for c in cats if str(c[key]) == value.strip()]
        else:
            raise invalid_parameter(f"The key {key} is not allowed or unknown")
    if addsubcategories and criteria:
        ids = {c["id"] for c in cats}
        for cat in site.tables["course_categories"].values():
            if any(f"/{i}/" in cat["path"] + "/" and cat["id"] != i for i in ids):
                if cat["id"] not in ids:
                    cats.append(cat)
                    ids.add(cat["id"])
    cats.sort(key=lambda c: c["sortorder"])
    out = []
    for cat in cats:
        rec = _category_out(cat)
        rec["coursecount"] = len(site.find("course", category=cat["id"]))
        out.append(rec)
    return out


# ------------------------------------------------------------------------------ courses
COURSE_FIELDS = dict(
    idnumber=V(RAW, opt=True), summary=V(RAW, opt=True), startdate=V(INT, opt=True), enddate=V(INT, opt=True),
    numsections=V(INT, opt=True), visible=V(INT, opt=True), hiddensections=V(INT, opt=True),
    enablecompletion=V(INT, opt=True), completionnotify=V(INT, opt=True), lang=V(SAFEDIR, opt=True),
    forcetheme=V(PLUGIN, opt=True),
    courseformatoptions=M(S(name=V(ALPHANUMEXT), value=V(RAW)), req=2),
    customfields=M(S(shortname=V(ALPHANUMEXT), value=V(RAW)), req=2),
)


def _check_unique(site: Site, shortname: str | None, idnumber: str | None, exclude: int = 0) -> None:
    if shortname is not None and any(c["shortname"] == shortname and c["id"] != exclude
                                     for c in site.tables["course"].values()):
        raise moodle_exception("shortnametaken", f"Short name is already used for another course ({shortname})")
    if idnumber and any(c["idnumber"] == idnumber and c["id"] != exclude for c in site.tables["course"].values()):
        raise moodle_exception("courseidnumbertaken", f"ID number is already used for another course ({idnumber})")


def create_course(site: Site, data: dict[str, Any]) -> Record:
    """Moodle's create_course(): course, context, sections 0..numsections and the news forum.

    Without a start date 4.4 leaves start and end at 0; 5.x starts today (midnight) and ends a year later.
    """
    if site.get("course_categories", data["categoryid"]) is None:
        raise invalid_parameter("Context does not exist")
    _check_unique(site, data["shortname"], data.get("idnumber"))
    now = site.now()
    numsections = data.get("numsections")
    numsections = 4 if numsections is None else numsections
    startdate, enddate = data.get("startdate"), data.get("enddate")
    if startdate is None:
        startdate = now - now % 86400 if site.release.default_course_dates else 0
        if enddate is None and site.release.default_course_dates:
            enddate = startdate + YEAR
    course_id = site.insert("course", {
        "category": data["categoryid"], "fullname": data["fullname"], "shortname": data["shortname"],
        "idnumber": data.get("idnumber") or "", "summary": data.get("summary") or "",
        "summaryformat": data.get("summaryformat", 1), "format": data.get("format", "topics"),
        "showgrades": data.get("showgrades", 1), "newsitems": data.get("newsitems", 5),
        "startdate": startdate, "enddate": enddate or 0, "maxbytes": data.get("maxbytes", 0),
        "showreports": data.get("showreports", 0), "visible": 1 if data.get("visible") is None else data["visible"],
        "hiddensections": data.get("hiddensections") if data.get("hiddensections") is not None else 1,
        "groupmode": data.get("groupmode", 0), "groupmodeforce": data.get("groupmodeforce", 0),
        "defaultgroupingid": data.get("defaultgroupingid", 0),
        "enablecompletion": data.get("enablecompletion") if data.get("enablecompletion") is not None else 1,
        "completionnotify": data.get("completionnotify") or 0, "lang": data.get("lang") or "",
        "theme": data.get("forcetheme") or "", "marker": 0, "timecreated": now, "timemodified": now,
        "cacherev": now, "coursedisplay": 0,
    })
    site.update("course", course_id, contextid=site.new_context(50, course_id))
    for number in range(0, numsections + 1):
        add_section(site, course_id, number)
    if data.get("newsitems", 5):
        add_module(site, course_id, 0, "forum", {"name": "Announcements", "intro": "General news and announcements",
                                                 "type": "news"}, idnumber="", completion=0)
    return site.tables["course"][course_id]


def add_section(site: Site, courseid: int, number: int, name: str | None = None) -> Record:
    sid = site.insert("course_sections", {"course": courseid, "section": number, "name": name, "summary": "",
                                          "summaryformat": 1, "visible": 1, "sequence": [],
                                          "timemodified": site.now()})
    return site.tables["course_sections"][sid]


def sections_of(site: Site, courseid: int) -> list[Record]:
    return sorted(site.find("course_sections", course=courseid), key=lambda s: s["section"])


def add_module(site: Site, courseid: int, sectionnum: int, modname: str, instance: dict[str, Any], *,
               idnumber: str, completion: int, visible: int = 1, completionview: int = 0,
               completionusegrade: int = 0, completionsubmit: int = 0) -> Record:
    """add_moduleinfo(): instance row, course module, module context, section sequence."""
    section = site.find_one("course_sections", course=courseid, section=sectionnum)
    if section is None:
        section = add_section(site, courseid, sectionnum)
    now = site.now()
    instance_id = site.insert(modname, dict(instance, course=courseid, timemodified=now, timecreated=now))
    cmid = site.insert("course_modules", {
        "course": courseid, "modname": modname, "instance": instance_id, "section": section["id"],
        "idnumber": idnumber, "visible": visible, "completion": completion, "completionview": completionview,
        "completionusegrade": completionusegrade, "completionsubmit": completionsubmit, "added": now,
    })
    site.update("course_modules", cmid, contextid=site.new_context(70, cmid))
    site.update("course_sections", section["id"], sequence=section["sequence"] + [cmid])
    return site.tables["course_modules"][cmid]


def question_bank_context(site: Site, courseid: int) -> int:
    """Where a course's questions live: 4.4 the course context; 5.x the course's "System shared question
    bank", a hidden mod_qbank in section 0 that is created on first use (so it then shows in get_contents)."""
    course = site.tables["course"][courseid]
    if not site.release.qbank_module:
        return course["contextid"]
    bank = site.find_one("course_modules", course=courseid, modname="qbank")
    if bank is None:
        bank = add_module(site, courseid, 0, "qbank", {"name": QBANK_NAME, "intro": QBANK_INTRO, "type": "system"},
                          idnumber="", completion=0, visible=0)
    return bank["contextid"]


def _course_format_options(course: Record, with_indentation: bool) -> list[dict[str, Any]]:
    options: list[dict[str, Any]] = [{"name": "hiddensections", "value": course["hiddensections"]},
                                     {"name": "coursedisplay", "value": course.get("coursedisplay", 0)}]
    if with_indentation:
        options.append({"name": "indentation", "value": "1"})
    return options


def _category_sortorder(site: Site, course: Record) -> int:
    category = site.get("course_categories", course["category"])
    siblings = sorted((c["id"] for c in site.find("course", category=course["category"])), reverse=True)
    return (category["sortorder"] if category else 0) + siblings.index(course["id"]) + 1


def course_contacts(site: Site, course: Record) -> list[dict[str, Any]]:
    return [{"id": u, "fullname": fullname(site.tables["user"][u])}
            for u in enrolled_userids(site, course["id"])
            if site.find_one("role_assignments", courseid=course["id"], userid=u, roleid=3)]


def course_by_field_out(call: Call, course: Record) -> dict[str, Any]:
    site = call.site
    category = site.get("course_categories", course["category"])
    return {
        "id": course["id"], "fullname": format_string(course["fullname"]),
        "displayname": format_string(course["fullname"]), "shortname": format_string(course["shortname"]),
        "courseimage": course_image(call, course), "categoryid": course["category"],
        "categoryname": format_string(category["name"]) if category else "",
        "sortorder": _category_sortorder(site, course), "summary": course["summary"],
        "summaryformat": course["summaryformat"], "summaryfiles": [], "overviewfiles": [],
        "showactivitydates": False, "showcompletionconditions": bool(course.get("showcompletionconditions", 1)),
        "contacts": course_contacts(site, course), "enrollmentmethods": ["manual"],
        "idnumber": course["idnumber"], "format": course["format"], "showgrades": course["showgrades"],
        "newsitems": course["newsitems"], "startdate": course["startdate"], "enddate": course["enddate"],
        "maxbytes": course["maxbytes"], "showreports": course["showreports"], "visible": course["visible"],
        "groupmode": course["groupmode"], "groupmodeforce": course["groupmodeforce"],
        "defaultgroupingid": course["defaultgroupingid"], "enablecompletion": course["enablecompletion"],
        "completionnotify": course["completionnotify"], "lang": course["lang"], "theme": course["theme"],
        "marker": course["marker"], "legacyfiles": 0, "calendartype": "", "timecreated": course["timecreated"],
        "timemodified": course["timemodified"], "requested": 0, "cacherev": course["cacherev"],
        "filters": [{"filter": f, "localstate": 0, "inheritedstate": 1} for f in FILTERS],
        "courseformatoptions": _course_format_options(course, with_indentation=True),
        **call.release.extra("course"),
    }


@ws("core_course_create_courses", Params(courses=M(S(
    fullname=V(TEXT), shortname=V(TEXT), categoryid=V(INT), summaryformat=V(INT, 1), format=V(PLUGIN, "topics"),
    showgrades=V(INT, 1), newsitems=V(INT, 5), maxbytes=V(INT, 0), showreports=V(INT, 0), groupmode=V(INT, 0),
    groupmodeforce=V(INT, 0), defaultgroupingid=V(INT, 0), **COURSE_FIELDS))), write=True)
def create_courses(call: Call, courses: list[dict]) -> list[dict]:
    created = []
    for data in courses:
        require_capability(call, "moodle/course:create")
        course = create_course(call.site, data)
        created.append({"id": course["id"], "shortname": course["shortname"]})  # raw, as recorded
    return created


@ws("core_course_update_courses", Params(courses=M(S(
    id=V(INT), fullname=V(TEXT, opt=True), shortname=V(TEXT, opt=True), categoryid=V(INT, opt=True),
    summaryformat=V(INT, opt=True), format=V(PLUGIN, opt=True), showgrades=V(INT, opt=True),
    newsitems=V(INT, opt=True), maxbytes=V(INT, opt=True), showreports=V(INT, opt=True),
    groupmode=V(INT, opt=True), groupmodeforce=V(INT, opt=True), defaultgroupingid=V(INT, opt=True),
    **COURSE_FIELDS))))
def update_courses(call: Call, courses: list[dict]) -> dict:
    """Not all-or-nothing: each item is applied on its own, failures become warnings (as recorded)."""
    site = call.site
    warnings = []
    for data in courses:
        try:
            with site.transaction():
                _update_course(call, data)
        except Exception as error:  # noqa: BLE001 - Moodle turns every per-item exception into a warning
            if isinstance(error, MoodleError):
                error = call.release.present(error, call.debug)
            code = getattr(error, "errorcode", "errorcourseupdate")
            message = getattr(error, "message", str(error))
            warnings.append({"item": "course", "itemid": data["id"], "warningcode": code, "message": message})
    return {"warnings": warnings}


def _update_course(call: Call, data: dict[str, Any]) -> None:
    site = call.site
    course = site.get("course", data["id"])
    if course is None or course["id"] == 1:
        raise missing_record("course")
    require_course_access(call, course["id"])
    require_capability(call, "moodle/course:update", course["id"])
    _check_unique(site, data.get("shortname"), data.get("idnumber"), exclude=course["id"])
    if "categoryid" in data and site.get("course_categories", data["categoryid"]) is None:
        raise missing_record("course_categories")
    changes = {k: v for k, v in data.items() if k not in ("id", "courseformatoptions", "customfields", "numsections",
                                                          "categoryid", "forcetheme")}
    if "categoryid" in data:
        changes["category"] = data["categoryid"]
    if "forcetheme" in data:
        changes["theme"] = data["forcetheme"]
    changes["timemodified"] = site.now()
    site.update("course", course["id"], **changes)
    numsections = data.get("numsections")
    if numsections is not None:
        existing = {s["section"] for s in sections_of(site, course["id"])}
        for number in range(0, numsections + 1):
            if number not in existing:
                add_section(site, course["id"], number)


FIELDS_BY = {"id", "ids", "shortname", "idnumber", "category", "sectionid"}


@ws("core_course_get_courses_by_field", Params(field=V(ALPHA, ""), value=V(RAW, "")))
def get_courses_by_field(call: Call, field: str, value: str) -> dict:
    site = call.site
    courses = [c for c in site.tables["course"].values() if c["id"] != 1]
    if field and field not in FIELDS_BY:
        raise invalid_parameter("Invalid field name")
    if field in ("id", "category"):
        number = _clean_int(value)
        key = "id" if field == "id" else "category"
        courses = [c for c in courses if c[key] == number]
    elif field == "ids":
        wanted = {_clean_int(v) for v in value.split(",")}
        courses = [c for c in courses if c["id"] in wanted]
    elif field in ("shortname", "idnumber"):
        courses = [c for c in courses if c[field] == value]
    elif field == "sectionid":
        section = site.get("course_sections", _clean_int(value))
        courses = [c for c in courses if section and c["id"] == section["course"]]
    courses.sort(key=lambda c: c["id"])
    return {"courses": [course_by_field_out(call, c) for c in courses], "warnings": []}


def _clean_int(text: str) -> int:
    match = re.match(r"^\s*[+-]?\d+", text)
    return int(match.group(0)) if match else 0


@ws("core_course_get_courses", Params(options=S(req=0, default={}, ids=M(V(INT), req=2))))
def get_courses(call: Call, options: dict) -> list[dict]:
    site = call.site
    ids = options.get("ids")
    courses = [site.tables["course"][i] for i in ids if i in site.tables["course"]] if ids \
        else list(site.tables["course"].values())
    if ids:
        missing = [i for i in ids if i not in site.tables["course"]]
        if missing:
            raise missing_record("course")
    out = []
    for c in courses:
        rec: dict[str, Any] = {
            "id": c["id"], "shortname": format_string(c["shortname"]), "categoryid": c["category"],
            "categorysortorder": _category_sortorder(site, c) if c["id"] != 1 else 1,
            "fullname": format_string(c["fullname"]), "displayname": format_string(c["fullname"]),
            "idnumber": c["idnumber"],
            "summary": c["summary"], "summaryformat": c["summaryformat"], "format": c["format"],
            "showgrades": c["showgrades"], "newsitems": c["newsitems"], "startdate": c["startdate"],
            "enddate": c["enddate"], "numsections": len(sections_of(site, c["id"])) - 1,
            "maxbytes": c.get("maxbytes", 0), "showreports": c.get("showreports", 0), "visible": c["visible"],
            "hiddensections": c.get("hiddensections", 1), "groupmode": c.get("groupmode", 0),
            "groupmodeforce": c.get("groupmodeforce", 0), "defaultgroupingid": c.get("defaultgroupingid", 0),
            "timecreated": c["timecreated"], "timemodified": c["timemodified"],
            "enablecompletion": c["enablecompletion"], "completionnotify": c.get("completionnotify", 0),
            "lang": c["lang"], "forcetheme": c.get("theme", ""),
            "courseformatoptions": _course_format_options(c, with_indentation=False),
            "showactivitydates": False, "showcompletionconditions": bool(c.get("showcompletionconditions", 1)),
        }
        rec.update(call.release.extra("course"))
        out.append(rec)
    return out


# ------------------------------------------------------------------------------ contents
def module_out(call: Call, cm: Record, for_userid: int) -> dict[str, Any]:
    site = call.site
    modname = cm["modname"]
    instance = site.tables[modname][cm["instance"]]
    five = call.release.extra("module")  # 5.x: purpose and branded after modname, candisplay after noviewlink
    out: dict[str, Any] = {"id": cm["id"]}
    if modname != "label":
        out["url"] = f"{call.wwwroot}/mod/{modname}/view.php?id={cm['id']}"
    out["name"] = format_string(instance["name"])
    out["instance"] = cm["instance"]
    out["contextid"] = cm["contextid"]
    if modname in ("label", "qbank"):
        out["description"] = f'<div class="no-overflow">{instance.get("intro", "")}</div>'
    out.update({
        "visible": cm["visible"], "uservisible": True, "visibleoncoursepage": 1,
        "modicon": f"{call.wwwroot}/theme/image.php/boost/{modname}/{1795331526}/monologo?filtericon=1",
        "modname": modname})
    if five:
        out.update(purpose=PURPOSE.get(modname, "other"), branded=five["branded"])
    out.update({"modplural": MODPLURAL.get(modname, modname), "availability": None, "indent": 0,
                "onclick": "", "afterlink": None})
    if modname == "forum":
        out["activitybadge"] = []
    out["customdata"] = _customdata(cm, bool(five))
    out["noviewlink"] = modname == "label"
    if five:
        out["candisplay"] = modname != "qbank"  # a question bank is never shown on the course page
    out["completion"] = cm["completion"]
    if cm["completion"]:
        out["completiondata"] = completion.completion_data(site, cm, for_userid, trackeduser=False)
    out.update({"downloadcontent": 1, "dates": _dates(instance, modname), "groupmode": 0})
    if modname in ("page", "url"):
        filename = "index.html" if modname == "page" else instance["name"]
        fileurl = (f"{call.wwwroot}/webservice/pluginfile.php/{cm['contextid']}/mod_page/content/index.html"
                   "?forcedownload=1") if modname == "page" else instance.get("externalurl", "")
        out["contents"] = [{
            "type": "file" if modname == "page" else "url", "filename": filename, "filepath": "/" if modname == "page"
            else None, "filesize": 0, "fileurl": fileurl, "timecreated": None if modname == "page" else None,
            "timemodified": instance["timemodified"], "sortorder": 1 if modname == "page" else None,
            "userid": None, "author": None, "license": None,
        }]
        out["contentsinfo"] = {"filescount": 1, "filessize": 0, "lastmodified": instance["timemodified"],
                               "mimetypes": [], "repositorytype": ""}
    return out


def _customdata(cm: Record, forum_tracking: bool) -> str:
    if cm["modname"] == "forum" and forum_tracking:
        return json.dumps({"trackingtype": "1"}, separators=(",", ":"))
    if cm["modname"] == "quiz":
        rules: dict[str, Any] = {"completionpassorattemptsexhausted": []}
        return json.dumps({"customcompletionrules": rules}, separators=(",", ":"))
    if cm["modname"] == "assign" and cm.get("completionsubmit"):
        return json.dumps({"customcompletionrules": {"completionsubmit": "1"}}, separators=(",", ":"))
    return '""'


def _dates(instance: Record, modname: str) -> list[dict[str, Any]]:
    if modname == "assign" and instance.get("duedate"):
        return [{"label": "Due:", "timestamp": instance["duedate"], "dataid": "duedate"}]
    return []


CONTENT_OPTIONS = {"excludemodules", "excludecontents", "includestealthmodules", "sectionid", "sectionnumber",
                   "cmid", "modname", "modid"}


@ws("core_course_get_contents", Params(courseid=V(INT), options=M(S(name=V(ALPHANUM), value=V(RAW)), default=[])))
def get_contents(call: Call, courseid: int, options: list[dict]) -> list[dict]:
    site = call.site
    course = require_course(site, courseid)
    require_course_access(call, course["id"])
    opts = {}
    for option in options:
        name = option["name"].lower()
        if name not in CONTENT_OPTIONS:
            raise invalid_parameter(f"Invalid option: {option['name']}")
        opts[name] = option["value"]
    out = []
    for section in sections_of(site, course["id"]):
        if "sectionid" in opts and str(section["id"]) != opts["sectionid"].strip():
            continue
        if "sectionnumber" in opts and str(section["section"]) != opts["sectionnumber"].strip():
            continue
        modules = []
        if opts.get("excludemodules", "0") in ("0", ""):
            for cmid in section["sequence"]:
                cm = site.tables["course_modules"].get(cmid)
                if cm is None:
                    continue
                if "cmid" in opts and str(cmid) != opts["cmid"].strip():
                    continue
                if "modname" in opts and cm["modname"] != opts["modname"]:
                    continue
                if "modid" in opts and str(cm["instance"]) != opts["modid"].strip():
                    continue
                module = module_out(call, cm, call.userid)
                if opts.get("excludecontents", "0") not in ("0", ""):
                    module.pop("contents", None)
                modules.append(module)
        name = format_string(section_name(section, call.release.default_section_name))
        out.append({"id": section["id"], "name": name, "visible": section["visible"],
                    "summary": section["summary"], "summaryformat": section["summaryformat"],
                    "section": section["section"], "hiddenbynumsections": 0, "uservisible": True,
                    **call.release.extra("section"), "modules": modules})
    return out
