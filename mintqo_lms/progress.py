"""Progress of a cohort: per coordinator the qualification (required modules, in-person workshops, what is still
missing for the certificate) and the regional workshop cycle (initiatives, workshops held, self-analyses, the
evidence for the regional allowance).

Why a module of its own: the programme office asks these questions every week, the dashboard
(:mod:`mintqo_lms.reports`) shows the same numbers, and both must agree. Everything is read from the store in a few
queries per cohort (never one per person), so it stays fast at 16× the programme.

**Attendance** counts only when staff recorded it: a row of ``attendance`` with ``source = 'staff'`` (``attendance
import``, or the coordinator's override synced from the regional course). A participant's own tick is shown apart
as *self-reported* and never counts. Until an ``attendance`` row exists for a person and workshop, the synced
activity completion stands in for it: completed with ``overrideby`` set (someone else marked it) is recorded by
staff, completed by the person themself is self-reported. A staff row always wins (also a staff "absent").

**Certificate:** what is missing is decided by the qualification template's rule (``certificate.requires``
complete, ``certificate.attendance_required`` attended as recorded by staff) through :func:`missing_for_certificate`
— the same rule ``certificates issue`` applies (see there).

**Regional allowance:** the rule ``allowance`` of the regional curriculum (see ``regional_cycle.yaml``): every listed
workshop held with at least ``min_initiatives_present`` initiatives present (a member's attendance recorded), and at
least ``min_first_analyses`` initiatives with a finished first self-analysis.
"""

from __future__ import annotations

import json
import os
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from mintqo_lms.keys import require_cohort
from mintqo_lms.moodle.errors import MintqoError
from mintqo_lms.store import Store
from mintqo_lms.templates import AllowanceRule, CertificateRule, Curriculum, load_curriculum

__all__ = ["AllowanceStatus", "CoordinatorProgress", "InitiativeCycle", "ProgressError", "RegionalCycle",
           "CohortProgress", "cohort_progress", "missing_for_certificate", "progress_json", "progress_table",
           "overview_header", "overview_rows", "write_progress_xlsx", "write_progress_csv"]

COMPLETE_STATES = (1, 2)  # Moodle: complete, complete-pass (complete-fail does not count, as in course completion)


class ProgressError(MintqoError):
    """Progress cannot be read as asked."""


@dataclass
class Item:
    """One required module or workshop: its key and German name, and its state for one person."""

    key: str
    name: str
    done: bool
    self_reported: bool = False  # workshops only: ticked by the person, not recorded by staff


@dataclass
class InitiativeCycle:
    slug: str
    name: str
    offer: str
    members: int
    workshops: dict[str, bool] = field(default_factory=dict)       # workshop key -> a member's attendance recorded
    self_reported: dict[str, bool] = field(default_factory=dict)   # workshop key -> only self-reported
    first_analysis: bool = False
    followup_analysis: bool = False


@dataclass
class AllowanceStatus:
    name: str
    amount_eur: int
    complete: bool
    checks: list[tuple[str, bool]] = field(default_factory=list)  # German line, fulfilled

    @property
    def missing(self) -> list[str]:
        return [text for text, ok in self.checks if not ok]


@dataclass
class RegionalCycle:
    course_idnumber: str | None
    initiatives: list[InitiativeCycle] = field(default_factory=list)
    workshops: dict[str, str] = field(default_factory=dict)          # key -> German name, in template order
    present: dict[str, int] = field(default_factory=dict)            # key -> initiatives present (staff-recorded)
    first_analyses: int = 0
    followups: int = 0
    allowance: AllowanceStatus | None = None

    def held(self, key: str) -> bool:
        return self.present.get(key, 0) > 0


@dataclass
class CoordinatorProgress:
    person_id: int
    name: str
    email: str
    network_slug: str
    network: str
    region: str
    modules: list[Item] = field(default_factory=list)
    workshops: list[Item] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # German names of what the certificate still needs
    certificate: str = "noch nicht ausgestellt"
    cycle: RegionalCycle = field(default_factory=lambda: RegionalCycle(None))

    @property
    def eligible(self) -> bool:
        return not self.missing


@dataclass
class CohortProgress:
    cohort: str
    generated_at: int
    coordinators: list[CoordinatorProgress]
    modules: list[tuple[str, str]]     # required modules: key, German name (template order)
    workshops: list[tuple[str, str]]   # in-person workshops required for the certificate
    cycle_workshops: list[tuple[str, str]]
    allowance: AllowanceRule | None


