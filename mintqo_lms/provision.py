"""Cohort provisioning: compare what the templates and the roster want with what Moodle holds, then apply.

How it stays safe to run again and again:

* Every object we create carries an ``idnumber`` derived from our own keys (categories, courses, users,
  groups, activities), so a run first *reads* what exists and only creates what is missing.
* One read pass builds the :class:`Plan` (printed as a table, and all a ``--dry-run`` does); the apply
  pass then writes phase by phase (categories → courses → users → enrolments → groups → content),
  each phase in batches that Moodle applies all-or-nothing. A run cut off anywhere leaves only complete
  batches behind, and the next run's read pass simply finds them.
* The read pass is one ``local_mintqo_get_course_state`` call for the whole cohort (a page per 200 courses:
  category and parents, courses, sections, activities, quiz questions, groups, enrolments, users, category
  roles), so an unchanged run costs one call at any size; core reads follow only for what it cannot know
  (the root category on the first run, courses moved out by hand, people in no course yet). The state read
  (and on a first run the root category's) travels in the background while the desired state is built from
  the templates, the roster and the timetable, which need nothing from Moodle.
* Writes grow with the number of courses, not of people: users, enrolments, groups and memberships travel
  in chunked batches across all courses, and so does course content (``upsert_course_content``: many courses'
  sections, activities, quizzes, criteria and events a call). A course's
  content is re-sent only when its template fingerprint changed (stored after a complete upload) or Moodle
  lost a section or activity of it, so an unchanged second run makes no write call at all. A course's rows and
  fingerprint are stored only after the call carrying its last part answered, those of four calls in one
  transaction (each commit has a fixed cost); a run killed in between sends them again.
* Nothing is deleted or unenrolled here; ``mintqo-lms people remove`` does that explicitly.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import html
import json
import logging
import re
import secrets
import string
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, TypeVar

from mintqo_lms.config import Config
from mintqo_lms.gcpause import cyclic_gc_paused
from mintqo_lms.instrument import quiz_intro, quiz_sections, to_moodle_xml
from mintqo_lms.moodle import Moodle
from mintqo_lms.moodle.errors import AccessDeniedError, InvalidParameterError, MintqoError
from mintqo_lms.moodle.ahead import Ahead
from mintqo_lms.moodle.plugin import CourseContentResult, CourseState, StateCategoryRole, StateCourse, StateUser
from mintqo_lms.programme import (CohortRoster, Member, active_networks, cohort_title, load_cohort, require_cohort,
                                  set_moodle_user_ids)
from mintqo_lms.roster import initiative_idnumber, region_idnumber
from mintqo_lms.store import Store
from mintqo_lms.templates import Activity, Curriculum, Section, load_curriculum, short_network_name
from mintqo_lms.timetable import TIMEZONE, Slot, format_slot, load_timetable

log = logging.getLogger(__name__)
T = TypeVar("T")

QUALIFICATION_TEMPLATE = "qualification"
REGIONAL_TEMPLATE = "regional_cycle"

# Moodle completion settings per template rule: (completion, completionview, completionsubmit).
_COMPLETION = {"none": (0, 0, 0), "manual": (1, 0, 0), "view": (2, 1, 0), "submit": (2, 0, 1)}
_USERNAME_UNSAFE = re.compile(r"[^a-z0-9._@-]")
SHORTNAME_MAX = 255                 # course.shortname (varchar 255)
NEWS_FORUM_NAME = "Ankündigungen"   # Moodle's own announcements forum, in German
NEWS_FORUM_INTRO = "<p>Neuigkeiten und Ankündigungen zu diesem Kurs.</p>"
CALLS_PER_COMMIT = 4               # content calls whose answers are stored in one transaction
STATE_PAGE_SIZE = 200              # courses per local_mintqo_get_course_state page (the plugin's maximum)
WELCOME_KEY = "willkommen"          # the label in section 0 that shows the course summary on the course page


# The team page (local/mintqo/team.php) beside each self-analysis; its URL is known once the quiz exists.
TEAM_PAGE_SUFFIX = "-team"
TEAM_PAGE_URL = "team-page-of:"
TEAM_PAGE_INTRO = ("<p>Hier sehen alle Mitglieder Ihrer Initiative die zuletzt abgeschickte Selbstanalyse Ihres "
                   "Teams mit allen Antworten – gleich, wer sie abgeschickt hat.</p>")


class ProvisionError(MintqoError):
    """Provisioning cannot go on; the message names the object and, where Moodle is vague, the cause."""


def cohort_category_idnumber(cohort: str) -> str:
    return f"mintqo:category:{cohort}"


def cohort_course_idnumber(cohort: str) -> str:
    return f"mintqo:cohort:{cohort}"


def buddy_group_idnumber(cohort: str, coordinator: Member) -> str:
    return f"mintqo:buddies:{cohort}:{coordinator.idnumber.rsplit(':', 1)[-1]}"


def activity_idnumber(curriculum: Curriculum, activity: Activity) -> str:
    return f"mintqo:{curriculum.key}:{activity.key}"


def moodle_username(email: str) -> str:
    """Moodle usernames are lower-case and allow only ``a-z0-9._@-``."""
    return _USERNAME_UNSAFE.sub("", email.strip().lower())


def unusable_password() -> str:
    """A long random password that meets Moodle's default policy and is never stored, logged or shown.

    New accounts get it instead of ``createpassword`` (which makes Moodle mail a password at once); people set
    their own through "Kennwort vergessen?" when ``mintqo-lms invite`` tells them to.
    """
    core = secrets.token_urlsafe(30)  # 40 characters, 240 random bits, one urandom call (not one per character)
    return core + secrets.choice(string.ascii_lowercase) + secrets.choice(string.ascii_uppercase) + \
        secrets.choice(string.digits) + secrets.choice("#*-_!?")


# -- the plan ---------------------------------------------------------------------------------------

# The plan's kinds and the unit each is counted in; the plan table and the apply summary both use these.
KIND_LABELS = {
    "category": "categories", "course": "courses", "user": "accounts", "enrolment": "enrolments",
    "group": "groups", "membership": "group memberships", "role": "category roles", "content": "course contents",
}


@dataclass(slots=True)
class Change:
    kind: str      # category, course, user, enrolment, group, membership, content
    action: str    # create, update, unchanged
    key: str       # idnumber or a readable key
    detail: str = ""


@dataclass
class DesiredCourse:
    idnumber: str
    curriculum: Curriculum
    fullname: str
    shortname: str
    summary: str
    network_slug: str | None = None
    slots: list[Slot] = field(default_factory=list)   # this course's rows of the cohort's timetable
    startdate: int | None = None       # from the timetable (or the cohort's default)
    enddate: int | None = None
    dates_from_timetable: bool = False  # only then are an existing course's dates kept in step
    moodle_id: int | None = None
    changed_fields: dict[str, str] = field(default_factory=dict)   # what Moodle holds differently from us
    enrolled: set[tuple[int, int]] = field(default_factory=set)         # (userid, roleid) held
    user_groups: set[tuple[int, int]] = field(default_factory=set)      # (userid, groupid) memberships
    groups: dict[str, int] = field(default_factory=dict)                # group idnumber -> id
    group_names: dict[str, int] = field(default_factory=dict)           # name -> id (adoption of hand-made groups)
    content: dict[str, Any] = field(default_factory=dict)  # what the plugin calls send (sections, quizzes …)
    content_hash: str = ""
    content_stale: bool = True
    content_known: bool = False        # Moodle has an earlier upload of this course's content


@dataclass
class DesiredGroup:
    idnumber: str
    course_idnumber: str
    name: str
    description: str
    member_ids: list[int]          # person ids
    moodle_id: int | None = None


@dataclass
class _PeopleLines:
    """The plan's line for every enrolment and group membership, made while the state read travels (they need
    only the roster); the answer then only marks those already done as unchanged."""

    enrolments: list[Change]
    memberships: list[list[Change]]    # per group of ``plan.groups``

    @classmethod
    def of(cls, plan: Plan) -> _PeopleLines:
        email = {person_id: member.email for person_id, member in plan.people.items()}
        return cls([Change("enrolment", "create", f"{course} {email[person_id]}", role)
                    for course, person_id, role in plan.enrolments],
                   [[Change("membership", "create", f"{group.idnumber} {email[person_id]}")
                     for person_id in group.member_ids] for group in plan.groups])


@dataclass
class Plan:
    cohort: str
    changes: list[Change] = field(default_factory=list)
    root_category_id: int | None = None
    cohort_category_id: int | None = None
    courses: list[DesiredCourse] = field(default_factory=list)
    people: dict[int, Member] = field(default_factory=dict)
    user_ids: dict[int, int] = field(default_factory=dict)           # person id -> Moodle user id
    enrolments: list[tuple[str, int, str]] = field(default_factory=list)  # course idnumber, person id, role
    groups: list[DesiredGroup] = field(default_factory=list)
    category_roles: list[tuple[int, str]] = field(default_factory=list)    # person id, role at the cohort category
    category_roles_done: set[tuple[int, str]] = field(default_factory=set)
    lang: str = "de"
    warnings: list[str] = field(default_factory=list)

    def add(self, kind: str, action: str, key: str, detail: str = "") -> None:
        self.changes.append(Change(kind, action, key, detail))

    def counts(self) -> dict[str, Counter]:
        table: dict[str, Counter] = {}
        for (kind, action), number in Counter((change.kind, change.action) for change in self.changes).items():
            table.setdefault(kind, Counter())[action] = number
        return table

    @property
    def has_work(self) -> bool:
        return any(change.action != "unchanged" for change in self.changes)

    def table(self) -> str:
        """The plan as a small text table: one row per kind (counted in the unit its label names),
        create/update/unchanged columns. Apply reports in the same words (:meth:`ProvisionResult.summary`)."""
        counts = self.counts()
        width = max(len(label) for label in KIND_LABELS.values()) + 2
        lines = [f"{'':<{width}}{'create':>8}{'update':>8}{'unchanged':>11}"]
        for kind, label in KIND_LABELS.items():
            c = counts.get(kind, Counter())
            lines.append(f"{label:<{width}}{c['create']:>8}{c['update']:>8}{c['unchanged']:>11}")
        return "\n".join(lines)


@dataclass
class ProvisionResult:
    """What apply did, keyed ``"<kind> created|updated"`` with the plan's kinds (so plan and result count
    the same things); ``content_items`` breaks the course contents down into sections, quizzes, activities."""

    plan: Plan
    applied: Counter = field(default_factory=Counter)
    content_items: Counter = field(default_factory=Counter)
    calls: int = 0
    run_id: int | None = None

    def summary(self) -> str:
        parts = []
        for kind, label in KIND_LABELS.items():
            for action in ("created", "updated"):
                if self.applied[f"{kind} {action}"]:
                    parts.append(f"{self.applied[f'{kind} {action}']} {label} {action}")
        text = ", ".join(parts) or "nothing"
        if self.content_items:
            text += " (" + ", ".join(f"{n} {what}" for what, n in sorted(self.content_items.items())) + ")"
        return text


ProgressCallback = Callable[[str, int, int], None]


class Provisioner:
    """Plans and applies one cohort. ``progress(label, done, total)`` is told about long phases."""

    def __init__(self, moodle: Moodle, store: Store, config: Config, *,
                 templates_root: str | None = None, progress: ProgressCallback | None = None):
        self.moodle = moodle
        self.store = store
        self.config = config
        self.templates_root = templates_root or (str(config.programme.templates_dir)
                                                 if config.programme.templates_dir else None)
        self.progress = progress or (lambda label, done, total: None)
        self.roles = config.roles
        self._xml_cache: dict[int, tuple[Any, str, list[dict[str, Any]]]] = {}

    # -- desired state ------------------------------------------------------------------------------

    def desired_courses(self, cohort: str) -> list[DesiredCourse]:
        """The cohort's courses as the templates, roster and timetable want them, content included (what
        ``content["quizzes"]`` sends to ``import_quiz``); reads only the store. ``selfanalysis publish`` places
        new instrument versions with the same quiz settings from here (``content_hash`` is left empty: only
        the plan compares it)."""
        require_cohort(self.store, cohort)
        return self._courses(cohort, active_networks(self.store, cohort), fingerprints=False)

    def _desired(self, cohort: str) -> tuple[CohortRoster, list[DesiredCourse], list[tuple[str, int, str]],
                                               list[DesiredGroup], list[tuple[int, str]]]:
        roster = load_cohort(self.store, cohort)
        courses = self._courses(cohort, roster.networks, fingerprints=True)
        return (roster, courses, *_people(cohort, roster, courses))

    def _courses(self, cohort: str, networks: dict[str, dict], *, fingerprints: bool) -> list[DesiredCourse]:
        """The cohort course and one regional course per network, with their content."""
        qualification = load_curriculum(QUALIFICATION_TEMPLATE, self.templates_root)
        regional = load_curriculum(REGIONAL_TEMPLATE, self.templates_root)
        timetable = load_timetable(self.store, cohort)
        names = qualification.render_course(cohort)
        courses = [DesiredCourse(cohort_course_idnumber(cohort), qualification, names.fullname, names.shortname,
                                 names.summary)]
        for slug, network in sorted(networks.items()):
            names = regional.render_course(cohort, network=network["name"], region=network["region"])
            courses.append(DesiredCourse(region_idnumber(cohort, network["name"]), regional, names.fullname,
                                         names.shortname, names.summary, network_slug=slug))
        _unique_shortnames(courses, networks)
        _course_dates(courses, timetable, cohort)
        for course in courses:
            course.content = self._content(course)
            if fingerprints:
                course.content_hash = content_fingerprint(course.content)
        return courses

    def _xml(self, instrument: Any) -> tuple[str, list[dict[str, Any]]]:
        """The instrument's Moodle XML and quiz sections, made once per run (every regional course imports the
        same)."""
        if id(instrument) not in self._xml_cache:   # the instrument is kept too: its id stays its own
            self._xml_cache[id(instrument)] = (instrument, to_moodle_xml(instrument),
                                               [dict(s) for s in quiz_sections(instrument)])
        return self._xml_cache[id(instrument)][1:]

    def _content(self, course: DesiredCourse) -> dict[str, Any]:
        """Everything the plugin calls send for a course's sections, activities, events and settings.

        ``sequence`` is the template's order (quizzes are imported by their own call): apply creates the
        activities before a quiz, then the quiz, then the rest, so the quiz follows the page that explains it."""
        curriculum = course.curriculum
        by_key: dict[str, list[Slot]] = {}
        for slot in course.slots:
            by_key.setdefault(slot.key, []).append(slot)
        welcome = f"mintqo:{curriculum.key}:{WELCOME_KEY}"
        sections: list[dict[str, Any]] = []
        activities: list[dict[str, Any]] = [{
            "section": 0, "modname": "label", "idnumber": welcome, "name": "Willkommen", "intro": course.summary,
            "content": "", "externalurl": "", "visible": 1, "completion": 0, "completionview": 0,
            "completionsubmit": 0}]
        quizzes: list[dict[str, Any]] = []
        events: list[dict[str, Any]] = []
        sequence: list[str] = [welcome]
        for number, section in enumerate(curriculum.sections, start=1):
            meetings = by_key.get(section.key, [])
            sections.append({"section": number, "name": section.name,
                             "summary": section.summary + _date_lines(meetings)})
            events += [_event(section, slot, len(meetings)) for slot in meetings]
            attended = max((slot.last for slot in meetings), default=0)
            for activity in section.activities:
                idnumber = activity_idnumber(curriculum, activity)
                sequence.append(idnumber)
                window = by_key.get(activity.key, [None])[0]
                if activity.type == "quiz":
                    instrument = curriculum.instrument(activity.instrument or "")
                    xml, quiz_parts = self._xml(instrument)
                    # One attempt each (Moodle names a "grading method" whenever more are allowed); the team's
                    # analysis is the latest finished attempt of any member, so another member can submit anew.
                    settings: dict[str, Any] = {"attempts": 1, "grademethod": 4, "questionsperpage": 0, "visible": 1}
                    if activity.completion == "none":
                        settings["completion"] = 0   # optional (the follow-up): never counts in progress
                    if window is not None:
                        settings.update({k: v for k, v in (("timeopen", window.start), ("timeclose", window.end))
                                         if v})
                    quizzes.append({
                        "section": number, "idnumber": idnumber, "name": activity.name,
                        "intro": quiz_intro(instrument, activity.intro), "questionsxml": xml,
                        "sections": [dict(s) for s in quiz_parts],
                        "settings": settings,
                    })
                    # Right after the quiz: the page where every member reads the team's analysis (one team,
                    # one analysis). Its address needs the quiz's cmid, filled in once the quiz exists.
                    team_page = f"{idnumber}{TEAM_PAGE_SUFFIX}"
                    sequence.append(team_page)
                    activities.append({
                        "section": number, "modname": "url", "idnumber": team_page,
                        "name": f"Unsere Antworten im Team: {activity.name}", "intro": TEAM_PAGE_INTRO,
                        "content": "", "externalurl": TEAM_PAGE_URL + idnumber, "visible": 1,
                        "completion": 0, "completionview": 0, "completionsubmit": 0})
                    continue
                completion, view, submit = _COMPLETION[activity.completion]
                item: dict[str, Any] = {
                    "section": number, "modname": activity.type, "idnumber": idnumber, "name": activity.name,
                    "intro": activity.intro if activity.type != "label" else (activity.content or activity.intro),
                    "content": activity.content if activity.type == "page" else "",
                    "externalurl": (activity.url or "") if activity.type == "url" else "",
                    "visible": 1, "completion": completion, "completionview": view, "completionsubmit": submit,
                }
                # Only what differs from the plugin's defaults is sent: an unchanged course stays byte-identical.
                if activity.in_person:
                    item["selfcompletion"] = 0   # attendance: marked by coordinator or staff, never by oneself
                if activity.teamsubmission:
                    item["teamsubmission"] = 1
                if activity.type == "assign" and window is not None:
                    if window.start:
                        item["allowsubmissionsfromdate"] = window.start
                    if window.end:
                        item["duedate"] = window.end
                elif window is not None and completion:
                    item["completionexpected"] = window.last
                elif activity.in_person and attended and completion:
                    item["completionexpected"] = attended   # shows the workshop in the timeline
                activities.append(item)
        criteria = [activity_idnumber(curriculum, curriculum.activity(key)) for key in curriculum.course_completion]
        return {"sections": sections, "activities": activities, "quizzes": quizzes, "criteria": criteria,
                "events": events, "sequence": sequence,
                "configure": {"newsforumname": NEWS_FORUM_NAME, "newsforumintro": NEWS_FORUM_INTRO,
                              "sendwelcomemessage": 0,
                              # Coordinators teach their regional course but enrolments follow the roster:
                              # only `people remove` unenrols, so nobody unenrols themselves by a click.
                              **({"lockenrolments": 1} if course.network_slug else {})},
                "version": curriculum.version}

    # -- read pass: the plan ------------------------------------------------------------------------

    def read_state(self, cohort: str) -> Ahead[tuple[CourseState, int | None]]:
        """The cohort's ``local_mintqo_get_course_state`` (and the root category's id), started now: they travel
        while the desired state is built (which needs nothing from Moodle)."""
        return Ahead(self._read_state, cohort)

    def _read_state(self, cohort: str) -> tuple[CourseState, int | None]:
        """The state and the root category's id: it is among the state's categories (the cohort category's
        parents) unless the cohort category is new; then it is looked up. Reads only, no store: this runs in
        the background."""
        try:
            state = self.moodle.plugin.get_course_state(categoryidnumber=cohort_category_idnumber(cohort),
                                                        page_size=STATE_PAGE_SIZE)
        except AccessDeniedError as exc:
            if exc.errorcode != "accessexception":
                raise
            # Moodle says only "Access control exception" when the token's service lacks the function.
            raise ProvisionError(
                "the token cannot call local_mintqo_get_course_state: the site's local_mintqo plugin is older "
                "than 1.3.0 (update it; the upgrade adds the function to the MINT-QO Sync service) or the "
                "token belongs to another service (run 'mintqo-lms doctor')") from None
        root = self.config.programme.root_category_idnumber
        root_id = next((c.id for c in state.categories if c.idnumber == root), None)
        if root_id is None:
            found = self.moodle.core.get_categories_by_idnumber(root)
            root_id = found[0].id if found else None
        return state, root_id

    def plan(self, cohort: str, state_read: Ahead[tuple[CourseState, int | None]] | None = None) -> Plan:
        """The read pass. An unchanged cohort costs one ``local_mintqo_get_course_state`` call (a page per 200
        courses): its category with the parents, every course in it with sections, activities, groups and
        enrolments, the users in them and the category's role holders. Core reads follow only for what that
        answer lacks: the root category on the first run, courses moved out of the category by hand, people
        who are in no course yet. ``state_read``: the first two already started by :meth:`read_state`."""
        pending = state_read or self.read_state(cohort)
        try:
            roster, courses, enrolments, groups, category_roles = self._desired(cohort)
            plan = Plan(cohort=cohort, courses=courses, people=roster.people(), enrolments=enrolments,
                        groups=groups, category_roles=category_roles)
            lines = _PeopleLines.of(plan)
            uploaded = {row["idnumber"]: row for row in self.store.db["courses"].rows}   # the store's, meanwhile too
        finally:
            pending.wait()   # a desired state that fails leaves no read behind
        prog = self.config.programme
        state, plan.root_category_id = pending.result()
        cohort_cat = state.categories[0] if state.categories else None
        plan.add("category", "unchanged" if plan.root_category_id else "create", prog.root_category_idnumber,
                 prog.root_category_name)
        plan.cohort_category_id = cohort_cat.id if cohort_cat else None
        plan.add("category", "unchanged" if cohort_cat else "create", cohort_category_idnumber(cohort))

        found = {c.idnumber: c for c in state.courses if c.idnumber}
        users = {u.id: u for u in state.users}
        # A course moved to another category by hand is still ours: look up the rest by idnumber.
        missing = [c.idnumber for c in plan.courses if c.idnumber not in found]
        if missing and plan.root_category_id:
            moved = self.moodle.plugin.get_course_state(courseidnumbers=missing, page_size=STATE_PAGE_SIZE)
            found.update((c.idnumber, c) for c in moved.courses)
            users.update((u.id, u) for u in moved.users)

        self._plan_courses(plan, found)
        self._plan_users(plan, list(users.values()))
        self._plan_enrolments_and_groups(plan, found, lines)
        self._plan_category_roles(plan, state.categoryroles if cohort_cat else [])
        self._plan_content(plan, found, uploaded)
        return plan

    def _plan_courses(self, plan: Plan, found: dict[str, StateCourse]) -> None:
        for course in plan.courses:
            existing = found.get(course.idnumber)
            if not existing:
                plan.add("course", "create", course.idnumber, course.fullname)
                continue
            course.moodle_id = existing.id
            # The state answer carries names raw, as Moodle stores them: text compared with text.
            if existing.fullname != course.fullname:
                course.changed_fields["fullname"] = course.fullname
            if existing.shortname != course.shortname:
                course.changed_fields["shortname"] = course.shortname
            if _visible_text(existing.summary) != _visible_text(course.summary):
                course.changed_fields["summary"] = course.summary
            if course.dates_from_timetable:  # without a timetable, dates set by hand in Moodle are left alone
                for name in ("startdate", "enddate"):
                    wanted = getattr(course, name)
                    if wanted and getattr(existing, name) != wanted:
                        course.changed_fields[name] = wanted
            action = "update" if course.changed_fields else "unchanged"
            plan.add("course", action, course.idnumber, ", ".join(sorted(course.changed_fields)) or course.fullname)

    def _plan_users(self, plan: Plan, known: list[StateUser]) -> None:
        """People are matched by idnumber among the users the state answer named (everyone enrolled in a
        course of the cohort, and the category's role holders); only the rest are looked up, by idnumber,
        e-mail and username, so an unchanged cohort needs no user call at all."""
        core = self.moodle.core
        people = list(plan.people.values())
        if not people:
            return
        by_idnumber: dict[str, Any] = {u.idnumber: u for u in known if u.idnumber}
        rest = [p for p in people if p.idnumber not in by_idnumber]
        if rest:
            looked_up = core.get_users_by_field("idnumber", [p.idnumber for p in rest])
            if any(not u.email for u in looked_up):
                # Moodle leaves the e-mail out when the token's user lacks the capability; matching accounts
                # by e-mail would then silently fail and the next create would collide.
                raise ProvisionError(
                    "Moodle hides e-mail addresses from the service user: its role lacks the capability "
                    "moodle/site:viewuseridentity (see the role in moodle/local/mintqo/README.md)")
            by_idnumber.update((u.idnumber, u) for u in looked_up)
            rest = [p for p in rest if p.idnumber not in by_idnumber]
        by_email = {u.email.lower(): u for u in core.get_users_by_field("email", [p.email for p in rest])} if rest else {}
        rest = [p for p in rest if p.email not in by_email]
        by_username = ({u.username: u for u in core.get_users_by_field("username",
                                                                       [moodle_username(p.email) for p in rest])}
                       if rest else {})
        for person in people:
            user = by_idnumber.get(person.idnumber) or by_email.get(person.email)
            account = by_username.get(moodle_username(person.email)) if by_username else None
            if user is None and account is not None:
                if account.email.lower() != person.email:
                    raise ProvisionError(
                        f"cannot create an account for {person.email}: the username "
                        f"'{account.username}' belongs to another account ({account.email or 'no e-mail'})")
                user = account
            if user is not None:
                plan.user_ids[person.person_id] = user.id
                plan.add("user", "unchanged", person.idnumber, person.email)
            else:
                plan.add("user", "create", person.idnumber, person.email)
        if len(plan.user_ids) < len(people):   # someone gets a new account
            plan.lang = self._account_language(plan)

    def _account_language(self, plan: Plan) -> str:
        """Moodle rejects an uninstalled ``lang`` with a bare invalid-parameter error: check first."""
        wanted = self.config.moodle.lang
        languages = self.moodle.plugin.get_site_languages()
        if languages.has(wanted):
            return wanted
        plan.warnings.append(
            f"the site has no '{wanted}' language pack; new accounts get the site language "
            f"'{languages.defaultlang}' (install the pack under Site administration → Language packs)")
        return languages.defaultlang

    def _plan_enrolments_and_groups(self, plan: Plan, found: dict[str, StateCourse], lines: _PeopleLines) -> None:
        for course in plan.courses:
            existing = found.get(course.idnumber)
            if course.moodle_id is None or existing is None:
                continue
            course.enrolled = {(e.userid, r.roleid) for e in existing.enrolments for r in e.roles}
            course.user_groups = {(userid, g.id) for g in existing.groups for userid in g.members}
            course.groups = {g.idnumber: g.id for g in existing.groups if g.idnumber}
            course.group_names = {g.name: g.id for g in existing.groups}
        courses = {c.idnumber: c for c in plan.courses}
        roleids = {role: getattr(self.roles, role) for role in {role for _, _, role in plan.enrolments}}
        user_ids = plan.user_ids   # a person without an account (None) is in no pair
        for line, (course_idnumber, person_id, role) in zip(lines.enrolments, plan.enrolments):
            if (user_ids.get(person_id), roleids[role]) in courses[course_idnumber].enrolled:
                line.action = "unchanged"
        plan.changes += lines.enrolments
        for group, members in zip(plan.groups, lines.memberships):
            course = courses[group.course_idnumber]
            group.moodle_id = course.groups.get(group.idnumber) or course.group_names.get(group.name)
            plan.add("group", "unchanged" if group.moodle_id else "create", group.idnumber, group.name)
            if group.moodle_id is not None:
                for line, person_id in zip(members, group.member_ids):
                    if (user_ids.get(person_id), group.moodle_id) in course.user_groups:
                        line.action = "unchanged"
            plan.changes += members

    def _plan_category_roles(self, plan: Plan, held: list[StateCategoryRole]) -> None:
        """Who holds which role in the cohort's category, as Moodle says (the state answer lists them)."""
        contextkey = cohort_category_idnumber(plan.cohort)
        done = {(r.userid, r.roleid) for r in held}
        for person_id, role in plan.category_roles:
            userid = plan.user_ids.get(person_id)
            known = userid is not None and (userid, getattr(self.roles, role)) in done
            if known:
                plan.category_roles_done.add((person_id, role))
            plan.add("role", "unchanged" if known else "create",
                     f"{contextkey} {plan.people[person_id].email}", role)

    def _plan_content(self, plan: Plan, found: dict[str, StateCourse], stored: dict[str, Any]) -> None:
        """A course's content is re-sent when its template fingerprint changed since the last complete upload
        (kept in the store: ``stored``, its courses rows by idnumber), or when Moodle lost a section or an activity
        of it (deleted by hand)."""
        for course in plan.courses:
            previous = stored.get(course.idnumber)
            known = previous is not None and previous["moodle_id"] == course.moodle_id and course.moodle_id
            course.content_known = bool(known)
            lost = _lost_content(course.content, found.get(course.idnumber))
            if known and previous["content_hash"] == course.content_hash and not lost:
                course.content_stale = False
                plan.add("content", "unchanged", course.idnumber)
            else:
                plan.add("content", "update" if known else "create", course.idnumber,
                         f"missing in Moodle: {', '.join(lost[:3])}" if known and lost else "")

    # -- write pass ---------------------------------------------------------------------------------

    def apply(self, plan: Plan, result: ProvisionResult | None = None) -> ProvisionResult:
        """Write the plan, phase by phase; ``result.applied`` counts what each phase did so far."""
        result = result or ProvisionResult(plan=plan)
        self._apply_categories(plan, result)
        self._apply_courses(plan, result)
        self._apply_users(plan, result)
        self._apply_enrolments(plan, result)
        self._apply_category_roles(plan, result)
        self._apply_groups(plan, result)
        self._apply_content(plan, result)
        return result

    def _apply_categories(self, plan: Plan, result: ProvisionResult) -> None:
        core, prog = self.moodle.core, self.config.programme
        if plan.root_category_id is None:
            created = core.create_categories([{"name": prog.root_category_name, "parent": 0,
                                               "idnumber": prog.root_category_idnumber,
                                               "description": "<p>Online-Angebote der MINT-Qualitätsoffensive</p>"}])
            plan.root_category_id = created[0].id
            result.applied["category created"] += 1
        if plan.cohort_category_id is None:
            created = core.create_categories([{"name": cohort_title(plan.cohort), "parent": plan.root_category_id,
                                               "idnumber": cohort_category_idnumber(plan.cohort)}])
            plan.cohort_category_id = created[0].id
            result.applied["category created"] += 1

    def _apply_courses(self, plan: Plan, result: ProvisionResult) -> None:
        core = self.moodle.core
        to_create = [c for c in plan.courses if c.moodle_id is None]
        if to_create:
            created = core.create_courses([{
                "fullname": c.fullname, "shortname": c.shortname, "categoryid": plan.cohort_category_id,
                "idnumber": c.idnumber, "summary": c.summary, "summaryformat": 1, "format": "topics",
                "numsections": len(c.curriculum.sections), "enablecompletion": 1,
                **({"startdate": c.startdate} if c.startdate else {}),
                **({"enddate": c.enddate} if c.enddate else {}),
            } for c in to_create])
            by_shortname = {c.shortname: c.id for c in created}
            for course in to_create:
                course.moodle_id = by_shortname[course.shortname]
            result.applied["course created"] += len(created)
        to_update = [c for c in plan.courses if c.changed_fields]
        if to_update:
            warnings = core.update_courses([{
                "id": c.moodle_id, **c.changed_fields,
                **({"summaryformat": 1} if "summary" in c.changed_fields else {})} for c in to_update])
            if warnings:
                raise ProvisionError("Moodle did not update every course: "
                                     + "; ".join(f"course {w.itemid}: {w.warningcode}: {w.message}" for w in warnings))
            result.applied["course updated"] += len(to_update)
            for course in to_update:
                course.changed_fields = {}
        now = int(time.time())
        with self.store.transaction():
            self.store.upsert_rows(
                "courses", ("idnumber",),
                ("idnumber", "cohort", "kind", "network_slug", "moodle_id", "shortname", "fullname", "updated_at"),
                [(c.idnumber, plan.cohort, c.curriculum.kind, c.network_slug, c.moodle_id, c.shortname, c.fullname,
                  now) for c in plan.courses])

    def _apply_users(self, plan: Plan, result: ProvisionResult) -> None:
        missing = [p for p in plan.people.values() if p.person_id not in plan.user_ids]
        if missing:
            # No createpassword: Moodle would mail a password at once, maybe months before the cohort starts.
            # The random password is never stored or shown; `mintqo-lms invite` tells people to set their own.
            payload = [{
                "username": moodle_username(p.email), "auth": "manual", "password": unusable_password(),
                "firstname": p.first_name, "lastname": p.last_name, "email": p.email, "idnumber": p.idnumber,
                "lang": plan.lang,
            } for p in missing]
            try:
                created = self.moodle.core.create_users(payload)
            except InvalidParameterError as exc:
                raise ProvisionError(self._explain_user_rejection(payload, exc)) from None
            by_username = {u.username: u.id for u in created}
            for person in missing:
                plan.user_ids[person.person_id] = by_username[moodle_username(person.email)]
            result.applied["user created"] += len(created)
        set_moodle_user_ids(self.store, ((pid, uid) for pid, uid in plan.user_ids.items()))

    def _explain_user_rejection(self, payload: list[dict], exc: InvalidParameterError) -> str:
        """Moodle (debugging off) only says "Invalid parameter value detected". Creates are all-or-nothing,
        so nothing was stored: find the account that caused it by asking what Moodle already has."""
        core = self.moodle.core
        emails = [u["email"] for u in payload]
        taken = {u.email.lower() for u in core.get_users_by_field("email", emails)}
        usernames = {u.username for u in core.get_users_by_field("username", [u["username"] for u in payload])}
        causes = [f"{u['email']}: e-mail already used by another account" for u in payload if u["email"] in taken]
        causes += [f"{u['email']}: username '{u['username']}' already exists" for u in payload
                   if u["username"] in usernames]
        if not causes:
            causes = ["an e-mail may already exist with different capitalisation (Moodle looks up e-mails "
                      "case-sensitively but rejects them case-insensitively), or the site's language pack "
                      f"'{payload[0]['lang']}' is missing"]
        detail = f" [{exc.debuginfo}]" if exc.debuginfo else ""
        return "Moodle rejected the new accounts (nothing was created): " + "; ".join(causes) + detail

    def _apply_enrolments(self, plan: Plan, result: ProvisionResult) -> None:
        courses = {c.idnumber: c for c in plan.courses}
        todo = []
        for course_idnumber, person_id, role in plan.enrolments:
            course, userid, roleid = courses[course_idnumber], plan.user_ids[person_id], getattr(self.roles, role)
            if (userid, roleid) not in course.enrolled:
                todo.append({"roleid": roleid, "userid": userid, "courseid": course.moodle_id})
                course.enrolled.add((userid, roleid))
        if todo:
            self.moodle.core.enrol_users(todo)
            result.applied["enrolment created"] += len(todo)
        now = int(time.time())
        with self.store.transaction():
            self.store.upsert_rows("enrolments", ("course_idnumber", "person_id", "role"),
                                   ("course_idnumber", "person_id", "role", "updated_at"),
                                   [(*enrolment, now) for enrolment in plan.enrolments])

    def _apply_category_roles(self, plan: Plan, result: ProvisionResult) -> None:
        todo = [(person_id, role) for person_id, role in plan.category_roles
                if (person_id, role) not in plan.category_roles_done]
        if not todo:
            return
        self.moodle.core.assign_roles([{
            "roleid": getattr(self.roles, role), "userid": plan.user_ids[person_id], "contextlevel": "coursecat",
            "instanceid": plan.cohort_category_id} for person_id, role in todo])
        now = int(time.time())
        with self.store.transaction():
            self.store.upsert_rows(
                "role_assignments", ("contextkey", "person_id", "role"),
                ("contextkey", "person_id", "role", "contextlevel", "instanceid", "updated_at"),
                [(cohort_category_idnumber(plan.cohort), person_id, role, "coursecat", plan.cohort_category_id, now)
                 for person_id, role in todo])
        plan.category_roles_done.update(todo)
        result.applied["role created"] += len(todo)

    def _apply_groups(self, plan: Plan, result: ProvisionResult) -> None:
        courses = {c.idnumber: c for c in plan.courses}
        missing = [g for g in plan.groups if g.moodle_id is None]
        if missing:
            created = self.moodle.core.create_groups([{
                "courseid": courses[g.course_idnumber].moodle_id, "name": g.name, "description": g.description,
                "idnumber": g.idnumber} for g in missing])
            by_idnumber = {g.idnumber: g.id for g in created}
            for group in missing:
                group.moodle_id = by_idnumber[group.idnumber]
            result.applied["group created"] += len(created)
        members = []
        for group in plan.groups:
            course = courses[group.course_idnumber]
            for person_id in group.member_ids:
                userid = plan.user_ids[person_id]
                if (userid, group.moodle_id) not in course.user_groups:
                    members.append({"groupid": group.moodle_id, "userid": userid})
                    course.user_groups.add((userid, group.moodle_id))
        if members:
            self.moodle.core.add_group_members(members)
            result.applied["membership created"] += len(members)
        with self.store.transaction():
            self.store.upsert_rows("groups", ("idnumber",), ("idnumber", "course_idnumber", "moodle_id", "name"),
                                   [(g.idnumber, g.course_idnumber, g.moodle_id, g.name) for g in plan.groups])

    def _apply_content(self, plan: Plan, result: ProvisionResult) -> None:
        stale = [c for c in plan.courses if c.content_stale]
        if not stale:
            return
        plugin = self.moodle.plugin
        building = Ahead(content_entries, stale)   # pure work: made while the settings call travels
        try:
            # Course settings first, for every stale course in one call: the German news forum, no welcome mail.
            configured = plugin.configure_courses([{"courseid": c.moodle_id, **c.content["configure"]}
                                                   for c in stale])
        finally:
            building.wait()
        result.content_items.update(f"course settings {c.status}" for c in configured)
        entries, questionsets = building.result()
        self.progress("Course content", 0, len(stale))
        # Batched across courses; a course's rows and fingerprint are stored only after the call carrying its last
        # entry answered, so a run cut off before sends that course again.
        done = 0

        def store(completed: list[tuple[int, CourseContentResult]]) -> None:
            nonlocal done
            with self.store.transaction():
                for index, answer in completed:
                    self._store_content(stale[index], answer, result)
            for index, _ in completed:
                stale[index].content_stale = False
                done += 1
                self.progress("Course content", done, len(stale))

        store_answered(content_calls(plugin, entries, questionsets), store)

    def _store_content(self, course: DesiredCourse, answer: CourseContentResult, result: ProvisionResult) -> None:
        content = course.content
        named = {a["idnumber"]: a for a in [*content["activities"], *content["quizzes"]]}
        result.content_items.update(f"sections {s.status}" for s in answer.sections)
        result.content_items.update(f"activities {m.status}" for m in answer.modules if m.modname != "quiz")
        result.content_items.update(f"quizzes {q.status}" for q in answer.quizzes)
        result.content_items.update(f"calendar events {e.status}" for e in answer.events)
        store_activities(self.store, course.idnumber, [
            (m.idnumber, m.cmid, m.instanceid, m.modname, named[m.idnumber]["name"], named[m.idnumber]["section"])
            for m in answer.modules])
        self.store.db.conn.execute("UPDATE courses SET content_hash = ? WHERE idnumber = ?",
                                   [course.content_hash, course.idnumber])
        result.applied["content updated" if course.content_known else "content created"] += 1


def store_answered(calls: Iterable[list[T]], store: Callable[[list[T]], None], *,
                   calls_per_commit: int = CALLS_PER_COMMIT) -> None:
    """Hand what ``calls`` answered (per call, a list) to ``store``, the answers of ``calls_per_commit`` calls at a
    time: each commit has a fixed cost, a content call carries whole courses. A run killed in between
    sends those calls again (everything goes by idnumber); a failing call first stores what came before it."""
    pending: list[T] = []

    def flush() -> None:
        nonlocal pending
        answered, pending = pending, []
        if answered:
            store(answered)

    try:
        for number, answered in enumerate(calls, start=1):
            pending += answered
            if number % calls_per_commit == 0:
                flush()
    except Exception:
        flush()
        raise
    flush()


def store_activities(store: Store, course_idnumber: str, modules: list[tuple[str, int, int, str, str, int]]) -> None:
    """Remember the course modules Moodle answered for: ``(idnumber, cmid, instance_id, modname, name, section)``
    each (inside the caller's transaction)."""
    now = int(time.time())
    store.upsert_rows("activities", ("course_idnumber", "idnumber"),
                      ("course_idnumber", "idnumber", "cmid", "instance_id", "modname", "name", "section", "updated_at"),
                      [(course_idnumber, *module, now) for module in modules])


def content_calls(plugin: Any, entries: list[dict[str, Any]], questionsets: dict[str, str]) -> Any:
    """``iter_course_content_calls``: per call, the ``(index, answer)`` of the courses it completed; a service
    without the function (plugin before 1.4.0) is named as such."""
    try:
        yield from plugin.iter_course_content_calls(entries, questionsets)
    except AccessDeniedError as exc:
        if exc.errorcode != "accessexception":
            raise
        raise ProvisionError("the token cannot call local_mintqo_upsert_course_content: the site's local_mintqo "
                             "is older than 1.4.0 (update it) or the token belongs to another service "
                             "(run 'mintqo-lms doctor')") from None


@lru_cache(maxsize=32)   # one XML (the same string) in every course: hashed once
def questionset_key(xml: str) -> str:
    """A question set's key in a call: the same XML (one instrument in many courses) travels once."""
    return "qs-" + hashlib.sha256(xml.encode("utf-8")).hexdigest()[:24]


def quiz_module(quiz: dict[str, Any], questionsets: dict[str, str]) -> dict[str, Any]:
    """An ``import_quiz``-style quiz as a module of ``upsert_course_content`` (its XML into ``questionsets``)."""
    key = questionset_key(quiz["questionsxml"])
    questionsets[key] = quiz["questionsxml"]
    return {"section": quiz["section"], "modname": "quiz", "idnumber": quiz["idnumber"], "name": quiz["name"],
            "intro": quiz["intro"], "visible": quiz["settings"].get("visible", 1),
            "quiz": {"questionset": key, "sections": quiz["sections"], "settings": quiz["settings"]}}


def content_entries(courses: list[DesiredCourse]) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """The courses' content as ``upsert_course_content`` entries (modules in the template's order, so each quiz
    follows the page that explains it, and the team page its quiz) and the question sets they use."""
    questionsets: dict[str, str] = {}
    entries = []
    for course in courses:
        content = course.content
        activities = {a["idnumber"]: a for a in content["activities"]}
        quizzes = {q["idnumber"]: q for q in content["quizzes"]}
        modules = []
        for idnumber in content["sequence"]:
            if idnumber in quizzes:
                modules.append(quiz_module(quizzes[idnumber], questionsets))
                continue
            activity = activities[idnumber]
            if activity["externalurl"].startswith(TEAM_PAGE_URL):   # the plugin puts in the team page's address
                activity = {**activity, "externalurl": "", "teamquiz": activity["externalurl"][len(TEAM_PAGE_URL):]}
            modules.append(activity)
        entries.append({"courseid": course.moodle_id, "sections": content["sections"], "modules": modules,
                        "completioncriteria": [{"idnumber": i} for i in content["criteria"]],
                        "events": content["events"]})
    return entries, questionsets


@cyclic_gc_paused()
def provision(moodle: Moodle, store: Store, config: Config, cohort: str, *, dry_run: bool = False,
              progress: ProgressCallback | None = None) -> ProvisionResult:
    """Plan, and unless ``dry_run``, apply. Returns the plan and what was applied."""
    provisioner = Provisioner(moodle, store, config, progress=progress)
    stats = moodle.client.stats
    calls_before, snapshot = stats.total_calls, stats.as_dict()
    state_read = provisioner.read_state(cohort)
    try:
        run_id = store.start_run("provision" if not dry_run else "provision-dry-run", cohort)
    except BaseException:
        state_read.wait()
        raise
    result: ProvisionResult | None = None
    try:
        plan = provisioner.plan(cohort, state_read)
        result = ProvisionResult(plan=plan, run_id=run_id)
        if not dry_run and plan.has_work:
            provisioner.apply(plan, result)
    except Exception as exc:
        store.finish_run(run_id, status="failed", summary=dict(result.applied) if result else {},
                         calls=stats.delta(snapshot), error=str(exc))
        raise
    result.calls = stats.total_calls - calls_before
    store.finish_run(run_id, status="planned" if dry_run else "ok",
                     summary={"plan": {k: dict(v) for k, v in plan.counts().items()}, "applied": dict(result.applied),
                              "warnings": plan.warnings},
                     calls=stats.delta(snapshot))
    return result


def _people(cohort: str, roster: CohortRoster, courses: list[DesiredCourse]
            ) -> tuple[list[tuple[str, int, str]], list[DesiredGroup], list[tuple[int, str]]]:
    """Who is enrolled where with which role, the groups with their members, and the category roles."""
    enrolments: list[tuple[str, int, str]] = []
    groups: list[DesiredGroup] = []
    cohort_course = courses[0].idnumber
    regional = {course.network_slug: course.idnumber for course in courses[1:]}
    # Programme-office staff are managers of the cohort's category: a real role in every course of the
    # cohort (cohort course and regional courses) without an enrolment in each.
    category_roles = [(member.person_id, "manager") for member in roster.by_role("staff")]
    # Each role's list and each initiative's members once: at 16x the programme (7,600 people, 2,400
    # initiatives) filtering the roster per initiative took longer than reading the whole cohort.
    coordinators, buddy_list = roster.by_role("coordinator"), roster.by_role("buddy")
    buddies_of: dict[int, list[int]] = {}
    for buddy in buddy_list:
        buddies_of.setdefault(buddy.buddy_of_id, []).append(buddy.person_id)
    members_of: dict[tuple[str, str], list[int]] = {}
    for member in roster.by_role("initiative"):
        members_of.setdefault((member.network_slug, member.initiative_slug), []).append(member.person_id)
    initiatives_of: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for (net_slug, init_slug), initiative in sorted(roster.initiatives.items()):
        initiatives_of.setdefault(net_slug, []).append((init_slug, initiative))
    for member in coordinators:
        enrolments.append((cohort_course, member.person_id, "student"))
    for member in buddy_list:
        enrolments.append((cohort_course, member.person_id, "teacher"))
    for coordinator in coordinators:
        buddies = buddies_of.get(coordinator.person_id, [])
        if buddies:
            groups.append(DesiredGroup(
                buddy_group_idnumber(cohort, coordinator), cohort_course,
                f"Buddy-Tandem {coordinator.first_name} {coordinator.last_name}",
                "Buddy-Programm: Koordination und Alumni-Buddy", [coordinator.person_id, *buddies]))
    for slug, network in sorted(roster.networks.items()):
        idnumber = regional[slug]
        enrolments.append((idnumber, network["coordinator_id"], "editingteacher"))
        for init_slug, initiative in initiatives_of.get(slug, []):
            members = members_of.get((slug, init_slug), [])
            for person_id in members:
                enrolments.append((idnumber, person_id, "student"))
            offer = f"Angebot: {initiative['offer']}" if initiative.get("offer") else ""
            groups.append(DesiredGroup(initiative_idnumber(cohort, network["name"], initiative["name"]),
                                       idnumber, initiative["name"], offer, members))
    return enrolments, groups, category_roles


_TAG = re.compile(r"<[^>]*>")


def _visible_text(html_text: str) -> str:
    """What a reader sees of a summary: Moodle formats summaries on the way out (filters, HTML cleaning),
    so markup may come back rearranged; a changed wording in the template is what must be pushed."""
    return " ".join(html.unescape(_TAG.sub(" ", html_text or "")).split())


def _lost_content(content: dict[str, Any], state: StateCourse | None) -> list[str]:
    """The sections (by number) and activities (by idnumber) of ``content`` that Moodle does not hold."""
    if state is None:
        return []
    sections = {s.section for s in state.sections}
    idnumbers = {a.idnumber for a in state.activities if a.idnumber}
    lost = [f"section {s['section']}" for s in content["sections"] if s["section"] not in sections]
    lost += [a["idnumber"] for a in [*content["activities"], *content["quizzes"]] if a["idnumber"] not in idnumbers]
    return lost


def fingerprint(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, ensure_ascii=False).encode("utf-8")).hexdigest()


