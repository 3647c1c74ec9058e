"""Activity and course completion, with Moodle's timing.

Why a separate module: the web-service handlers, the plugin's get_completions and the simulation
helpers (``site.complete_activity``, ``site.run_cron``) must agree on one model. As recorded on a
real site, a course criterion is only reviewed by cron, except after a completion override, which
reviews that criterion and aggregates the course at once.
"""

from __future__ import annotations

from typing import Any

from .state import Record, Site

CRITERIA_TYPE_ACTIVITY = 4
AGGREGATION_ALL = 1


# ------------------------------------------------------------------------------ activity level
def activity_completion(site: Site, cmid: int, userid: int) -> Record | None:
    return site.find_one("course_modules_completion", coursemoduleid=cmid, userid=userid)


def set_activity_state(site: Site, cm: Record, userid: int, state: int, overrideby: int | None = None,
                       viewed: bool = False) -> Record:
    now = site.now()
    existing = activity_completion(site, cm["id"], userid)
    fields = {"completionstate": state, "overrideby": overrideby, "timemodified": now}
    if viewed:
        fields["viewed"] = 1
    if existing is None:
        new_id = site.insert("course_modules_completion", dict(
            {"coursemoduleid": cm["id"], "course": cm["course"], "userid": userid, "viewed": 0}, **fields))
        return site.tables["course_modules_completion"][new_id]
    return site.update("course_modules_completion", existing["id"], **fields)


def rule_details(site: Site, cm: Record, userid: int) -> list[dict[str, Any]]:
    if cm["completion"] != 2:
        return []
    record = activity_completion(site, cm["id"], userid)
    done = 1 if record and record["completionstate"] > 0 else 0
    details = []
    if cm.get("completionview"):
        viewed = 1 if record and (record.get("viewed") or record["completionstate"] > 0) else 0
        details.append({"rulename": "completionview", "rulevalue": {"status": viewed, "description": "View"}})
    if cm.get("completionsubmit"):
        details.append({"rulename": "completionsubmit",
                        "rulevalue": {"status": done, "description": "Make a submission"}})
    if cm.get("completionusegrade"):
        details.append({"rulename": "completionusegrade",
                        "rulevalue": {"status": done, "description": "Receive a grade"}})
    if cm["modname"] == "quiz":
        minattempts = site.tables["quiz"][cm["instance"]].get("completionminattempts", 0)
        if minattempts:
            details.append({"rulename": "completionminattempts",
                            "rulevalue": {"status": done, "description": f"Make attempts: {minattempts}"}})
    return details


def completion_data(site: Site, cm: Record, userid: int, trackeduser: bool) -> dict[str, Any]:
    record = activity_completion(site, cm["id"], userid)
    state = record["completionstate"] if record else 0
    return with_release_keys(site, {
        "state": state, "timecompleted": record["timemodified"] if record and state else 0,
        "overrideby": record["overrideby"] if record else None, "valueused": False, "hascompletion": True,
        "isautomatic": cm["completion"] == 2, "istrackeduser": trackeduser, "uservisible": True,
        "details": rule_details(site, cm, userid),
    }, "completiondata")


def with_release_keys(site: Site, data: dict[str, Any], kind: str) -> dict[str, Any]:
    """Add the release's new completion keys; ``isoverallcomplete`` (5.x) follows the state."""
    data.update(site.release.extra(kind))
    if "isoverallcomplete" in data:
        data["isoverallcomplete"] = data["state"] in (1, 2)
    return data


# ------------------------------------------------------------------------------ course level
def criteria(site: Site, courseid: int) -> list[Record]:
    return sorted(site.find("course_completion_criteria", course=courseid), key=lambda c: c["id"])


def set_activity_criteria(site: Site, courseid: int, cmids: list[int]) -> bool:
    """Make the criteria exactly "all of these activities"; returns whether anything changed."""
    current = criteria(site, courseid)
    if sorted(c["moduleinstance"] for c in current) == sorted(cmids) and all(
            c["criteriatype"] == CRITERIA_TYPE_ACTIVITY for c in current):
        return False
    for crit in current:
        for done in site.find("course_completion_crit_compl", criteriaid=crit["id"]):
            site.delete("course_completion_crit_compl", done["id"])
        site.delete("course_completion_criteria", crit["id"])
    for cmid in cmids:
        site.insert("course_completion_criteria", {"course": courseid, "criteriatype": CRITERIA_TYPE_ACTIVITY,
                                                   "moduleinstance": cmid})
    return True


def course_completion(site: Site, courseid: int, userid: int) -> Record | None:
    return site.find_one("course_completions", course=courseid, userid=userid)


def ensure_course_completion(site: Site, courseid: int, userid: int, timeenrolled: int) -> Record:
    existing = course_completion(site, courseid, userid)
    if existing:
        return existing
    new_id = site.insert("course_completions", {"course": courseid, "userid": userid, "timeenrolled": timeenrolled,
                                                "timestarted": 0, "timecompleted": None, "timemodified": site.now()})
    return site.tables["course_completions"][new_id]


def review_criterion(site: Site, crit: Record, userid: int) -> None:
    """completion_criteria_activity::review(): mark the criterion done if the activity is complete."""
    record = activity_completion(site, crit["moduleinstance"], userid)
    done = site.find_one("course_completion_crit_compl", criteriaid=crit["id"], userid=userid)
    complete = record is not None and record["completionstate"] in (1, 2)
    if complete and done is None:
        site.insert("course_completion_crit_compl", {"course": crit["course"], "criteriaid": crit["id"],
                                                     "userid": userid, "timecompleted": record["timemodified"]})
    elif not complete and done is not None:
        site.delete("course_completion_crit_compl", done["id"])


def aggregate(site: Site, courseid: int, userid: int) -> None:
    crits = criteria(site, courseid)
    if not crits:
        return
    row = ensure_course_completion(site, courseid, userid, site.now())
    times = [site.find_one("course_completion_crit_compl", criteriaid=c["id"], userid=userid) for c in crits]
    if all(times):
        if row["timecompleted"] is None:
            site.update("course_completions", row["id"], timecompleted=max(t["timecompleted"] for t in times),
                        timemodified=site.now())
    elif row["timecompleted"] is not None:
        site.update("course_completions", row["id"], timecompleted=None, timemodified=site.now())


def review_activity_now(site: Site, cm: Record, userid: int) -> None:
    """What an override triggers: review the criteria on this activity and aggregate at once."""
    for crit in criteria(site, cm["course"]):
        if crit["moduleinstance"] == cm["id"]:
            review_criterion(site, crit, userid)
    aggregate(site, cm["course"], userid)


def run_cron(site: Site) -> None:
    """The completion cron tasks: mark started, review every criterion, aggregate."""
    for courseid in sorted({c["course"] for c in site.tables["course_completion_criteria"].values()}):
        for enrol in site.find("user_enrolments", courseid=courseid):
            row = ensure_course_completion(site, courseid, enrol["userid"], enrol["timecreated"])
            if not row["timestarted"] and activity_started(site, courseid, enrol["userid"]):
                site.update("course_completions", row["id"], timestarted=site.now(), timemodified=site.now())
            for crit in criteria(site, courseid):
                review_criterion(site, crit, enrol["userid"])
            aggregate(site, courseid, enrol["userid"])


def activity_started(site: Site, courseid: int, userid: int) -> bool:
    return any(r["userid"] == userid for r in site.find("course_modules_completion", course=courseid))
