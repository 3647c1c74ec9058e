"""Read what Moodle knows back into the store, stream by stream, like a Singer tap.

Streams of a cohort (``sync_state`` keeps one cursor each):

* ``enrolments:<cohort>`` — who is enrolled in each provisioned course (any enrol method, with roles and
  status) and in which of its groups (``moodle_enrolments``, ``moodle_group_members``): someone enrolled or
  removed by hand in Moodle shows up. Moodle leaves no row behind when someone is unenrolled or taken out
  of a group, so every answer carries a digest per course (count and sums of the rows, see
  :func:`mintqo_lms.moodle.syncpages.enrolment_digest`); a course whose digest differs from the store's rows is
  read again in full (one more call) and its rows replaced — a person gone from Moodle stays in the store
  with ``active = 0``.
* ``completions:<cohort>`` — activity and course completions (``activity_completion``,
  ``course_completion``); on an in-person activity a participant's own tick is kept apart as attendance
  ``source = 'self'`` (:func:`mintqo_lms.attendance.record_moodle_ticks`).
* ``responses:<cohort>`` — finished self-analysis attempts and their answers, scored in the same
  transaction (:func:`mintqo_lms.profile.update_analyses`: the team rule, scores, potentials, change).

Each page the plugin answers is committed in one transaction together with the cursor that follows it
(``nextcursor``, an opaque keyset position: nothing of the same second is read twice or skipped). A crash
or a kill therefore re-reads at most one page and never loses or duplicates a row. An unchanged cohort costs
one call per stream (at most 3), whatever its size; a full sync (``full=True``) reads everything from the
start, grows with courses and rows (pages of ``sync.page_size``), and converges to the same store. A cursor
remembers the courses it belongs to: when provisioning adds one, that stream starts over.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

from mintqo_lms.keys import require_cohort
from mintqo_lms.moodle import Moodle
from mintqo_lms.moodle.errors import InvalidParameterError, MintqoError
from mintqo_lms.moodle.syncpages import (
    ActivityCompletion,
    CourseCompletion,
    QuizResponse,
    ResponsesPage,
    enrolment_digest,
)
from mintqo_lms.profile import backfill_stream, update_analyses
from mintqo_lms.store import Store

COMPLETE_STATES = frozenset({1, 2})  # COMPLETION_COMPLETE, COMPLETION_COMPLETE_PASS (3 is "complete, failed")

# Columns of the rows a page writes, in the order the bulk upserts give their values.
ENROLMENT_COLUMNS = ("courseid", "userid", "roles", "status", "timestart", "timeend", "timemodified", "active",
                     "seen_at")
MEMBER_COLUMNS = ("courseid", "groupid", "group_idnumber", "userid", "timeadded", "seen_at")
ACTIVITY_COMPLETION_COLUMNS = ("cmid", "userid", "courseid", "activity_idnumber", "state", "timemodified",
                               "overrideby")
COURSE_COMPLETION_COLUMNS = ("courseid", "userid", "timeenrolled", "timestarted", "timecompleted", "timemodified")
ATTEMPT_COLUMNS = ("attemptid", "quizid", "cmid", "userid", "attempt", "timestart", "timefinish", "timemodified")
RESPONSE_COLUMNS = ("attemptid", "slot", "question_idnumber", "answer_position", "answer_text", "fraction")


class SyncError(MintqoError):
    """The cohort cannot be synced (unknown, or not provisioned yet)."""


@dataclass
class SyncResult:
    """What one sync read, each number named for what it counts. Moodle reports a course completion record
    for every enrolment (most without ``timecompleted``), and an activity completion record can also say
    "not complete" (a teacher reset it), so records read and completions are counted apart."""

    cohort: str
    full: bool = False
    enrolment_records: int = 0
    member_records: int = 0
    removed_in_moodle: int = 0
    reread_courses: int = 0
    activity_records: int = 0
    activities_completed: int = 0
    self_ticks: int = 0
    course_records: int = 0
    courses_completed: int = 0
    attempts: int = 0
    responses: int = 0
    analyses: int = 0
    calls: dict = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        return {"enrolment_records": self.enrolment_records, "group_member_records": self.member_records,
                "removed_in_moodle": self.removed_in_moodle, "courses_reread": self.reread_courses,
                "activity_completion_records": self.activity_records,
                "activities_completed": self.activities_completed, "self_reported_attendance": self.self_ticks,
                "course_enrolment_records": self.course_records, "courses_completed": self.courses_completed,
                "self_analysis_attempts": self.attempts, "answers": self.responses,
                "analyses_scored": self.analyses, "full": int(self.full)}

    @property
    def rows(self) -> int:
        """Rows read from Moodle (every record of every stream)."""
        return (self.enrolment_records + self.member_records + self.activity_records + self.course_records
                + self.responses)

    @property
    def total_calls(self) -> int:
        return int(sum(c["calls"] for c in self.calls.values()))

    def __str__(self) -> str:
        text = (f"{_n(self.enrolment_records, 'enrolment record')} and "
                f"{_n(self.member_records, 'group membership record')} read"
                + (f" ({self.removed_in_moodle} removed in Moodle)" if self.removed_in_moodle else "") + ", "
                f"{_n(self.activities_completed, 'activity completion')} "
                f"(of {_n(self.activity_records, 'activity completion record')} read), "
                f"{_n(self.courses_completed, 'course completion')} "
                f"(of {_n(self.course_records, 'course enrolment record')} read), "
                f"{_n(self.attempts, 'self-analysis attempt')} with {_n(self.responses, 'answer')}, "
                f"{_n(self.analyses, 'team analysis', 'team analyses')} scored")
        if self.self_ticks:
            text += f", {_n(self.self_ticks, 'self-reported attendance tick')} (not counted as attendance)"
        return text


def _n(count: int, noun: str, plural: str | None = None) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {plural or noun + 's'}"


def enrolments_stream(cohort: str) -> str:
    return f"enrolments:{cohort}"


def completions_stream(cohort: str) -> str:
    return f"completions:{cohort}"


def responses_stream(cohort: str) -> str:
    return f"responses:{cohort}"


def active_cohorts(store: Store) -> list[str]:
    """The cohorts ``sync --all`` (and ``serve``) sync: every cohort with provisioned courses."""
    return [row["cohort"] for row in store.db.query(
        "SELECT DISTINCT cohort FROM courses WHERE moodle_id IS NOT NULL ORDER BY cohort")]


def sync_cohort(moodle: Moodle, store: Store, cohort: str, *, page_size: int = 1000, full: bool = False,
                templates_root: str | os.PathLike[str] | None = None) -> SyncResult:
    """One sync of a provisioned cohort (incremental, or ``full``: everything from the start); recorded in
    ``sync_runs``.

    An unknown cohort (a typo) or one that was never provisioned is an error, not an empty success: "0
    answers" must mean that nobody answered."""
    check_syncable(store, cohort)
    result = SyncResult(cohort=cohort, full=full)
    stats = moodle.client.stats
    snapshot = stats.as_dict()
    run_id = store.start_run("sync", cohort)
    try:
        courseids = sorted(int(row["moodle_id"]) for row in store.db["courses"].rows_where(
            "cohort = ? AND moodle_id IS NOT NULL", [cohort]))
        if courseids:
            _sync_enrolments(moodle, store, cohort, courseids, page_size, full, result)
            _sync_completions(moodle, store, cohort, courseids, page_size, full, result, templates_root)
        quizids = [row["instance_id"] for row in store.db.query(
            "SELECT a.instance_id FROM activities a JOIN courses c ON c.idnumber = a.course_idnumber "
            "WHERE c.cohort = ? AND a.modname = 'quiz' ORDER BY a.instance_id", [cohort])]
        if quizids:
            _sync_responses(moodle, store, cohort, courseids, quizids, page_size, full, result, templates_root)
    except BaseException as exc:  # a kill signal (serve's SIGTERM) included: the run is recorded as failed
        store.finish_run(run_id, status="failed", summary=result.counts(), calls=stats.delta(snapshot),
                         error=str(exc) or exc.__class__.__name__)
        raise
    result.calls = stats.delta(snapshot)
    store.finish_run(run_id, status="ok", summary=result.counts(), calls=result.calls)
    return result


