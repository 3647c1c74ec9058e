"""Typed wrappers for the ``local_mintqo`` plugin's web services (moodle/local/mintqo/README.md)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, Literal, TypeVar

from pydantic import Field

from mintqo_lms.moodle.client import PROTOCOL_FIELDS, MoodleClient
from mintqo_lms.moodle.content import MAX_CONTENT_COURSES, MAX_CONTENT_QUIZZES, plan_calls
from mintqo_lms.moodle.errors import IncompleteBatchError, MoodleError
from mintqo_lms.moodle.models import MoodleModel
from mintqo_lms.moodle.syncpages import (
    ActivityCompletion,
    CompletionResult,
    CompletionsPage,
    CourseCompletion,
    EnrolmentsPage,
    QuizResponse,
    ResponsesPage,
)

PLUGIN_FUNCTIONS: tuple[str, ...] = (
    "local_mintqo_get_plugin_info",
    "local_mintqo_get_site_languages",
    "local_mintqo_upsert_sections",
    "local_mintqo_upsert_activities",
    "local_mintqo_import_quiz",
    "local_mintqo_get_quiz_responses",
    "local_mintqo_get_completions",
    "local_mintqo_configure_courses",
    "local_mintqo_upsert_events",
    "local_mintqo_get_enrolments",
    "local_mintqo_set_completions",
    "local_mintqo_get_course_state",
    "local_mintqo_publish_certificates",
    "local_mintqo_upsert_course_content",
)

Status = Literal["created", "updated", "unchanged"]
_Page = TypeVar("_Page", CompletionsPage, ResponsesPage, EnrolmentsPage)


class PluginInfo(MoodleModel):
    """What ``local_mintqo_get_plugin_info`` says: the installed plugin and the Moodle it runs on."""

    component: str
    version: int
    release: str = ""
    requires: int = 0
    supported: list[int] = Field(default_factory=list)   # [lowest, highest] Moodle branch, e.g. [404, 501]
    moodle_release: str = ""
    moodle_version: str = ""
    moodle_branch: int = 0
    moodle_supported: bool = False

    @property
    def supported_range(self) -> str:
        def name(branch: int) -> str:
            return f"{branch // 100}.{branch % 100}"
        return f"{name(self.supported[0])} to {name(self.supported[-1])}" if self.supported else "unknown"


class Language(MoodleModel):
    code: str
    name: str = ""


class SiteLanguages(MoodleModel):
    defaultlang: str
    languages: list[Language] = Field(default_factory=list)

    def has(self, code: str) -> bool:
        return any(lang.code == code for lang in self.languages)


class SectionResult(MoodleModel):
    section: int
    id: int
    name: str = ""
    status: Status


class ActivityResult(MoodleModel):
    idnumber: str
    cmid: int
    instanceid: int
    modname: str
    status: Status


class CriteriaResult(MoodleModel):
    status: Status
    count: int = 0


class UpsertActivitiesResult(MoodleModel):
    activities: list[ActivityResult]
    completioncriteria: CriteriaResult


class ImportedQuestion(MoodleModel):
    idnumber: str
    questionid: int
    slot: int


class ImportQuizResult(MoodleModel):
    cmid: int
    quizid: int
    status: Status
    questioncategoryid: int = 0
    questions: list[ImportedQuestion] = Field(default_factory=list)


class CourseConfigResult(MoodleModel):
    courseid: int
    status: Status


class EventResult(MoodleModel):
    idnumber: str
    id: int
    status: Status


class ContentQuizResult(ImportQuizResult):
    idnumber: str


class CourseContentResult(MoodleModel):
    """What ``local_mintqo_upsert_course_content`` did to one course (the entries of a split course merged)."""

    courseid: int
    sections: list[SectionResult] = Field(default_factory=list)
    modules: list[ActivityResult] = Field(default_factory=list)
    quizzes: list[ContentQuizResult] = Field(default_factory=list)
    completioncriteria: CriteriaResult = Field(default_factory=lambda: CriteriaResult(status="unchanged"))
    events: list[EventResult] = Field(default_factory=list)

    def merge(self, later: CourseContentResult) -> CourseContentResult:
        """This entry's result followed by a later entry's of the same course (its criteria are the last word)."""
        return CourseContentResult(
            courseid=self.courseid, sections=self.sections + later.sections, modules=self.modules + later.modules,
            quizzes=self.quizzes + later.quizzes, completioncriteria=later.completioncriteria,
            events=self.events + later.events)


# -- local_mintqo_get_course_state: names raw, as Moodle stores them (no external_format_string) -------------


class StateCategory(MoodleModel):
    id: int
    idnumber: str = ""
    name: str = ""
    parent: int = 0
    visible: int = 1


class StateRole(MoodleModel):
    roleid: int
    shortname: str = ""


class StateCategoryRole(StateRole):
    userid: int


class StateSection(MoodleModel):
    id: int
    section: int
    name: str = ""        # "" = the course format's default name
    summary: str = ""
    visible: int = 1


class StateActivity(MoodleModel):
    cmid: int
    instance: int
    idnumber: str = ""
    modname: str
    name: str = ""
    section: int = 0      # the section's number, not its id
    visible: int = 1
    completion: int = 0
    completionview: int = 0
    completionexpected: int = 0
    completionsubmit: int = 0
    selfcompletion: int = 1   # 0: participants cannot mark it done themselves (attendance)


class StateQuiz(MoodleModel):
    cmid: int
    quizid: int
    idnumber: str = ""
    name: str = ""
    attempts: int = 0
    grademethod: int = 1
    timeopen: int = 0
    timeclose: int = 0
    questions: list[str] = Field(default_factory=list)   # question idnumbers in slot order


class StateGroup(MoodleModel):
    id: int
    idnumber: str = ""
    name: str = ""
    members: list[int] = Field(default_factory=list)


class StateEnrolment(MoodleModel):
    userid: int
    status: int = 0
    roles: list[StateRole] = Field(default_factory=list)


class StateUser(MoodleModel):
    id: int
    username: str = ""
    idnumber: str = ""
    email: str = ""       # empty when the caller may not see identity fields
    suspended: int = 0


class StateCourse(MoodleModel):
    id: int
    idnumber: str = ""
    shortname: str = ""
    fullname: str = ""
    summary: str = ""
    summaryformat: int = 1
    visible: int = 1
    startdate: int = 0
    enddate: int = 0
    format: str = ""
    category: int = 0
    sections: list[StateSection] = Field(default_factory=list)
    activities: list[StateActivity] = Field(default_factory=list)
    quizzes: list[StateQuiz] = Field(default_factory=list)
    groups: list[StateGroup] = Field(default_factory=list)
    enrolments: list[StateEnrolment] = Field(default_factory=list)


class CourseState(MoodleModel):
    """All pages of one ``local_mintqo_get_course_state`` selection, merged."""

    categories: list[StateCategory] = Field(default_factory=list)   # the selected category, then its parents
    categoryroles: list[StateCategoryRole] = Field(default_factory=list)
    courses: list[StateCourse] = Field(default_factory=list)
    users: list[StateUser] = Field(default_factory=list)
    total: int = 0


class PluginAPI:
    """The plugin's functions, typed. Write batches are chunked like core ones."""

    def __init__(self, client: MoodleClient):
        self.client = client

    def get_plugin_info(self) -> PluginInfo:
        return PluginInfo.model_validate(self.client.call("local_mintqo_get_plugin_info"))

    def get_site_languages(self) -> SiteLanguages:
        return SiteLanguages.model_validate(self.client.call("local_mintqo_get_site_languages"))

    def upsert_sections(self, courseid: int, sections: Sequence[Mapping[str, Any]]) -> list[SectionResult]:
        results: list[SectionResult] = []
        for answer in self.client.call_batched("local_mintqo_upsert_sections", "sections", list(sections),
                                               courseid=courseid):
            results.extend(SectionResult.model_validate(s) for s in answer["sections"])
        return results

    def upsert_activities(self, courseid: int, activities: Sequence[Mapping[str, Any]],
                          completioncriteria: Sequence[str] = ()) -> UpsertActivitiesResult:
        """Activities go in chunks; the completion criteria travel with the last chunk, when every
        activity they name exists. A form cannot carry an empty list, so there is no call without
        activities."""
        if not activities:
            if completioncriteria:
                raise ValueError("completion criteria need at least one activity in the same call")
            return UpsertActivitiesResult(activities=[], completioncriteria=CriteriaResult(status="unchanged"))
        chunks = list(self.client.chunks(list(activities), "activities", courseid=courseid,
                                         completioncriteria=[{"idnumber": i} for i in completioncriteria]))
        results: list[ActivityResult] = []
        criteria = CriteriaResult(status="unchanged", count=0)
        for index, chunk in enumerate(chunks):
            last = index == len(chunks) - 1
            answer = self.client.call(
                "local_mintqo_upsert_activities", courseid=courseid, activities=chunk,
                completioncriteria=[{"idnumber": i} for i in completioncriteria] if last else [])
            parsed = UpsertActivitiesResult.model_validate(answer)
            results.extend(parsed.activities)
            if last:
                criteria = parsed.completioncriteria
        return UpsertActivitiesResult(activities=results, completioncriteria=criteria)

    def import_quiz(self, *, courseid: int, section: int, idnumber: str, name: str, intro: str,
                    questionsxml: str, sections: Sequence[Mapping[str, Any]],
                    settings: Mapping[str, Any] | None = None) -> ImportQuizResult:
        answer = self.client.call("local_mintqo_import_quiz", courseid=courseid, section=section, idnumber=idnumber,
                                  name=name, intro=intro, questionsxml=questionsxml, sections=list(sections),
                                  settings=dict(settings or {}))
        return ImportQuizResult.model_validate(answer)

    def configure_courses(self, courses: Sequence[Mapping[str, Any]]) -> list[CourseConfigResult]:
        """``courses``: ``{courseid, newsforumname, newsforumintro (optional), sendwelcomemessage (0/1),
        lockenrolments (0/1: editing teachers cannot unenrol anyone)}``."""
        results: list[CourseConfigResult] = []
        for answer in self.client.call_batched("local_mintqo_configure_courses", "courses", list(courses)):
            results.extend(CourseConfigResult.model_validate(c) for c in answer["courses"])
        return results

    def upsert_events(self, courseid: int, events: Sequence[Mapping[str, Any]]) -> list[EventResult]:
        """Course calendar events by idnumber: ``{idnumber, name, description, timestart, timeduration,
        location}``."""
        results: list[EventResult] = []
        for answer in self.client.call_batched("local_mintqo_upsert_events", "events", list(events),
                                               courseid=courseid):
            results.extend(EventResult.model_validate(e) for e in answer["events"])
        return results

    def upsert_course_content(self, courses: Sequence[Mapping[str, Any]], questionsets: Mapping[str, str], *,
                              max_courses: int = MAX_CONTENT_COURSES,
                              max_quizzes: int = MAX_CONTENT_QUIZZES) -> list[CourseContentResult]:
        """Sections, modules (in order; a quiz names its question set by key), completion criteria and events of
        many courses in few calls (:mod:`mintqo_lms.moodle.content`); one result per entry of ``courses``."""
        done = dict(self.iter_course_content(courses, questionsets, max_courses=max_courses,
                                             max_quizzes=max_quizzes))
        return [done[index] for index in range(len(courses))]

    def iter_course_content(self, courses: Sequence[Mapping[str, Any]], questionsets: Mapping[str, str], *,
                            max_courses: int = MAX_CONTENT_COURSES,
                            max_quizzes: int = MAX_CONTENT_QUIZZES) -> Iterator[tuple[int, CourseContentResult]]:
        """Like :meth:`upsert_course_content`, yielding ``(index in courses, result)`` as soon as the call carrying
        a course's last entry answered (its content is complete in Moodle then); each call is all-or-nothing."""
        for completed in self.iter_course_content_calls(courses, questionsets, max_courses=max_courses,
                                                        max_quizzes=max_quizzes):
            yield from completed

    def iter_course_content_calls(self, courses: Sequence[Mapping[str, Any]], questionsets: Mapping[str, str], *,
                                  max_courses: int = MAX_CONTENT_COURSES, max_quizzes: int = MAX_CONTENT_QUIZZES
                                  ) -> Iterator[list[tuple[int, CourseContentResult]]]:
        """Per call, the courses it completed (``(index in courses, result)``, maybe none): a caller can store them
        in one transaction."""
        budget = self.client.max_form_fields - PROTOCOL_FIELDS
        partial: dict[int, CourseContentResult] = {}
        function = "local_mintqo_upsert_course_content"
        # Each call is encoded while the one before it travels (writes still go one after the other, in order).
        calls = plan_calls(courses, budget, max_courses=max_courses, max_quizzes=max_quizzes)
        for call, form in self.client.prepare_each(function, calls, lambda call: call.params(questionsets)):
            answer = self.client.call_prepared(function, form)
            results = [CourseContentResult.model_validate(c) for c in answer["courses"]]
            if len(results) != len(call.pieces):
                raise IncompleteBatchError(f"local_mintqo_upsert_course_content: sent {len(call.pieces)} course "
                                           f"entries, Moodle answered {len(results)}")
            completed = []
            for piece, result in zip(call.pieces, results):
                merged = partial[piece.index].merge(result) if piece.index in partial else result
                if piece.last:
                    partial.pop(piece.index, None)
                    completed.append((piece.index, merged))
                else:
                    partial[piece.index] = merged
            yield completed

    def get_course_state(self, *, categoryidnumber: str = "", courseids: Sequence[int] = (),
                         courseidnumbers: Sequence[str] = (), page_size: int = 200) -> CourseState:
        """Courses of a category (direct children), by id and by idnumber, with sections, activities, quizzes,
        groups, enrolments and the users in them; all pages (``total`` counts the selected courses)."""
        merged = CourseState()
        users: dict[int, StateUser] = {}
        limitfrom = 0
        while True:
            answer = self.client.call_model(
                "local_mintqo_get_course_state", CourseState, categoryidnumber=categoryidnumber,
                courseids=list(courseids), courseidnumbers=list(courseidnumbers), limitfrom=limitfrom,
                limitnum=page_size)
            merged.categories, merged.categoryroles, merged.total = answer.categories, answer.categoryroles, answer.total
            merged.courses.extend(answer.courses)
            users.update((u.id, u) for u in answer.users)
            limitfrom += len(answer.courses)
            if not answer.courses or limitfrom >= answer.total:
                merged.users = sorted(users.values(), key=lambda u: u.id)
                return merged

    def iter_quiz_responses(self, quizids: Sequence[int], since: int = 0, page_size: int = 1000,
                            cursor: str | None = None) -> Iterator[Any]:
        """All responses since ``since``, row by row, paged by offset (``total`` tells when to stop). With a
        ``cursor`` ("" = from the beginning) it yields :class:`ResponsesPage` pages instead, until ``hasmore`` is
        false, so the caller can commit each page with its ``nextcursor``."""
        if cursor is not None:
            yield from self.iter_quiz_response_pages(quizids, cursor, page_size)
            return
        limitfrom = 0
        while True:
            answer = self.client.call("local_mintqo_get_quiz_responses", quizids=list(quizids), since=since,
                                      limitfrom=limitfrom, limitnum=page_size)
            rows = answer.get("responses", [])
            yield from (QuizResponse.model_validate(r) for r in rows)
            limitfrom += len(rows)
            if not rows or limitfrom >= int(answer.get("total", 0)):
                return

    def get_completions(self, courseids: Sequence[int], since: int = 0,
                        page_size: int = 1000) -> tuple[list[ActivityCompletion], list[CourseCompletion]]:
        activities: list[ActivityCompletion] = []
        courses: list[CourseCompletion] = []
        limitfrom = 0
        while True:
            answer = self.client.call("local_mintqo_get_completions", courseids=list(courseids), since=since,
                                      limitfrom=limitfrom, limitnum=page_size)
            activities.extend(ActivityCompletion.model_validate(a) for a in answer.get("activities", []))
            courses.extend(CourseCompletion.model_validate(c) for c in answer.get("courses", []))
            limitfrom += page_size
            if limitfrom >= max(int(answer.get("totalactivities", 0)), int(answer.get("totalcourses", 0))):
                return activities, courses

    # -- the sync's keyset reads and completion overrides (plugin 1.3.0) ----------------------------------

    def get_completions_page(self, courseids: Sequence[int], cursor: str = "", limit: int = 1000) -> CompletionsPage:
        """Activity and course completions after ``cursor`` ("" = from the beginning), ``limit`` rows per list."""
        answer = self.client.call("local_mintqo_get_completions", courseids=list(courseids), cursor=cursor,
                                  limitnum=limit)
        return CompletionsPage.model_validate(answer)

    def iter_completions(self, courseids: Sequence[int], cursor: str = "",
                         limit: int = 1000) -> Iterator[CompletionsPage]:
        """Pages until ``hasmore`` is false; commit each page with its ``nextcursor`` before asking for the next."""
        return _follow(lambda c: self.get_completions_page(courseids, c, limit), cursor)

    def get_quiz_responses_page(self, quizids: Sequence[int], cursor: str = "", limit: int = 1000,
                                courseids: Sequence[int] = ()) -> ResponsesPage:
        """Responses of whole attempts after ``cursor``, as many attempts as fit into ``limit`` rows (at least one),
        of the quizzes ``quizids`` and those of the courses ``courseids`` (plugin 1.4.1: one field per course,
        where a cohort has far more quizzes than one request can carry)."""
        answer = self.client.call("local_mintqo_get_quiz_responses", quizids=list(quizids), cursor=cursor,
                                  limitnum=limit, courseids=list(courseids))  # an empty list sends no field
        return ResponsesPage(rows=answer.get("responses", []), nextcursor=answer.get("nextcursor", ""),
                             hasmore=answer.get("hasmore", False))

    def iter_quiz_response_pages(self, quizids: Sequence[int], cursor: str = "", limit: int = 1000,
                                 courseids: Sequence[int] = ()) -> Iterator[ResponsesPage]:
        return _follow(lambda c: self.get_quiz_responses_page(quizids, c, limit, courseids), cursor)

    def get_enrolments_page(self, courseids: Sequence[int], cursor: str = "", limit: int = 1000,
                            fullcourseids: Sequence[int] = ()) -> EnrolmentsPage:
        """Enrolments and group memberships changed after ``cursor``, every row of ``fullcourseids``, and a digest
        per course (compare with :func:`mintqo_lms.moodle.syncpages.enrolment_digest` over the stored rows)."""
        answer = self.client.call("local_mintqo_get_enrolments", courseids=list(courseids), cursor=cursor,
                                  limitnum=limit, fullcourseids=list(fullcourseids))
        return EnrolmentsPage.model_validate(answer)

    def iter_enrolments(self, courseids: Sequence[int], cursor: str = "", limit: int = 1000,
                        fullcourseids: Sequence[int] = ()) -> Iterator[EnrolmentsPage]:
        """Pages until ``hasmore`` is false; the ``fullcourseids`` rows come with the first page only."""
        full = list(fullcourseids)

        def page(c: str) -> EnrolmentsPage:
            nonlocal full
            answer, full = self.get_enrolments_page(courseids, c, limit, full), []
            return answer
        return _follow(page, cursor)

    def set_completions(self, cmid: int, entries: Sequence[Mapping[str, Any]]) -> list[CompletionResult]:
        """Each ``{userid, completed}`` as a completion override of activity ``cmid`` by the token's user. One call
        is all-or-nothing; a batch above the site's max_input_vars is split, and each chunk is its own call."""
        items = [{"userid": int(e["userid"]), "completed": bool(e["completed"])} for e in entries]
        results: list[CompletionResult] = []
        for answer in self.client.call_batched("local_mintqo_set_completions", "entries", items, cmid=cmid):
            results.extend(CompletionResult.model_validate(r) for r in answer["results"])
        return results

    def publish_certificates(self, certificates: Sequence[Mapping[str, Any]]) -> list[PublishedCertificate]:
        """Certificate records for the public verify page, idempotent by code: ``{code, userid (0: none),
        fullname ('': not kept), cohort, timeissued, revoked (0/1), timerevoked}``; each call all or nothing."""
        results: list[PublishedCertificate] = []
        for answer in self.client.call_batched("local_mintqo_publish_certificates", "certificates",
                                               list(certificates)):
            results.extend(PublishedCertificate.model_validate(c) for c in answer["certificates"])
        return results


def _follow(fetch: Callable[[str], _Page], cursor: str) -> Iterator[_Page]:
    """Call ``fetch`` from ``cursor`` on, yielding each page, until a page says ``hasmore`` false."""
    while True:
        page = fetch(cursor)
        yield page
        if not page.hasmore:
            return
        if page.nextcursor == cursor:
            raise MoodleError(f"the site said there is more after cursor '{cursor}' but did not move it")
        cursor = page.nextcursor


class PublishedCertificate(MoodleModel):
    """One answer of ``local_mintqo_publish_certificates``: the record the verify page now answers from."""

    code: str
    status: Status
