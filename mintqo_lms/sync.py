"""Read completion and self-analysis answers back from Moodle into the store, like a Singer tap.

Each stream keeps a cursor (bookmark) in ``sync_state``: the newest ``timemodified`` it has stored. A
run asks the plugin for everything changed since that cursor (inclusive, so rows of the same second are
re-read rather than missed), upserts the rows by their natural keys, and advances the cursor in the *same*
transaction as the data. A crash therefore re-reads and never loses or duplicates; an unchanged site
costs one call per stream.

The self-analysis answers are scored in that same transaction (:func:`mintqo_lms.profile.update_analyses`:
the team rule, scores per dimension, criterion and statement, potentials, change), so the stored scores
always match the stored answers and reports never recompute them.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field

from mintqo_lms.keys import require_cohort
from mintqo_lms.moodle import Moodle
from mintqo_lms.moodle.errors import MintqoError
from mintqo_lms.moodle.plugin import ActivityCompletion, CourseCompletion, QuizResponse
from mintqo_lms.profile import update_analyses
from mintqo_lms.store import Store

COMPLETE_STATES = frozenset({1, 2})  # COMPLETION_COMPLETE, COMPLETION_COMPLETE_PASS (3 is "complete, failed")


class SyncError(MintqoError):
    """The cohort cannot be synced (unknown, or not provisioned yet)."""


@dataclass
class SyncResult:
    """What one sync read, each number named for what it counts. Moodle reports a course completion record
    for every enrolment (most without ``timecompleted``), and an activity completion record can also say
    "not complete" (a teacher reset it), so records read and completions are counted apart."""

    cohort: str
    activity_records: int = 0
    activities_completed: int = 0
    course_records: int = 0
    courses_completed: int = 0
    attempts: int = 0
    responses: int = 0
    analyses: int = 0
    calls: dict = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        return {"activity_completion_records": self.activity_records,
                "activities_completed": self.activities_completed,
                "course_enrolment_records": self.course_records, "courses_completed": self.courses_completed,
                "self_analysis_attempts": self.attempts, "answers": self.responses,
                "analyses_scored": self.analyses}

    def __str__(self) -> str:
        return (f"{_n(self.activities_completed, 'activity completion')} "
                f"(of {_n(self.activity_records, 'activity completion record')} read), "
                f"{_n(self.courses_completed, 'course completion')} "
                f"(of {_n(self.course_records, 'course enrolment record')} read), "
                f"{_n(self.attempts, 'self-analysis attempt')} with {_n(self.responses, 'answer')}, "
                f"{_n(self.analyses, 'team analysis', 'team analyses')} scored")


def _n(count: int, noun: str, plural: str | None = None) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {plural or noun + 's'}"


def completions_stream(cohort: str) -> str:
    return f"completions:{cohort}"


def responses_stream(cohort: str) -> str:
    return f"responses:{cohort}"


def sync_cohort(moodle: Moodle, store: Store, cohort: str, *, page_size: int = 1000,
                templates_root: str | os.PathLike[str] | None = None) -> SyncResult:
    """One incremental sync of a provisioned cohort; recorded in ``sync_runs``.

    An unknown cohort (a typo) or one that was never provisioned is an error, not an empty success: "0
    answers" must mean that nobody answered."""
    check_syncable(store, cohort)
    result = SyncResult(cohort=cohort)
    stats = moodle.client.stats
    snapshot = stats.as_dict()
    run_id = store.start_run("sync", cohort)
    try:
        courseids = [row["moodle_id"] for row in store.db["courses"].rows_where("cohort = ?", [cohort])]
        if courseids:
            _sync_completions(moodle, store, cohort, courseids, page_size, result)
        quizids = [row["instance_id"] for row in store.db.query(
            "SELECT a.instance_id FROM activities a JOIN courses c ON c.idnumber = a.course_idnumber "
            "WHERE c.cohort = ? AND a.modname = 'quiz' ORDER BY a.instance_id", [cohort])]
        if quizids:
            _sync_responses(moodle, store, cohort, quizids, page_size, result, templates_root)
    except Exception as exc:
        store.finish_run(run_id, status="failed", summary=result.counts(), calls=stats.delta(snapshot),
                         error=str(exc))
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


def _sync_completions(moodle: Moodle, store: Store, cohort: str, courseids: list[int], page_size: int,
                      result: SyncResult) -> None:
    stream = completions_stream(cohort)
    since = int(store.get_cursor(stream, "0"))
    activities, courses = moodle.plugin.get_completions(courseids, since=since, page_size=page_size)
    idnumbers = {row["cmid"]: row["idnumber"] for row in store.db["activities"].rows}
    with store.transaction():
        _upsert_activity_completions(store, activities, idnumbers)
        _upsert_course_completions(store, courses)
        newest = max([since, *(a.timemodified for a in activities), *(c.timemodified for c in courses)])
        store.set_cursor(stream, str(newest))
    result.activity_records += len(activities)
    result.activities_completed += sum(1 for a in activities if a.state in COMPLETE_STATES)
    result.course_records += len(courses)
    result.courses_completed += sum(1 for c in courses if c.timecompleted)


def _upsert_activity_completions(store: Store, rows: Iterable[ActivityCompletion], idnumbers: dict[int, str]) -> None:
    store.db["activity_completion"].upsert_all(({
        "cmid": r.cmid, "userid": r.userid, "courseid": r.courseid,
        "activity_idnumber": r.idnumber or idnumbers.get(r.cmid), "state": r.state,
        "timemodified": r.timemodified, "overrideby": r.overrideby,
    } for r in rows), pk=("cmid", "userid"))


def _upsert_course_completions(store: Store, rows: Iterable[CourseCompletion]) -> None:
    store.db["course_completion"].upsert_all(({
        "courseid": r.courseid, "userid": r.userid, "timeenrolled": r.timeenrolled, "timestarted": r.timestarted,
        "timecompleted": r.timecompleted, "timemodified": r.timemodified,
    } for r in rows), pk=("courseid", "userid"))


def _sync_responses(moodle: Moodle, store: Store, cohort: str, quizids: list[int], page_size: int,
                    result: SyncResult, templates_root: str | os.PathLike[str] | None = None) -> None:
    stream = responses_stream(cohort)
    since = int(store.get_cursor(stream, "0"))
    rows: list[QuizResponse] = list(moodle.plugin.iter_quiz_responses(quizids, since=since, page_size=page_size))
    with store.transaction():
        attempts = {r.attemptid: r for r in rows}
        store.db["quiz_attempts"].upsert_all(({
            "attemptid": r.attemptid, "quizid": r.quizid, "cmid": r.cmid, "userid": r.userid, "attempt": r.attempt,
            "timestart": r.timestart, "timefinish": r.timefinish, "timemodified": r.timemodified,
        } for r in attempts.values()), pk="attemptid")
        store.db["responses"].upsert_all(({
            "attemptid": r.attemptid, "slot": r.slot, "question_idnumber": r.questionidnumber,
            "answer_position": r.answerposition, "answer_text": r.answertext, "fraction": r.fraction,
        } for r in rows), pk=("attemptid", "slot"))
        scored = update_analyses(store, cohort, attempts, templates_root=templates_root)
        store.set_cursor(stream, str(max([since, *(r.timemodified for r in rows)])))
    result.analyses += len(scored)
    result.attempts += len(attempts)
    result.responses += len(rows)


__all__ = ["COMPLETE_STATES", "SyncError", "SyncResult", "check_syncable", "completions_stream", "responses_stream", "sync_cohort"]
