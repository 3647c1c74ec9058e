"""Attendance of in-person workshops: the sheet staff keep, into the store and into Moodle.

Why it works this way: participants cannot mark an in-person activity done themselves (provisioning turns
self-completion off), so attendance exists only where staff record it. After a workshop the office (cohort
course) or the coordinator (a regional course) keeps a sheet — E-Mail and "anwesend" — like the roster.
``attendance import`` checks every row first (nothing is applied from a file with a problem), then sets the
activity's completion in Moodle as an *override by the service user* for exactly the people whose recorded
attendance differs from the sheet (one batch call, ``local_mintqo_set_completions``: idempotent,
all-or-nothing), and records in the same step who was present, who recorded it and when, from which sheet
line. Running the same sheet again makes no call and changes nothing; a corrected sheet changes only what
differs. People not on a sheet keep what was recorded for them.

Which course ``--activity KEY`` means: a key of the qualification curriculum (``kickoff-teilnahme``) is the
cohort course; a key of the regional cycle (``ws1-teilnahme``) needs ``--network`` (slug or full name):
every network runs its own workshop, so one sheet is one network's.

A participant's own tick on an in-person activity (a completion without ``overrideby``) is stored by
``sync`` as ``source = 'self'`` and never counts as attendance.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mintqo_lms.keys import require_cohort
from mintqo_lms.moodle import Moodle
from mintqo_lms.moodle.errors import MintqoError, MoodleRemoteError
from mintqo_lms.roster import (
    RosterError,
    RosterProblem,
    SheetError,
    map_header,
    read_rows,
    slugify,
    split_header,
)
from mintqo_lms.store import Store
from mintqo_lms.templates import Curriculum, load_curriculum, templates_dir

QUALIFICATION_TEMPLATE = "qualification"
REGIONAL_TEMPLATE = "regional_cycle"

_HEADERS: dict[str, tuple[str, ...]] = {
    "email": ("email", "e-mail", "mail"),
    "present": ("present", "anwesend", "teilgenommen", "anwesenheit"),
    # Columns staff keep for themselves; read past, never checked.
    "name": ("name",), "first_name": ("first_name", "vorname"), "last_name": ("last_name", "nachname"),
    "note": ("note", "bemerkung", "hinweis"),
}
_GERMAN_HEADERS = {"email": "E-Mail", "present": "anwesend", "name": "Name", "first_name": "Vorname",
                   "last_name": "Nachname", "note": "Bemerkung"}
_REQUIRED = ("email", "present")

# What staff write into "anwesend"; Excel's own booleans arrive as WAHR/FALSCH. An empty cell on a sheet of
# crosses ("x" for those who came) means: not there.
_YES = frozenset({"ja", "j", "x", "1", "wahr", "true", "yes", "y", "anwesend", "✓", "✔"})
_NO = frozenset({"nein", "n", "0", "falsch", "false", "no", "", "-", "abwesend", "nicht anwesend"})
_EMAIL = re.compile(r"^[^@\s;,<>]+@[^@\s;,<>]+\.[^@\s;,<>]+$")


class AttendanceError(SheetError):
    """The attendance sheet is unusable; every problem is listed with its line and column."""

    sheet = "attendance sheet"


class AttendanceTargetError(MintqoError):
    """``--activity``/``--network`` do not name an in-person activity of a provisioned course."""


@dataclass(frozen=True)
class Target:
    """The activity a sheet is about: one course module of one course."""

    cohort: str
    course_idnumber: str
    activity_key: str
    cmid: int
    label: str  # "Kick-off-Workshop (cohort course)" etc. for messages


@dataclass
class SheetRow:
    line: int
    email: str
    present: bool
    person_id: int = 0
    userid: int = 0


@dataclass
class AttendanceResult:
    target: Target
    rows: int = 0
    changed: list[str] = field(default_factory=list)      # e-mails whose recorded attendance changed
    unchanged: int = 0
    moodle_changed: int = 0                               # completions Moodle actually rewrote
    calls: int = 0

    def summary(self) -> str:
        present = "present/absent"
        if not self.changed:
            return (f"{self.target.label}: {self.rows} row(s), nothing changed "
                    f"(the store and Moodle already have this sheet's attendance; {self.calls} web-service calls)")
        return (f"{self.target.label}: recorded {len(self.changed)} {present} change(s), {self.unchanged} unchanged; "
                f"Moodle completion set for {self.moodle_changed} ({self.calls} web-service call(s))")


def in_person_keys(curriculum: Curriculum) -> list[str]:
    return [a.key for _, a in curriculum.activities() if a.in_person]


def in_person_idnumbers(templates_root: str | os.PathLike[str] | None = None) -> set[str]:
    """Activity idnumbers (``mintqo:regional_cycle:ws1-teilnahme``) of every in-person activity."""
    out = set()
    for name in (QUALIFICATION_TEMPLATE, REGIONAL_TEMPLATE):
        loaded = load_curriculum(name, templates_root)
        out.update(f"mintqo:{loaded.key}:{key}" for key in in_person_keys(loaded))
    return out


def resolve_target(store: Store, cohort: str, activity_key: str, network: str | None = None,
                   templates_root: str | os.PathLike[str] | None = None) -> Target:
    """The provisioned course module ``activity_key`` names in ``cohort`` (see the module doc for the rule)."""
    require_cohort(store, cohort)
    template, in_person = _curriculum_of(store, activity_key, network, templates_root)
    if template == QUALIFICATION_TEMPLATE:
        if network:
            raise AttendanceTargetError(f"--activity {activity_key} is an activity of the cohort course; "
                                        "leave out --network")
        course = _first(store, "SELECT idnumber FROM courses WHERE cohort = ? AND kind = 'cohort'", [cohort])
        label = f"{activity_key} (cohort course {cohort})"
    else:
        if not network:
            raise AttendanceTargetError(f"--activity {activity_key} is held in every regional course; name the "
                                        "network with --network (slug or full name)")
        chosen = _network(store, cohort, network)
        course = _first(store, "SELECT idnumber FROM courses WHERE cohort = ? AND kind = 'regional' AND "
                        "network_slug = ?", [cohort, chosen["slug"]])
        label = f"{activity_key} ({chosen['name']})"
    if course is None:
        raise AttendanceTargetError(f"the course of {label} is not in Moodle yet; run "
                                    f"'mintqo-lms provision --cohort {cohort}' first")
    activity = _first(store, "SELECT cmid FROM activities WHERE course_idnumber = ? AND idnumber = ?",
                      [course["idnumber"], f"mintqo:{in_person.curriculum}:{activity_key}"])
    if activity is None or not activity["cmid"]:
        raise AttendanceTargetError(f"{label} has no activity in Moodle yet; run "
                                    f"'mintqo-lms provision --cohort {cohort}' first")
    return Target(cohort, course["idnumber"], activity_key, int(activity["cmid"]), label)


@dataclass(frozen=True)
class InPerson:
    curriculum: str          # the curriculum's key, as in activity idnumbers (mintqo:<curriculum>:<activity>)
    keys: tuple[str, ...]    # its in-person activities


def _curriculum_of(store: Store, activity_key: str, network: str | None,
                   templates_root: str | os.PathLike[str] | None) -> tuple[str, InPerson]:
    """The template and in-person activities of the curriculum holding ``activity_key``. The likely one is
    looked at first (with ``--network`` the regional cycle), the other only when the key is not there."""
    order = (REGIONAL_TEMPLATE, QUALIFICATION_TEMPLATE) if network else (QUALIFICATION_TEMPLATE, REGIONAL_TEMPLATE)
    keys: set[str] = set()
    root = templates_dir(templates_root)   # located once: finding it resolves paths on disk
    for template in order:
        found = _in_person(store, template, root)
        if activity_key in found.keys:
            return template, found
        keys.update(found.keys)
    raise AttendanceTargetError(f"'{activity_key}' is not an in-person activity of the curricula "
                                f"(in-person activities: {', '.join(sorted(keys))})")


# What a sheet needs of a curriculum is kept in the store under the digest of the curriculum file, so a sheet
# needs no YAML parsing and validation while the file is unchanged; any edit changes the digest and the file
# is loaded and checked again. The version changes when what is kept (or how it is derived) changes.
_IN_PERSON_VERSION = b"in-person/1"


def _in_person(store: Store, template: str, root: Path) -> InPerson:
    """The template's curriculum key and in-person activities: kept ones while the file is unchanged."""
    stream = f"attendance:in-person:{template}"
    try:
        raw = (root / "curriculum" / f"{template}.yaml").read_bytes()
    except OSError:
        raw = None   # load_curriculum names the problem
    digest = hashlib.sha256(_IN_PERSON_VERSION + b"\0" + raw).hexdigest() if raw is not None else None
    kept = json.loads(store.get_cursor(stream, "{}"))
    if digest is not None and kept.get("digest") == digest:
        return InPerson(kept["curriculum"], tuple(kept["keys"]))
    curriculum = load_curriculum(template, root)
    found = InPerson(curriculum.key, tuple(in_person_keys(curriculum)))
    if digest is not None:
        with store.transaction():
            store.set_cursor(stream, json.dumps({"digest": digest, "curriculum": found.curriculum,
                                                 "keys": list(found.keys)}))
    return found