def missing_for_certificate(rule: CertificateRule, complete: set[str], attended: set[str]) -> list[str]:
    """The keys the certificate still needs, in the rule's order: required activities not complete, then
    in-person workshops without attendance recorded by staff. Empty: eligible."""
    return [key for key in rule.requires if key not in complete] + \
        [key for key in rule.attendance_required if key not in attended]


def _certificate_rule(store: Store, cohort: str, templates_root: Any) -> dict[int, list[str]]:
    """Per coordinator (person id) the activity keys the certificate still needs, decided by the function
    ``certificates issue`` uses (:func:`mintqo_lms.certificates.eligibility`), so progress and issuing never
    disagree. It names each missing item as ``"<key> (why)"``; the key is what we show."""
    from mintqo_lms.certificates import eligibility

    people, _ = eligibility(store, cohort, templates_root)
    return {person.person_id: [entry.split(" ", 1)[0] for entry in person.missing] for person in people}


def _key(idnumber: str) -> str:
    return idnumber.rsplit(":", 1)[-1]


def _attendance(store: Store, cohort: str, course_idnumbers: list[str], in_person: set[str]
                ) -> dict[tuple[str, str, int], str | None]:
    """``(course idnumber, activity key, person id) -> 'staff' | 'self' | None`` (None: staff recorded absent) for
    the in-person activities of the given courses: ``attendance`` rows, else the synced completion (see above)."""
    wanted = set(course_idnumbers)  # the cohort's courses (one query per table, not one per course)
    result: dict[tuple[str, str, int], str | None] = {}
    for row in store.db.query(
            "SELECT p.id AS person_id, a.course_idnumber, a.idnumber, ac.userid, ac.state, ac.overrideby "
            "FROM courses c JOIN activities a ON a.course_idnumber = c.idnumber "
            "JOIN activity_completion ac ON ac.cmid = a.cmid JOIN people p ON p.moodle_user_id = ac.userid "
            "WHERE c.cohort = ?", [cohort]):
        key = _key(row["idnumber"])
        if row["course_idnumber"] in wanted and key in in_person and row["state"] in COMPLETE_STATES:
            by_other = row["overrideby"] and row["overrideby"] != row["userid"]
            result[(row["course_idnumber"], key, row["person_id"])] = "staff" if by_other else "self"
    staff_rows: set[tuple[str, str, int]] = set()
    for row in store.db.query(
            "SELECT course_idnumber, activity_key, person_id, present, source FROM attendance WHERE cohort = ?",
            [cohort]):
        where = (row["course_idnumber"], row["activity_key"], row["person_id"])
        if row["course_idnumber"] not in wanted:
            continue
        if row["source"] != "self":  # staff's sheet (rows from before sources were recorded count as staff's)
            staff_rows.add(where)
            result[where] = "staff" if row["present"] else None
        elif where not in staff_rows and row["present"] and result.get(where) != "staff":
            result[where] = "self"
    return result


def _certificates(store: Store, cohort: str) -> dict[int, str]:
    out = {}
    for row in store.db.query("SELECT person_id, code, issued_at, revoked_at FROM certificates WHERE cohort = ?",
                              [cohort]):
        if row["revoked_at"]:
            out[row["person_id"]] = f"widerrufen am {_day(row['revoked_at'])}"
        else:
            out[row["person_id"]] = f"ausgestellt am {_day(row['issued_at'])} (Code {row['code']})"
    return out


def _day(unix: int | None) -> str:
    return datetime.fromtimestamp(unix).strftime("%d.%m.%Y") if unix else ""


