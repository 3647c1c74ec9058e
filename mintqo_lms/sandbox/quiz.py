"""Quizzes: Moodle XML question import, slots/sections, attempts and grading.

Why in one module: ``local_mintqo_import_quiz``, the core quiz read functions and the simulation
helper ``submit_quiz_attempt`` share the model (questions with answers in defined order, slots,
attempts with one chosen answer position per slot).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Any

from . import completion
from .protocol import MoodleError, missing_record, moodle_exception
from .state import Record, Site


# Review options (mod_quiz display_options bits): during, immediately after, later while open, after close.
REVIEW_ALWAYS = 0x11110
REVIEW_NEVER = ("correctness", "maxmarks", "marks", "specificfeedback", "generalfeedback", "rightanswer",
                "overallfeedback")
# What a quiz made before plugin 1.2.0 had: Moodle's defaults, all on (overall feedback not during the attempt).
REVIEW_DEFAULT = {"reviewattempt": 69904, "reviewcorrectness": 69904, "reviewmaxmarks": 69904, "reviewmarks": 69904,
                  "reviewspecificfeedback": 69904, "reviewgeneralfeedback": 69904, "reviewrightanswer": 69904,
                  "reviewoverallfeedback": 4368}


def plugin_error(code: str, message: str, debuginfo: str | None = None) -> MoodleError:
    return moodle_exception(code, message, debuginfo)


def review(record: Record, field: str) -> int:
    """A quiz's review bitmask for ``field`` (attempt, correctness, marks, …)."""
    key = f"review{field}"
    return int(record.get(key, REVIEW_DEFAULT[key]))


def shows(record: Record, field: str, finished: bool) -> bool:
    """Whether the review option is on at the moment of a review: during the attempt, or right after it."""
    return bool(review(record, field) & (0x01000 if finished else 0x10000))


@dataclass
class ParsedQuestion:
    idnumber: str
    name: str
    questiontext: str
    defaultmark: float
    answers: list[dict[str, Any]]  # [{text, fraction}] in defined order
    qtype: str = "multichoice"  # or "description": text only, no answer, no mark


def _text(element: ET.Element | None, path: str = "text") -> str:
    if element is None:
        return ""
    node = element.find(path)
    return (node.text or "") if node is not None else ""


def parse_questions_xml(xml_text: str) -> list[ParsedQuestion]:
    """Parse qformat_xml multichoice and description questions; anything the importer would reject raises
    questionimportfailed."""
    try:
        root = ET.fromstring(xml_text.encode("utf-8") if isinstance(xml_text, str) else xml_text)
    except ET.ParseError as error:
        raise plugin_error("questionimportfailed", f"Question import failed: Error parsing XML: {error}") from None
    if root.tag != "quiz":
        raise plugin_error("questionimportfailed", "Question import failed: The XML file has no <quiz> root element")
    questions = []
    for number, element in enumerate(root.findall("question"), start=1):
        qtype = element.get("type", "")
        if qtype == "category":
            continue
        if qtype not in ("multichoice", "description"):
            raise plugin_error("questionimportfailed",
                               f"Question import failed: question {number} has unsupported type '{qtype}'")
        name = _text(element.find("name")).strip()
        idnumber = (element.findtext("idnumber") or "").strip()
        if qtype == "description":
            if not name:
                raise plugin_error("questionimportfailed", f"Question import failed: question {number} has no name")
            if not idnumber:
                raise plugin_error("questionimportfailed",
                                   f"Question import failed: question {number} ({name}) has no idnumber")
            questions.append(ParsedQuestion(idnumber, name, _text(element.find("questiontext")), 0.0, [],
                                            "description"))
            continue
        answers = []
        for answer in element.findall("answer"):
            try:
                fraction = float(answer.get("fraction", "0")) / 100.0
            except ValueError:
                raise plugin_error("questionimportfailed",
                                   f"Question import failed: bad answer fraction in question {number}") from None
            answers.append({"text": _text(answer), "fraction": fraction})
        if not name:
            raise plugin_error("questionimportfailed", f"Question import failed: question {number} has no name")
        if len(answers) < 2:
            raise plugin_error("questionimportfailed",
                               f"Question import failed: question {number} ({name}) needs at least two answers")
        if not idnumber:
            raise plugin_error("questionimportfailed",
                               f"Question import failed: question {number} ({name}) has no idnumber")
        try:
            mark = float(element.findtext("defaultgrade") or "1")
        except ValueError:
            mark = 1.0
        questions.append(ParsedQuestion(idnumber, name, _text(element.find("questiontext")), mark, answers))
    if not questions:
        raise plugin_error("questionimportfailed", "Question import failed: no questions found in the XML")
    return questions


