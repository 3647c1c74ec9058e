"""The local_mintqo plugin's functions, per moodle/local/mintqo/README.md (the contract)."""

from __future__ import annotations

from typing import Any

from . import completion, plugin_sync, quiz
from .common import cm_by_idnumber, require_capability, require_course, require_course_access
from .core_course import add_module, add_section, question_bank_context, sections_of
from .params import ALPHANUMEXT, INT, RAW, TEXT, M, Params, S, V
from .protocol import invalid_parameter, missing_record, moodle_exception
from .registry import PLUGIN_RELEASE, PLUGIN_REQUIRES, PLUGIN_SUPPORTED, PLUGIN_VERSION, Call, ws
from .state import Record, Site

SUPPORTED_MODULES = ("page", "url", "label", "assign")
MAX_LIMITNUM = 5000


def plugin_error(code: str, message: str) -> Exception:
    return moodle_exception(code, message)


def provisioning_course(call: Call, courseid: int, *capabilities: str) -> Record:
    """The course of a write function: validate_context, then local/mintqo:provision and the others."""
    course = require_course(call.site, courseid)
    require_course_access(call, course["id"])
    for capability in ("local/mintqo:provision", *capabilities):
        require_capability(call, capability, course["id"])
    return course


@ws("local_mintqo_get_plugin_info", Params())
def get_plugin_info(call: Call) -> dict:
    release = call.release
    return {"component": "local_mintqo", "version": int(PLUGIN_VERSION), "release": PLUGIN_RELEASE,
            "requires": PLUGIN_REQUIRES, "supported": list(PLUGIN_SUPPORTED), "moodle_release": release.release,
            "moodle_version": release.version, "moodle_branch": release.branch,
            "moodle_supported": PLUGIN_SUPPORTED[0] <= release.branch <= PLUGIN_SUPPORTED[1]}


@ws("local_mintqo_get_site_languages", Params())
def get_site_languages(call: Call) -> dict:
    site = call.site
    return {"defaultlang": site.defaultlang,
            "languages": [{"code": code, "name": name} for code, name in sorted(site.languages.items())]}


# ------------------------------------------------------------------------------ sections
SECTION = S(section=V(INT), name=V(TEXT), summary=V(RAW, ""), visible=V(INT, 1))


@ws("local_mintqo_upsert_sections", Params(courseid=V(INT), sections=M(SECTION)), write=True)
def upsert_sections(call: Call, courseid: int, sections: list[dict]) -> dict:
    course = provisioning_course(call, courseid, "moodle/course:update")
    check_sections(sections)
    return {"sections": apply_sections(call.site, course, sections)}


def check_sections(sections: list[dict]) -> None:
    seen: set[int] = set()
    for item in sections:
        check_section(item, seen)


def check_section(item: dict, seen: set[int]) -> None:
    if item["section"] < 1 or item["section"] in seen:
        raise plugin_error("invalidsection", f"Invalid section: {item['section']}.")
    seen.add(item["section"])


def ensure_sections(site: Site, course: Record, highest: int) -> set[int]:
    """course_create_sections_if_missing(0..highest): the numbers it created."""
    existing = {s["section"] for s in sections_of(site, course["id"])}
    missing = [number for number in range(0, highest + 1) if number not in existing]
    for number in missing:
        add_section(site, course["id"], number)
    return set(missing)


def apply_sections(site: Site, course: Record, sections: list[dict]) -> list[dict]:
    """Sections by number (missing ones up to the highest are created), name, summary and visibility."""
    created_now = ensure_sections(site, course, max((item["section"] for item in sections), default=0))
    existing = {s["section"]: s for s in sections_of(site, course["id"])}
    out = []
    for item in sections:
        section = existing[item["section"]]
        wanted = {"name": item["name"], "summary": item["summary"], "visible": 1 if item["visible"] else 0}
        changed = {k: v for k, v in wanted.items() if section.get(k) != v}
        if changed:
            site.update("course_sections", section["id"], timemodified=site.now(), **changed)
        status = "created" if item["section"] in created_now else ("updated" if changed else "unchanged")
        out.append({"section": item["section"], "id": section["id"], "name": item["name"], "status": status})
    return out


