"""The cohort's timetable staff keep: when and where the workshops are, and the deadlines.

Like the roster, it is a sheet the office edits by hand (CSV with ``;`` or ``,``, UTF-8 with or without BOM,
or an Excel ``.xlsx``), read with the same care: every problem is reported at once with file, line (or Excel
row), column and why, and nothing is stored from a file with a problem. One row is one date:

========================  ================================================================================
column (English name)     meaning
========================  ================================================================================
Kurs (course, Netzwerk)   ``Qualifizierung`` (or empty) for the cohort course, else a network of the roster
Termin (key)              a section key of the course's curriculum (a meeting: kick-off, workshop, round …)
                          or an activity key (a window or deadline: ``selbstanalyse-1``, an assignment …)
Beginn (start)            ``15.09.2025 09:30`` (also ``Mo, 15.09.2025``, ``2025-09-15 09:30``, Excel dates)
Ende (end, Frist)         ``16.09.2025 16:30``, or only ``16:30`` on the day of Beginn; for an activity the
                          deadline (a date alone means 23:59 that day)
Ort (location)            the place of a meeting (optional)
Hinweis (note)            one line shown with the date (optional)
========================  ================================================================================

A section key may appear more than once per course (several peer rounds); an activity key once. Dates are
local German time (Europe/Berlin). Dates outside the cohort's year are only warned about.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Literal
from zoneinfo import ZoneInfo

from mintqo_lms.keys import require_cohort
from mintqo_lms.roster import (
    RosterError,
    RosterProblem,
    SheetError,
    map_header,
    split_header,
    moodle_text_problem,
    read_rows,
    region_idnumber,
    slugify,
)
from mintqo_lms.store import Store
from mintqo_lms.templates import Curriculum, short_network_name

__all__ = [
    "COHORT_COURSE_LABEL",
    "Slot",
    "Timetable",
    "TimetableError",
    "TimetableSummary",
    "TIMEZONE",
    "format_slot",
    "import_timetable",
    "load_timetable",
    "parse_timetable",
]

TIMEZONE = ZoneInfo("Europe/Berlin")
COHORT_COURSE_LABEL = "Qualifizierung"
# How the cohort course may be named in the Kurs column (compared after slugify); empty means it too.
_COHORT_COURSE_NAMES = {"qualifizierung", "durchgang", "kohorte", "cohort", "qualification", "kohortenkurs"}

_HEADERS: dict[str, tuple[str, ...]] = {
    "course": ("kurs", "netzwerk", "course", "network"),
    "key": ("termin", "schlüssel", "schluessel", "key"),
    "start": ("beginn", "von", "start"),
    "end": ("ende", "bis", "frist", "end", "deadline"),
    "location": ("ort", "location", "place"),
    "note": ("hinweis", "bemerkung", "note"),
}
_GERMAN_HEADERS = {"course": "Kurs", "key": "Termin", "start": "Beginn", "end": "Ende", "location": "Ort",
                   "note": "Hinweis"}
_REQUIRED_COLUMNS = ("course", "key", "start")
_LOCATION_MAX = 255

_WEEKDAYS = ("Mo", "Di", "Mi", "Do", "Fr", "Sa", "So")
_WEEKDAY_PREFIX = re.compile(r"^(?P<day>[A-Za-zäÄ]{2,10})\.?,?\s+")
_WEEKDAY_NAMES = {
    "mo": 0, "montag": 0, "di": 1, "dienstag": 1, "mi": 2, "mittwoch": 2, "do": 3, "donnerstag": 3,
    "fr": 4, "freitag": 4, "sa": 5, "samstag": 5, "so": 6, "sonntag": 6,
}
_GERMAN_DATE = re.compile(r"^(?P<d>\d{1,2})\.(?P<m>\d{1,2})\.(?P<y>\d{4}|\d{2})$")
_ISO_DATE = re.compile(r"^(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})$")
_TIME = re.compile(r"^(?P<h>\d{1,2})[:.](?P<min>\d{2})(?::(?P<s>\d{2}))?(?:\s*uhr)?$", re.IGNORECASE)


class TimetableError(SheetError):
    """The timetable is unusable."""

    sheet = "timetable"


@dataclass(frozen=True)
class Slot:
    """One dated row: a meeting of a section, or the window/deadline of an activity."""

    course_idnumber: str
    key: str
    kind: Literal["section", "activity"]
    seq: int                 # 0, 1 … for repeated section keys, in file order
    start: int | None        # unix time
    end: int | None          # unix time (a meeting's end, an activity's deadline)
    allday: bool = False     # dates without times
    location: str = ""
    note: str = ""
    line: int = 0

    @property
    def first(self) -> int:
        return self.start if self.start is not None else int(self.end or 0)

    @property
    def last(self) -> int:
        return self.end if self.end is not None else int(self.start or 0)


@dataclass
class Timetable:
    source: str
    slots: list[Slot]
    warnings: list[str] = field(default_factory=list)


@dataclass
class TimetableSummary:
    cohort: str
    slots: int
    courses: dict[str, int]     # course label -> rows
    warnings: list[str]

    def __str__(self) -> str:
        per = ", ".join(f"{label} {n}" for label, n in self.courses.items())
        return f"{self.slots} dates for cohort {self.cohort} stored ({per})"


# --------------------------------------------------------------------------------------------------
# Dates


@dataclass(frozen=True)
class _When:
    date: dt.date | None
    time: dt.time | None


def _parse_when(text: str) -> _When:
    """``15.09.2025 09:30``, ``Mo, 15.09.2025``, ``2025-09-15T09:30``, ``16:30``; ValueError says why not."""
    raw = " ".join(text.replace("\u00a0", " ").split())
    weekday = None
    match = _WEEKDAY_PREFIX.match(raw)
    if match and match.group("day").lower() in _WEEKDAY_NAMES:
        weekday = _WEEKDAY_NAMES[match.group("day").lower()]
        raw = raw[match.end():]
    raw = raw.replace("T", " ") if _ISO_DATE.match(raw.split("T")[0]) else raw
    parts = [p for p in re.split(r"[ ,]+", raw) if p]
    if parts and parts[-1].lower() == "uhr":
        parts = parts[:-1]
    if not parts or len(parts) > 2:
        raise ValueError(f"'{text}' is not a date and time like 15.09.2025 09:30")
    date = None
    clock = None
    first = parts[0]
    german, iso = _GERMAN_DATE.match(first), _ISO_DATE.match(first)
    if german or iso:
        found = german or iso
        assert found is not None
        year = int(found.group("y"))
        if year < 100:
            year += 2000
        try:
            date = dt.date(year, int(found.group("m")), int(found.group("d")))
        except ValueError:
            raise ValueError(f"'{text}': there is no such day") from None
        rest = parts[1:]
    else:
        rest = parts
    if rest:
        found_time = _TIME.match(rest[0])
        if not found_time:
            raise ValueError(f"'{text}' is not a date and time like 15.09.2025 09:30")
        try:
            clock = dt.time(int(found_time.group("h")), int(found_time.group("min")), int(found_time.group("s") or 0))
        except ValueError:
            raise ValueError(f"'{text}': there is no such time of day") from None
    if date is None and clock is None:
        raise ValueError(f"'{text}' is not a date and time like 15.09.2025 09:30")
    if weekday is not None:
        if date is None:
            raise ValueError(f"'{text}' names a weekday but no date")
        if date.weekday() != weekday:
            raise ValueError(f"'{text}': {date:%d.%m.%Y} is a {_WEEKDAYS[date.weekday()]}, "
                             f"not a {_WEEKDAYS[weekday]}")
    return _When(date, clock)


def _unix(date: dt.date, clock: dt.time) -> int:
    return int(dt.datetime.combine(date, clock, tzinfo=TIMEZONE).timestamp())


def _local(timestamp: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(timestamp, tz=TIMEZONE)


def _day(timestamp: int) -> str:
    moment = _local(timestamp)
    return f"{_WEEKDAYS[moment.weekday()]}, {moment:%d.%m.%Y}"


def format_slot(slot: Slot) -> str:
    """The date as German readers expect it: ``Mo, 15.09.2025, 09:30–16:30 Uhr``."""
    if slot.start is None:  # a deadline only
        return f"bis {_day(slot.last)}, {_local(slot.last):%H:%M} Uhr"
    start = _local(slot.start)
    if slot.allday:
        if slot.end is None or _local(slot.end).date() == start.date():
            return _day(slot.start)
        return f"{_day(slot.start)} – {_day(slot.end)}"
    if slot.end is None:
        return f"{_day(slot.start)}, {start:%H:%M} Uhr"
    end = _local(slot.end)
    if end.date() == start.date():
        return f"{_day(slot.start)}, {start:%H:%M}–{end:%H:%M} Uhr"
    return f"{_day(slot.start)}, {start:%H:%M} Uhr – {_day(slot.end)}, {end:%H:%M} Uhr"


# --------------------------------------------------------------------------------------------------
# Reading and checking

_Report = Callable[[int | None, str | None, str], None]


def parse_timetable(path: str | Path, cohort: str, networks: dict[str, str], qualification: Curriculum,
                    regional: Curriculum) -> Timetable:
    """Read and check a timetable for ``cohort`` whose roster has ``networks`` (slug -> name).

    Raises :class:`TimetableError` listing every problem; warnings (dates outside the cohort's year) are
    returned with the timetable.
    """
    file = Path(path)
    try:
        shown, unit, records = read_rows(file)
    except RosterError as exc:
        raise TimetableError(exc.problems) from None
    problems: list[RosterProblem] = []
    warnings: list[str] = []

    def problem(line: int | None, column: str | None, message: str) -> None:
        problems.append(RosterProblem(file=shown, line=line, column=column, message=message, unit=unit))

    header, header_line, rows = split_header(records, shown, unit, TimetableError)
    columns = map_header(header, header_line, problem, _HEADERS, _GERMAN_HEADERS, _REQUIRED_COLUMNS,
                         {name: aliases[-1] for name, aliases in _HEADERS.items()})
    if problems:
        raise TimetableError(problems)
    if not rows:
        raise TimetableError([RosterProblem(file=shown, line=header_line, column=None, unit=unit,
                                            message="the timetable has no dates, only a header row")])
    shown_column = {name: header[index].strip() for name, index in columns.items()}
    col = lambda name: shown_column.get(name, _GERMAN_HEADERS[name])  # noqa: E731

    year = int(cohort[:4])
    slots: list[Slot] = []
    seen_activity: dict[tuple[str, str], int] = {}
    seen_section: dict[tuple[str, str, int | None], int] = {}
    seq: dict[tuple[str, str], int] = {}
    width = max(columns.values()) + 1
    for line, cells in rows:
        def cell(name: str) -> str:
            index = columns.get(name)
            return cells[index].strip() if index is not None and index < len(cells) else ""

        before = len(problems)
        if any(c.strip() for c in cells[width:]):
            problem(line, None, f"row has {len(cells)} cells but the header only {width} columns")

        course_text = cell("course")
        course_idnumber, curriculum, label = _course_of(course_text, cohort, networks, qualification, regional)
        if course_idnumber is None:
            known = ", ".join(sorted(networks.values()))
            problem(line, col("course"), f"unknown network '{course_text}' (networks of cohort {cohort}: {known}; "
                                         f"or '{COHORT_COURSE_LABEL}' for the cohort course)")
        key = cell("key")
        kind: Literal["section", "activity"] | None = None
        activity = None
        if not key:
            problem(line, col("key"), "is empty")
        elif curriculum is not None:
            sections = [s.key for s in curriculum.sections]
            activities = {a.key: a for _, a in curriculum.activities()}
            if key in sections:
                kind = "section"
            elif key in activities:
                kind, activity = "activity", activities[key]
            else:
                close = difflib.get_close_matches(key, [*sections, *activities], n=1)
                hint = f"did you mean '{close[0]}'? " if close else ""
                problem(line, col("key"), f"unknown key '{key}' for the {label}: {hint}sections are "
                                          f"{', '.join(sections)}; activities are {', '.join(activities)}")
        if activity is not None and activity.type not in ("quiz", "assign") and activity.completion == "none":
            problem(line, col("key"), f"activity '{key}' has no completion tracking, so a date for it would "
                                      "show nowhere; give its section's key instead")

        start_text, end_text = cell("start"), cell("end")
        start_when = end_when = None
        if start_text:
            try:
                start_when = _parse_when(start_text)
            except ValueError as exc:
                problem(line, col("start"), str(exc))
        if end_text:
            try:
                end_when = _parse_when(end_text)
            except ValueError as exc:
                problem(line, col("end"), str(exc))
        if not start_text and not end_text:
            problem(line, col("start"), "is empty" + ("" if kind == "section" else " (and so is Ende)"))
        elif not start_text and kind == "section":
            problem(line, col("start"), f"is empty; a meeting of section '{key}' needs its date")
        if start_when is not None and start_when.date is None:
            problem(line, col("start"), f"'{start_text}' has no date (write e.g. 15.09.2025 09:30)")
            start_when = None
        if end_when is not None and end_when.date is None and start_when is None and start_text == "":
            problem(line, col("end"), f"'{end_text}' has no date (write e.g. 31.10.2025 23:59)")
            end_when = None
        start = end = None
        allday = False
        if start_when is not None and start_when.date is not None:
            allday = start_when.time is None and (end_when is None or end_when.time is None)
            start = _unix(start_when.date, start_when.time or dt.time(0, 0))
        if end_when is not None:
            end_date = end_when.date or (start_when.date if start_when is not None else None)
            if end_date is not None:
                if end_when.time is None and start_when is not None and start_when.time is not None and kind == "section":
                    problem(line, col("end"), f"'{end_text}' has no time but Beginn has one: give the end time "
                                              f"too (e.g. {end_date:%d.%m.%Y} 16:30)")
                end = _unix(end_date, end_when.time or dt.time(23, 59))
            elif start_when is not None and start_when.time is None and end_when.date is None:
                problem(line, col("end"), f"'{end_text}' is only a time, but Beginn has no time")
        if start is not None and end is not None and end < start:
            problem(line, col("end"), f"'{end_text}' is before Beginn '{start_text}'")
        for when_text, moment, name in ((start_text, start, "start"), (end_text, end, "end")):
            if moment is not None and _local(moment).year != year:
                warnings.append(f"{shown} {unit} {line}, {col(name)}: '{when_text}' is not in the cohort's year "
                                f"{year} — check the year")

        location, note = cell("location"), cell("note")
        for name, value in (("location", location), ("note", note)):
            why = moodle_text_problem(value) if value else None
            if why:
                problem(line, col(name), why)
            elif len(value) > _LOCATION_MAX:
                problem(line, col(name), f"is {len(value)} characters long; at most {_LOCATION_MAX}")

        if course_idnumber is not None and kind is not None:
            if kind == "activity":
                first = seen_activity.setdefault((course_idnumber, key), line)
                if first != line:
                    problem(line, col("key"), f"activity '{key}' of the {label} has a date on {unit} {first} "
                                              "already; an activity has one window or deadline")
            else:
                first = seen_section.setdefault((course_idnumber, key, start), line)
                if first != line:
                    problem(line, col("start"), f"section '{key}' of the {label} has the same date on {unit} "
                                                f"{first}")
        if len(problems) == before and course_idnumber is not None and kind is not None:
            number = seq.get((course_idnumber, key), 0)
            seq[(course_idnumber, key)] = number + 1
            slots.append(Slot(course_idnumber, key, kind, number, start, end, allday, location, note, line))
    if problems:
        problems.sort(key=lambda p: (p.line or 0))
        raise TimetableError(problems)
    return Timetable(source=str(file), slots=slots, warnings=warnings)


def _course_of(text: str, cohort: str, networks: dict[str, str], qualification: Curriculum,
               regional: Curriculum) -> tuple[str | None, Curriculum | None, str]:
    from mintqo_lms.provision import cohort_course_idnumber  # provision imports this module

    slug = slugify(text)
    if not slug or slug in _COHORT_COURSE_NAMES:
        return cohort_course_idnumber(cohort), qualification, "cohort course"
    if slug in networks:
        return region_idnumber(cohort, networks[slug]), regional, f"regional course of {networks[slug]}"
    # "Ruhr & Emscher" for "zdi-Netzwerk Ruhr & Emscher": the short name people say
    short = [s for s, name in networks.items() if slugify(short_network_name(name)) == slug]
    if len(short) == 1:
        name = networks[short[0]]
        return region_idnumber(cohort, name), regional, f"regional course of {name}"
    return None, None, ""


# --------------------------------------------------------------------------------------------------
# The store


def import_timetable(store: Store, path: str | Path, cohort: str,
                     templates_root: str | None = None) -> TimetableSummary:
    """Check ``path`` against the cohort's roster and the curricula and store it, replacing the cohort's
    earlier timetable (all or nothing). Raises :class:`TimetableError` listing every problem."""
    from mintqo_lms.provision import QUALIFICATION_TEMPLATE, REGIONAL_TEMPLATE
    from mintqo_lms.templates import load_curriculum

    require_cohort(store, cohort)
    networks = {row["slug"]: row["name"] for row in store.db["networks"].rows_where("cohort = ?", [cohort])}
    qualification = load_curriculum(QUALIFICATION_TEMPLATE, templates_root)
    regional = load_curriculum(REGIONAL_TEMPLATE, templates_root)
    timetable = parse_timetable(path, cohort, networks, qualification, regional)
    now = int(time.time())
    with store.transaction():
        store.db.execute("DELETE FROM timetable WHERE cohort = ?", [cohort])
        store.db["timetable"].insert_all([{
            "cohort": cohort, "course_idnumber": s.course_idnumber, "key": s.key, "seq": s.seq, "kind": s.kind,
            "start": s.start, "end": s.end, "allday": int(s.allday), "location": s.location, "note": s.note,
            "source": Path(path).name, "line": s.line, "imported_at": now} for s in timetable.slots])
    labels = {f"mintqo:region:{cohort}:{slug}": name for slug, name in networks.items()}
    courses: dict[str, int] = {}
    for slot in timetable.slots:
        label = labels.get(slot.course_idnumber, COHORT_COURSE_LABEL)
        courses[label] = courses.get(label, 0) + 1
    return TimetableSummary(cohort, len(timetable.slots), courses, timetable.warnings)


def load_timetable(store: Store, cohort: str) -> dict[str, list[Slot]]:
    """The stored timetable of ``cohort``: course idnumber -> its slots in date order (empty: none stored)."""
    out: dict[str, list[Slot]] = {}
    for row in store.db.query("SELECT * FROM timetable WHERE cohort = ? ORDER BY course_idnumber, key, seq",
                              [cohort]):
        out.setdefault(row["course_idnumber"], []).append(Slot(
            row["course_idnumber"], row["key"], row["kind"], row["seq"], row["start"], row["end"],
            bool(row["allday"]), row["location"] or "", row["note"] or "", row["line"] or 0))
    for slots in out.values():
        slots.sort(key=lambda s: (s.first, s.key, s.seq))
    return out
