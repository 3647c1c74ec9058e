"""Site info, completion, quiz, grade and message functions of core."""

from __future__ import annotations

import html
import json
import re
from typing import Any

from . import completion, quiz
from .common import (enrolment, format_string, fullname, require_capability, require_course, require_course_access,
                     require_user, user_picture)
from .params import ALPHA, ALPHANUMEXT, BOOL, INT, RAW, M, Params, S, V
from .protocol import MoodleError, missing_record, moodle_exception
from .registry import Call, all_functions, ws

@ws("core_webservice_get_site_info", Params(serviceshortnames=M(V(ALPHANUMEXT), default=[])))
def get_site_info(call: Call, serviceshortnames: list[str]) -> dict:
    site = call.site
    admin = site.tables["user"][call.userid]
    allowed = getattr(site, "current_token_functions", None)
    names = sorted(n for n in all_functions() if allowed is None or n in allowed)
    functions = [{"name": n, "version": all_functions()[n].version(call.release)} for n in names]
    features = [("usecomments", 1), ("usetags", 1), ("enablenotes", 1), ("messaging", 1), ("enableblogs", 1),
                ("enablecompletion", 1), ("enablebadges", 1), ("messagingallusers", 0), ("enablecustomreports", 1),
                ("enableglobalsearch", 0), ("mnet_dispatcher_mode", 0), *call.release.extra("advancedfeatures").items()]
    return {
        "sitename": format_string(site.sitename), "username": admin["username"], "firstname": admin["firstname"],
        "lastname": admin["lastname"], "fullname": fullname(admin), "lang": admin["lang"], "userid": admin["id"],
        "siteurl": call.wwwroot, "userpictureurl": user_picture(call, "f1"), "functions": functions,
        "downloadfiles": 1, "uploadfiles": 1, "release": call.release.release, "version": call.release.version,
        "mobilecssurl": "", "advancedfeatures": [{"name": n, "value": v} for n, v in features],
        "usercanmanageownfiles": True, "userquota": 0, "usermaxuploadfilesize": -1, "userhomepage": 1,
        "userprivateaccesskey": "sandbox-private-access-key", "siteid": 1, "sitecalendartype": "gregorian",
        "usercalendartype": "gregorian", "userissiteadmin": True, "theme": "boost", "limitconcurrentlogins": 0,
        **call.release.extra("site_info"),
    }


# ------------------------------------------------------------------------------ completion
def _require_enrolled(site: Any, courseid: int, userid: int) -> None:
    if enrolment(site, courseid, userid) is None:
        raise moodle_exception("usernotenroled", "User is not enrolled in this course")


@ws("core_completion_get_activities_completion_status", Params(courseid=V(INT), userid=V(INT)))
def get_activities_completion_status(call: Call, courseid: int, userid: int) -> dict:
    site = call.site
    course = require_course(site, courseid)
    require_user(site, userid)
    require_course_access(call, course["id"])
    if userid != call.userid:
        require_capability(call, "report/progress:view", course["id"])
    _require_enrolled(site, course["id"], userid)
    statuses = []
    for cm in sorted(site.find("course_modules", course=course["id"]), key=lambda c: c["id"]):
        if not cm["completion"]:
            continue
        data = completion.completion_data(site, cm, userid, trackeduser=True)
        status = {"cmid": cm["id"], "modname": cm["modname"], "instance": cm["instance"],
                  "state": data["state"], "timecompleted": data["timecompleted"], "tracking": cm["completion"],
                  "overrideby": data["overrideby"], "valueused": False, "hascompletion": True,
                  "isautomatic": cm["completion"] == 2, "istrackeduser": True, "uservisible": True,
                  "details": data["details"]}
        statuses.append(completion.with_release_keys(site, status, "completionstatus"))
    return {"statuses": statuses, "warnings": []}


def _requirement(cm: dict) -> str:
    if cm["completion"] == 1:
        return "Marking yourself complete"
    parts = []
    if cm.get("completionview"):
        parts.append(f"Viewing the {cm['modname']}")
    if cm.get("completionusegrade"):
        parts.append("Achieving grade")
    if cm.get("completionsubmit"):
        parts.append("Making a submission")
    return ", ".join(parts)


