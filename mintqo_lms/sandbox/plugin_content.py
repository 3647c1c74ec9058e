"""``local_mintqo_upsert_course_content`` (plugin 1.4.0): the content of many courses in one call.

Why its own module: it only composes the per-course steps of upsert_sections, upsert_activities, import_quiz and
upsert_events (plugin.py) — one transaction for the whole call, every course's access checked before any write,
and each error prefixed with where it happened (``courses[3] (course 57): modules[2] (idnumber …): …``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from . import plugin, quiz
from .params import ALPHANUMEXT, INT, RAW, M, Params, S, V
from .protocol import MoodleError, invalid_parameter
from .registry import Call, ws
from .state import Record

CONTENT_MODULES = (*plugin.SUPPORTED_MODULES, "quiz")
MODULE = S(**plugin.ACTIVITY.keys, teamquiz=V(RAW, ""),
           quiz=S(req=2, questionset=V(ALPHANUMEXT), sections=plugin.QUIZ_SECTIONS, settings=plugin.QUIZ_SETTINGS))
TEAM_PAGE = "/local/mintqo/team.php?id="
LOCATED = "local_mintqo\\local\\located_exception"


@contextmanager
def _located(call: Call, where: str) -> Iterator[None]:
    """The plugin's located_exception: any Moodle error raised inside keeps its errorcode, its message (with the
    detail of an invalid parameter, which sites without debugging would not show) is prefixed with ``where``."""
    try:
        yield
    except MoodleError as raised:
        error = call.release.present(raised, call.debug)
        message = error.message
        if error.debuginfo and error.debuginfo not in message:
            message += f" ({error.debuginfo})"
        raise MoodleError(LOCATED, error.errorcode, f"{where}: {message}", error.debuginfo) from None


def _module_name(index: int, module: dict) -> str:
    return f"modules[{index}] (idnumber {module['idnumber'].strip()})"


def _check_module(module: dict, questionsets: dict[str, str], seen: set[str]) -> None:
    plugin.check_activity(module, CONTENT_MODULES, seen)
    spec = module.get("quiz")
    if module["modname"] == "quiz" and spec is None:
        raise plugin.plugin_error("quizstructuremissing",
                                  "A quiz module needs the quiz structure (questionset, sections, settings).")
    if module["modname"] != "quiz" and spec is not None:
        raise plugin.plugin_error("quizstructurenotallowed",
                                  f"Only a quiz module has a quiz structure, not a {module['modname']} module.")
    if module["teamquiz"].strip() and module["modname"] != "url":
        raise invalid_parameter("modules: teamquiz is only for a url module")
    if spec is not None:
        if spec["questionset"] not in questionsets:
            raise plugin.plugin_error("unknownquestionset", f"Unknown question set: {spec['questionset']}")
        plugin.check_quiz_settings(spec["settings"])


def _check_entry(call: Call, entry: dict, questionsets: dict[str, str]) -> Record:
    """The entry's course with the capabilities its content needs; its sections, modules and events checked."""
    needed = ["moodle/course:update", "moodle/course:manageactivities"]
    if any(m["modname"] == "quiz" for m in entry["modules"]):
        needed.append("moodle/question:add")
    if entry["events"]:
        course = plugin.events_course(call, entry["courseid"], *needed)
    else:
        course = plugin.provisioning_course(call, entry["courseid"], *needed)
    numbers: set[int] = set()
    for index, section in enumerate(entry["sections"]):
        with _located(call, f"sections[{index}]"):
            plugin.check_section(section, numbers)
    idnumbers: set[str] = set()
    for index, module in enumerate(entry["modules"]):
        with _located(call, _module_name(index, module)):
            _check_module(module, questionsets, idnumbers)
    events: set[str] = set()
    for index, event in enumerate(entry["events"]):
        with _located(call, f"events[{index}]"):
            plugin.check_event(event, events)
    return course