def _network(store: Store, cohort: str, network: str) -> dict[str, Any]:
    """The cohort's network named by slug, by a name that slugifies to it, or by its full name (all networks
    are read only to list them when none matches)."""
    match = _first(store, "SELECT slug, name FROM networks WHERE cohort = ? AND slug IN (?, ?) UNION ALL "
                   "SELECT slug, name FROM networks WHERE cohort = ? AND name = ?",
                   [cohort, network, slugify(network), cohort, network])
    if match is None:
        known = ", ".join(sorted(n["name"] for n in store.db.query("SELECT name FROM networks WHERE cohort = ?",
                                                                   [cohort])))
        raise AttendanceTargetError(f"unknown network '{network}' in cohort {cohort} (networks: {known})")
    return match


def _first(store: Store, sql: str, params: list[Any]) -> dict[str, Any] | None:
    return next(store.rows(sql, params), None)


def parse_sheet(path: str | os.PathLike[str]) -> tuple[str, list[SheetRow], list[RosterProblem], str]:
    """(name shown in messages, rows, problems, unit). Checks the sheet itself: header, e-mail, value,
    a person twice with different values."""
    file = Path(path)
    try:
        shown, unit, records = read_rows(file)
    except RosterError as exc:
        raise AttendanceError(exc.problems) from None
    problems: list[RosterProblem] = []

    def problem(line: int | None, column: str | None, message: str) -> None:
        problems.append(RosterProblem(file=shown, line=line, column=column, message=message, unit=unit))

    header, header_line, records = split_header(records, shown, unit, AttendanceError)
    columns = map_header(header, header_line, problem, _HEADERS, _GERMAN_HEADERS, _REQUIRED,
                         {name: aliases[0] for name, aliases in _HEADERS.items()})
    if problems:
        raise AttendanceError(problems)
    shown_column = {name: header[index].strip() for name, index in columns.items()}
    rows: list[SheetRow] = []
    seen: dict[str, SheetRow] = {}
    for line, cells in records:
        def cell(name: str) -> str:
            index = columns[name]
            return cells[index].strip() if index < len(cells) else ""

        email = cell("email").lower()
        value = cell("present")
        ok = True
        if not email:
            problem(line, shown_column["email"], "is empty")
            ok = False
        elif not _EMAIL.match(email):
            problem(line, shown_column["email"], f"'{email}' is not an e-mail address")
            ok = False
        normal = value.lower().strip()
        if normal in _YES:
            present = True
        elif normal in _NO:
            present = False
        else:
            problem(line, shown_column["present"],
                    f"'{value}' is not an attendance (write ja/nein, x for present, 1/0)")
            ok = False
            present = False
        if not ok:
            continue
        earlier = seen.get(email)
        if earlier is not None:
            if earlier.present != present:
                problem(line, shown_column["email"], f"{email} is listed twice with different attendance "
                                                     f"({unit} {earlier.line} and {line})")
            continue
        row = SheetRow(line, email, present)
        seen[email] = row
        rows.append(row)
    if not records:
        problem(header_line, None, "the sheet has no rows, only a header")
    return shown, rows, problems, unit