def slots_of(site: Site, quizid: int) -> list[Record]:
    return sorted(site.find("quiz_slots", quizid=quizid), key=lambda s: s["slot"])


def require_quiz(site: Site, quizid: int) -> Record:
    quiz = site.get("quiz", quizid)
    if quiz is None:
        raise missing_record("quiz")
    return quiz


def layout(site: Site, quizid: int) -> str:
    parts: list[str] = []
    page = None
    for slot in slots_of(site, quizid):
        if page is not None and slot["page"] != page:
            parts.append("0")
        parts.append(str(slot["slot"]))
        page = slot["page"]
    if parts:
        parts.append("0")
    return ",".join(parts)


def submit_attempt(site: Site, userid: int, quizid: int, answers: dict[str, int], finish: bool = True) -> Record:
    """Create an attempt as if the user answered and (by default) submitted it.

    ``answers`` maps question idnumber to the 1-based answer position (0 or missing = no answer).
    """
    quiz = require_quiz(site, quizid)
    if site.get("user", userid) is None:
        raise missing_record("user")
    slots = slots_of(site, quizid)
    known = {site.tables["question"][s["questionid"]]["idnumber"] for s in slots}
    unknown = sorted(set(answers) - known)
    if unknown:
        raise ValueError(f"quiz {quizid} has no question with idnumber {', '.join(unknown)}")
    now = site.now()
    responses = {}
    total = 0.0
    for slot in slots:
        question = site.tables["question"][slot["questionid"]]
        if question.get("qtype") == "description":
            if answers.get(question["idnumber"]):
                raise ValueError(f"{question['idnumber']} is a description item: it takes no answer")
            continue
        position = int(answers.get(question["idnumber"], 0) or 0)
        if position < 0 or position > len(question["answers"]):
            raise ValueError(f"answer position {position} out of range for {question['idnumber']}")
        fraction = question["answers"][position - 1]["fraction"] if position else None
        responses[slot["slot"]] = {"position": position, "fraction": fraction}
        total += (fraction or 0.0) * slot["maxmark"]
    number = len(site.find("quiz_attempts", quiz=quizid, userid=userid)) + 1
    uniqueid = site.next_ids["question_usages"]
    site.next_ids["question_usages"] = uniqueid + 1
    attempt_id = site.insert("quiz_attempts", {
        "quiz": quizid, "userid": userid, "attempt": number, "uniqueid": uniqueid, "layout": layout(site, quizid),
        "currentpage": 0, "preview": 0, "state": "finished" if finish else "inprogress", "timestart": now,
        "timefinish": now if finish else 0, "timemodified": now, "timemodifiedoffline": 0, "timecheckstate": None,
        "sumgrades": round(total, 5) if finish else None, "gradednotificationsenttime": now if finish else None,
        "responses": responses,
    })
    if finish:
        cm = site.get("course_modules", quiz["cmid"])
        # One team, one analysis (team.py): a completion a teammate's submission set (an override) holds, as
        # in completion_info::update_state(); local_mintqo's attempt_submitted observer then completes a plugin
        # quiz for the submitter's whole group.
        from . import team
        if cm is not None and cm["completion"] == 2 and not team.held_by_override(site, cm, userid):
            completion.set_activity_state(site, cm, userid, 1)
        if cm is not None:
            team.complete_team(site, cm, userid)
    return site.tables["quiz_attempts"][attempt_id]


def recompute_completion(site: Site, cm: Record) -> None:
    """What update_moduleinfo() does after completion rules changed (reset_all_state): everybody's state again
    from their finished attempts (complete after one)."""
    for row in site.find("course_modules_completion", coursemoduleid=cm["id"]):
        site.delete("course_modules_completion", row["id"])
    if cm["completion"] != 2:
        return
    for userid in sorted({a["userid"] for a in site.find("quiz_attempts", quiz=cm["instance"])
                          if a["state"] == "finished" and not a["preview"]}):
        completion.set_activity_state(site, cm, userid, 1)


def best_grade(site: Site, quiz: Record, userid: int) -> float | None:
    attempts = [a for a in site.find("quiz_attempts", quiz=quiz["id"], userid=userid) if a["state"] == "finished"]
    if not attempts or not quiz["sumgrades"] or not quiz["grade"]:
        return None
    grades = [a["sumgrades"] * quiz["grade"] / quiz["sumgrades"] for a in attempts]
    method = quiz.get("grademethod", 1)
    if method == 2:
        return sum(grades) / len(grades)
    if method == 3:
        return grades[0]
    if method == 4:
        return grades[-1]
    return max(grades)