def _team_page_url(call: Call, course: Record, quiz_idnumber: str) -> str:
    cm = plugin.cm_by_idnumber(call.site, course["id"], quiz_idnumber)
    if cm is None or cm["modname"] != "quiz":
        raise plugin.plugin_error("unknownteamquiz", f'The team quiz "{quiz_idnumber}" is not a quiz of this course.')
    return f"{call.wwwroot}{TEAM_PAGE}{cm['id']}"


def _apply_module(call: Call, course: Record, module: dict, questionsets: dict[str, str],
                  quizzes: list[dict]) -> dict:
    spec = module.get("quiz")
    if spec is None:
        if module["teamquiz"].strip():
            module = {**module, "externalurl": _team_page_url(call, course, module["teamquiz"].strip())}
        return plugin.upsert_activity(call.site, course, module)
    idnumber = module["idnumber"].strip()
    # One source of visibility: the module's, whatever the settings say.
    settings = {**spec["settings"], "visible": module["visible"]}
    done = plugin.upsert_quiz(call.site, course, module["section"], idnumber, module["name"], module["intro"],
                              questionsets[spec["questionset"]], spec["sections"], settings)
    quizzes.append({"idnumber": idnumber, **done})
    return {"idnumber": idnumber, "cmid": done["cmid"], "instanceid": done["quizid"], "modname": "quiz",
            "status": done["status"]}


def _apply_entry(call: Call, course: Record, entry: dict, questionsets: dict[str, str]) -> dict:
    """Sections, the modules in order, then the completion criteria and the events."""
    site = call.site
    result: dict[str, Any] = {"courseid": course["id"], "sections": plugin.apply_sections(site, course, entry["sections"])
                              if entry["sections"] else [], "modules": [], "quizzes": []}
    if entry["modules"]:
        plugin.ensure_sections(site, course, max(m["section"] for m in entry["modules"]))
    for index, module in enumerate(entry["modules"]):
        with _located(call, _module_name(index, module)):
            result["modules"].append(_apply_module(call, course, module, questionsets, result["quizzes"]))
    with _located(call, "completioncriteria"):
        result["completioncriteria"] = plugin.apply_criteria(site, course, entry["completioncriteria"])
    result["events"] = []
    for index, event in enumerate(entry["events"]):
        with _located(call, f"events[{index}]"):
            result["events"].append(plugin.apply_event(call, course, event))
    return result


def _question_sets(call: Call, questionsets: list[dict]) -> dict[str, str]:
    """The sets by key, each XML parsed once before anything is written."""
    sets: dict[str, str] = {}
    for index, item in enumerate(questionsets):
        with _located(call, f"questionsets[{index}] (key {item['key']})"):
            if item["key"] in sets:
                raise invalid_parameter(f"questionsets: key {item['key']} appears twice")
            quiz.parse_questions_xml(item["questionsxml"])
        sets[item["key"]] = item["questionsxml"]
    return sets


@ws("local_mintqo_upsert_course_content", Params(
    questionsets=M(S(key=V(ALPHANUMEXT), questionsxml=V(RAW)), default=[]),
    courses=M(S(courseid=V(INT), sections=M(plugin.SECTION, default=[]), modules=M(MODULE, default=[]),
                completioncriteria=M(S(idnumber=V(RAW)), default=[]), events=M(plugin.EVENT, default=[])))),
    write=True)
def upsert_course_content(call: Call, questionsets: list[dict], courses: list[dict]) -> dict:
    """Every entry's access and request checked first, then each entry applied in order (one transaction)."""
    sets = _question_sets(call, questionsets)
    records = []
    for index, entry in enumerate(courses):
        with _located(call, f"courses[{index}] (course {entry['courseid']})"):
            records.append(_check_entry(call, entry, sets))
    out = []
    for index, (entry, course) in enumerate(zip(courses, records)):
        with _located(call, f"courses[{index}] (course {course['id']})"):
            out.append(_apply_entry(call, course, entry, sets))
    return {"courses": out}