# ------------------------------------------------------------------------------ activities
ACTIVITY = S(section=V(INT), modname=V(ALPHANUMEXT), idnumber=V(RAW), name=V(TEXT), intro=V(RAW, ""),
             content=V(RAW, ""), externalurl=V(RAW, ""), visible=V(INT, 1), completion=V(INT, 0),
             completionview=V(INT, 0), completionsubmit=V(INT, 0), duedate=V(INT, 0), completionexpected=V(INT, 0),
             allowsubmissionsfromdate=V(INT, 0), teamsubmission=V(INT, 0), selfcompletion=V(INT, 1))


def _instance_fields(item: dict[str, Any]) -> dict[str, Any]:
    fields: dict[str, Any] = {"name": item["name"], "intro": item["intro"]}
    if item["modname"] == "page":
        fields["content"] = item["content"]
    if item["modname"] == "url":
        fields["externalurl"] = item["externalurl"]
    if item["modname"] == "assign":
        # Group submission as the plugin sets it: any member submits for the group, nobody waits for the others.
        fields.update(duedate=item["duedate"], allowsubmissionsfromdate=item["allowsubmissionsfromdate"],
                      teamsubmission=1 if item["teamsubmission"] else 0, requireallteammemberssubmit=0,
                      preventsubmissionnotingroup=0, teamsubmissiongroupingid=0)
    return fields


def _cm_fields(item: dict[str, Any]) -> dict[str, Any]:
    completion, view = item["completion"], item["completionview"]
    # selfcompletion = 0 (only manual completion can be marked by anybody): a CAP_PREVENT override of
    # moodle/course:togglecompletion for the participant roles in the module context; a label (whose manual button
    # Moodle always shows) gets automatic completion on "view" instead, a rule nobody can meet.
    staff_only = completion == 1 and not item["selfcompletion"]
    if staff_only and item["modname"] == "label":
        completion, view = 2, 1
    return {"visible": 1 if item["visible"] else 0, "completion": completion,
            "completionview": view if completion == 2 else 0,
            "completionsubmit": item["completionsubmit"] if completion == 2 and item["modname"] == "assign" else 0,
            "completionexpected": item["completionexpected"] if completion else 0,
            "togglecompletion_prevented": 1 if staff_only else 0}


def _move_to_section(site: Site, cm: Record, sectionnum: int) -> bool:
    current = site.tables["course_sections"][cm["section"]]
    if current["section"] == sectionnum:
        return False
    target = site.find_one("course_sections", course=cm["course"], section=sectionnum) \
        or add_section(site, cm["course"], sectionnum)
    site.update("course_sections", current["id"], sequence=[i for i in current["sequence"] if i != cm["id"]])
    site.update("course_sections", target["id"], sequence=target["sequence"] + [cm["id"]])
    site.update("course_modules", cm["id"], section=target["id"])
    return True


@ws("local_mintqo_upsert_activities", Params(courseid=V(INT), activities=M(ACTIVITY),
                                             completioncriteria=M(S(idnumber=V(RAW)), default=[])), write=True)
def upsert_activities(call: Call, courseid: int, activities: list[dict], completioncriteria: list[dict]) -> dict:
    site = call.site
    course = provisioning_course(call, courseid, "moodle/course:manageactivities")
    seen: set[str] = set()
    for item in activities:
        check_activity(item, SUPPORTED_MODULES, seen)
    ensure_sections(site, course, max((item["section"] for item in activities), default=0))
    out = [upsert_activity(site, course, item) for item in activities]
    return {"activities": out, "completioncriteria": apply_criteria(site, course, completioncriteria)}