def quiz_by_key(quiz: dict[str, Any]) -> dict[str, Any]:
    """An ``import_quiz``-style quiz with its question XML named by key: what a fingerprint needs of it (the
    same key is the same XML), without encoding the whole XML again for every course."""
    return {**quiz, "questionsxml": questionset_key(quiz["questionsxml"])}


def content_fingerprint(content: dict[str, Any]) -> str:
    return fingerprint({**content, "quizzes": [quiz_by_key(quiz) for quiz in content["quizzes"]]})


def _cohort_start(cohort: str) -> int | None:
    """Without any timetable, courses of cohort "2025" start on 1 January 2025 (German time)."""
    match = re.match(r"^(\d{4})", cohort)
    if not match:
        return None
    return int(dt.datetime(int(match.group(1)), 1, 1, tzinfo=TIMEZONE).timestamp())


def _course_dates(courses: list[DesiredCourse], timetable: dict[str, list[Slot]], cohort: str) -> None:
    """Start and end of each course from the timetable: the day of its first date (00:00) to the day of its
    last (23:59). A course without dates of its own starts with the cohort's first date; with no timetable
    at all, on 1 January of the cohort's year (and Moodle picks the end)."""
    everything = [slot for slots in timetable.values() for slot in slots]
    for course in courses:
        course.slots = timetable.get(course.idnumber, [])
        own = course.slots
        if own:
            course.dates_from_timetable = True
            course.startdate = _day_start(min(slot.first for slot in own))
            course.enddate = _day_end(max(slot.last for slot in own))
        elif everything:
            course.startdate = _day_start(min(slot.first for slot in everything))
        else:
            course.startdate = _cohort_start(cohort)