def cohort_progress(store: Store, cohort: str, *, templates_root: str | os.PathLike[str] | None = None,
                    qualification: Curriculum | None = None, regional: Curriculum | None = None) -> CohortProgress:
    """Every active coordinator of ``cohort`` with their qualification and regional cycle (see the module doc)."""
    require_cohort(store, cohort)
    qualification = qualification or load_curriculum("qualification", templates_root)
    regional = regional or load_curriculum("regional_cycle", templates_root)
    rule = qualification.certificate or CertificateRule()
    names = {a.key: a.name for _, a in qualification.activities()}
    modules = [(key, names[key]) for key in rule.requires]
    workshops = [(key, names[key]) for key in rule.attendance_required]
    regional_names = {a.key: a.name for _, a in regional.activities()}
    allowance = regional.allowance
    cycle_keys = allowance.workshops if allowance else [a.key for _, a in regional.activities() if a.in_person]
    cycle_workshops = [(key, regional_names[key]) for key in cycle_keys]

    db = store.db
    courses = {row["idnumber"]: row for row in db.query(
        "SELECT idnumber, kind, network_slug FROM courses WHERE cohort = ?", [cohort])}
    cohort_course = next((i for i, c in courses.items() if c["kind"] == "cohort"), None)
    regional_course = {c["network_slug"]: i for i, c in courses.items() if c["kind"] == "regional"}

    coordinators = list(db.query(
        "SELECT p.id, p.first_name, p.last_name, p.email, p.moodle_user_id, m.network_slug, n.name AS network, "
        "n.region FROM memberships m JOIN people p ON p.id = m.person_id "
        "LEFT JOIN networks n ON n.cohort = m.cohort AND n.slug = m.network_slug "
        "WHERE m.cohort = ? AND m.role = 'coordinator' AND m.active = 1 "
        "ORDER BY n.name, p.last_name, p.first_name, p.id", [cohort]))

    complete: dict[int, set[str]] = defaultdict(set)
    if cohort_course:
        for row in db.query(
                "SELECT ac.userid, a.idnumber FROM activities a JOIN activity_completion ac ON ac.cmid = a.cmid "
                f"WHERE a.course_idnumber = ? AND ac.state IN ({','.join(map(str, COMPLETE_STATES))})",
                [cohort_course]):
            complete[row["userid"]].add(_key(row["idnumber"]))
    in_person = {a.key for _, a in qualification.activities() if a.in_person} | \
        {a.key for _, a in regional.activities() if a.in_person}
    attendance = _attendance(store, cohort, [c for c in [cohort_course, *regional_course.values()] if c], in_person)
    certificates = _certificates(store, cohort)
    cycles = _regional_cycles(store, cohort, regional_course, cycle_workshops, attendance, allowance)

    missing_by_person = _certificate_rule(store, cohort, templates_root) if cohort_course else {}
    out = []
    for row in coordinators:
        done = complete.get(row["moodle_user_id"], set()) if row["moodle_user_id"] else set()
        marks = {key: attendance.get((cohort_course, key, row["id"])) for key, _ in workshops}
        attended = {key for key, mark in marks.items() if mark == "staff"}
        missing = missing_by_person.get(row["id"])
        if missing is None:  # no qualification course yet (or not in the rule's list): nothing can be complete
            missing = missing_for_certificate(rule, done, attended)
        progress = CoordinatorProgress(
            person_id=row["id"], name=f"{row['first_name']} {row['last_name']}".strip(), email=row["email"],
            network_slug=row["network_slug"] or "", network=row["network"] or row["network_slug"] or "",
            region=row["region"] or "",
            modules=[Item(key, name, key not in missing) for key, name in modules],
            workshops=[Item(key, name, key not in missing, key in missing and marks[key] == "self")
                       for key, name in workshops],
            missing=[names.get(key, key) for key in missing],
            certificate=certificates.get(row["id"], "noch nicht ausgestellt"),
            cycle=cycles.get(row["network_slug"]) or RegionalCycle(None, workshops=dict(cycle_workshops)))
        out.append(progress)
    return CohortProgress(cohort, int(datetime.now().timestamp()), out, modules, workshops, cycle_workshops,
                          allowance)


def _regional_cycles(store: Store, cohort: str, regional_course: dict[str, str],
                     cycle_workshops: list[tuple[str, str]], attendance: dict[tuple[str, str, int], str | None],
                     allowance: AllowanceRule | None) -> dict[str, RegionalCycle]:
    db = store.db
    members: dict[tuple[str, str], list[int]] = defaultdict(list)
    for row in db.query("SELECT person_id, network_slug, initiative_slug FROM memberships WHERE cohort = ? "
                        "AND role = 'initiative' AND active = 1", [cohort]):
        members[(row["network_slug"], row["initiative_slug"])].append(row["person_id"])
    analysed: dict[tuple[str, str], set[str]] = defaultdict(set)
    for row in db.query("SELECT network_slug, initiative_slug, kind FROM analyses WHERE cohort = ? AND current = 1",
                        [cohort]):
        analysed[(row["network_slug"], row["initiative_slug"])].add(row["kind"])
    cycles: dict[str, RegionalCycle] = {}
    for row in db.query("SELECT network_slug, slug, name, offer FROM initiatives WHERE cohort = ? "
                        "ORDER BY network_slug, name, slug", [cohort]):
        network, slug = row["network_slug"], row["slug"]
        people = members.get((network, slug), [])
        if not people:
            continue  # nobody of it on the roster now: not taking part
        course = regional_course.get(network)
        cycle = cycles.setdefault(network, RegionalCycle(course, workshops=dict(cycle_workshops)))
        item = InitiativeCycle(slug, row["name"], row["offer"] or "", len(people),
                               first_analysis="first" in analysed.get((network, slug), set()),
                               followup_analysis="followup" in analysed.get((network, slug), set()))
        for key, _ in cycle_workshops:
            marks = [attendance.get((course or "", key, person)) for person in people]
            item.workshops[key] = "staff" in marks
            item.self_reported[key] = "self" in marks and "staff" not in marks
        cycle.initiatives.append(item)
    for cycle in cycles.values():
        cycle.present = {key: sum(1 for i in cycle.initiatives if i.workshops[key]) for key, _ in cycle_workshops}
        cycle.first_analyses = sum(1 for i in cycle.initiatives if i.first_analysis)
        cycle.followups = sum(1 for i in cycle.initiatives if i.followup_analysis)
        if allowance:
            cycle.allowance = allowance_status(allowance, cycle)
    return cycles


