"""Read completion and self-analysis answers back from Moodle into the store, like a Singer tap.

Each stream keeps a cursor (bookmark) in ``sync_state``: the newest ``timemodified`` it has stored. A
run asks the plugin for everything changed since that cursor (inclusive, so rows of the same second are
re-read rather than missed), upserts the rows by their natural keys, and advances the cursor in the *same*
transaction as the data. A crash therefore re-reads and never loses or duplicates; an unchanged site
costs one call per stream.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from mintqo_lms.moodle import Moodle
from mintqo_lms.moodle.plugin import ActivityCompletion, CourseCompletion, QuizResponse
from mintqo_lms.store import Store


@dataclass
class SyncResult:
    cohort: str
    activity_completions: int = 0
    course_completions: int = 0
    attempts: int = 0
    responses: int = 0
    calls: dict = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        return {"activity_completions": self.activity_completions, "course_completions": self.course_completions,
                "attempts": self.attempts, "responses": self.responses}

    def __str__(self) -> str:
        return (f"{self.activity_completions} activity completions, {self.course_completions} course completions, "
                f"{self.attempts} self-analysis attempts with {self.responses} answers")


def completions_stream(cohort: str) -> str:
    return f"completions:{cohort}"


def responses_stream(cohort: str) -> str:
    return f"responses:{cohort}"


def sync_cohort(moodle: Moodle, store: Store, cohort: str, *, page_size: int = 1000) -> SyncResult:
    """One incremental sync of a provisioned cohort; recorded in ``sync_runs``."""
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
            _sync_responses(moodle, store, cohort, quizids, page_size, result)
    except Exception as exc:
        store.finish_run(run_id, status="failed", summary=result.counts(), calls=stats.delta(snapshot),
                         error=str(exc))
        raise
    result.calls = stats.delta(snapshot)
    store.finish_run(run_id, status="ok", summary=result.counts(), calls=result.calls)
    return result


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
    result.activity_completions += len(activities)
    result.course_completions += len(courses)


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
                    result: SyncResult) -> None:
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
        store.set_cursor(stream, str(max([since, *(r.timemodified for r in rows)])))
    result.attempts += len(attempts)
    result.responses += len(rows)


__all__ = ["SyncResult", "completions_stream", "responses_stream", "sync_cohort"]