def _day_start(timestamp: int) -> int:
    local = dt.datetime.fromtimestamp(timestamp, tz=TIMEZONE)
    return int(dt.datetime.combine(local.date(), dt.time(0, 0), tzinfo=TIMEZONE).timestamp())


def _day_end(timestamp: int) -> int:
    local = dt.datetime.fromtimestamp(timestamp, tz=TIMEZONE)
    return int(dt.datetime.combine(local.date(), dt.time(23, 59), tzinfo=TIMEZONE).timestamp())


def _date_lines(slots: list[Slot]) -> str:
    """The German line(s) a section summary gets: ``Termin: Mo, 15.09.2025, 09:30–16:30 Uhr, Ort: …``."""
    lines = []
    for slot in slots:
        text = f"<strong>Termin:</strong> {html.escape(format_slot(slot), quote=False)}"
        if slot.location:
            text += f", Ort: {html.escape(slot.location, quote=False)}"
        if slot.note:
            text += f" – {html.escape(slot.note, quote=False)}"
        lines.append(f'<p class="mintqo-termin">{text}</p>')
    return "".join(lines)


def _event(section: Section, slot: Slot, count: int) -> dict[str, Any]:
    """A course calendar event for a meeting, keyed by section and number (a moved date moves the event)."""
    start = slot.start or slot.last
    if slot.allday:
        days = (dt.datetime.fromtimestamp(slot.last, tz=TIMEZONE).date()
                - dt.datetime.fromtimestamp(start, tz=TIMEZONE).date()).days + 1
        duration = days * 86400
    else:
        duration = max(0, (slot.end or start) - start)
    name = section.name if count == 1 else f"{section.name} – Termin {slot.seq + 1}"
    description = section.summary
    if slot.note:
        description += f"<p>{html.escape(slot.note, quote=False)}</p>"
    return {"idnumber": f"mintqo:termin:{section.key}:{slot.seq + 1}", "name": name, "description": description,
            "timestart": start, "timeduration": duration, "location": slot.location}