def allowance_status(rule: AllowanceRule, cycle: RegionalCycle) -> AllowanceStatus:
    """The regional allowance's evidence for one cycle, check by check in German."""
    need = rule.min_initiatives_present
    checks = [(f"{cycle.workshops.get(key, key).removeprefix('Teilnahme an ')}: "
               f"{_initiatives(cycle.present.get(key, 0))} als anwesend eingetragen (nötig: mindestens {need})",
               cycle.present.get(key, 0) >= need) for key in rule.workshops]
    if rule.min_first_analyses:
        checks.append((f"Erste Selbstanalyse von {_initiatives(cycle.first_analyses)} abgeschlossen (nötig: "
                       f"mindestens {rule.min_first_analyses})", cycle.first_analyses >= rule.min_first_analyses))
    return AllowanceStatus(rule.name, rule.amount_eur, all(ok for _, ok in checks), checks)


def _initiatives(count: int) -> str:
    return f"{count} Initiative" if count == 1 else f"{count} Initiativen"


# -- output -----------------------------------------------------------------------------------------------

def _yes(value: bool) -> str:
    return "ja" if value else "nein"


def overview_header(progress: CohortProgress) -> list[str]:
    return ["Netzwerk", "Region", "Koordination", "E-Mail",
            "Pflichtmodule abgeschlossen", "Offene Pflichtmodule",
            "Präsenzworkshops (von der Geschäftsstelle eingetragen)", "Nur selbst gemeldet (zählt nicht)",
            "Fehlt für das Zertifikat", "Zertifikat möglich", "Zertifikat",
            "Initiativen", *[f"{name.removeprefix('Teilnahme an ')}: Initiativen anwesend"
                             for _, name in progress.cycle_workshops],
            "Erstanalysen", "Folgeanalysen", "Nachweise Regionalpauschale vollständig", "Fehlende Nachweise"]


def overview_rows(progress: CohortProgress) -> list[list[Any]]:
    """One row per coordinator (the CSV and the first sheet of the workbook)."""
    rows = []
    for c in progress.coordinators:
        cycle = c.cycle
        rows.append([
            c.network, c.region, c.name, c.email,
            f"{sum(m.done for m in c.modules)} von {len(c.modules)}",
            ", ".join(m.name for m in c.modules if not m.done),
            ", ".join(w.name for w in c.workshops if w.done),
            ", ".join(w.name for w in c.workshops if w.self_reported),
            ", ".join(c.missing), _yes(c.eligible), c.certificate,
            len(cycle.initiatives), *[cycle.present.get(key, 0) for key, _ in progress.cycle_workshops],
            cycle.first_analyses, cycle.followups,
            _yes(bool(cycle.allowance and cycle.allowance.complete)) if cycle.allowance else "",
            "; ".join(cycle.allowance.missing) if cycle.allowance else "",
        ])
    return rows


