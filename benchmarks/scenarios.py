"""The scenarios: each calls the library function an operator's command calls, once.

``ours`` are mintqo-lms; ``per_person`` the same job done the per-person way (:mod:`benchmarks.per_person`),
or ``None`` where core web services cannot do the job at all. A scenario whose module is not in this checkout
raises :class:`NotAvailable`; the run records ``"status": "not available"`` with the reason.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mintqo_lms.config import Config
from mintqo_lms.moodle import Moodle, MoodleClient
from mintqo_lms.store import Store

from benchmarks import per_person

INSTRUMENT_V2 = "selfanalysis/v2"


class NotAvailable(Exception):
    """The scenario's module or function is not in this checkout (yet)."""


@dataclass
class Context:
    """What a scenario gets: the site, the store (ours), the roster and the cohorts."""

    moodle: Moodle
    store: Store | None
    cohort: str
    roster: Path
    workdir: Path
    per_person_client: MoodleClient | None = None
    per_person_cohort: str = ""
    data: Any = None


def _module(name: str) -> Any:
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name == name:
            raise NotAvailable(f"{name} is not in this checkout yet") from None
        raise


def _function(module: Any, *names: str) -> Callable[..., Any]:
    for name in names:
        if callable(getattr(module, name, None)):
            return getattr(module, name)
    raise NotAvailable(f"{module.__name__} has none of {', '.join(names)} yet")


def _counts(result: Any) -> dict[str, Any]:
    """A library result as a few numbers for the JSON (whatever shape the result has)."""
    if result is None:
        return {}
    for attribute in ("counts", "as_dict", "summary"):
        method = getattr(result, attribute, None)
        if callable(method):
            value = method()
            return value if isinstance(value, dict) else {"summary": str(value)}
    if isinstance(result, dict):
        return {k: v for k, v in result.items() if isinstance(v, (int, float, str))}
    return {"summary": str(result)}


# -- ours -------------------------------------------------------------------------------------------


def provision(ctx: Context) -> dict[str, Any]:
    from mintqo_lms.provision import provision as run

    result = run(ctx.moodle, ctx.store, Config(), ctx.cohort)
    return {"applied": {k: dict(v) if hasattr(v, "items") else v for k, v in result.applied.items()},
            "summary": result.summary()}


def publish(ctx: Context) -> dict[str, Any]:
    from mintqo_lms.publish import publish as run

    result = run(ctx.moodle, ctx.store, Config(), ctx.cohort, INSTRUMENT_V2)
    return {"summary": result.summary()}


def sync(ctx: Context) -> dict[str, Any]:
    from mintqo_lms.sync import sync_cohort

    return _counts(sync_cohort(ctx.moodle, ctx.store, ctx.cohort))


ATTENDANCE_DIR = "attendance"


def attendance_sheets(ctx: Context) -> list[dict[str, Any]]:
    """Write the sheets staff would keep after every in-person workshop of the cohort (before the timer): the
    cohort course's workshops with every coordinator, each network's workshops with its initiatives'
    members; nine in ten present. A manifest lets the per-person way read the same sheets."""
    from mintqo_lms.attendance import QUALIFICATION_TEMPLATE, REGIONAL_TEMPLATE, in_person_keys
    from mintqo_lms.exports import write_table
    from mintqo_lms.templates import load_curriculum

    assert ctx.store is not None
    folder = ctx.workdir / ATTENDANCE_DIR
    folder.mkdir(exist_ok=True)
    db, sheets = ctx.store.db, []
    people = list(db.query(
        "SELECT p.email, p.moodle_user_id, m.role, m.network_slug FROM memberships m JOIN people p ON p.id = m.person_id "
        "WHERE m.cohort = ? AND m.active = 1 ORDER BY p.id", [ctx.cohort]))
    courses = {row["idnumber"]: row for row in db["courses"].rows_where("cohort = ?", [ctx.cohort])}
    cmids = {(row["course_idnumber"], row["idnumber"]): row["cmid"] for row in db["activities"].rows}

    def sheet(name: str, key: str, curriculum: str, course: str, network: str | None, emails: list[tuple[str, int]]):
        rows = [[email, "" if index % 10 == 9 else "x"] for index, (email, _) in enumerate(emails)]
        path = write_table(folder / f"{name}.csv", ["E-Mail", "anwesend"], rows, sheet="Anwesenheit")[0]
        sheets.append({"path": str(path), "activity": key, "network": network, "course_idnumber": course,
                       "cmid": cmids.get((course, f"mintqo:{curriculum}:{key}")),
                       "present": [userid for index, (_, userid) in enumerate(emails) if index % 10 != 9]})

    cohort_course = next(i for i, c in courses.items() if c["kind"] == "cohort")
    coordinators = [(p["email"], p["moodle_user_id"]) for p in people if p["role"] == "coordinator"]
    for key in in_person_keys(load_curriculum(QUALIFICATION_TEMPLATE)):
        sheet(key, key, QUALIFICATION_TEMPLATE, cohort_course, None, coordinators)
    regional_keys = in_person_keys(load_curriculum(REGIONAL_TEMPLATE))
    for idnumber, course in sorted(courses.items()):
        if course["kind"] != "regional":
            continue
        members = [(p["email"], p["moodle_user_id"]) for p in people
                   if p["role"] == "initiative" and p["network_slug"] == course["network_slug"]]
        for key in regional_keys:
            sheet(f"{course['network_slug']}-{key}", key, REGIONAL_TEMPLATE, idnumber, course["network_slug"], members)
    (folder / "manifest.json").write_text(json.dumps(sheets), encoding="utf-8")
    return sheets


