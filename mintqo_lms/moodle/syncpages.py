"""Pages of the plugin's sync reads (1.3.0) and the enrolment digest, on the client side.

Why a module of its own: the sync commits page by page and compares digests with the store; both need these
models and the digest rule without pulling in the whole plugin wrapper. The digest rule is the plugin's
(moodle/local/mintqo/README.md, ``local_mintqo_get_enrolments``): per course the number of enrolled users and the
sum of their ids, the number of (user, role) pairs, the number of group memberships and the sum of
groupid × userid. Rows the cursor brings are never deletions, so a digest that differs after all pages were
applied means rows were removed in Moodle: read that course in full (``fullcourseids``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import Field

from mintqo_lms.moodle.models import MoodleModel


class ActivityCompletion(MoodleModel):
    courseid: int
    cmid: int
    idnumber: str = ""
    modname: str = ""
    userid: int
    state: int
    timemodified: int
    overrideby: int | None = None


class CourseCompletion(MoodleModel):
    courseid: int
    userid: int
    timeenrolled: int = 0
    timestarted: int = 0
    timecompleted: int | None = None
    timemodified: int = 0


class CompletionsPage(MoodleModel):
    """One page of ``local_mintqo_get_completions`` with a cursor; ``nextcursor`` covers both lists."""

    activities: list[ActivityCompletion] = Field(default_factory=list)
    courses: list[CourseCompletion] = Field(default_factory=list)
    nextcursor: str = ""
    hasmore: bool = False


class QuizResponse(MoodleModel):
    attemptid: int
    quizid: int
    cmid: int
    userid: int
    attempt: int
    timestart: int = 0
    timefinish: int = 0
    timemodified: int
    slot: int
    questionid: int = 0
    questionidnumber: str
    answertext: str = ""
    answerposition: int = 0
    fraction: float | None = None


class ResponsesPage(MoodleModel):
    """Whole attempts: every row of an attempt is in the same page."""

    rows: list[QuizResponse] = Field(default_factory=list)
    nextcursor: str = ""
    hasmore: bool = False


class Enrolment(MoodleModel):
    courseid: int
    userid: int
    roles: list[str] = Field(default_factory=list)   # role shortnames in the course context
    status: int = 0            # 0 active, 1 suspended (the user's enrolment or its enrolment method)
    timestart: int = 0
    timeend: int = 0
    timemodified: int = 0


class GroupMember(MoodleModel):
    courseid: int
    groupid: int
    groupidnumber: str = ""
    userid: int
    timeadded: int = 0


class EnrolmentDigest(MoodleModel):
    courseid: int
    enrolments: int = 0
    enrolsum: int = 0
    roles: int = 0
    members: int = 0
    membersum: int = 0

    def same_rows(self, other: EnrolmentDigest) -> bool:
        return self.model_dump(exclude={"courseid"}) == other.model_dump(exclude={"courseid"})


class EnrolmentsPage(MoodleModel):
    """Changed rows after the cursor, every row of the ``fullcourseids`` courses, and a digest per course."""

    enrolments: list[Enrolment] = Field(default_factory=list)
    members: list[GroupMember] = Field(default_factory=list)
    digests: list[EnrolmentDigest] = Field(default_factory=list)
    nextcursor: str = ""
    hasmore: bool = False

    def digest(self, courseid: int) -> EnrolmentDigest | None:
        return next((d for d in self.digests if d.courseid == courseid), None)


class CompletionResult(MoodleModel):
    """What ``local_mintqo_set_completions`` did for one person: ``changed`` False = already in that state."""

    userid: int
    state: int
    changed: bool
    overrideby: int | None = None
    timemodified: int = 0


def _get(row: Any, name: str) -> Any:
    return row[name] if isinstance(row, Mapping) else getattr(row, name)


def _role_count(roles: Any) -> int:
    """Roles as the answer has them (a list of shortnames) or as a store keeps them (JSON list or comma list)."""
    if roles is None:
        return 0
    if isinstance(roles, int):
        return roles
    if isinstance(roles, str):
        text = roles.strip()
        if text.startswith("["):
            return len(set(json.loads(text)))
        return len({part.strip() for part in text.split(",") if part.strip()})
    return len(set(roles))


def enrolment_digest(courseid: int, enrolments: Iterable[Any], members: Iterable[Any]) -> EnrolmentDigest:
    """The digest of one course computed from rows (dicts, store rows or the models above): enrolment rows need
    ``userid`` and ``roles``, member rows ``groupid`` and ``userid``."""
    digest = EnrolmentDigest(courseid=courseid)
    for row in enrolments:
        digest.enrolments += 1
        digest.enrolsum += int(_get(row, "userid"))
        digest.roles += _role_count(_get(row, "roles"))
    for row in members:
        digest.members += 1
        digest.membersum += int(_get(row, "groupid")) * int(_get(row, "userid"))
    return digest
