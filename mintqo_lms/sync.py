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
or a kill therefore re-reads at most one page and never loses or duplicates a row. The next page is read while
the current one is stored (in a background thread that only reads): a page read ahead and never stored is read
again by the next run, like any page after the stored cursor. An unchanged cohort costs
one call per stream (at most 3), whatever its size; a full sync (``full=True``) reads everything from the
start, grows with courses and rows (pages of ``sync.page_size``), and converges to the same store. A cursor
remembers the courses it belongs to: when provisioning adds one, that stream starts over.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from typing import Any

from mintqo_lms.gcpause import cyclic_gc_paused
from mintqo_lms.keys import require_cohort
from mintqo_lms.moodle import Moodle
from mintqo_lms.moodle.ahead import Ahead, read_ahead
from mintqo_lms.moodle.errors import InvalidParameterError, MintqoError
from mintqo_lms.moodle.syncpages import EnrolmentDigest, ResponsesPage
from mintqo_lms.store import Store

COMPLETE_STATES = frozenset({1, 2})  # COMPLETION_COMPLETE, COMPLETION_COMPLETE_PASS (3 is "complete, failed")

ENROLMENTS, COMPLETIONS, RESPONSES = "enrolments", "completions", "responses"   # the streams' kinds


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
    answers" must mean that nobody answered.

    The pages of the three streams are read one after the other in a background thread, always one ahead of
    the page being stored (:func:`~mintqo_lms.moodle.ahead.read_ahead`): the client's work hides in Moodle's
    answer time. Only the reading runs there; every page is still stored, with its cursor, here."""
    check_syncable(store, cohort)
    with cyclic_gc_paused():
        return _sync(moodle, store, cohort, page_size, full, templates_root)


def _sync(moodle: Moodle, store: Store, cohort: str, page_size: int, full: bool,
          templates_root: str | os.PathLike[str] | None) -> SyncResult:
    result = SyncResult(cohort=cohort, full=full)
    stats = moodle.client.stats
    snapshot = stats.as_dict()
    plan = _plan(store, cohort, page_size, full)
    # Two pages ahead (a read-ahead of a read-ahead): the next request leaves as soon as a page is decoded, also
    # while a page that takes long to store (the first of completions loads the curricula) is still being stored.
    reading = threading.Event()
    pages = read_ahead(read_ahead(_pages(moodle, plan, reading)))
    # read_ahead starts reading when first asked: asked here, the first page travels while the run is recorded
    head: Ahead[Any] = Ahead(next, pages, None)
    reading.wait(timeout=1.0)  # the request is being built: the work here would only hold it back (the GIL)
    try:
        run_id = store.start_run("sync", cohort)
        try:
            _store_pages(moodle, store, cohort, plan, _after(head, pages), result, templates_root)
        except BaseException as exc:  # a kill signal (serve's SIGTERM) included: the run is recorded as failed
            _stop(head, pages)  # no read left running while the failure is recorded
            store.finish_run(run_id, status="failed", summary=result.counts(), calls=stats.delta(snapshot),
                             error=str(exc) or exc.__class__.__name__)
            raise
    finally:
        _stop(head, pages)
    result.calls = stats.delta(snapshot)
    store.finish_run(run_id, status="ok", summary=result.counts(), calls=result.calls)
    return result


def _after(head: Ahead[Any], pages: Iterator[Any]) -> Iterator[Any]:
    """The first page (already on its way in ``head``), then the rest of ``pages``."""
    first = head.result()
    if first is not None:
        yield first
        yield from pages


def _stop(head: Ahead[Any], pages: Generator[Any, None, None]) -> None:
    head.wait()  # a generator cannot be closed while another thread runs it
    pages.close()


@dataclass
class _Plan:
    """What the streams read, decided from the store before the first request (the reads ahead never see the
    store)."""

    courseids: list[int]
    quizids: frozenset[int]
    page_size: int
    enrolments_cursor: str
    completions_cursor: str
    responses_cursor: str


def _plan(store: Store, cohort: str, page_size: int, full: bool) -> _Plan:
    courseids = sorted(int(row["moodle_id"]) for row in store.db["courses"].rows_where(
        "cohort = ? AND moodle_id IS NOT NULL", [cohort]))
    quizids = frozenset(row["instance_id"] for row in store.db.query(
        "SELECT a.instance_id FROM activities a JOIN courses c ON c.idnumber = a.course_idnumber "
        "WHERE c.cohort = ? AND a.modname = 'quiz'", [cohort]))
    return _Plan(courseids, quizids, page_size,
                 *(_start_cursor(store, stream(cohort), courseids, full)
                   for stream in (enrolments_stream, completions_stream, responses_stream)))


def _pages(moodle: Moodle, plan: _Plan, reading: threading.Event) -> Iterator[tuple[str, Any]]:
    """Every page of the cohort's streams, stream after stream, each tagged with its stream's kind. Runs ahead in
    a background thread: it reads from Moodle and nothing else. The answers come first: their pages take the
    longest to store (scoring), and the last page is stored after the last answer, not hidden behind one.
    ``reading`` is set when the first request is about to be made."""
    reading.set()
    if plan.quizids:
        for page in _response_pages(moodle, plan.courseids, plan.responses_cursor, plan.page_size):
            yield RESPONSES, page
    if plan.courseids:
        for page in moodle.plugin.iter_enrolments(plan.courseids, plan.enrolments_cursor, plan.page_size):
            yield ENROLMENTS, page
        for page in moodle.plugin.iter_completions(plan.courseids, plan.completions_cursor, plan.page_size):
            yield COMPLETIONS, page


def _store_pages(moodle: Moodle, store: Store, cohort: str, plan: _Plan, pages: Iterator[tuple[str, Any]],
                 result: SyncResult, templates_root: str | os.PathLike[str] | None) -> None:
    """Store every page with the cursor that follows it, then read again in full the courses whose digest says
    that rows were removed in Moodle (after the other streams: that read depends on the stored rows)."""
    from mintqo_lms.syncstore import CompletionPages, EnrolmentPages, ResponsePages  # while the first page travels

    enrolments = EnrolmentPages(store, cohort, plan.courseids, full_read=not plan.enrolments_cursor)
    completions = CompletionPages(store, cohort, plan.courseids, templates_root)
    responses = ResponsePages(store, cohort, plan.courseids, plan.quizids, templates_root)
    ingest = {ENROLMENTS: enrolments.save, COMPLETIONS: completions.save, RESPONSES: responses.save}
    for kind, page in pages:
        ingest[kind](page, result)
    if enrolments.stale:
        # Someone was unenrolled or taken out of a group by hand: read those courses in full.
        again = EnrolmentPages(store, cohort, plan.courseids, reread=enrolments.stale, check=False)
        for page in moodle.plugin.iter_enrolments(plan.courseids, enrolments.cursor, plan.page_size,
                                                  sorted(enrolments.stale)):
            again.save(page, result)


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


def save_cursor(store: Store, stream: str, ids: list[int], cursor: str) -> None:
    store.set_cursor(stream, json.dumps({"cursor": cursor, "ids": ids}, sort_keys=True))


def stream_position(raw: str) -> str:
    """A stored cursor as shown by ``status`` (the keyset part only)."""
    try:
        return str(json.loads(raw).get("cursor", "")) if raw.startswith("{") else raw
    except ValueError:
        return raw


def store_digest(store: Store, courseid: int) -> EnrolmentDigest:
    """The digest of the store's rows of one course, computed like the plugin computes Moodle's."""
    from mintqo_lms.syncstore import store_digests

    return store_digests(store, [courseid])[courseid]


def _response_pages(moodle: Moodle, courseids: list[int], cursor: str, page_size: int) -> Iterator[ResponsesPage]:
    """The pages by course; a plugin before 1.4.1 refuses the unknown ``courseids`` and is named as such."""
    try:
        yield from moodle.plugin.iter_quiz_response_pages([], cursor, page_size, courseids)
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


__all__ = ["COMPLETE_STATES", "SyncError", "SyncResult", "active_cohorts", "check_syncable", "completions_stream",
           "enrolments_stream", "responses_stream", "save_cursor", "store_digest", "stream_position",
           "sync_and_feedback", "sync_cohort"]