def attendance_import(ctx: Context) -> dict[str, Any]:
    """``attendance import`` of every sheet (one run per sheet, as staff would)."""
    module = _module("mintqo_lms.attendance")
    run = _function(module, "import_attendance")
    totals: dict[str, int] = {"sheets": 0, "rows": 0, "changed": 0}
    for sheet in ctx.data:
        result = run(ctx.moodle, ctx.store, sheet["path"], ctx.cohort, sheet["activity"], network=sheet["network"],
                     recorded_by="benchmark")
        totals["sheets"] += 1
        totals["rows"] += result.rows
        totals["changed"] += len(result.changed)
    return totals


def certificates_issue(ctx: Context) -> dict[str, Any]:
    """``certificates issue``: PDFs for every eligible coordinator, published to Moodle, one message each."""
    module = _module("mintqo_lms.certificates")
    run = _function(module, "issue_certificates")
    result = run(ctx.store, ctx.cohort, site_url=ctx.moodle.client.url, moodle=ctx.moodle)
    counts: dict[str, Any] = {name: len(getattr(result, name)) for name in ("issued", "already", "incomplete",
                                                                          "messages_sent")
                              if isinstance(getattr(result, name, None), (list, dict, set))}
    if isinstance(getattr(result, "render_s", None), float):
        counts["render_s"] = round(result.render_s, 3)   # drawing the PDFs: local work, shown apart
    return counts


def report(ctx: Context) -> dict[str, Any]:
    """``report``: the dashboard (HTML and .xlsx) from the store; no call to Moodle."""
    module = _module("mintqo_lms.reports")
    run = _function(module, "write_report")
    result = run(ctx.store, ctx.cohort, ctx.workdir / "report")
    return {"files": [Path(f).name for f in getattr(result, "files", [])]}


# -- the per-person way -----------------------------------------------------------------------------


def pp_provision(ctx: Context) -> dict[str, Any]:
    assert ctx.per_person_client is not None
    return per_person.provision_per_person(ctx.per_person_client, ctx.roster, ctx.per_person_cohort)


def pp_read(ctx: Context) -> dict[str, Any]:
    assert ctx.per_person_client is not None
    return per_person.read_per_person(ctx.per_person_client, ctx.cohort)


def pp_attendance(ctx: Context) -> dict[str, Any]:
    assert ctx.per_person_client is not None
    sheets = json.loads((ctx.workdir / ATTENDANCE_DIR / "manifest.json").read_text(encoding="utf-8"))
    return per_person.attendance_per_person(ctx.per_person_client, sheets)


def pp_certificates(ctx: Context) -> dict[str, Any]:
    assert ctx.per_person_client is not None
    return per_person.certificates_per_person(ctx.per_person_client, ctx.cohort)


@dataclass(frozen=True)
class Scenario:
    name: str
    ours: Callable[[Context], dict[str, Any]]
    per_person: Callable[[Context], dict[str, Any]] | None
    per_person_site: str          # "fresh": a site of its own; "same": the site ours just worked on
    note: str = ""
    prepare: Callable[[Context], Any] | None = None   # untimed preparation (ours only); its result is ctx.data
    # the command's module, imported before the clock starts (a command has imported it before it works)
    module: str = ""


SCENARIOS: list[Scenario] = [
    Scenario("provision_first", provision, pp_provision, "fresh",
             "per-person: accounts, enrolments, groups only (core web services cannot create course content)",
             module="mintqo_lms.provision"),
    Scenario("provision_unchanged", provision, pp_provision, "fresh",
             "per-person: the same script again (looks up each account, enrols each person again)",
             module="mintqo_lms.provision"),
    Scenario("publish_new_version", publish, None, "same",
             "per-person: not possible with core web services (no function imports a quiz)",
             module="mintqo_lms.publish"),
    Scenario("sync_full", sync, pp_read, "same",
             "per-person: enrolled users per course, one completion call per person per course, attempts per "
             "person per quiz, one review per attempt",
             module="mintqo_lms.sync"),
    Scenario("sync_unchanged", sync, pp_read, "same", "per-person: no cursor, so the same reads again",
             module="mintqo_lms.sync"),
    Scenario("attendance_import", attendance_import, pp_attendance, "same",
             "every in-person workshop's sheet; per-person: one completion override per person present (user "
             "looked up once by e-mail; the activity's id given to it for free)", attendance_sheets,
             module="mintqo_lms.attendance"),
    Scenario("certificates_issue", certificates_issue, pp_certificates, "same",
             "per-person: one course-completion call per coordinator, one message per completer (no PDFs: core "
             "web services have no place for them)",
             module="mintqo_lms.certificates"),
    Scenario("report", report, pp_read, "same",
             "ours reads the store only; per-person: no store, so everything is read from Moodle again",
             module="mintqo_lms.reports"),
]

BY_NAME = {s.name: s for s in SCENARIOS}
