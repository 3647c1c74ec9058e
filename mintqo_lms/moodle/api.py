"""Typed wrappers for the core web-service functions the service uses (DESIGN.md §3).

Each wrapper knows the function's parameter shape, chunks batches below ``max_input_vars`` through
:meth:`MoodleClient.call_batched`, and turns the answer into pydantic models. The plugin's own functions
are wrapped in :mod:`mintqo_lms.moodle.plugin`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from mintqo_lms.moodle.client import MoodleClient
from mintqo_lms.moodle.models import (
    ActivityCompletionStatus,
    Category,
    Course,
    CourseCompletionStatus,
    CourseGroup,
    CreatedCategory,
    CreatedCourse,
    CreatedUser,
    EnrolledUser,
    Group,
    MessageResult,
    OverrideResult,
    Quiz,
    Section,
    SiteInfo,
    User,
    Warning,
)

# The core functions the service calls; `doctor` checks the token may call each of them.
CORE_FUNCTIONS: tuple[str, ...] = (
    "core_webservice_get_site_info",
    "core_course_create_categories",
    "core_course_get_categories",
    "core_course_create_courses",
    "core_course_update_courses",
    "core_course_get_courses_by_field",
    "core_course_get_contents",
    "core_user_create_users",
    "core_user_get_users_by_field",
    "enrol_manual_enrol_users",
    "enrol_manual_unenrol_users",
    "core_enrol_get_enrolled_users",
    "core_group_create_groups",
    "core_group_add_group_members",
    "core_group_get_course_groups",
    "core_completion_get_activities_completion_status",
    "core_completion_get_course_completion_status",
    "core_completion_override_activity_completion_status",
    "mod_quiz_get_quizzes_by_courses",
    "core_message_send_instant_messages",
    "core_role_assign_roles",
)


def _dump(items: Iterable[Any]) -> list[dict[str, Any]]:
    return [item.model_dump(exclude_none=True) if hasattr(item, "model_dump") else dict(item) for item in items]


class CoreAPI:
    """Moodle's core web services, typed."""

    def __init__(self, client: MoodleClient):
        self.client = client

    def get_site_info(self) -> SiteInfo:
        return SiteInfo.model_validate(self.client.call("core_webservice_get_site_info"))

    # -- categories and courses ---------------------------------------------------------------------

    def create_categories(self, categories: Sequence[Mapping[str, Any]]) -> list[CreatedCategory]:
        answer = self.client.call_batched("core_course_create_categories", "categories", _dump(categories),
                                          expect_one_result_each=True)
        return [CreatedCategory.model_validate(item) for item in answer]

    def get_categories_by_idnumber(self, idnumber: str) -> list[Category]:
        answer = self.client.call("core_course_get_categories",
                                  criteria=[{"key": "idnumber", "value": idnumber}], addsubcategories=False)
        return [Category.model_validate(item) for item in answer]

    def create_courses(self, courses: Sequence[Mapping[str, Any]]) -> list[CreatedCourse]:
        answer = self.client.call_batched("core_course_create_courses", "courses", _dump(courses),
                                          expect_one_result_each=True)
        return [CreatedCourse.model_validate(item) for item in answer]

    def update_courses(self, courses: Sequence[Mapping[str, Any]]) -> list[Warning]:
        warnings: list[Warning] = []
        for answer in self.client.call_batched("core_course_update_courses", "courses", _dump(courses)):
            warnings.extend(Warning.model_validate(w) for w in answer.get("warnings", []))
        return warnings

    def get_courses_by_field(self, field: str, value: str | int) -> list[Course]:
        answer = self.client.call("core_course_get_courses_by_field", field=field, value=str(value))
        return [Course.model_validate(item) for item in answer.get("courses", [])]

    def get_courses_by_idnumbers(self, idnumbers: Iterable[str]) -> dict[str, Course]:
        """Moodle can't look up many idnumbers at once; one call per idnumber, answers keyed by idnumber."""
        found: dict[str, Course] = {}
        for idnumber in idnumbers:
            for course in self.get_courses_by_field("idnumber", idnumber):
                if course.idnumber == idnumber:
                    found[idnumber] = course
        return found

    def get_contents(self, courseid: int) -> list[Section]:
        answer = self.client.call("core_course_get_contents", courseid=courseid)
        return [Section.model_validate(item) for item in answer]

    # -- users and enrolments -----------------------------------------------------------------------

    def create_users(self, users: Sequence[Mapping[str, Any]]) -> list[CreatedUser]:
        answer = self.client.call_batched("core_user_create_users", "users", _dump(users),
                                          expect_one_result_each=True)
        return [CreatedUser.model_validate(item) for item in answer]

    def get_users_by_field(self, field: str, values: Sequence[str | int]) -> list[User]:
        answer = self.client.call_batched("core_user_get_users_by_field", "values", [str(v) for v in values],
                                          field=field)
        return [User.model_validate(item) for item in answer]

    def enrol_users(self, enrolments: Sequence[Mapping[str, Any]]) -> None:
        self.client.call_batched("enrol_manual_enrol_users", "enrolments", _dump(enrolments))

    def unenrol_users(self, enrolments: Sequence[Mapping[str, Any]]) -> None:
        self.client.call_batched("enrol_manual_unenrol_users", "enrolments", _dump(enrolments))

    def get_enrolled_users(self, courseid: int, *, userfields: Sequence[str] = ("id", "username", "fullname",
                                                                                 "idnumber", "email", "roles"),
                           ) -> list[EnrolledUser]:
        options = [{"name": "userfields", "value": ",".join(userfields)}]
        answer = self.client.call("core_enrol_get_enrolled_users", courseid=courseid, options=options)
        return [EnrolledUser.model_validate(item) for item in answer]

    def assign_roles(self, assignments: Sequence[Mapping[str, Any]]) -> None:
        """Role assignments outside enrolments, e.g. ``{"roleid": 1, "userid": 7, "contextlevel": "coursecat",
        "instanceid": 3}`` (a manager of a category). Assigning an existing assignment again changes nothing."""
        self.client.call_batched("core_role_assign_roles", "assignments", _dump(assignments))

    # -- groups -------------------------------------------------------------------------------------

    def create_groups(self, groups: Sequence[Mapping[str, Any]]) -> list[Group]:
        answer = self.client.call_batched("core_group_create_groups", "groups", _dump(groups),
                                          expect_one_result_each=True)
        return [Group.model_validate(item) for item in answer]

    def add_group_members(self, members: Sequence[Mapping[str, int]]) -> None:
        self.client.call_batched("core_group_add_group_members", "members", _dump(members))

    def get_course_groups(self, courseid: int) -> list[CourseGroup]:
        answer = self.client.call("core_group_get_course_groups", courseid=courseid)
        return [CourseGroup.model_validate(item) for item in answer]

    # -- completion, quizzes, messages --------------------------------------------------------------

    def get_activities_completion_status(self, courseid: int, userid: int) -> list[ActivityCompletionStatus]:
        answer = self.client.call("core_completion_get_activities_completion_status",
                                  courseid=courseid, userid=userid)
        return [ActivityCompletionStatus.model_validate(s) for s in answer.get("statuses", [])]

    def get_course_completion_status(self, courseid: int, userid: int) -> CourseCompletionStatus:
        answer = self.client.call("core_completion_get_course_completion_status", courseid=courseid, userid=userid)
        return CourseCompletionStatus.model_validate(answer["completionstatus"])

    def override_activity_completion(self, userid: int, cmid: int, newstate: int) -> OverrideResult:
        answer = self.client.call("core_completion_override_activity_completion_status",
                                  userid=userid, cmid=cmid, newstate=newstate)
        return OverrideResult.model_validate(answer)

    def get_quizzes_by_courses(self, courseids: Sequence[int]) -> list[Quiz]:
        quizzes: list[Quiz] = []
        for answer in self.client.call_batched("mod_quiz_get_quizzes_by_courses", "courseids", list(courseids)):
            quizzes.extend(Quiz.model_validate(q) for q in answer.get("quizzes", []))
        return quizzes

    def send_instant_message(self, touserid: int, text: str, clientmsgid: str) -> MessageResult:
        """One message per call: Moodle's batch is not transactional and a retry would duplicate."""
        answer = self.client.call("core_message_send_instant_messages", messages=[
            {"touserid": touserid, "text": text, "textformat": 1, "clientmsgid": clientmsgid}])
        return MessageResult.model_validate(answer[0])