def _unique_shortnames(courses: list[DesiredCourse], networks: dict[str, dict]) -> None:
    """Readable short names must still be unique on the site: two networks of a cohort whose short names
    agree ("MINT-Region Trier", "MINT-Netzwerk Trier") get their full names; anything longer than Moodle's
    255 characters is cut and keeps a short key, so it stays unique."""
    counts = Counter(c.shortname for c in courses)
    names = {slug: n["name"] for slug, n in networks.items()}
    for course in courses:
        if counts[course.shortname] > 1 and course.network_slug:
            course.shortname = course.curriculum.render_course(
                course.idnumber.split(":")[2], network=names[course.network_slug]).shortname.replace(
                    short_network_name(names[course.network_slug]), names[course.network_slug])
        if len(course.shortname) > SHORTNAME_MAX:
            tail = " " + hashlib.sha256(course.idnumber.encode("utf-8")).hexdigest()[:8]
            course.shortname = course.shortname[: SHORTNAME_MAX - len(tail) - 1].rstrip() + "…" + tail
    duplicates = [name for name, n in Counter(c.shortname for c in courses).items() if n > 1]
    if duplicates:
        raise ProvisionError(f"two courses of the cohort would get the short name '{duplicates[0]}'; "
                             "give the networks distinct names in the roster")


__all__ = ["Change", "Plan", "ProvisionError", "ProvisionResult", "Provisioner", "activity_idnumber",
           "cohort_category_idnumber", "cohort_course_idnumber", "moodle_username", "provision"]