def check_syncable(store: Store, cohort: str) -> None:
    """Raise when ``cohort`` is not in the store (naming the cohorts that are) or has no courses in Moodle yet."""
    require_cohort(store, cohort)  # a bad key or an unknown cohort: one line naming the cohorts that exist
    if not store.db["courses"].count_where("cohort = ?", [cohort]):
        raise SyncError(f"cohort {cohort} has no courses in Moodle yet, so there is nothing to sync; "
                        f"run 'mintqo-lms provision --cohort {cohort}' first")


# -- cursors ----------------------------------------------------------------------------------------

def _start_cursor(store: Store, stream: str, ids: list[int], full: bool) -> str:
    """The stream's keyset cursor, or "" (from the beginning) for a full sync, for a cursor of another set of
    courses/quizzes, and for a cursor of the older timestamp kind."""
    if full:
        return ""
    raw = store.get_cursor(stream, "")
    try:
        saved = json.loads(raw) if raw.startswith("{") else None
    except ValueError:
        saved = None
    if not saved or saved.get("ids") != ids:
        return ""
    return str(saved.get("cursor", ""))


def _save_cursor(store: Store, stream: str, ids: list[int], cursor: str) -> None:
    store.set_cursor(stream, json.dumps({"cursor": cursor, "ids": ids}, sort_keys=True))


