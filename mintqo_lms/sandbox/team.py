"""One team, one analysis: the sandbox's mirror of local_mintqo's team rule (``classes/local/team.php``).

An initiative is a group of its regional course; its self-analysis in a quiz is the latest finished attempt
by any member of the group. When a member submits a plugin quiz (course-module idnumber ``mintqo:…``), the
real plugin's observer of ``\\mod_quiz\\event\\attempt_submitted`` leaves the submitter to the quiz's own
completion rule and sets every other member who is tracked by completion (enrolled with the student role)
and not yet complete to complete, as an override by the submitter (``overrideby`` = submitter). Moodle
writes such an override through ``completion_info::internal_set_data``, which reviews the course
completion criterion on the activity and aggregates the course at once, like a teacher's override; the
sandbox does the same with ``completion.review_activity_now``. Members of other groups, quizzes the plugin
did not make and quizzes without completion are never touched; a second submission changes nothing.
"""

from __future__ import annotations

from . import completion
from .state import Record, Site

IDNUMBER_PREFIX = "mintqo:"
STUDENT_ROLE = 5  # moodle/course:isincompletionreports: the archetype completion tracks
COMPLETE_STATES = (1, 2)  # complete, complete pass (fail counts only without a pass grade: not used here)

__all__ = ["complete_all_teams", "complete_team", "groups_of", "held_by_override", "is_team_quiz", "latest_attempt",
           "members"]


def is_team_quiz(cm: Record) -> bool:
    """A quiz the plugin provisioned: its course-module idnumber starts with ``mintqo:``."""
    return cm.get("modname") == "quiz" and str(cm.get("idnumber") or "").startswith(IDNUMBER_PREFIX)


def groups_of(site: Site, courseid: int, userid: int) -> list[Record]:
    """The user's groups (initiatives) in a course, by id."""
    return sorted((g for g in site.find("groups", courseid=courseid)
                   if site.find_one("groups_members", groupid=g["id"], userid=userid)), key=lambda g: g["id"])


def members(site: Site, groupid: int) -> list[int]:
    return sorted({m["userid"] for m in site.find("groups_members", groupid=groupid)})


def is_tracked_user(site: Site, courseid: int, userid: int) -> bool:
    """completion_info::is_tracked_user(): enrolled and holding moodle/course:isincompletionreports."""
    return (site.find_one("user_enrolments", courseid=courseid, userid=userid) is not None
            and site.find_one("role_assignments", courseid=courseid, userid=userid, roleid=STUDENT_ROLE) is not None)


def latest_attempt(site: Site, quizid: int, groupid: int) -> Record | None:
    """The team's analysis: the latest finished, non-preview attempt by any current member of the group."""
    userids = set(members(site, groupid))
    attempts = [a for a in site.find("quiz_attempts", quiz=quizid)
                if a["userid"] in userids and a["state"] == "finished" and not a.get("preview")]
    return max(attempts, key=lambda a: (a["timefinish"], a["id"]), default=None)


def held_by_override(site: Site, cm: Record, userid: int) -> bool:
    """completion_info::update_state(): an automatic activity overridden to complete keeps that state (and its
    ``overrideby``) when the user's own completion rule is evaluated again, e.g. after their own attempt."""
    record = completion.activity_completion(site, cm["id"], userid)
    return (cm.get("completion") == 2 and record is not None and record.get("overrideby") is not None
            and record["completionstate"] == 1)


def complete_team(site: Site, cm: Record, submitter: int) -> list[int]:
    """After ``submitter`` finished an attempt at ``cm``: complete the quiz for their whole group(s).

    Returns the ids of the teammates this call marked complete (empty when nothing changed).
    """
    if not is_team_quiz(cm) or not cm.get("completion"):
        return []
    teammates: set[int] = set()
    for group in groups_of(site, cm["course"], submitter):
        teammates.update(members(site, group["id"]))
    teammates.discard(submitter)  # the submitter completes by the quiz's own rule
    marked = []
    for userid in sorted(teammates):
        if not is_tracked_user(site, cm["course"], userid):
            continue
        record = completion.activity_completion(site, cm["id"], userid)
        if record is not None and record["completionstate"] in COMPLETE_STATES:
            continue
        completion.set_activity_state(site, cm, userid, 1, overrideby=submitter)
        completion.review_activity_now(site, cm, userid)
        marked.append(userid)
    return marked


def complete_all_teams(site: Site, cm: Record) -> list[int]:
    """The plugin's course_module_updated observer: after Moodle recalculated a quiz's completion from scratch
    (changed completion rules: ``reset_all_state`` drops the overrides), every group's latest finished attempt
    completes its members again, its submitter as ``overrideby``. Idempotent."""
    if not is_team_quiz(cm):
        return []
    marked: list[int] = []
    for group in sorted(site.find("groups", courseid=cm["course"]), key=lambda g: g["id"]):
        attempt = latest_attempt(site, cm["instance"], group["id"])
        if attempt is not None:
            marked += [u for u in complete_team(site, cm, attempt["userid"]) if u not in marked]
    return marked
