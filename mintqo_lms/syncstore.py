"""How each page of the sync's streams is stored (:mod:`mintqo_lms.sync` reads them): the rows, the cursor that
follows them, and what the rows imply — removed enrolments, self-reported attendance, the scores of new
self-analyses — in one transaction per page.

Why a module of its own: :mod:`mintqo_lms.sync` is imported before its first request leaves; this part is
imported while that request travels.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from typing import Any

from mintqo_lms.moodle.syncpages import (
    ActivityCompletion,
    CompletionsPage,
    CourseCompletion,
    EnrolmentDigest,
    EnrolmentsPage,
    QuizResponse,
    ResponsesPage,
    enrolment_digest,
)
from mintqo_lms.store import Store
from mintqo_lms.sync import (
    COMPLETE_STATES,
    SyncResult,
    completions_stream,
    enrolments_stream,
    responses_stream,
    save_cursor,
)

# Columns of the rows a page writes, in the order the bulk upserts give their values.
ENROLMENT_COLUMNS = ("courseid", "userid", "roles", "status", "timestart", "timeend", "timemodified", "active",
                     "seen_at")
MEMBER_COLUMNS = ("courseid", "groupid", "group_idnumber", "userid", "timeadded", "seen_at")
ACTIVITY_COMPLETION_COLUMNS = ("cmid", "userid", "courseid", "activity_idnumber", "state", "timemodified",
                               "overrideby")
COURSE_COMPLETION_COLUMNS = ("courseid", "userid", "timeenrolled", "timestarted", "timecompleted", "timemodified")
ATTEMPT_COLUMNS = ("attemptid", "quizid", "cmid", "userid", "attempt", "timestart", "timefinish", "timemodified")
RESPONSE_COLUMNS = ("attemptid", "slot", "question_idnumber", "answer_position", "answer_text", "fraction")

# -- enrolments and group members -------------------------------------------------------------------

class EnrolmentPages:
    """Stores the pages of the enrolments stream. The courses of ``reread`` (every course when the stream reads
    from the start) come in full: after their last page, a stored row that was not seen is gone from Moodle.
    After the last page (``check``) the digests tell which courses lost rows by hand: :attr:`stale`."""

    def __init__(self, store: Store, cohort: str, courseids: list[int], *, full_read: bool = False,
                 reread: set[int] | None = None, check: bool = True):
        self.store, self.stream, self.courseids, self.check = store, enrolments_stream(cohort), courseids, check
        self.reread = set(courseids) if full_read else set(reread or ())
        self.enrolled: dict[int, set[int]] = {c: set() for c in self.reread}
        self.members: dict[int, set[tuple[int, int]]] = {c: set() for c in self.reread}
        self.stale: set[int] = set()
        self.cursor = ""

    def save(self, page: EnrolmentsPage, result: SyncResult) -> None:
        store, now = self.store, int(time.time())
        with store.transaction():
            store.upsert_rows("moodle_enrolments", ("courseid", "userid"), ENROLMENT_COLUMNS, ((
                e.courseid, e.userid, ",".join(sorted(e.roles)), e.status, e.timestart, e.timeend,
                e.timemodified, 1, now) for e in page.enrolments))
            store.upsert_rows("moodle_group_members", ("groupid", "userid"), MEMBER_COLUMNS, ((
                m.courseid, m.groupid, m.groupidnumber, m.userid, m.timeadded, now) for m in page.members))
            for e in page.enrolments:
                if e.courseid in self.enrolled:
                    self.enrolled[e.courseid].add(e.userid)
            for m in page.members:
                if m.courseid in self.members:
                    self.members[m.courseid].add((m.groupid, m.userid))
            if not page.hasmore:  # the re-read courses are complete: what was not seen is gone from Moodle
                result.removed_in_moodle += _replace_course_rows(store, self.enrolled, self.members)
            save_cursor(store, self.stream, self.courseids, page.nextcursor)
        result.enrolment_records += len(page.enrolments)
        result.member_records += len(page.members)
        self.cursor = page.nextcursor
        if not page.hasmore:
            result.reread_courses += len(self.reread)
            if self.check:
                self.stale = _stale_courses(store, page.digests)


def _replace_course_rows(store: Store, enrolled: dict[int, set[int]], members: dict[int, set[tuple[int, int]]]) -> int:
    """Mark the stored enrolments not in ``enrolled`` inactive and delete the memberships not in ``members``."""
    gone_enrolments = [(row["courseid"], row["userid"]) for row in store.query_in(
        "SELECT courseid, userid FROM moodle_enrolments WHERE active = 1 AND courseid IN ({})", sorted(enrolled))
        if row["userid"] not in enrolled[row["courseid"]]]
    gone_members = [(row["groupid"], row["userid"]) for row in store.query_in(
        "SELECT courseid, groupid, userid FROM moodle_group_members WHERE courseid IN ({})", sorted(members))
        if (row["groupid"], row["userid"]) not in members[row["courseid"]]]
    store.db.conn.executemany("UPDATE moodle_enrolments SET active = 0 WHERE courseid = ? AND userid = ?",
                              gone_enrolments)
    store.db.conn.executemany("DELETE FROM moodle_group_members WHERE groupid = ? AND userid = ?", gone_members)
    return len(gone_enrolments) + len(gone_members)


def store_digests(store: Store, courseids: Iterable[int]) -> dict[int, EnrolmentDigest]:
    """The digest of each course's stored rows, computed like the plugin computes Moodle's; one query per table
    for all the courses."""
    ids = list(courseids)
    enrolments: dict[int, list[dict[str, Any]]] = {c: [] for c in ids}
    members: dict[int, list[dict[str, Any]]] = {c: [] for c in ids}
    for row in store.query_in("SELECT courseid, userid, roles FROM moodle_enrolments "
                              "WHERE active = 1 AND courseid IN ({})", ids):
        enrolments[row["courseid"]].append(row)
    for row in store.query_in("SELECT courseid, groupid, userid FROM moodle_group_members WHERE courseid IN ({})",
                              ids):
        members[row["courseid"]].append(row)
    return {c: enrolment_digest(c, enrolments[c], members[c]) for c in ids}


def _stale_courses(store: Store, digests: list[EnrolmentDigest]) -> set[int]:
    ours = store_digests(store, [d.courseid for d in digests])
    return {d.courseid for d in digests if not ours[d.courseid].same_rows(d)}


# -- completions ------------------------------------------------------------------------------------

class CompletionPages:
    """Stores the pages of the completions stream. What only a page with activity completions needs (the
    in-person activities of the curricula, the people by Moodle user id) is looked up once, on the first such
    page: an unchanged cohort's empty page needs none of it."""

    def __init__(self, store: Store, cohort: str, courseids: list[int],
                 templates_root: str | os.PathLike[str] | None):
        self.store, self.cohort, self.courseids, self.root = store, cohort, courseids, templates_root
        self.stream = completions_stream(cohort)
        self._in_person: dict[int, tuple[str, str]] | None = None
        self._people: dict[int, int] = {}

    def in_person(self) -> dict[int, tuple[str, str]]:
        """cmid -> (course idnumber, activity key) of the cohort's in-person activities."""
        if self._in_person is None:
            from mintqo_lms.attendance import in_person_idnumbers

            idnumbers = in_person_idnumbers(self.root)
            self._in_person = {row["cmid"]: (row["course_idnumber"], row["idnumber"].rsplit(":", 1)[-1])
                               for row in self.store.db.query(
                "SELECT a.cmid, a.course_idnumber, a.idnumber FROM activities a "
                "JOIN courses c ON c.idnumber = a.course_idnumber WHERE c.cohort = ?", [self.cohort])
                if row["idnumber"] in idnumbers}
            self._people = {row["moodle_user_id"]: row["id"] for row in self.store.db.query(
                "SELECT id, moodle_user_id FROM people WHERE moodle_user_id IS NOT NULL")}
        return self._in_person

    def save(self, page: CompletionsPage, result: SyncResult) -> None:
        store = self.store
        key_of = self.in_person() if page.activities else {}
        with store.transaction():
            _upsert_activity_completions(store, page.activities)
            _upsert_course_completions(store, page.courses)
            if key_of:
                from mintqo_lms.attendance import record_moodle_ticks

                record_moodle_ticks(store, self.cohort, page.activities, key_of, self._people)
            save_cursor(store, self.stream, self.courseids, page.nextcursor)
        result.activity_records += len(page.activities)
        result.activities_completed += sum(1 for a in page.activities if a.state in COMPLETE_STATES)
        result.self_ticks += sum(1 for a in page.activities if a.cmid in key_of and not a.overrideby
                                 and a.state in COMPLETE_STATES)
        result.course_records += len(page.courses)
        result.courses_completed += sum(1 for c in page.courses if c.timecompleted)


