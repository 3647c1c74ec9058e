"""The plugin's sync functions (1.3.0): keyset cursors, enrolments with digests, batch completion overrides.

Why a module of its own: the cursor rules are shared by three read functions and must be the same as in the PHP
(``classes/local/cursor.php``). A cursor is a position ``(time, id)`` per list; a page holds the rows strictly
after it in ``(time, id)`` order, so rows of one second are neither read twice nor skipped. A row younger than
``SETTLE_SECONDS`` is not served yet: a row written later in the same second (or committed a moment later by a
slower request) could otherwise sort before a position already handed out and never be read.
"""

from __future__ import annotations

from typing import Any, Callable

from . import completion
from .common import require_capability, require_course, require_course_access
from .params import BOOL, INT, RAW, M, Params, S, V
from .protocol import MoodleError, invalid_parameter, moodle_exception
from .registry import Call, ws
from .releases import MISSING_RECORD_UNKNOWN
from .state import ROLES, Record, Site

MAX_LIMITNUM = 5000
SETTLE_SECONDS = 2
COMPLETION_INCOMPLETE, COMPLETION_COMPLETE = 0, 1
STUDENT_ROLE = 5  # the archetype with moodle/course:isincompletionreports: the users completion tracks

Key = tuple[int, int]


# ------------------------------------------------------------------------------ cursors
def check_limitnum(limitnum: int) -> None:
    if limitnum < 1 or limitnum > MAX_LIMITNUM:
        raise invalid_parameter(f"limitnum must be between 1 and {MAX_LIMITNUM}")


def decode_cursor(cursor: str, kind: str, lists: int, since: int = 0) -> list[Key]:
    """``""`` = from ``since`` on; otherwise ``kind`` + 2 numbers per list, e.g. ``c1:1700000000:17:0:0``."""
    if cursor == "":
        return [(since, 0)] * lists
    parts = cursor.split(":")
    if len(parts) != 1 + 2 * lists or parts[0] != f"{kind}1" or not all(p.isdigit() for p in parts[1:]):
        raise invalid_parameter(f"cursor: '{cursor}' is not a cursor of this function")
    numbers = [int(p) for p in parts[1:]]
    return [(numbers[2 * i], numbers[2 * i + 1]) for i in range(lists)]


def encode_cursor(kind: str, positions: list[Key]) -> str:
    return f"{kind}1:" + ":".join(f"{t}:{i}" for t, i in positions)


def horizon(site: Site) -> int:
    """The newest time a served row may have."""
    return site.now() - SETTLE_SECONDS


def keyset_page(rows: list[tuple[int, int, Any]], position: Key, limit: int,
                newest: int) -> tuple[list[tuple[int, int, Any]], Key, bool, int]:
    """(page, new position, more left, matching count) of ``(time, id, row)`` rows after ``position``."""
    after = sorted((r for r in rows if (r[0], r[1]) > position and r[0] <= newest), key=lambda r: (r[0], r[1]))
    page = after[:limit]
    return page, ((page[-1][0], page[-1][1]) if page else position), len(after) > limit, len(after)


# ------------------------------------------------------------------------------ the two 1.2 reads
def completions_answer(call: Call, activities: list[tuple[int, int, dict]], courses: list[tuple[int, int, dict]],
                       since: int, limitfrom: int, limitnum: int, cursor: str | None) -> dict:
    """Without a cursor the 1.2 answer (offset paging) plus ``nextcursor`` "" and ``hasmore``; with one a keyset
    page of each list (``limitnum`` rows each) and one cursor covering both."""
    activities = sorted(activities, key=lambda t: (t[0], t[1]))
    courses = sorted(courses, key=lambda t: (t[0], t[1]))
    if cursor is None:
        acts = [a for a in activities if a[0] >= since]
        crs = [c for c in courses if c[0] >= since]
        return {"activities": [a[2] for a in acts[limitfrom:limitfrom + limitnum]],
                "courses": [c[2] for c in crs[limitfrom:limitfrom + limitnum]],
                "totalactivities": len(acts), "totalcourses": len(crs), "nextcursor": "",
                "hasmore": limitfrom + limitnum < max(len(acts), len(crs))}
    if limitfrom:
        raise invalid_parameter("limitfrom cannot be combined with a cursor")
    apos, cpos = decode_cursor(cursor, "c", 2, since)
    newest = horizon(call.site)
    apage, apos2, amore, atotal = keyset_page(activities, apos, limitnum, newest)
    cpage, cpos2, cmore, ctotal = keyset_page(courses, cpos, limitnum, newest)
    moved = apage or cpage
    return {"activities": [a[2] for a in apage], "courses": [c[2] for c in cpage],
            "totalactivities": atotal, "totalcourses": ctotal,
            "nextcursor": encode_cursor("c", [apos2, cpos2]) if moved else cursor, "hasmore": amore or cmore}