def check_activity(item: dict[str, Any], supported: tuple[str, ...], seen: set[str]) -> None:
    """What upsert_activities rejects in one activity before writing anything (``seen``: idnumbers so far)."""
    if item["modname"] not in supported:
        raise plugin_error("unsupportedmodule",
                           f'Activity type "{item["modname"]}" is not supported (page, url, label, assign).')
    if item["section"] < 0:
        raise plugin_error("invalidsection", f"Invalid section: {item['section']}.")
    for field, allowed in (("completion", (0, 1, 2)), ("teamsubmission", (0, 1)), ("selfcompletion", (0, 1))):
        if item[field] not in allowed:
            raise invalid_parameter(f"activities: {field} must be one of {', '.join(map(str, allowed))}")
    for field in ("duedate", "completionexpected", "allowsubmissionsfromdate"):
        if item[field] < 0:
            raise invalid_parameter(f"activities: {field} must not be negative")
    idnumber = item["idnumber"].strip()
    if idnumber == "":
        raise invalid_parameter("activities: idnumber is required")
    if idnumber in seen:
        raise invalid_parameter(f"activities: idnumber {idnumber} appears twice")
    seen.add(idnumber)


def module_of_type(site: Site, course: Record, idnumber: str, modname: str) -> Record | None:
    """The course's module with ``idnumber``; one of another type is the activitytypemismatch error."""
    cm = cm_by_idnumber(site, course["id"], idnumber)
    if cm is not None and cm["modname"] != modname:
        raise plugin_error("activitytypemismatch",
                           f'The idnumber "{idnumber}" belongs to a {cm["modname"]} activity, not to a {modname}.')
    return cm


def upsert_activity(site: Site, course: Record, item: dict[str, Any]) -> dict:
    """Create, update or leave one page/url/label/assign by idnumber (a checked item)."""
    item = {**item, "idnumber": item["idnumber"].strip()}
    cm = module_of_type(site, course, item["idnumber"], item["modname"])
    cm_fields = _cm_fields(item)
    if cm is None:
        fields = dict(cm_fields)
        extra = {k: fields.pop(k) for k in ("completionexpected", "togglecompletion_prevented")}
        cm = add_module(site, course["id"], item["section"], item["modname"], _instance_fields(item),
                        idnumber=item["idnumber"], **fields)
        site.update("course_modules", cm["id"], **extra)
        status = "created"
    else:
        instance = site.tables[cm["modname"]][cm["instance"]]
        inst_changes = {k: v for k, v in _instance_fields(item).items() if instance.get(k) != v}
        cm_changes = {k: v for k, v in cm_fields.items() if cm.get(k, 0) != v}
        moved = _move_to_section(site, cm, item["section"])
        if inst_changes:
            site.update(cm["modname"], instance["id"], timemodified=site.now(), **inst_changes)
        if cm_changes:
            site.update("course_modules", cm["id"], **cm_changes)
            if {"completion", "completionview", "completionsubmit"} & set(cm_changes):
                # update_moduleinfo() with new completion rules: reset_all_state() recalculates everybody.
                for row in site.find("course_modules_completion", coursemoduleid=cm["id"]):
                    site.delete("course_modules_completion", row["id"])
        status = "updated" if (inst_changes or cm_changes or moved) else "unchanged"
    return {"idnumber": item["idnumber"], "cmid": cm["id"], "instanceid": cm["instance"], "modname": cm["modname"],
            "status": status}


def apply_criteria(site: Site, course: Record, completioncriteria: list[dict]) -> dict:
    """Course completion = all the named activities; an empty list leaves the criteria alone."""
    if not completioncriteria:
        return {"status": "unchanged", "count": 0}
    cmids = []
    for crit in completioncriteria:
        cm = cm_by_idnumber(site, course["id"], crit["idnumber"])
        if cm is None or not cm["completion"]:
            raise plugin_error("invalidcompletioncriteria", f'Completion criterion "{crit["idnumber"]}" is not an '
                               "activity of this course with completion enabled.")
        if cm["id"] not in cmids:
            cmids.append(cm["id"])
    had = bool(completion.criteria(site, course["id"]))
    changed = completion.set_activity_criteria(site, course["id"], cmids)
    return {"status": ("updated" if had else "created") if changed else "unchanged", "count": len(cmids)}


# ------------------------------------------------------------------------------ quiz import
SETTINGS_DEFAULT = {"attempts": 0, "grademethod": 1, "questionsperpage": 0, "visible": 1, "timeopen": 0,
                    "timeclose": 0, "completionexpected": 0, "completion": 1}