@ws("core_completion_get_course_completion_status", Params(courseid=V(INT), userid=V(INT)))
def get_course_completion_status(call: Call, courseid: int, userid: int) -> dict:
    site = call.site
    course = require_course(site, courseid)
    require_user(site, userid)
    require_course_access(call, course["id"])
    if userid != call.userid:
        require_capability(call, "report/completion:view", course["id"])
    _require_enrolled(site, course["id"], userid)
    crits = completion.criteria(site, course["id"])
    if not crits:
        raise moodle_exception("nocriteriaset", "No completion criteria set for this course")
    completions = []
    for crit in crits:
        cm = site.get("course_modules", crit["moduleinstance"])
        done = site.find_one("course_completion_crit_compl", criteriaid=crit["id"], userid=userid)
        instance = site.tables[cm["modname"]][cm["instance"]] if cm else {"name": ""}
        link = (f'<a href="{call.wwwroot}/mod/{cm["modname"]}/view.php?id={cm["id"]}">'
                f'{format_string(instance["name"])}</a>') if cm else ""
        completions.append({
            "type": completion.CRITERIA_TYPE_ACTIVITY, "title": "Activity completion",
            "status": "Yes" if done else "No", "complete": bool(done),
            "timecompleted": done["timecompleted"] if done else None,
            "details": {"type": "Activity completion", "criteria": link,
                        "requirement": _requirement(cm) if cm else "", "status": ""},
        })
    row = completion.course_completion(site, course["id"], userid)
    return {"completionstatus": {"completed": bool(row and row["timecompleted"]),
                                 "aggregation": completion.AGGREGATION_ALL, "completions": completions},
            "warnings": []}


@ws("core_completion_override_activity_completion_status", Params(userid=V(INT), cmid=V(INT), newstate=V(INT)),
    write=True)
def override_activity_completion_status(call: Call, userid: int, cmid: int, newstate: int) -> dict:
    site = call.site
    cm = site.get("course_modules", cmid)
    if cm is None:
        raise missing_record("course_modules")
    require_user(site, userid)
    require_course_access(call, cm["course"])
    require_capability(call, "moodle/course:overridecompletion", cm["course"])
    if not cm["completion"]:
        return {"cmid": cm["id"], "userid": userid, "state": 0, "timecompleted": 0, "overrideby": None,
                "tracking": 0}
    if newstate not in (0, 1):
        raise moodle_exception(
            "err_system", "An internal error occurred in the completion system. (System administrators can enable "
            "debugging information to see more detail.)", f"Unexpected manual completion state for {cmid}: {newstate}")
    record = completion.set_activity_state(site, cm, userid, newstate, overrideby=call.userid)
    completion.review_activity_now(site, cm, userid)
    return {"cmid": cm["id"], "userid": userid, "state": newstate,
            "timecompleted": record["timemodified"] if newstate else 0, "overrideby": call.userid,
            "tracking": cm["completion"]}


# ------------------------------------------------------------------------------ quiz


def _quiz_out(site: Any, record: dict) -> dict:
    cm = site.tables["course_modules"][record["cmid"]]
    section = site.tables["course_sections"][cm["section"]]
    return {
        "id": record["id"], "coursemodule": cm["id"], "course": record["course"],
        "name": format_string(record["name"]),
        "intro": record["intro"], "introformat": 1, "introfiles": [], "section": section["section"],
        "visible": bool(cm["visible"]), "groupmode": 0, "groupingid": 0, "lang": "", "timeopen": record["timeopen"],
        "timeclose": record["timeclose"], "timelimit": record["timelimit"], "overduehandling": "autosubmit",
        "graceperiod": 86400, "preferredbehaviour": "deferredfeedback", "canredoquestions": 0,
        "attempts": record["attempts"], "attemptonlast": 0, "grademethod": record["grademethod"],
        "decimalpoints": 2, "questiondecimalpoints": -1,
        **{key: quiz.review(record, key[len("review"):]) for key in quiz.REVIEW_DEFAULT},
        "questionsperpage": record["questionsperpage"], "navmethod": "free", "shuffleanswers": 0,
        "sumgrades": float(record["sumgrades"]), "grade": float(record["grade"]),
        "timecreated": record["timecreated"], "timemodified": record["timemodified"], "password": "", "subnet": "",
        "browsersecurity": "", "delay1": 0, "delay2": 0, "showuserpicture": 0, "showblocks": 0,
        "completionattemptsexhausted": record.get("completionattemptsexhausted", 0), "completionpass": 0,
        "allowofflineattempts": 0, "autosaveperiod": 60,
        "hasfeedback": 0, "hasquestions": 1 if quiz.slots_of(site, record["id"]) else 0,
        **site.release.extra("quiz"),
    }