def responses_answer(call: Call, attempts: list[Record], rows_of: Callable[[Record], list[dict]], since: int,
                     limitfrom: int, limitnum: int, cursor: str | None) -> dict:
    """Without a cursor the 1.2 answer (rows paged by offset); with one whole attempts in ``(timemodified, id)``
    order, as many as fit into ``limitnum`` rows (at least one), so an attempt is never split across pages."""
    attempts = sorted(attempts, key=lambda a: (a["timemodified"], a["id"]))
    if cursor is None:
        rows = [r for a in attempts if a["timemodified"] >= since for r in rows_of(a)]
        return {"responses": rows[limitfrom:limitfrom + limitnum], "total": len(rows), "nextcursor": "",
                "hasmore": limitfrom + limitnum < len(rows)}
    if limitfrom:
        raise invalid_parameter("limitfrom cannot be combined with a cursor")
    (position,) = decode_cursor(cursor, "q", 1, since)
    newest = horizon(call.site)
    after = [a for a in attempts if (a["timemodified"], a["id"]) > position and a["timemodified"] <= newest]
    page: list[dict] = []
    taken = 0
    for attempt in after:
        rows = rows_of(attempt)
        if taken and len(page) + len(rows) > limitnum:
            break
        page.extend(rows)
        taken += 1
        position = (attempt["timemodified"], attempt["id"])
    return {"responses": page, "total": sum(len(rows_of(a)) for a in after),
            "nextcursor": encode_cursor("q", [position]) if taken else cursor, "hasmore": taken < len(after)}


# ------------------------------------------------------------------------------ enrolments
def _roles(site: Site, courseid: int, userid: int) -> list[int]:
    return sorted({a["roleid"] for a in site.find("role_assignments", courseid=courseid, userid=userid)})


def enrolment_rows(site: Site, courseid: int) -> list[tuple[int, int, dict]]:
    """One row per enrolled user: roles in the course context, status, and the newest change of enrolment or role."""
    out = []
    for ue in site.find("user_enrolments", courseid=courseid):
        assignments = site.find("role_assignments", courseid=courseid, userid=ue["userid"])
        modified = max([ue["timemodified"], *(a.get("timemodified", 0) for a in assignments)])
        roles = [ROLES[r][0] for r in _roles(site, courseid, ue["userid"]) if r in ROLES]
        out.append((modified, ue["id"], {
            "courseid": courseid, "userid": ue["userid"], "roles": sorted(roles), "status": 1 if ue["status"] else 0,
            "timestart": ue["timestart"], "timeend": ue["timeend"], "timemodified": modified}))
    return out


def member_rows(site: Site, courseid: int) -> list[tuple[int, int, dict]]:
    out = []
    for group in site.find("groups", courseid=courseid):
        for member in site.find("groups_members", groupid=group["id"]):
            out.append((member["timeadded"], member["id"], {
                "courseid": courseid, "groupid": group["id"], "groupidnumber": group.get("idnumber") or "",
                "userid": member["userid"], "timeadded": member["timeadded"]}))
    return out


def digest(courseid: int, enrolments: list[dict], members: list[dict]) -> dict:
    """The checksum of a course's rows, as mintqo_lms.moodle.digests.enrolment_digest computes it on our side."""
    return {"courseid": courseid, "enrolments": len(enrolments), "enrolsum": sum(e["userid"] for e in enrolments),
            "roles": sum(len(e["roles"]) for e in enrolments), "members": len(members),
            "membersum": sum(m["groupid"] * m["userid"] for m in members)}


@ws("local_mintqo_get_enrolments", Params(courseids=M(V(INT)), cursor=V(RAW, ""), limitnum=V(INT, 1000),
                                          fullcourseids=M(V(INT), default=[])))