def region_sheet(progress: CohortProgress, c: CoordinatorProgress
                 ) -> tuple[list[list[Any]], list[str], list[list[Any]]]:
    """The sheet staff file for one regional cycle: a title block, then one row per initiative."""
    cycle = c.cycle
    title: list[list[Any]] = [
        [f"Nachweis Regionaler Workshop-Zyklus – Durchgang {progress.cohort}"],
        ["Netzwerk", c.network], ["Region", c.region], ["Koordination", f"{c.name} ({c.email})"],
        ["Stand", datetime.fromtimestamp(progress.generated_at).strftime("%d.%m.%Y %H:%M")],
        ["Teilnehmende Initiativen", len(cycle.initiatives)],
        ["Erstanalysen / Folgeanalysen", f"{cycle.first_analyses} / {cycle.followups}"],
    ]
    if cycle.allowance:
        a = cycle.allowance
        title.append([f"{a.name} ({a.amount_eur:,} €)".replace(",", "."),
                      "Nachweise vollständig" if a.complete else "Nachweise unvollständig"])
        title += [["", f"{'erfüllt' if ok else 'fehlt'}: {text}"] for text, ok in a.checks]
    title.append([])
    header = ["Initiative", "Angebot", "Mitglieder",
              *[name.removeprefix("Teilnahme an ") for _, name in progress.cycle_workshops],
              "Erste Selbstanalyse", "Zweite Selbstanalyse"]
    rows: list[list[Any]] = []
    for i in cycle.initiatives:
        rows.append([i.name, i.offer, i.members,
                     *[("anwesend" if i.workshops[key] else "nur selbst gemeldet" if i.self_reported[key] else "—")
                       for key, _ in progress.cycle_workshops],
                     _yes(i.first_analysis), _yes(i.followup_analysis)])
    return title, header, rows


def write_progress_csv(progress: CohortProgress, path: str | os.PathLike[str]) -> list[Path]:
    """``FILE.csv`` (one row per coordinator, German Excel) without an XLSX beside it."""
    from mintqo_lms.exports import write_table

    return write_table(path, overview_header(progress), overview_rows(progress), xlsx=False)


def write_progress_xlsx(progress: CohortProgress, path: str | os.PathLike[str]) -> Path:
    """A workbook: the overview (one row per coordinator), then one sheet per regional cycle to file."""
    from mintqo_lms.exports import Sheet, write_workbook

    sheets = [Sheet("Übersicht", overview_header(progress), overview_rows(progress))]
    for c in progress.coordinators:
        title, header, rows = region_sheet(progress, c)
        sheets.append(Sheet(c.network or c.name, header, rows, title=title))
    return write_workbook(Path(path).with_suffix(".xlsx"), sheets)


def progress_json(progress: CohortProgress) -> dict[str, Any]:
    """Everything as plain data (``--format json``)."""
    data = asdict(progress)
    data["allowance"] = progress.allowance.model_dump() if progress.allowance else None
    for item, c in zip(data["coordinators"], progress.coordinators):
        item["eligible"] = c.eligible
        if c.cycle.allowance:
            item["cycle"]["allowance"]["checks"] = [{"text": t, "ok": ok} for t, ok in c.cycle.allowance.checks]
    data["generated_at"] = datetime.fromtimestamp(progress.generated_at).isoformat(timespec="seconds")
    return json.loads(json.dumps(data, ensure_ascii=False))


def progress_table(progress: CohortProgress) -> str:
    """The terminal view: per coordinator the qualification and the regional cycle."""
    lines = [f"Progress of cohort {progress.cohort} ({len(progress.coordinators)} coordinators), "
             f"{date.fromtimestamp(progress.generated_at).isoformat()}"]
    for c in progress.coordinators:
        lines += ["", f"{c.name} <{c.email}> — {c.network}" + (f" ({c.region})" if c.region else "")]
        lines.append(f"  required modules: {sum(m.done for m in c.modules)}/{len(c.modules)} complete"
                     + "".join(f"\n    [{'x' if m.done else ' '}] {m.name}" for m in c.modules))
        for w in c.workshops:
            mark = "x" if w.done else "s" if w.self_reported else " "
            lines.append(f"    [{mark}] {w.name}" + (" (self-reported only: does not count)" if w.self_reported
                                                      else ""))
        lines.append("  certificate: " + ("eligible" if c.eligible else "missing " + "; ".join(c.missing))
                     + f" — {c.certificate}")
        cycle = c.cycle
        lines.append(f"  regional cycle: {len(cycle.initiatives)} initiatives; "
                     + ", ".join(f"{name.removeprefix('Teilnahme an ')} {cycle.present.get(key, 0)} present"
                                 for key, name in progress.cycle_workshops)
                     + f"; first analyses {cycle.first_analyses}, follow-ups {cycle.followups}")
        if cycle.allowance:
            a = cycle.allowance
            lines.append(f"  allowance evidence: {'complete' if a.complete else 'incomplete'}"
                         + "".join(f"\n    missing: {m}" for m in a.missing))
    return "\n".join(lines)