def stream_position(raw: str) -> str:
    """A stored cursor as shown by ``status`` (the keyset part only)."""
    try:
        return str(json.loads(raw).get("cursor", "")) if raw.startswith("{") else raw
    except ValueError:
        return raw


# -- enrolments and group members -------------------------------------------------------------------

def _sync_enrolments(moodle: Moodle, store: Store, cohort: str, courseids: list[int], page_size: int,
                     full: bool, result: SyncResult) -> None:
    stream = enrolments_stream(cohort)
    cursor = _start_cursor(store, stream, courseids, full)
    # From the start (a full sync, a first one) the keyset brings every row: all courses are read in full.
    reread = set(courseids) if not cursor else set()
    fullcourseids: list[int] = []
    for round_ in range(2):
        seen_enrolled: dict[int, set[int]] = {c: set() for c in reread}
        seen_members: dict[int, set[tuple[int, int]]] = {c: set() for c in reread}
        first = True
        while True:
            # The full rows of the re-read courses come with the first page (the plugin's rule).
            page = moodle.plugin.get_enrolments_page(courseids, cursor=cursor, limit=page_size,
                                                     fullcourseids=fullcourseids if first else [])
            first = False
            now = int(time.time())
            with store.transaction():
                store.upsert_rows("moodle_enrolments", ("courseid", "userid"), ENROLMENT_COLUMNS, ((
                    e.courseid, e.userid, ",".join(sorted(e.roles)), e.status, e.timestart, e.timeend,
                    e.timemodified, 1, now) for e in page.enrolments))
                store.upsert_rows("moodle_group_members", ("groupid", "userid"), MEMBER_COLUMNS, ((
                    m.courseid, m.groupid, m.groupidnumber, m.userid, m.timeadded, now) for m in page.members))
                for e in page.enrolments:
                    if e.courseid in seen_enrolled:
                        seen_enrolled[e.courseid].add(e.userid)
                for m in page.members:
                    if m.courseid in seen_members:
                        seen_members[m.courseid].add((m.groupid, m.userid))
                if not page.hasmore:  # the re-read courses are complete: what was not seen is gone from Moodle
                    result.removed_in_moodle += _replace_course_rows(store, seen_enrolled, seen_members)
                _save_cursor(store, stream, courseids, page.nextcursor)
            result.enrolment_records += len(page.enrolments)
            result.member_records += len(page.members)
            if page.hasmore and page.nextcursor == cursor:
                raise SyncError(f"Moodle said there are more enrolments after cursor '{cursor}' but did not move it")
            cursor = page.nextcursor
            if not page.hasmore:
                break
        result.reread_courses += len(reread)
        stale = _stale_courses(store, page.digests)
        if not stale or round_ == 1:
            return
        # Someone was unenrolled or taken out of a group by hand: read those courses in full.
        reread, fullcourseids = stale, sorted(stale)


def _replace_course_rows(store: Store, enrolled: dict[int, set[int]], members: dict[int, set[tuple[int, int]]]) -> int:
    removed = 0
    for courseid, userids in enrolled.items():
        for row in store.db.query("SELECT userid FROM moodle_enrolments WHERE courseid = ? AND active = 1",
                                  [courseid]):
            if row["userid"] not in userids:
                store.db["moodle_enrolments"].update((courseid, row["userid"]), {"active": 0})
                removed += 1
    for courseid, keys in members.items():
        for row in list(store.db.query("SELECT groupid, userid FROM moodle_group_members WHERE courseid = ?",
                                       [courseid])):
            if (row["groupid"], row["userid"]) not in keys:
                store.db["moodle_group_members"].delete((row["groupid"], row["userid"]))
                removed += 1
    return removed