def _quiz_settings(name: str, intro: str, settings: dict, completion_enabled: bool) -> tuple[dict, dict]:
    """(quiz record fields, course module fields) the plugin keeps: a self-analysis, never an exam — the attempt is
    reviewable at every time, correctness, marks, feedback and the right answer never; maximum grade 0 (no grade
    item that counts); complete after one finished attempt, or not tracked at all (settings completion 0)."""
    review = {f"review{field}": 0 for field in quiz.REVIEW_NEVER}
    review["reviewattempt"] = quiz.REVIEW_ALWAYS
    record = {"name": name, "intro": intro, "attempts": settings["attempts"], "grademethod": settings["grademethod"],
              "timeopen": settings["timeopen"], "timeclose": settings["timeclose"], "grade": 0.0,
              "completionminattempts": 1 if completion_enabled else 0, "completionattemptsexhausted": 0, **review}
    cm = {"visible": 1 if settings["visible"] else 0, "completion": 2 if completion_enabled else 0,
          "completionusegrade": 0,
          "completionexpected": settings["completionexpected"] if completion_enabled else 0}
    return record, cm


QUIZ_SECTIONS = M(S(heading=V(TEXT), questionidnumbers=M(V(RAW))))
QUIZ_SETTINGS = S(req=0, default=dict(SETTINGS_DEFAULT), attempts=V(INT, 0), grademethod=V(INT, 1),
                  questionsperpage=V(INT, 0), visible=V(INT, 1), timeopen=V(INT, 0), timeclose=V(INT, 0),
                  completionexpected=V(INT, 0), completion=V(INT, 1))


@ws("local_mintqo_import_quiz", Params(
    courseid=V(INT), section=V(INT), idnumber=V(RAW), name=V(TEXT), intro=V(RAW), questionsxml=V(RAW),
    sections=QUIZ_SECTIONS, settings=QUIZ_SETTINGS), write=True)
def import_quiz(call: Call, courseid: int, section: int, idnumber: str, name: str, intro: str, questionsxml: str,
                sections: list[dict], settings: dict) -> dict:
    course = provisioning_course(call, courseid, "moodle/course:manageactivities", "moodle/question:add")
    if idnumber == "":
        raise invalid_parameter("idnumber is required")
    if section < 0:
        raise plugin_error("invalidsection", f"Invalid section: {section}.")
    check_quiz_settings(settings)
    return upsert_quiz(call.site, course, section, idnumber, name, intro, questionsxml, sections, settings)


def check_quiz_settings(settings: dict) -> None:
    for field in ("timeopen", "timeclose", "completionexpected", "attempts", "questionsperpage"):
        if settings[field] < 0:
            raise invalid_parameter(f"settings: {field} must not be negative")
    if settings["completion"] not in (0, 1):
        raise invalid_parameter("settings: completion must be 0 or 1")
    if settings["timeopen"] and settings["timeclose"] and settings["timeclose"] <= settings["timeopen"]:
        raise invalid_parameter("settings: timeclose must be after timeopen")