def check_people(store: Store, target: Target, rows: list[SheetRow], shown: str, unit: str,
                 problems: list[RosterProblem]) -> None:
    """Each e-mail must be a participant of the target's course with a Moodle account."""
    people = _sheet_people(store, target.course_idnumber, [row.email for row in rows])
    for row in rows:
        person = people.get(row.email)
        where = dict(file=shown, line=row.line, column="E-Mail", unit=unit)
        if person is None:
            problems.append(RosterProblem(**where, message=f"{row.email} is not in the roster of cohort "
                                                           f"{target.cohort}"))
            continue
        if not person["enrolled"]:
            problems.append(RosterProblem(**where, message=f"{row.email} is not a participant of the course of "
                                                           f"{target.label}"))
            continue
        if not person["moodle_user_id"]:
            problems.append(RosterProblem(**where, message=f"{row.email} has no Moodle account yet; run "
                                                           f"'mintqo-lms provision --cohort {target.cohort}'"))
            continue
        row.person_id, row.userid = int(person["id"]), int(person["moodle_user_id"])


def _sheet_people(store: Store, course_idnumber: str, emails: list[str]) -> dict[str, dict[str, Any]]:
    """The sheet's people by e-mail (stored lower-case, as the sheet's are read) and whether each is a student
    of the course: indexed look-ups of just these people, so a sheet costs the same in any size of cohort."""
    return {row["email"]: row for row in store.query_in(
        "SELECT p.id, p.email, p.moodle_user_id, EXISTS (SELECT 1 FROM enrolments e WHERE e.course_idnumber = ? "
        "AND e.person_id = p.id AND e.role = 'student') AS enrolled FROM people p WHERE p.email IN ({})",
        emails, [course_idnumber])}


