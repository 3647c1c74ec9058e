"""``local_mintqo_upsert_course_content`` (plugin 1.4.0): the content of many courses in one call.

Why its own module: it only composes the per-course steps of upsert_sections, upsert_activities, import_quiz and
upsert_events (plugin.py) — one transaction for the whole call, every course's access checked before any write,
and each error prefixed with where it happened (``courses[3] (course 57): modules[2] (idnumber …): …``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from . import plugin
from .params import ALPHANUMEXT, INT, RAW, M, Params, S, V
from .protocol import MoodleError, invalid_parameter
from .registry import Call, ws
from .state import Record

CONTENT_MODULES = (*plugin.SUPPORTED_MODULES, "quiz")
MODULE = S(**plugin.ACTIVITY.keys, teamquiz=V(RAW, ""),
           quiz=S(req=2, questionset=V(ALPHANUMEXT), sections=plugin.QUIZ_SECTIONS, settings=plugin.QUIZ_SETTINGS))
TEAM_PAGE = "/local/mintqo/team.php?id="


@contextmanager
def _located(where: str) -> Iterator[None]:
    """A parameter or plugin error raised inside names ``where`` (access errors stay as they are)."""
    try:
        yield
    except MoodleError as error:
        if error.exception == "invalid_parameter_exception":
            raise MoodleError(error.exception, error.errorcode, error.message,
                              f"{where}: {error.debuginfo}") from None
        if error.exception == "moodle_exception":
            raise MoodleError(error.exception, error.errorcode, f"{where}: {error.message}",
                              error.debuginfo) from None
        raise


def _entry_name(index: int, entry: dict) -> str:
    return f"courses[{index}] (course {entry['courseid']})"


def _module_name(index: int, module: dict) -> str:
    return f"modules[{index}] (idnumber {module['idnumber']})"


def _check_module(module: dict, questionsets: dict[str, str]) -> None:
    plugin.check_activity(module, CONTENT_MODULES)
    quiz = module.get("quiz")
    if module["modname"] == "quiz" and quiz is None:
        raise invalid_parameter("a quiz module needs its quiz structure")
    if module["modname"] != "quiz" and quiz is not None:
        raise invalid_parameter(f"a {module['modname']} module takes no quiz structure")
    if quiz is not None:
        if quiz["questionset"] not in questionsets:
            raise plugin.plugin_error("unknownquestionset",
                                      f"Question set '{quiz['questionset']}' is not in this call's questionsets")
        plugin.check_quiz_settings(quiz["settings"])


def _check_entry(call: Call, entry: dict, questionsets: dict[str, str]) -> Record:
    """The entry's course with the capabilities its content needs, and its sections, modules and events."""
    needed = ["moodle/course:update", "moodle/course:manageactivities"]
    if any(m["modname"] == "quiz" for m in entry["modules"]):
        needed.append("moodle/question:add")
    if entry["events"]:
        course = plugin.events_course(call, entry["courseid"], *needed)
    else:
        course = plugin.provisioning_course(call, entry["courseid"], *needed)
    plugin.check_sections(entry["sections"])
    seen: set[str] = set()
    for index, module in enumerate(entry["modules"]):
        with _located(_module_name(index, module)):
            if module["idnumber"] in seen:
                raise plugin.plugin_error("duplicateidnumber",
                                          f"The idnumber '{module['idnumber']}' is given more than once")
            seen.add(module["idnumber"])
            _check_module(module, questionsets)
    plugin.check_events(entry["events"])
    return course


def _team_page_url(call: Call, course: Record, quiz_idnumber: str) -> str:
    cm = plugin.cm_by_idnumber(call.site, course["id"], quiz_idnumber)
    if cm is None or cm["modname"] != "quiz":
        raise plugin.plugin_error("teamquiznotfound", f"'{quiz_idnumber}' is not a quiz of this course")
    return f"{call.wwwroot}{TEAM_PAGE}{cm['id']}"


def _apply_module(call: Call, course: Record, module: dict, questionsets: dict[str, str],
                  quizzes: list[dict]) -> dict:
    quiz = module.get("quiz")
    if quiz is None:
        if module["teamquiz"]:
            module = {**module, "externalurl": _team_page_url(call, course, module["teamquiz"])}
        return plugin.upsert_activity(call.site, course, module)
    # One source of visibility: the module's, whatever the settings say.
    settings = {**quiz["settings"], "visible": module["visible"]}
    done = plugin.upsert_quiz(call.site, course, module["section"], module["idnumber"], module["name"],
                              module["intro"], questionsets[quiz["questionset"]], quiz["sections"], settings)
    quizzes.append({"idnumber": module["idnumber"], **done})
    return {"idnumber": module["idnumber"], "cmid": done["cmid"], "instanceid": done["quizid"], "modname": "quiz",
            "status": done["status"]}


def _apply_entry(call: Call, course: Record, entry: dict, questionsets: dict[str, str]) -> dict:
    """Sections, the modules in order, then the completion criteria and the events."""
    sections = plugin.apply_sections(call.site, course, entry["sections"])
    quizzes: list[dict] = []
    modules = []
    for index, module in enumerate(entry["modules"]):
        with _located(_module_name(index, module)):
            modules.append(_apply_module(call, course, module, questionsets, quizzes))
    return {"courseid": course["id"], "sections": sections, "modules": modules, "quizzes": quizzes,
            "completioncriteria": plugin.apply_criteria(call.site, course, entry["completioncriteria"]),
            "events": plugin.apply_events(call, course, entry["events"])}


@ws("local_mintqo_upsert_course_content", Params(
    questionsets=M(S(key=V(ALPHANUMEXT), questionsxml=V(RAW)), default=[]),
    courses=M(S(courseid=V(INT), sections=M(plugin.SECTION, default=[]), modules=M(MODULE, default=[]),
                completioncriteria=M(S(idnumber=V(RAW)), default=[]), events=M(plugin.EVENT, default=[])))),
    write=True)
def upsert_course_content(call: Call, questionsets: list[dict], courses: list[dict]) -> dict:
    """Every entry's access and request checked first, then each entry applied in order (one transaction)."""
    sets: dict[str, str] = {}
    for item in questionsets:
        if item["key"] in sets:
            raise invalid_parameter(f"questionsets: key {item['key']} appears twice")
        sets[item["key"]] = item["questionsxml"]
    records = []
    for index, entry in enumerate(courses):
        with _located(_entry_name(index, entry)):
            records.append(_check_entry(call, entry, sets))
    out = []
    for index, (entry, course) in enumerate(zip(courses, records)):
        with _located(_entry_name(index, entry)):
            out.append(_apply_entry(call, course, entry, sets))
    return {"courses": out}