def upsert_quiz(site: Site, course: Record, section: int, idnumber: str, name: str, intro: str, questionsxml: str,
                sections: list[dict], settings: dict) -> dict:
    """import_quiz's work on a checked request: a new quiz with its questions, or an existing one's settings."""
    wanted_record, wanted_cm = _quiz_settings(name, intro, settings,
                                              bool(course.get("enablecompletion", 1)) and settings["completion"] == 1)
    existing = module_of_type(site, course, idnumber, "quiz")
    if existing is not None:
        # The questions stay (attempts are the programme's data); settings and review options follow the request.
        record = site.tables["quiz"][existing["instance"]]
        record_changes = {k: v for k, v in wanted_record.items() if record.get(k) != v}
        cm_changes = {k: v for k, v in wanted_cm.items() if existing.get(k, 0) != v}
        if record_changes:
            site.update("quiz", record["id"], timemodified=site.now(), **record_changes)
        if cm_changes:
            site.update("course_modules", existing["id"], **cm_changes)
            if "completionusegrade" in cm_changes or "completion" in cm_changes:
                quiz.recompute_completion(site, existing)
        return _quiz_result(site, existing, "updated" if record_changes or cm_changes else "unchanged")
    parsed = quiz.parse_questions_xml(questionsxml)
    by_idnumber: dict[str, quiz.ParsedQuestion] = {}
    for question in parsed:
        if question.idnumber in by_idnumber:
            raise plugin_error("duplicatequestionidnumber", f"Question idnumber '{question.idnumber}' is used twice")
        by_idnumber[question.idnumber] = question
    placed: list[tuple[int, str]] = []  # (section index, idnumber) in slot order
    seen: set[str] = set()
    for index, quiz_section in enumerate(sections):
        for qid in quiz_section["questionidnumbers"]:
            if qid not in by_idnumber:
                raise plugin_error("unknownquestionidnumber",
                                   f"Section '{quiz_section['heading']}' names question '{qid}', which is not in "
                                   "the XML")
            if qid in seen:
                raise plugin_error("duplicatequestionidnumber", f"Question '{qid}' is in more than one section")
            seen.add(qid)
            placed.append((index, qid))
    missing = [q for q in by_idnumber if q not in seen]
    if missing:
        raise plugin_error("unknownquestionidnumber", f"Question '{missing[0]}' is in no section")

    now = site.now()
    question_ids = _provide_questions(site, course["id"], name, parsed, now)
    sumgrades = sum(by_idnumber[q].defaultmark for _, q in placed)
    cm_fields = dict(wanted_cm)
    completionexpected = cm_fields.pop("completionexpected")
    cm = add_module(site, course["id"], section, "quiz", dict(
        wanted_record, introformat=1, questionsperpage=settings["questionsperpage"], sumgrades=sumgrades,
        timelimit=0), idnumber=idnumber, **cm_fields)
    site.update("course_modules", cm["id"], completionexpected=completionexpected)
    site.update("quiz", cm["instance"], cmid=cm["id"])
    per_page = settings["questionsperpage"]
    section_ids = []
    for index, quiz_section in enumerate(sections):
        first = next((n for n, (i, _) in enumerate(placed, start=1) if i == index), None)
        grade_item = site.insert("quiz_grade_items", {"quizid": cm["instance"], "sortorder": index + 1,
                                                      "name": quiz_section["heading"]})
        section_ids.append((first, grade_item))
        if first is not None:
            site.insert("quiz_sections", {"quizid": cm["instance"], "firstslot": first,
                                          "heading": quiz_section["heading"], "shufflequestions": 0})
    for slot_number, (index, qid) in enumerate(placed, start=1):
        question = site.tables["question"][question_ids[qid]]
        page = 1 if per_page <= 0 else (slot_number - 1) // per_page + 1
        # Description items carry no mark and belong to no grade item.
        real = question["qtype"] != "description"
        site.insert("quiz_slots", {"quizid": cm["instance"], "slot": slot_number, "page": page,
                                   "questionid": question["id"], "maxmark": question["defaultmark"] if real else 0.0,
                                   "quizgradeitemid": section_ids[index][1] if real else None})
    return _quiz_result(site, site.tables["course_modules"][cm["id"]], "created")


def _provide_questions(site: Site, courseid: int, name: str, parsed: list[quiz.ParsedQuestion],
                       now: int) -> dict[str, int]:
    """idnumber -> question id: questions already in the course's bank are reused (the oldest entry of an
    idnumber), the others go into a new category named after the quiz (the plugin's contract, 1.1.0)."""
    context = question_bank_context(site, courseid)
    categories = {c["id"] for c in site.find("question_categories", contextid=context)}
    found: dict[str, int] = {}
    for question in sorted(site.tables["question"].values(), key=lambda q: q["id"]):
        if question["category"] in categories:
            found.setdefault(question["idnumber"], question["id"])
    ids = {q.idnumber: found[q.idnumber] for q in parsed if q.idnumber in found}
    missing = [q for q in parsed if q.idnumber not in found]
    if missing:
        category_id = site.insert("question_categories", {"name": name, "contextid": context, "info": "",
                                                          "idnumber": None, "timecreated": now})
        for question in missing:
            ids[question.idnumber] = site.insert("question", {
                "category": category_id, "idnumber": question.idnumber, "name": question.name,
                "qtype": question.qtype, "questiontext": question.questiontext, "defaultmark": question.defaultmark,
                "answers": question.answers, "timecreated": now})
    return ids