def import_attendance(moodle: Moodle | None, store: Store, path: str | os.PathLike[str], cohort: str,
                      activity_key: str, *, network: str | None = None, recorded_by: str | None = None,
                      templates_root: str | os.PathLike[str] | None = None,
                      moodle_factory=None) -> AttendanceResult:
    """Check the sheet, push what differs to Moodle (one batch), record it. Raises :class:`AttendanceError`
    (every problem, nothing applied) or :class:`AttendanceTargetError`.

    ``moodle_factory`` (instead of ``moodle``) is called only when there is something to send, so an
    unchanged sheet needs no token at all."""
    target = resolve_target(store, cohort, activity_key, network, templates_root)
    shown, rows, problems, unit = parse_sheet(path)
    check_people(store, target, rows, shown, unit, problems)
    if problems:
        problems.sort(key=lambda p: p.line or 0)
        raise AttendanceError(problems)
    result = AttendanceResult(target=target, rows=len(rows))
    recorded = {r["person_id"]: r for r in store.rows(
        "SELECT person_id, present, source, pushed_at FROM attendance WHERE cohort = ? AND course_idnumber = ? "
        "AND activity_key = ?", [cohort, target.course_idnumber, activity_key])}
    todo = [row for row in rows if _differs(recorded.get(row.person_id), row.present)]
    result.unchanged = len(rows) - len(todo)
    if not todo:
        return result
    if moodle is None:
        moodle = moodle_factory()
    stats = moodle.client.stats
    snapshot = stats.as_dict()
    run_id = store.start_run("attendance", cohort)
    try:
        # Moodle first, then the store: set_completions is idempotent, so a run that dies in between sends the
        # same entries again next time (Moodle answers "unchanged") and records them then.
        try:
            answers = moodle.plugin.set_completions(target.cmid, [{"userid": r.userid, "completed": r.present}
                                                                  for r in todo])
        except MoodleRemoteError as exc:
            named = [r.email for r in todo if re.search(rf"\b{r.userid}\b", exc.moodle_message)]
            if not named:
                raise
            raise AttendanceTargetError(
                f"Moodle refused the attendance of {', '.join(named)} ({exc.errorcode}: {exc.moodle_message}); "
                "are they still enrolled in the course? Nothing of this sheet was recorded") from exc
        states = {a.userid: a.state for a in answers}
        result.moodle_changed = sum(1 for a in answers if a.changed)
        now = int(time.time())
        who = recorded_by or _operator()
        calls = stats.delta(snapshot)
        # The sheet's records and the end of the run in one commit: one write to disk per sheet less.
        with store.transaction():
            store.upsert_rows("attendance", _ATTENDANCE_KEY, _ATTENDANCE_COLUMNS, [
                (cohort, target.course_idnumber, activity_key, r.person_id, target.cmid, int(r.present), "staff", who,
                 now, shown, r.line, now, states.get(r.userid)) for r in todo])
            store.finish_run(run_id, status="ok", calls=calls, summary={
                "activity": activity_key, "course": target.course_idnumber, "rows": len(rows), "records": len(todo),
                "moodle_changed": result.moodle_changed})
    except BaseException as exc:
        store.finish_run(run_id, status="failed", calls=stats.delta(snapshot), error=str(exc) or exc.__class__.__name__,
                         summary={"activity": activity_key, "course": target.course_idnumber, "rows": len(rows)})
        raise
    result.calls = int(sum(c["calls"] for c in calls.values()))
    result.changed = [r.email for r in todo]
    return result