def store_digest(store: Store, courseid: int):
    """The digest of the store's rows of one course, computed like the plugin computes Moodle's."""
    enrolments = list(store.db.query("SELECT userid, roles FROM moodle_enrolments WHERE courseid = ? AND active = 1",
                                     [courseid]))
    members = list(store.db.query("SELECT groupid, userid FROM moodle_group_members WHERE courseid = ?",
                                  [courseid]))
    return enrolment_digest(courseid, enrolments, members)


def _stale_courses(store: Store, digests: Iterable) -> set[int]:
    return {d.courseid for d in digests if not store_digest(store, d.courseid).same_rows(d)}


# -- completions ------------------------------------------------------------------------------------

def _sync_completions(moodle: Moodle, store: Store, cohort: str, courseids: list[int], page_size: int, full: bool,
                      result: SyncResult, templates_root: str | os.PathLike[str] | None) -> None:
    from mintqo_lms.attendance import in_person_idnumbers, record_moodle_ticks

    stream = completions_stream(cohort)
    cursor = _start_cursor(store, stream, courseids, full)
    idnumbers = {row["cmid"]: row["idnumber"] for row in store.db["activities"].rows}
    in_person = in_person_idnumbers(templates_root)
    key_of = {row["cmid"]: (row["course_idnumber"], row["idnumber"].rsplit(":", 1)[-1]) for row in store.db.query(
        "SELECT a.cmid, a.course_idnumber, a.idnumber FROM activities a "
        "JOIN courses c ON c.idnumber = a.course_idnumber "
        "WHERE c.cohort = ?", [cohort]) if row["idnumber"] in in_person}
    people = {row["moodle_user_id"]: row["id"] for row in store.db.query(
        "SELECT id, moodle_user_id FROM people WHERE moodle_user_id IS NOT NULL")}
    while True:
        page = moodle.plugin.get_completions_page(courseids, cursor=cursor, limit=page_size)
        with store.transaction():
            _upsert_activity_completions(store, page.activities, idnumbers)
            _upsert_course_completions(store, page.courses)
            record_moodle_ticks(store, cohort, page.activities, key_of, people)
            _save_cursor(store, stream, courseids, page.nextcursor)
        result.activity_records += len(page.activities)
        result.activities_completed += sum(1 for a in page.activities if a.state in COMPLETE_STATES)
        result.self_ticks += sum(1 for a in page.activities if a.cmid in key_of and not a.overrideby
                                 and a.state in COMPLETE_STATES)
        result.course_records += len(page.courses)
        result.courses_completed += sum(1 for c in page.courses if c.timecompleted)
        cursor = page.nextcursor
        if not page.hasmore:
            return


def _upsert_activity_completions(store: Store, rows: Iterable[ActivityCompletion], idnumbers: dict[int, str]) -> None:
    store.upsert_rows("activity_completion", ("cmid", "userid"), ACTIVITY_COMPLETION_COLUMNS, ((
        r.cmid, r.userid, r.courseid, r.idnumber or idnumbers.get(r.cmid), r.state, r.timemodified, r.overrideby,
    ) for r in rows))


def _upsert_course_completions(store: Store, rows: Iterable[CourseCompletion]) -> None:
    store.upsert_rows("course_completion", ("courseid", "userid"), COURSE_COMPLETION_COLUMNS, ((
        r.courseid, r.userid, r.timeenrolled, r.timestarted, r.timecompleted, r.timemodified) for r in rows))


# -- self-analysis answers --------------------------------------------------------------------------