def _quiz_result(site: Site, cm: Record, status: str) -> dict:
    slots = quiz.slots_of(site, cm["instance"])
    category_id = site.tables["question"][slots[0]["questionid"]]["category"] if slots else 0
    return {"cmid": cm["id"], "quizid": cm["instance"], "status": status, "questioncategoryid": category_id,
            "questions": [{"idnumber": site.tables["question"][s["questionid"]]["idnumber"],
                           "questionid": s["questionid"], "slot": s["slot"]} for s in slots]}


# ------------------------------------------------------------------------------ course defaults
ENROL_SEND_EMAIL_FROM_COURSE_CONTACT = 1


def news_forum(site: Site, courseid: int) -> Record:
    """forum_get_course_forum(course, 'news'): the course's announcements forum, created when missing."""
    for cm in site.find("course_modules", course=courseid, modname="forum"):
        forum = site.tables["forum"][cm["instance"]]
        if forum.get("type") == "news":
            return forum
    cm = add_module(site, courseid, 0, "forum", {"name": "Announcements", "intro": "General news and announcements",
                                                 "type": "news"}, idnumber="", completion=0)
    return site.tables["forum"][cm["instance"]]


def welcome_message(site: Site, course: Record) -> int | None:
    """The manual enrolment's customint1 (0 = no welcome message; 1–3 = who sends it); None before Moodle 4.5."""
    if not site.release.manual_welcome_message:
        return None
    return int(course.get("manual_welcome", ENROL_SEND_EMAIL_FROM_COURSE_CONTACT))


@ws("local_mintqo_configure_courses", Params(courses=M(S(
    courseid=V(INT), newsforumname=V(TEXT), newsforumintro=V(RAW, opt=True), sendwelcomemessage=V(INT),
    lockenrolments=V(INT, 0)))),
    write=True)
def configure_courses(call: Call, courses: list[dict]) -> dict:
    site = call.site
    seen: set[int] = set()
    records = []
    for item in courses:
        if item["courseid"] in seen:
            raise invalid_parameter(f"courses: course {item['courseid']} appears twice")
        seen.add(item["courseid"])
        name = item["newsforumname"].strip()
        if not name or len(name) > 255:
            raise invalid_parameter("courses: newsforumname must have 1 to 255 characters")
        if item["sendwelcomemessage"] not in (0, 1):
            raise invalid_parameter("courses: sendwelcomemessage must be 0 or 1")
        if item["lockenrolments"] not in (0, 1):
            raise invalid_parameter("courses: lockenrolments must be 0 or 1")
        course = require_course(site, item["courseid"])
        if course["id"] == 1:
            raise invalid_parameter("courses: the site course cannot be configured")
        records.append(provisioning_course(call, course["id"], "moodle/course:update"))
    out = []
    for item, course in zip(courses, records):
        existed = any(site.tables["forum"][cm["instance"]].get("type") == "news"
                      for cm in site.find("course_modules", course=course["id"], modname="forum"))
        forum = news_forum(site, course["id"])
        changes: dict[str, Any] = {}
        if forum["name"] != item["newsforumname"].strip():
            changes["name"] = item["newsforumname"].strip()
        if item.get("newsforumintro") is not None and forum["intro"] != item["newsforumintro"]:
            changes["intro"] = item["newsforumintro"]
        if changes:
            site.update("forum", forum["id"], timemodified=site.now(), **changes)
        welcome = welcome_message(site, course)
        welcome_changed = False
        if welcome is not None:
            wanted = (welcome or ENROL_SEND_EMAIL_FROM_COURSE_CONTACT) if item["sendwelcomemessage"] else 0
            if wanted != welcome:
                site.update("course", course["id"], manual_welcome=wanted)
                welcome_changed = True
        # The plugin prevents enrol/manual:unenrol for editing teachers in a locked course (kept as a flag here).
        lock_changed = bool(course.get("enrolments_locked", 0)) != bool(item["lockenrolments"])
        if lock_changed:
            site.update("course", course["id"], enrolments_locked=item["lockenrolments"])
        changed = bool(changes) or not existed or welcome_changed or lock_changed
        out.append({"courseid": course["id"], "status": "updated" if changed else "unchanged"})
    return {"courses": out}