def _upsert_activity_completions(store: Store, rows: list[ActivityCompletion]) -> None:
    """The rows with their activity's idnumber (the store's, for a row Moodle sent without one)."""
    missing = {r.cmid for r in rows if not r.idnumber}
    idnumbers = {row["cmid"]: row["idnumber"] for row in store.db.query(
        f"SELECT cmid, idnumber FROM activities WHERE cmid IN ({','.join('?' * len(missing))})",
        sorted(missing))} if missing else {}
    store.upsert_rows("activity_completion", ("cmid", "userid"), ACTIVITY_COMPLETION_COLUMNS, ((
        r.cmid, r.userid, r.courseid, r.idnumber or idnumbers.get(r.cmid), r.state, r.timemodified, r.overrideby,
    ) for r in rows))


def _upsert_course_completions(store: Store, rows: Iterable[CourseCompletion]) -> None:
    store.upsert_rows("course_completion", ("courseid", "userid"), COURSE_COMPLETION_COLUMNS, ((
        r.courseid, r.userid, r.timeenrolled, r.timestarted, r.timecompleted, r.timemodified) for r in rows))


# -- self-analysis answers --------------------------------------------------------------------------

class ResponsePages:
    """Stores the pages of the responses stream and scores what is new or changed in the same transaction.

    The cohort's quizzes are read by course (plugin 1.4.1): one form field per course, where 1,280 quiz ids would
    be cut by ``max_input_vars``. The cursor carries the course ids, so the first sync after reading by quiz ids
    starts from the beginning once (a re-read: rows are upserted). Rows of a quiz provisioning does not know (a
    teacher's own quiz in the course) are left out, as when the quizzes were named."""

    def __init__(self, store: Store, cohort: str, courseids: list[int], quizids: frozenset[int],
                 templates_root: str | os.PathLike[str] | None):
        from mintqo_lms.profile import Instruments, backfill_stream  # imported while the first page travels

        self.store, self.cohort, self.courseids, self.quizids = store, cohort, courseids, quizids
        self.stream, self.backfill_stream = responses_stream(cohort), backfill_stream(cohort)
        self.instruments = Instruments(templates_root)   # each version loaded once per run, when first needed

    def save(self, page: ResponsesPage, result: SyncResult) -> None:
        from mintqo_lms.profile import update_analyses

        store, ours = self.store, self.quizids
        rows: list[QuizResponse] = [r for r in page.rows if r.quizid in ours]
        by_attempt: dict[int, list[QuizResponse]] = {}
        for r in rows:
            by_attempt.setdefault(r.attemptid, []).append(r)
        attempts = {attemptid: answers[-1] for attemptid, answers in by_attempt.items()}
        with store.transaction():
            # Score what is new or changed (a re-read of unchanged attempts — a full sync, a re-run after a
            # crash — leaves their scores as they are); a store that never scored gets its backfill.
            backfill = store.get_cursor(self.backfill_stream, "") != "1"
            changed = sorted(attempts) if backfill else _changed_attempts(store, by_attempt)
            store.upsert_rows("quiz_attempts", ("attemptid",), ATTEMPT_COLUMNS, ((
                r.attemptid, r.quizid, r.cmid, r.userid, r.attempt, r.timestart, r.timefinish, r.timemodified,
            ) for r in attempts.values()))
            store.upsert_rows("responses", ("attemptid", "slot"), RESPONSE_COLUMNS, ((
                r.attemptid, r.slot, r.questionidnumber, r.answerposition, r.answertext, r.fraction) for r in rows))
            scored: list[int] = []
            if changed or backfill:
                scored = update_analyses(store, self.cohort, changed, instruments=self.instruments, answers={
                    a: [(r.attemptid, r.questionidnumber, r.answerposition, r.fraction)
                        for r in sorted(answers, key=lambda r: r.slot)] for a, answers in by_attempt.items()})
            save_cursor(store, self.stream, self.courseids, page.nextcursor)
        result.analyses += len(scored)
        result.attempts += len(attempts)
        result.responses += len(rows)


def _changed_attempts(store: Store, by_attempt: dict[int, list[QuizResponse]]) -> list[int]:
    """The attempts of a page that are new, re-finished, or with other answers than stored (a regrade); a
    query per table for the whole page."""
    ids = sorted(by_attempt)
    stored = {r["attemptid"]: (r["timemodified"], r["timefinish"]) for r in store.query_in(
        "SELECT attemptid, timemodified, timefinish FROM quiz_attempts WHERE attemptid IN ({})", ids)}
    changed = {a for a in ids if stored.get(a) != (by_attempt[a][-1].timemodified, by_attempt[a][-1].timefinish)}
    answers: dict[int, set[tuple[Any, ...]]] = {a: set() for a in ids if a not in changed}
    for r in store.query_in("SELECT attemptid, slot, answer_position, fraction FROM responses "
                            "WHERE attemptid IN ({})", sorted(answers)):
        answers[r["attemptid"]].add((r["slot"], r["answer_position"], r["fraction"]))
    changed.update(a for a, stored_answers in answers.items()
                   if stored_answers != {(r.slot, r.answerposition, r.fraction) for r in by_attempt[a]})
    return sorted(changed)


__all__ = ["CompletionPages", "EnrolmentPages", "ResponsePages", "store_digests"]