def _sync_responses(moodle: Moodle, store: Store, cohort: str, courseids: list[int], quizids: list[int],
                    page_size: int, full: bool, result: SyncResult,
                    templates_root: str | os.PathLike[str] | None = None) -> None:
    """The cohort's quizzes read by course (plugin 1.4.1): one form field per course, where 1,280 quiz ids would
    be cut by ``max_input_vars``. The cursor carries the course ids, so the first sync after reading by quiz ids
    starts from the beginning once (a re-read: rows are upserted). Rows of a quiz provisioning does not know (a
    teacher's own quiz in the course) are left out, as when the quizzes were named."""
    stream = responses_stream(cohort)
    ours = set(quizids)
    cursor = _start_cursor(store, stream, courseids, full)
    while True:
        page = _responses_page(moodle, courseids, cursor, page_size)
        rows: list[QuizResponse] = [r for r in page.rows if r.quizid in ours]
        with store.transaction():
            by_attempt: dict[int, list[QuizResponse]] = {}
            for r in rows:
                by_attempt.setdefault(r.attemptid, []).append(r)
            attempts = {attemptid: answers[-1] for attemptid, answers in by_attempt.items()}
            # Score what is new or changed (a re-read of unchanged attempts — a full sync, a re-run after a
            # crash — leaves their scores as they are); a store that never scored gets its backfill.
            backfill = store.get_cursor(backfill_stream(cohort), "") != "1"
            changed = list(attempts.values()) if backfill else [
                a for a in attempts.values() if _attempt_changed(store, a, by_attempt[a.attemptid])]
            store.upsert_rows("quiz_attempts", ("attemptid",), ATTEMPT_COLUMNS, ((
                r.attemptid, r.quizid, r.cmid, r.userid, r.attempt, r.timestart, r.timefinish, r.timemodified,
            ) for r in attempts.values()))
            store.upsert_rows("responses", ("attemptid", "slot"), RESPONSE_COLUMNS, ((
                r.attemptid, r.slot, r.questionidnumber, r.answerposition, r.answertext, r.fraction) for r in rows))
            scored = update_analyses(store, cohort, [a.attemptid for a in changed],
                                     templates_root=templates_root) if changed or backfill else []
            _save_cursor(store, stream, courseids, page.nextcursor)
        result.analyses += len(scored)
        result.attempts += len(attempts)
        result.responses += len(rows)
        cursor = page.nextcursor
        if not page.hasmore:
            return


def _responses_page(moodle: Moodle, courseids: list[int], cursor: str, page_size: int) -> ResponsesPage:
    """One page by course; a plugin before 1.4.1 refuses the unknown ``courseids`` and is named as such."""
    try:
        return moodle.plugin.get_quiz_responses_page([], cursor=cursor, limit=page_size, courseids=courseids)
    except InvalidParameterError:
        raise SyncError("local_mintqo_get_quiz_responses refused to read quizzes by course: the site's "
                        "local_mintqo must be 1.4.1 or newer (update it; 'mintqo-lms doctor' shows its "
                        "release)") from None


def sync_and_feedback(moodle: Moodle, store: Store, cohort: str, config, *, full: bool = False,
                      resend_unknown: bool = False):
    """What ``sync`` and ``serve`` do per cohort: the streams, then the feedback messages of new analyses
    (``feedback.messages``). Returns ``(SyncResult, FeedbackResult | None)``."""
    root = config.programme.templates_dir
    result = sync_cohort(moodle, store, cohort, page_size=config.sync.page_size, full=full, templates_root=root)
    feedback = None
    if config.feedback.messages:
        from mintqo_lms.feedback import send_feedback

        feedback = send_feedback(moodle, store, cohort, templates_root=str(root) if root else None,
                                 resend_unknown=resend_unknown)
    return result, feedback


def _attempt_changed(store: Store, attempt: QuizResponse, rows: list[QuizResponse]) -> bool:
    """New, re-finished, or with other answers than stored (a regrade)."""
    stored = next(iter(store.db.query("SELECT timemodified, timefinish FROM quiz_attempts WHERE attemptid = ?",
                                      [attempt.attemptid])), None)
    if stored is None or (stored["timemodified"], stored["timefinish"]) != (attempt.timemodified, attempt.timefinish):
        return True
    answers = {(r["slot"], r["answer_position"], r["fraction"]) for r in store.db.query(
        "SELECT slot, answer_position, fraction FROM responses WHERE attemptid = ?", [attempt.attemptid])}
    return answers != {(r.slot, r.answerposition, r.fraction) for r in rows}


__all__ = ["COMPLETE_STATES", "SyncError", "SyncResult", "active_cohorts", "check_syncable", "completions_stream",
           "enrolments_stream", "responses_stream", "store_digest", "stream_position", "sync_and_feedback",
           "sync_cohort"]