# ------------------------------------------------------------------------------ calendar events
EVENT_FIELDS = ("name", "description", "timestart", "timeduration", "location")


EVENT = S(idnumber=V(RAW), name=V(TEXT), description=V(RAW, ""), timestart=V(INT), timeduration=V(INT, 0),
          location=V(TEXT, ""))


@ws("local_mintqo_upsert_events", Params(courseid=V(INT), events=M(EVENT)), write=True)
def upsert_events(call: Call, courseid: int, events: list[dict]) -> dict:
    """Course calendar events (eventtype course) keyed by our idnumber in the event's uuid field."""
    course = events_course(call, courseid)
    check_events(events)
    return {"events": apply_events(call, course, events)}


def events_course(call: Call, courseid: int, *capabilities: str) -> Record:
    course = require_course(call.site, courseid)
    if course["id"] == 1:
        raise invalid_parameter("courseid: the site course has no course events")
    return provisioning_course(call, course["id"], "moodle/calendar:manageentries", *capabilities)


def check_events(events: list[dict]) -> None:
    seen: set[str] = set()
    for item in events:
        check_event(item, seen)


def check_event(item: dict, seen: set[str]) -> None:
    idnumber = item["idnumber"].strip()
    if not idnumber or len(idnumber) > 255:
        raise invalid_parameter("events: idnumber must have 1 to 255 characters")
    if idnumber in seen:
        raise invalid_parameter(f"events: idnumber {idnumber} appears twice")
    seen.add(idnumber)
    if not item["name"].strip():
        raise invalid_parameter("events: name is required")
    if item["timestart"] <= 0:
        raise invalid_parameter("events: timestart must be a unix time")
    if item["timeduration"] < 0:
        raise invalid_parameter("events: timeduration must not be negative")


def apply_events(call: Call, course: Record, events: list[dict]) -> list[dict]:
    return [apply_event(call, course, item) for item in events]


def apply_event(call: Call, course: Record, item: dict) -> dict:
    site = call.site
    idnumber = item["idnumber"].strip()
    wanted = {"name": item["name"].strip(), "description": item["description"], "timestart": item["timestart"],
              "timeduration": item["timeduration"], "location": item["location"]}
    existing = min(site.find("event", courseid=course["id"], eventtype="course", uuid=idnumber),
                   key=lambda e: e["id"], default=None)
    if existing is None:
        new_id = site.insert("event", dict(wanted, format=1, courseid=course["id"], categoryid=0, groupid=0,
                                           userid=call.userid, modulename="0", instance=0, eventtype="course",
                                           visible=1, uuid=idnumber, timemodified=site.now()))
        return {"idnumber": idnumber, "id": new_id, "status": "created"}
    changes = {k: v for k, v in wanted.items() if existing.get(k) != v}
    if changes:
        site.update("event", existing["id"], timemodified=site.now(), **changes)
    return {"idnumber": idnumber, "id": existing["id"], "status": "updated" if changes else "unchanged"}


# ------------------------------------------------------------------------------ reads
def _check_limit(limitfrom: int, limitnum: int) -> None:
    if limitnum < 1 or limitnum > MAX_LIMITNUM:
        raise invalid_parameter(f"limitnum must be between 1 and {MAX_LIMITNUM}")
    if limitfrom < 0:
        raise invalid_parameter("limitfrom must not be negative")


@ws("local_mintqo_get_quiz_responses", Params(quizids=M(V(INT), default=[]), since=V(INT, 0), limitfrom=V(INT, 0),
                                              limitnum=V(INT, 1000), cursor=V(RAW, None),
                                              courseids=M(V(INT), default=[])))