def get_enrolments(call: Call, courseids: list[int], cursor: str, limitnum: int, fullcourseids: list[int]) -> dict:
    site = call.site
    check_limitnum(limitnum)
    wanted: list[int] = []
    for courseid in courseids:
        course = require_course(site, courseid)
        require_course_access(call, course["id"])
        for capability in ("moodle/course:enrolreview", "moodle/site:accessallgroups"):
            require_capability(call, capability, course["id"])
        if course["id"] not in wanted:
            wanted.append(course["id"])
    full = set()
    for courseid in fullcourseids:
        if courseid not in wanted:
            raise invalid_parameter(f"fullcourseids: course {courseid} is not one of courseids")
        full.add(courseid)
    epos, mpos = decode_cursor(cursor, "e", 2)
    enrolments = {c: enrolment_rows(site, c) for c in wanted}
    members = {c: member_rows(site, c) for c in wanted}
    newest = horizon(site)
    epage, epos2, emore, _ = keyset_page([r for c in wanted if c not in full for r in enrolments[c]], epos,
                                         limitnum, newest)
    mpage, mpos2, mmore, _ = keyset_page([r for c in wanted if c not in full for r in members[c]], mpos,
                                         limitnum, newest)
    full_enrolments = [r[2] for c in wanted if c in full for r in sorted(enrolments[c], key=lambda r: r[2]["userid"])]
    full_members = [r[2] for c in wanted if c in full
                    for r in sorted(members[c], key=lambda r: (r[2]["groupid"], r[2]["userid"]))]
    moved = epage or mpage
    return {"enrolments": [r[2] for r in epage] + full_enrolments, "members": [r[2] for r in mpage] + full_members,
            "digests": [digest(c, [r[2] for r in enrolments[c]], [r[2] for r in members[c]]) for c in wanted],
            "nextcursor": encode_cursor("e", [epos2, mpos2]) if moved else cursor, "hasmore": emore or mmore}


# ------------------------------------------------------------------------------ completion overrides
def _tracked(site: Site, courseid: int, userid: int) -> bool:
    """completion_info::is_tracked_user(): an active enrolment and a role with moodle/course:isincompletionreports."""
    ue = site.find_one("user_enrolments", courseid=courseid, userid=userid)
    return ue is not None and not ue["status"] and STUDENT_ROLE in _roles(site, courseid, userid)


@ws("local_mintqo_set_completions", Params(cmid=V(INT), entries=M(S(userid=V(INT), completed=V(BOOL)))),
    write=True)
def set_completions(call: Call, cmid: int, entries: list[dict]) -> dict:
    """Each person's completion of one activity as an override by the caller; all or nothing, and an entry already
    in the wanted state is not written again (no new time, no new overrideby)."""
    site = call.site
    cm = site.get("course_modules", cmid)
    if cm is None:  # get_course_and_cm_from_cmid(): a joined query, so no table in the message
        raise MoodleError("dml_missing_record_exception", "invalidrecordunknown", MISSING_RECORD_UNKNOWN)
    require_course_access(call, cm["course"])
    require_capability(call, "moodle/course:overridecompletion", cm["course"])
    if not cm["completion"]:
        raise moodle_exception("completionnotenabled", f"Completion is not enabled for the activity {cm['id']}.")
    seen: set[int] = set()
    for entry in entries:
        if entry["userid"] in seen:
            raise invalid_parameter(f"entries: user {entry['userid']} appears twice")
        seen.add(entry["userid"])
        if not _tracked(site, cm["course"], entry["userid"]):
            raise moodle_exception("usernottracked",
                                   f"User {entry['userid']} is not enrolled as a participant whose completion is "
                                   "tracked in this course.")
    results = []
    for entry in entries:
        record = completion.activity_completion(site, cm["id"], entry["userid"])
        state = record["completionstate"] if record else COMPLETION_INCOMPLETE
        # completion_info::update_state(): "complete" leaves any complete state (pass or fail) as it is.
        changed = (state == COMPLETION_INCOMPLETE) == bool(entry["completed"])
        if changed:
            wanted = COMPLETION_COMPLETE if entry["completed"] else COMPLETION_INCOMPLETE
            record = completion.set_activity_state(site, cm, entry["userid"], wanted, overrideby=call.userid)
            completion.review_activity_now(site, cm, entry["userid"])
            state = wanted
        results.append({"userid": entry["userid"], "state": state, "changed": changed,
                        "overrideby": record["overrideby"] if record else None,
                        "timemodified": record["timemodified"] if record else 0})
    return {"results": results}