@ws("mod_quiz_get_quizzes_by_courses", Params(courseids=M(V(INT), default=[])))
def get_quizzes_by_courses(call: Call, courseids: list[int]) -> dict:
    site = call.site
    warnings = []
    wanted = courseids or sorted({e["courseid"] for e in site.tables["user_enrolments"].values()})
    quizzes = []
    for courseid in wanted:
        if site.get("course", courseid) is None or courseid in site.inaccessible_courses:
            warnings.append({"item": "course", "itemid": courseid, "warningcode": "1",
                             "message": "No access rights in course context"})
            continue
        for record in sorted(site.find("quiz", course=courseid), key=lambda q: q["id"]):
            quizzes.append(_quiz_out(site, record))
    return {"quizzes": quizzes, "warnings": warnings}


def _attempt_out(site: Any, attempt: dict) -> dict:
    keys = ["id", "quiz", "userid", "attempt", "uniqueid", "layout", "currentpage", "preview", "state", "timestart",
            "timefinish", "timemodified", "timemodifiedoffline", "timecheckstate", "sumgrades",
            "gradednotificationsenttime"]
    out = {k: attempt[k] for k in keys}
    out["sumgrades"] = None if attempt["sumgrades"] is None else float(attempt["sumgrades"])
    out.update(site.release.extra("attempt"))
    return out


@ws("mod_quiz_get_user_attempts", Params(quizid=V(INT), userid=V(INT, 0), status=V(ALPHA, "finished"),
                                         includepreviews=V(BOOL, False)))
def get_user_attempts(call: Call, quizid: int, userid: int, status: str, includepreviews: bool) -> dict:
    site = call.site
    quiz.require_quiz(site, quizid)
    userid = userid or call.userid
    require_user(site, userid)
    if status not in ("all", "finished", "unfinished"):
        raise MoodleError("invalid_parameter_exception", "invalidparameter", "Invalid parameter value detected",
                          "status parameter only accepts values: all, finished or unfinished")
    attempts = sorted(site.find("quiz_attempts", quiz=quizid, userid=userid), key=lambda a: a["attempt"])
    if status == "finished":
        attempts = [a for a in attempts if a["state"] in ("finished", "abandoned")]
    elif status == "unfinished":
        attempts = [a for a in attempts if a["state"] in ("inprogress", "overdue")]
    if not includepreviews:
        attempts = [a for a in attempts if not a["preview"]]
    return {"attempts": [_attempt_out(site, a) for a in attempts], "warnings": []}


@ws("mod_quiz_get_user_best_grade", Params(quizid=V(INT), userid=V(INT, 0)))
def get_user_best_grade(call: Call, quizid: int, userid: int) -> dict:
    site = call.site
    record = quiz.require_quiz(site, quizid)
    grade = quiz.best_grade(site, record, userid or call.userid)
    out: dict[str, Any] = {"hasgrade": grade is not None}
    if grade is not None:
        out["grade"] = round(grade, 5)
    out["warnings"] = []
    return out


def _question_html(question: dict, slot: int, position: int) -> str:
    checked = ' checked="checked"'
    options = "".join(
        f'<div class="r{i % 2}"><input type="radio" name="q:{slot}_answer" value="{i}"'
        f'{checked if i + 1 == position else ""}/><label>{html.escape(a["text"])}</label></div>'
        for i, a in enumerate(question["answers"]))
    return (f'<div id="question-{slot}" class="que multichoice deferredfeedback">'
            f'<div class="qtext">{question["questiontext"]}</div><div class="answer">{options}</div></div>')


# question_state's CSS class, which 5.x reports as "stateclass".
STATE_CLASS = {"todo": "notyetanswered", "complete": "answersaved", "gaveup": "notanswered",
               "gradedright": "correct", "gradedpartial": "partiallycorrect", "gradedwrong": "incorrect"}


def _review_state(fraction: float | None, finished: bool) -> tuple[str, str]:
    if not finished:
        return ("todo", "Not yet answered") if fraction is None else ("complete", "Answer saved")
    if fraction is None:
        return "gaveup", "Not answered"
    if fraction >= 0.999999:
        return "gradedright", "Correct"
    if fraction <= 0.000001:
        return "gradedwrong", "Incorrect"
    return "gradedpartial", "Partially correct"