def get_quiz_responses(call: Call, quizids: list[int], since: int, limitfrom: int, limitnum: int,
                       cursor: str | None, courseids: list[int]) -> dict:
    site = call.site
    _check_limit(limitfrom, limitnum)
    quizzes = {}
    for quizid in dict.fromkeys([*quizids, *_course_quizzes(call, courseids)]):
        record = site.get("quiz", quizid)
        if record is None:
            raise missing_record("quiz")
        require_course_access(call, record["course"])
        require_capability(call, "mod/quiz:viewreports", record["course"])
        quizzes[quizid] = record
    attempts = [a for a in site.tables["quiz_attempts"].values()
                if a["quiz"] in quizzes and a["state"] == "finished" and not a["preview"]]

    def rows_of(attempt: Record) -> list[dict]:
        rows = []
        record = quizzes[attempt["quiz"]]
        for slot in quiz.slots_of(site, record["id"]):
            question = site.tables["question"][slot["questionid"]]
            if question.get("qtype") == "description":
                continue  # a description item has no answer
            response = attempt["responses"].get(slot["slot"]) or attempt["responses"].get(str(slot["slot"])) or {}
            position = int(response.get("position", 0))
            fraction = response.get("fraction")
            rows.append({
                "attemptid": attempt["id"], "quizid": record["id"], "cmid": record["cmid"],
                "userid": attempt["userid"], "attempt": attempt["attempt"], "timestart": attempt["timestart"],
                "timefinish": attempt["timefinish"], "timemodified": attempt["timemodified"], "slot": slot["slot"],
                "questionid": question["id"], "questionidnumber": question["idnumber"],
                "answertext": question["answers"][position - 1]["text"] if position else "",
                "answerposition": position,
                "fraction": None if fraction is None else round(float(fraction), 7),
            })
        return rows
    return plugin_sync.responses_answer(call, attempts, rows_of, since, limitfrom, limitnum, cursor)


def _course_quizzes(call: Call, courseids: list[int]) -> list[int]:
    """Quiz ids of the courses (1.4.1); each course must exist and be accessible, its quizzes are checked after."""
    wanted = set()
    for courseid in dict.fromkeys(courseids):
        require_course_access(call, require_course(call.site, courseid)["id"])
        wanted.add(courseid)
    return sorted(q["id"] for q in call.site.tables["quiz"].values() if q["course"] in wanted)


@ws("local_mintqo_get_completions", Params(courseids=M(V(INT)), since=V(INT, 0), limitfrom=V(INT, 0),
                                           limitnum=V(INT, 1000), cursor=V(RAW, None)))
def get_completions(call: Call, courseids: list[int], since: int, limitfrom: int, limitnum: int,
                    cursor: str | None) -> dict:
    site = call.site
    _check_limit(limitfrom, limitnum)
    wanted = set()
    for courseid in courseids:
        course = require_course(site, courseid)
        require_course_access(call, course["id"])
        require_capability(call, "report/progress:view", course["id"])
        wanted.add(course["id"])
    activities = []
    for row in site.tables["course_modules_completion"].values():
        cm = site.get("course_modules", row["coursemoduleid"])
        if cm is None or cm["course"] not in wanted:
            continue
        activities.append((row["timemodified"], row["id"], {
            "courseid": cm["course"], "cmid": cm["id"], "idnumber": cm["idnumber"], "modname": cm["modname"],
            "userid": row["userid"], "state": row["completionstate"], "timemodified": row["timemodified"],
            "overrideby": row["overrideby"]}))
    courses = []
    for row in site.tables["course_completions"].values():
        if row["course"] not in wanted:
            continue
        # Moodle's course_completions has no timemodified: the plugin uses the newest of its three times.
        modified = max(row["timeenrolled"], row["timestarted"], row["timecompleted"] or 0)
        courses.append((modified, row["id"], {
            "courseid": row["course"], "userid": row["userid"], "timeenrolled": row["timeenrolled"],
            "timestarted": row["timestarted"], "timecompleted": row["timecompleted"],
            "timemodified": modified}))
    return plugin_sync.completions_answer(call, activities, courses, since, limitfrom, limitnum, cursor)