def _differs(recorded: dict | None, present: bool) -> bool:
    """Something to do: nothing recorded by staff yet, another value, or not confirmed by Moodle."""
    return (recorded is None or recorded["source"] != "staff" or bool(recorded["present"]) != present
            or not recorded["pushed_at"])


def _operator() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


# -- what sync sees --------------------------------------------------------------------------------

def record_moodle_ticks(store: Store, cohort: str, completions: list, in_person_cmids: dict[int, tuple[str, str]],
                        people_by_userid: dict[int, int]) -> int:
    """Store what Moodle says about in-person activities (called by ``sync`` inside its transaction).

    A completion without ``overrideby`` is the participant's own tick: stored as ``source = 'self'`` (it never
    counts as attendance), unless staff recorded that person already. A completion overridden by someone in
    Moodle (the coordinator in the course's UI) is staff's record: stored as ``source = 'staff'``, recorded by
    ``moodle:<userid>``, unless it is what our own import pushed (same state already recorded)."""
    ticks = [(row, in_person_cmids[row.cmid], people_by_userid[row.userid]) for row in completions
             if row.cmid in in_person_cmids and row.userid in people_by_userid]
    known = _attendance_of(store, cohort, sorted({person_id for _, _, person_id in ticks}))
    states: list[tuple[Any, ...]] = []
    records: list[tuple[Any, ...]] = []
    for row, (course_idnumber, key), person_id in ticks:
        pk = (cohort, course_idnumber, key, person_id)
        existing = known.get(pk)
        complete = row.state in (1, 2)
        if row.overrideby:
            if existing is not None and existing["source"] == "staff" and bool(existing["present"]) == complete:
                if existing["moodle_state"] != row.state:
                    states.append((row.state, *pk))
                    existing["moodle_state"] = row.state
                continue
            record = {"present": int(complete), "source": "staff", "recorded_by": f"moodle:{row.overrideby}",
                      "recorded_at": row.timemodified, "sheet": None, "line": None, "pushed_at": row.timemodified,
                      "moodle_state": row.state}
        else:
            if existing is not None and existing["source"] == "staff":
                continue  # staff's record stands; a participant cannot undo it
            if existing is None and not complete:
                continue  # nothing ticked, nothing to say
            record = {"present": int(complete), "source": "self", "recorded_by": f"moodle:{row.userid}",
                      "recorded_at": row.timemodified, "sheet": None, "line": None, "pushed_at": None,
                      "moodle_state": row.state}
        known[pk] = {"cmid": row.cmid, **record}
        records.append((*pk, row.cmid, *record.values()))
    # One prepared statement each for the page (the rows of a page name each person and activity once).
    store.db.conn.executemany("UPDATE attendance SET moodle_state = ? WHERE cohort = ? AND course_idnumber = ? "
                              "AND activity_key = ? AND person_id = ?", states)
    store.upsert_rows("attendance", _ATTENDANCE_KEY, _ATTENDANCE_COLUMNS, records)
    return len(records)


_ATTENDANCE_KEY = ("cohort", "course_idnumber", "activity_key", "person_id")
_ATTENDANCE_COLUMNS = (*_ATTENDANCE_KEY, "cmid", "present", "source", "recorded_by", "recorded_at", "sheet", "line",
                       "pushed_at", "moodle_state")


def _attendance_of(store: Store, cohort: str, person_ids: list[int]) -> dict[tuple[Any, ...], dict[str, Any]]:
    """The cohort's attendance rows of these people, by primary key."""
    return {(row["cohort"], row["course_idnumber"], row["activity_key"], row["person_id"]): row
            for row in store.query_in("SELECT * FROM attendance WHERE cohort = ? AND person_id IN ({})",
                                      person_ids, [cohort])}


__all__ = ["AttendanceError", "AttendanceResult", "AttendanceTargetError", "Target", "import_attendance",
           "in_person_idnumbers", "parse_sheet", "record_moodle_ticks", "resolve_target"]