@ws("mod_quiz_get_attempt_review", Params(attemptid=V(INT), page=V(INT, -1)))
def get_attempt_review(call: Call, attemptid: int, page: int) -> dict:
    site = call.site
    attempt = site.get("quiz_attempts", attemptid)
    if attempt is None:
        raise missing_record("quiz_attempts")
    record = site.tables["quiz"][attempt["quiz"]]
    finished = attempt["state"] == "finished"
    # The quiz's review options at this moment (display_options): a self-analysis (plugin 1.2.0) shows the answers
    # but no correctness and no marks.
    correctness = quiz.shows(record, "correctness", finished)
    marks = 2 if quiz.shows(record, "marks", finished) else (1 if quiz.shows(record, "maxmarks", finished) else 0)
    questions = []
    number = 0
    for slot in quiz.slots_of(site, record["id"]):
        question = site.tables["question"][slot["questionid"]]
        real = question.get("qtype", "multichoice") != "description"
        number += 1 if real else 0
        if page >= 0 and slot["page"] - 1 != page:
            continue
        response = attempt["responses"].get(slot["slot"]) or attempt["responses"].get(str(slot["slot"])) or {}
        fraction = response.get("fraction")
        state, status = _review_state(fraction, finished)
        if not correctness and state.startswith("graded"):
            status = "Complete"
        lastaction = attempt["timemodified"]
        if state == "todo" and call.release.unanswered_lastactiontime is not None:
            lastaction = call.release.unanswered_lastactiontime
        item: dict[str, Any] = {
            "slot": slot["slot"], "type": question.get("qtype", "multichoice"), "page": slot["page"] - 1,
            "questionnumber": str(number) if real else "i",
            "html": _question_html(question, slot["slot"], int(response.get("position", 0))),
            "responsefileareas": [], "sequencecheck": 3 if finished else 2,
            "lastactiontime": lastaction, "hasautosavedstep": False, "flagged": False,
        }
        if real:
            item["number"] = number
            if correctness:
                item["state"] = state
            if "stateclass" in call.release.extra("question"):
                item["stateclass"] = STATE_CLASS[state] if correctness or not state.startswith("graded") \
                    else "complete"
            item["status"] = status
            item["blockedbyprevious"] = False
        if marks >= 2:
            item["mark"] = f"{(fraction or 0.0) * slot['maxmark']:.2f}" if finished else ""
        if marks >= 1:
            item["maxmark"] = float(slot["maxmark"])
        item["settings"] = json.dumps({"shuffleanswers": "0", "answernumbering": "none",
                                       "showstandardinstruction": "0"}, separators=(",", ":"))
        questions.append(item)
    grade = None
    if finished and record["sumgrades"]:
        grade = round(attempt["sumgrades"] * record["grade"] / record["sumgrades"], 5)
    return {"grade": grade, "attempt": _attempt_out(site, attempt), "additionaldata": [], "questions": questions,
            "warnings": []}


@ws("mod_quiz_get_attempt_summary", Params(attemptid=V(INT), preflightdata=M(S(name=V(ALPHANUMEXT), value=V(RAW)),
                                                                               default=[])))
def get_attempt_summary(call: Call, attemptid: int, preflightdata: list[dict]) -> dict:
    attempt = call.site.get("quiz_attempts", attemptid)
    if attempt is None:
        raise missing_record("quiz_attempts")
    if attempt["userid"] != call.userid:
        raise moodle_exception("notyourattempt", "This is not your attempt!")
    return {"questions": [], "totalunanswered": 0, "warnings": []}


