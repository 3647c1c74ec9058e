"""Pydantic models of the Moodle answers we rely on.

Only the fields the service uses are declared; Moodle's answers carry many more, which are ignored so a
newer Moodle adding fields does not break us. Numbers Moodle sometimes sends as strings are coerced.
"""

from __future__ import annotations

import html
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field


def _unformat(value: object) -> object:
    """Undo ``external_format_string``: Moodle sends names as HTML (``&`` as ``&amp;``), we keep them as text.

    Only fields Moodle formats on the way out use this (recorded in 09_text_rules.json): course names,
    category names and the groups of ``core_group_get_course_groups``. User names and the echo of
    ``core_group_create_groups`` come back raw and must not be unescaped a second time.
    """
    return html.unescape(value) if isinstance(value, str) else value


FormattedText = Annotated[str, BeforeValidator(_unformat)]


class MoodleModel(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class SiteFunction(MoodleModel):
    name: str
    version: str = ""


class SiteInfo(MoodleModel):
    sitename: str
    siteurl: str
    release: str = ""
    version: str = ""
    userid: int
    username: str
    lang: str = "en"
    userissiteadmin: bool = False
    functions: list[SiteFunction] = Field(default_factory=list)

    @property
    def function_names(self) -> set[str]:
        return {f.name for f in self.functions}


class Category(MoodleModel):
    id: int
    name: FormattedText
    idnumber: str | None = ""
    parent: int = 0
    description: str = ""


class CreatedCategory(MoodleModel):
    id: int
    name: FormattedText   # create_categories already answers with the formatted name


class Course(MoodleModel):
    id: int
    shortname: FormattedText
    fullname: FormattedText
    idnumber: str | None = ""
    categoryid: int = 0
    summary: str = ""
    format: str = ""
    visible: int = 1
    enablecompletion: int = 0
    startdate: int = 0
    enddate: int = 0
    lang: str = ""


class CreatedCourse(MoodleModel):
    id: int
    shortname: str        # create_courses echoes the shortname as sent


class Warning(MoodleModel):
    item: str = ""
    itemid: int | None = None
    warningcode: str = ""
    message: str = ""


class User(MoodleModel):
    id: int
    username: str
    firstname: str = ""
    lastname: str = ""
    email: str = ""
    idnumber: str = ""
    lang: str = ""
    suspended: bool = False


class CreatedUser(MoodleModel):
    id: int
    username: str


class Role(MoodleModel):
    roleid: int
    shortname: str = ""


class GroupRef(MoodleModel):
    id: int
    name: str = ""


class EnrolledUser(MoodleModel):
    id: int
    username: str = ""
    fullname: str = ""
    idnumber: str = ""
    email: str = ""
    roles: list[Role] = Field(default_factory=list)
    groups: list[GroupRef] = Field(default_factory=list)


class Group(MoodleModel):
    """A group as ``core_group_create_groups`` echoes it: the name exactly as sent."""

    id: int
    courseid: int
    name: str
    idnumber: str = ""
    description: str = ""


class CourseGroup(Group):
    """A group as ``core_group_get_course_groups`` lists it: the name formatted, read back as text."""

    name: FormattedText


class Module(MoodleModel):
    id: int
    name: str
    modname: str
    instance: int = 0
    visible: int = 1


class Section(MoodleModel):
    id: int
    section: int
    name: str = ""
    summary: str = ""
    visible: int = 1
    modules: list[Module] = Field(default_factory=list)


class ActivityCompletionStatus(MoodleModel):
    cmid: int
    modname: str = ""
    instance: int = 0
    state: int
    timecompleted: int = 0
    tracking: int = 0
    overrideby: int | None = None


class CourseCompletionStatus(MoodleModel):
    completed: bool
    aggregation: int = 1


class OverrideResult(MoodleModel):
    cmid: int
    userid: int
    state: int
    timecompleted: int = 0
    overrideby: int | None = None
    tracking: int = 0


class Quiz(MoodleModel):
    id: int
    coursemodule: int
    course: int
    name: str
    section: int = 0
    attempts: int = 0
    grademethod: int = 1
    sumgrades: float | None = None
    grade: float | None = None


class MessageResult(MoodleModel):
    msgid: int
    clientmsgid: str | None = None
    errormessage: str | None = None