# ------------------------------------------------------------------------------ grades
@ws("gradereport_user_get_grade_items", Params(courseid=V(INT), userid=V(INT, 0), groupid=V(INT, 0)))
def get_grade_items(call: Call, courseid: int, userid: int, groupid: int) -> dict:
    site = call.site
    course = require_course(site, courseid)
    # Without a userid Moodle reports the graded roles only (students).
    userids = [userid] if userid else sorted(a["userid"] for a in site.find("role_assignments",
                                                                           courseid=course["id"], roleid=5))
    quizzes = sorted(site.find("quiz", course=course["id"]), key=lambda q: q["id"])
    out = []
    for uid in userids:
        user = require_user(site, uid)
        items = []
        for index, record in enumerate(quizzes):
            cm = site.tables["course_modules"][record["cmid"]]
            grade = quiz.best_grade(site, record, uid)
            finished = [a for a in site.find("quiz_attempts", quiz=record["id"], userid=uid)
                        if a["state"] == "finished"]
            weight = 1.0 / len(quizzes)
            items.append({
                "id": index + 2, "itemname": format_string(record["name"]), "itemtype": "mod", "itemmodule": "quiz",
                "iteminstance": record["id"], "itemnumber": 0, "idnumber": cm["idnumber"], "categoryid": 1,
                "outcomeid": None, "scaleid": None, "locked": False, "cmid": cm["id"], "weightraw": weight,
                "weightformatted": f"{weight * 100:.2f} %", "graderaw": None if grade is None else round(grade, 5),
                "gradedatesubmitted": finished[-1]["timefinish"] if finished else None,
                "gradedategraded": finished[-1]["timemodified"] if finished else None, "gradehiddenbydate": False,
                "gradeneedsupdate": False, "gradeishidden": False, "gradeislocked": False,
                "gradeisoverridden": False, "gradeformatted": "-" if grade is None else f"{grade:.2f}",
                "grademin": 0, "grademax": float(record["grade"]),
                "rangeformatted": f"0&ndash;{record['grade']:g}",
                "percentageformatted": "-" if grade is None else f"{grade / record['grade'] * 100:.2f} %",
                "feedback": "", "feedbackformat": 2,
            })
        items.append(_course_total(items))
        out.append({"courseid": course["id"], "courseidnumber": course["idnumber"], "userid": uid,
                    "userfullname": fullname(user), "useridnumber": user["idnumber"], "maxdepth": 2,
                    "gradeitems": items})
    return {"usergrades": out, "warnings": []}


def _course_total(items: list[dict]) -> dict:
    """The course total grade item (natural aggregation: the sum of the activity grades)."""
    graded = [i for i in items if i["graderaw"] is not None]
    total = sum(i["graderaw"] for i in graded) if graded else None
    grademax = sum(i["grademax"] for i in items)
    dates = [i["gradedategraded"] for i in graded if i["gradedategraded"]]
    return {
        "id": 1, "itemname": None, "itemtype": "course", "itemmodule": None, "iteminstance": 1, "itemnumber": None,
        "idnumber": None, "categoryid": None, "outcomeid": None, "scaleid": None, "locked": False,
        "graderaw": total, "gradedatesubmitted": None, "gradedategraded": max(dates) if dates else None,
        "gradehiddenbydate": False, "gradeneedsupdate": False, "gradeishidden": False, "gradeislocked": False,
        "gradeisoverridden": False, "gradeformatted": "-" if total is None else f"{total:.2f}", "grademin": 0,
        "grademax": float(grademax), "rangeformatted": f"0&ndash;{grademax:g}",
        "percentageformatted": "-" if total is None or not grademax else f"{total / grademax * 100:.2f} %",
        "feedback": "", "feedbackformat": 2,
    }


# ------------------------------------------------------------------------------ messages
def _plain(text: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", text))


@ws("core_message_send_instant_messages", Params(messages=M(S(
    touserid=V(INT), text=V(RAW), textformat=V(INT, 0), clientmsgid=V(ALPHANUMEXT, opt=True)))))
def send_instant_messages(call: Call, messages: list[dict]) -> list[dict]:
    """Not transactional: valid messages are stored even when the batch then fails (recorded Moodle bug, fixed
    in 5.0.6+, back in 5.1.3)."""
    site = call.site
    require_capability(call, "moodle/site:sendmessage")
    results = []
    failed = False
    for item in messages:
        result: dict[str, Any] = {}
        recipient = site.get("user", item["touserid"])
        if recipient is None or recipient.get("deleted"):
            result["msgid"] = -1
            if item.get("clientmsgid") is not None:
                result["clientmsgid"] = item["clientmsgid"]
            result["errormessage"] = f"You cannot send a message to a user ID ({item['touserid']}) that doesn't exist."
            if call.release.cantsendtouser:
                result["cantsendtouser"] = ""
            result["candeletemessagesforallusers"] = False
            failed = True
            results.append(result)
            continue
        text = item["text"] if item["textformat"] == 1 else f"<p>{html.escape(item['text'], quote=False)}</p>"
        members = tuple(sorted({call.userid, recipient["id"]}))
        conversation = site.find_one("message_conversations", members=list(members))
        if conversation is None:
            conv_id = site.insert("message_conversations", {"members": list(members),
                                                            "type": 3 if len(members) == 1 else 1})
        else:
            conv_id = conversation["id"]
        now = site.now()
        msg_id = site.insert("messages", {"useridfrom": call.userid, "useridto": recipient["id"],
                                          "conversationid": conv_id, "text": text,
                                          "fullmessage": _plain(item["text"]), "timecreated": now})
        result["msgid"] = msg_id
        if item.get("clientmsgid") is not None:
            result["clientmsgid"] = item["clientmsgid"]
        result.update({"text": text, "timecreated": now, "conversationid": conv_id, "useridfrom": call.userid,
                       "candeletemessagesforallusers": True})
        results.append(result)
    if failed and len(messages) > 1 and call.release.message_batch_raises:
        raise moodle_exception("formatnotsupported", "webservice/formatnotsupported")
    return results


@ws("core_message_get_messages", Params(useridto=V(INT), useridfrom=V(INT, 0), type=V(ALPHA, "both"),
                                       read=V(INT, 1), newestfirst=V(BOOL, True), limitfrom=V(INT, 0),
                                       limitnum=V(INT, 0)))
def get_messages(call: Call, useridto: int, useridfrom: int, type: str, read: int, newestfirst: bool,  # noqa: A002
                 limitfrom: int, limitnum: int) -> dict:
    site = call.site
    rows = [m for m in site.tables["messages"].values()
            if m["useridto"] == useridto and (not useridfrom or m["useridfrom"] == useridfrom)]
    rows.sort(key=lambda m: (m["timecreated"], m["id"]), reverse=newestfirst)
    rows = rows[limitfrom:limitfrom + limitnum] if limitnum else rows[limitfrom:]
    out = []
    for m in rows:
        sender = site.tables["user"][m["useridfrom"]]
        recipient = site.tables["user"][m["useridto"]]
        out.append({
            "id": m["id"], "useridfrom": m["useridfrom"], "useridto": m["useridto"],
            "subject": f"New message from {fullname(sender)}", "text": m["text"], "fullmessage": m["fullmessage"],
            "fullmessageformat": 1, "fullmessagehtml": m["text"], "smallmessage": m["text"], "notification": 0,
            "contexturl": "", "contexturlname": "", "timecreated": m["timecreated"], "timeread": None,
            "usertofullname": fullname(recipient), "userfromfullname": fullname(sender),
            "customdata": json.dumps({"notificationiconurl": user_picture(call, "f2")}),
        })
    return {"messages": out, "warnings": []}


@ws("core_message_get_conversations", Params(userid=V(INT), limitfrom=V(INT, 0), limitnum=V(INT, 0),
                                            type=V(INT, opt=True, null=True), favourites=V(BOOL, opt=True, null=True),
                                            mergeself=V(BOOL, False)))
def get_conversations(call: Call, userid: int, limitfrom: int, limitnum: int, **_: Any) -> dict:
    site = call.site
    out = []
    convs = [c for c in site.tables["message_conversations"].values() if userid in c["members"]]
    def newest(conv: dict) -> tuple[int, int]:
        messages = site.find("messages", conversationid=conv["id"])
        return max(((m["timecreated"], m["id"]) for m in messages), default=(0, 0))

    for conv in sorted(convs, key=newest, reverse=True):  # newest message first, as recorded
        others = [u for u in conv["members"] if u != userid] or [userid]
        members = []
        for uid in others:
            user = site.tables["user"][uid]
            members.append({"id": uid, "fullname": fullname(user),
                            "profileurl": f"{call.wwwroot}/user/profile.php?id={uid}",
                            "profileimageurl": user_picture(call, "f1"),
                            "profileimageurlsmall": user_picture(call, "f2"), "isonline": False,
                            "showonlinestatus": True, "isblocked": False, "iscontact": False, "isdeleted": False,
                            # asked about someone else only (null for oneself, as recorded)
                            "canmessageevenifblocked": None if uid == userid else False,
                            "canmessage": None if uid == userid else True,
                            "requirescontact": None if uid == userid else False,
                            **call.release.extra("conversation_member"), "contactrequests": []})
        last = max(site.find("messages", conversationid=conv["id"]), key=lambda m: m["id"], default=None)
        out.append({"id": conv["id"], "name": "", "subname": None, "imageurl": None, "type": conv["type"],
                    "membercount": len(conv["members"]), "ismuted": False, "isfavourite": conv["type"] == 3,
                    "isread": True, "unreadcount": None, "members": members,
                    "messages": [] if last is None else [{"id": last["id"], "useridfrom": last["useridfrom"],
                                                          "text": last["text"], "timecreated": last["timecreated"]}],
                    "candeletemessagesforallusers": True, **call.release.extra("conversation")})
    return {"conversations": out[limitfrom:limitfrom + limitnum] if limitnum else out[limitfrom:]}
