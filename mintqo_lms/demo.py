"""``mintqo-lms demo``: the whole job on the bundled sandbox Moodle, with no real site needed.

It starts the sandbox, imports the sample roster, provisions the cohort from ``lms_templates/``, lets the
simulated coordinators and initiatives work (qualification activities, attendance recorded by staff,
self-analyses), syncs everything back into a fresh store and writes what it produced into an output
folder. Each step uses the same library code as the real commands; only the people are simulated.
"""

from __future__ import annotations

import json
import random
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from mintqo_lms.config import Config
from mintqo_lms.exports import ANSWER_HEADER, COURSE_HEADER, answer_rows, course_rows, write_table
from mintqo_lms.instrument import question_idnumber
from mintqo_lms.locking import store_lock
from mintqo_lms.moodle import Moodle, MoodleClient
from mintqo_lms.moodle.errors import MintqoError
from mintqo_lms.profile import PROFILE_HEADER, profile, profile_rows, profile_table
from mintqo_lms.programme import import_roster
from mintqo_lms.provision import ProvisionResult, provision
from mintqo_lms.samples import write_synthetic_roster
from mintqo_lms.sandbox import Sandbox
from mintqo_lms.store import Store
from mintqo_lms.sync import SyncResult, sync_cohort
from mintqo_lms.templates import load_curriculum, templates_dir
from mintqo_lms.timetable import import_timetable

Echo = Callable[[str], None]

MARKER = ".mintqo-demo"
# Everything the demo may write (and so may replace on the next run); nothing else is ever touched.
OUTPUT_NAMES = frozenset({
    MARKER, "mintqo.db", "mintqo.db-wal", "mintqo.db-shm", "mintqo.db-journal", "mintqo.db.lock",
    "courses.csv", "courses.xlsx", "selbstanalyse_antworten.csv", "selbstanalyse_antworten.xlsx",
    "roster.csv", "roster.xlsx", "README.txt", "profile.json", "selbstanalyse_profil.csv", "selbstanalyse_profil.xlsx",
    "dashboard.html", "dashboard.xlsx", "fortschritt.csv", "fortschritt.xlsx", "certificates",
})
OUTPUT_FOLDERS = frozenset({"certificates"})  # folders the demo writes (the certificates' PDFs)


class DemoError(MintqoError):
    """The demo cannot run as asked (e.g. its output folder holds someone else's files)."""


def prepare_out_dir(out: Path) -> None:
    """Make ``out`` the demo's folder: created here, or empty, or holding only an earlier demo's output
    (it carries the marker file). Anything else is refused, so a user's own store or roster is never
    overwritten. The earlier demo's files are removed; nothing else is."""
    if out.exists() and not out.is_dir():
        raise DemoError(f"{out} is a file, not a folder; choose another --out folder")
    if out.is_dir():
        entries = sorted(entry.name for entry in out.iterdir())
        if entries and MARKER not in entries:
            shown = ", ".join(entries[:3]) + (" …" if len(entries) > 3 else "")
            raise DemoError(f"{out} already holds files the demo did not write ({shown}); nothing was changed. "
                            "Choose a new or empty folder with --out")
        foreign = [name for name in entries if name not in OUTPUT_NAMES]
        if foreign:
            shown = ", ".join(foreign[:3]) + (" …" if len(foreign) > 3 else "")
            raise DemoError(f"{out} holds an earlier demo's output and files it did not write ({shown}); nothing "
                            "was changed. Move them away or choose a new folder with --out")
        for name in entries:
            if name in OUTPUT_FOLDERS and (out / name).is_dir():
                shutil.rmtree(out / name)
            elif name != MARKER and name in OUTPUT_NAMES:
                (out / name).unlink()
    out.mkdir(parents=True, exist_ok=True)
    (out / MARKER).write_text("This folder holds the output of 'mintqo-lms demo'; the next demo run with "
                              "--out here replaces it.\n", encoding="utf-8")


@dataclass
class DemoResult:
    out_dir: Path
    provisioned: ProvisionResult
    simulated: dict[str, int]
    synced: SyncResult
    files: list[Path] = field(default_factory=list)


def run_demo(out_dir: str | Path, *, cohort: str = "2025", full_size: bool = False, seed: int = 2025,
             latency: float = 0.0, echo: Echo = print,
             provision_runner: Callable[..., ProvisionResult] | None = None) -> DemoResult:
    """Run the demo into ``out_dir``: a new or empty folder, or one with an earlier demo's output (which is
    replaced). A folder holding anything else is refused with :class:`DemoError`."""
    out = Path(out_dir)
    try:
        prepare_out_dir(out)
    except OSError as exc:
        raise DemoError(f"cannot use {out} for the demo's output: {exc.strerror}; choose another --out folder") from None
    config = Config()
    config.store.path = out / "mintqo.db"
    roster_files: list[Path] = []
    if full_size:
        roster_file = write_synthetic_roster(out / "roster.csv", coordinators=20, initiatives=150,
                                             members_per_initiative=3, buddies=5, staff=2, xlsx=True)
        roster_files = [roster_file, roster_file.with_suffix(".xlsx")]
    else:
        roster_file = templates_dir() / "roster.example.csv"

    with store_lock(config.store.path, "mintqo-lms demo"), Sandbox(latency=latency) as sandbox, \
            Store(config.store.path) as store:
        echo(f"Sandbox Moodle running at {sandbox.url} (a local stand-in; nothing leaves this machine).")
        summary = import_roster(store, roster_file, cohort)
        echo(f"Roster {roster_file.name}: {summary}")
        if not full_size:  # the example timetable has the example roster's networks
            timetable_file = templates_dir() / "timetable.example.csv"
            dates = import_timetable(store, timetable_file, cohort)
            echo(f"Timetable {timetable_file.name}: {dates}" + (
                f" ({len(dates.warnings)} dates outside the cohort's year)" if dates.warnings else ""))
        moodle = Moodle(MoodleClient(sandbox.url, sandbox.token))
        runner = provision_runner or provision
        provisioned = runner(moodle, store, config, cohort)
        simulated = simulate_participants(sandbox, store, cohort, random.Random(seed))
        echo("Simulated: " + ", ".join(f"{n} {what}" for what, n in simulated.items()) + ".")
        _later(sandbox, seconds=5)
        synced = sync_cohort(moodle, store, cohort)
        echo(f"Synced into the store: {synced}.")
        files = [config.store.path, *roster_files,
                 *write_table(out / "courses.csv", COURSE_HEADER, course_rows(store, sandbox.url, cohort),
                              sheet="Kurse"),
                 *write_table(out / "selbstanalyse_antworten.csv", ANSWER_HEADER, answer_rows(store, cohort),
                              sheet="Selbstanalyse-Antworten")]
        data = profile(store, cohort)
        profile_json = out / "profile.json"
        profile_json.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        files += [profile_json, *write_table(out / "selbstanalyse_profil.csv", PROFILE_HEADER,
                                             profile_rows(store, data), sheet="Selbstanalyse-Profil"),
                  _write_readme(out, provisioned, synced)]
        example = _example_initiative(data)
        if example is not None:
            echo("\n" + profile_table(store, {"cohort": cohort, "initiatives": [example]}))
        echo(f"\nThe profile of every initiative (mintqo-lms selfanalysis profile --format json): "
             f"{profile_json.resolve()}")
        files += _certificates(moodle, store, cohort, sandbox.url, echo)
        files += _finish(store, cohort, out, echo)
    return DemoResult(out, provisioned, simulated, synced, files)


def _certificates(moodle: Moodle, store: Store, cohort: str, site_url: str, echo: Echo) -> list[Path]:
    """``mintqo-lms certificates issue``: a certificate for each coordinator who meets the rule (PDFs in
    ``certificates/`` beside the store; the record published to the sandbox's verify page, a message sent)."""
    from mintqo_lms.certificates import certificates_dir, issue_certificates

    result = issue_certificates(store, cohort, site_url=site_url, moodle=moodle)
    folder = certificates_dir(store)
    echo(f"\nCertificates (mintqo-lms certificates issue): {result.summary()} PDFs in {folder.resolve()}")
    return [folder]


def _finish(store: Store, cohort: str, out: Path, echo: Echo) -> list[Path]:
    """The demo's ending: the progress of every coordinator (``mintqo-lms progress``: one row each, and a workbook
    with one sheet per regional cycle to file) and the dashboard (``mintqo-lms report``)."""
    from mintqo_lms.progress import cohort_progress, write_progress_csv, write_progress_xlsx
    from mintqo_lms.reports import write_report

    progress = cohort_progress(store, cohort)
    files = [*write_progress_csv(progress, out / "fortschritt.csv"), write_progress_xlsx(progress, out / "fortschritt")]
    eligible = sum(1 for c in progress.coordinators if c.eligible)
    cycles = [c.cycle.allowance for c in progress.coordinators if c.cycle.allowance]
    echo(f"\nProgress (mintqo-lms progress): {eligible} of {len(progress.coordinators)} coordinators meet the "
         f"certificate's conditions; allowance evidence complete for {sum(1 for a in cycles if a.complete)} of "
         f"{len(cycles)} regional cycles: {files[0].resolve()} and {files[1].name} (one sheet per regional cycle).")
    report = write_report(store, cohort, out)
    echo(f"Dashboard (mintqo-lms report), opens in any browser without network: {report.files[0].resolve()} "
         f"(tables for Excel: {report.files[1].name}).")
    return [*files, *report.files]


def _example_initiative(data: dict) -> dict | None:
    """The initiative the demo shows: the first with a first and a follow-up analysis, else the first with any."""
    analysed = [item for item in data["initiatives"] if item["analyses"]]
    both = [item for item in analysed if len(item["analyses"]) > 1]
    return (both or analysed or [None])[0]


def simulate_participants(sandbox: Sandbox, store: Store, cohort: str, rng: random.Random) -> dict[str, int]:
    """Coordinators work through the qualification course, staff record workshop attendance, and one
    member of each initiative submits the self-analysis (half of them a second one later)."""
    site = sandbox.site
    counts = {"activity completions": 0, "attendance records": 0, "self-analyses": 0}
    qualification = load_curriculum("qualification")
    in_person = {f"mintqo:qualification:{a.key}" for _, a in qualification.activities() if a.in_person}
    cohort_activities = list(store.db.query(
        "SELECT a.idnumber, a.cmid FROM activities a JOIN courses c ON c.idnumber = a.course_idnumber "
        "WHERE c.cohort = ? AND c.kind = 'cohort' ORDER BY a.section, a.cmid", [cohort]))
    completable = {a.key for _, a in qualification.activities() if a.completion != "none"}
    coordinators = list(store.db.query(
        "SELECT p.moodle_user_id FROM memberships m JOIN people p ON p.id = m.person_id "
        "WHERE m.cohort = ? AND m.role = 'coordinator' AND m.active = 1 ORDER BY p.id", [cohort]))
    staff = next(iter(store.db.query(
        "SELECT p.moodle_user_id FROM memberships m JOIN people p ON p.id = m.person_id WHERE m.cohort = ? "
        "AND m.role = 'staff' AND p.moodle_user_id IS NOT NULL ORDER BY p.id LIMIT 1", [cohort])), {}).get(
        "moodle_user_id")
    for index, coordinator in enumerate(coordinators):
        progress = 1.0 if index % 3 == 0 else rng.uniform(0.3, 0.9)  # every third coordinator is done
        for activity in cohort_activities:
            if activity["idnumber"].rsplit(":", 1)[-1] not in completable or rng.random() > progress:
                continue
            if activity["idnumber"] in in_person:
                # the office records who was there; now and then someone ticks it themselves (does not count)
                by = None if (index % 3 == 2 and "transfer" in activity["idnumber"]) else staff
                _record_attendance(site, coordinator["moodle_user_id"], activity["cmid"], by)
                counts["attendance records"] += 1
            else:
                site.complete_activity(coordinator["moodle_user_id"], activity["cmid"])
                counts["activity completions"] += 1

    regional = load_curriculum("regional_cycle")
    quizzes = {a.key: regional.instrument(a.instrument or "") for _, a in regional.activities() if a.type == "quiz"}
    quiz_rows = {(row["network_slug"], row["idnumber"].rsplit(":", 1)[-1]): row["instance_id"] for row in store.db.query(
        "SELECT c.network_slug, a.idnumber, a.instance_id FROM activities a JOIN courses c "
        "ON c.idnumber = a.course_idnumber WHERE c.cohort = ? AND a.modname = 'quiz'", [cohort])}
    # Each coordinator records in their regional course which initiatives came to the three workshops.
    workshops = {(row["network_slug"], row["idnumber"].rsplit(":", 1)[-1]): row["cmid"] for row in store.db.query(
        "SELECT c.network_slug, a.idnumber, a.cmid FROM activities a JOIN courses c ON c.idnumber = a.course_idnumber "
        "WHERE c.cohort = ? AND c.kind = 'regional'", [cohort])}
    in_person_regional = [a.key for _, a in regional.activities() if a.in_person]
    leaders = {row["network_slug"]: row["moodle_user_id"] for row in store.db.query(
        "SELECT m.network_slug, p.moodle_user_id FROM memberships m JOIN people p ON p.id = m.person_id "
        "WHERE m.cohort = ? AND m.role = 'coordinator' AND m.active = 1", [cohort])}
    for member in list(store.db.query(
            "SELECT m.network_slug, m.initiative_slug, p.moodle_user_id FROM memberships m "
            "JOIN people p ON p.id = m.person_id WHERE m.cohort = ? AND m.role = 'initiative' AND m.active = 1 "
            "ORDER BY m.network_slug, m.initiative_slug, p.id", [cohort])):
        for number, key in enumerate(in_person_regional):
            cmid = workshops.get((member["network_slug"], key))
            if cmid and rng.random() < 0.9 - 0.25 * number:  # fewer come to the later workshops
                _record_attendance(site, member["moodle_user_id"], cmid, leaders.get(member["network_slug"]))
                counts["attendance records"] += 1

    initiatives = store.db.query(
        "SELECT m.network_slug, m.initiative_slug, MIN(p.moodle_user_id) AS userid FROM memberships m "
        "JOIN people p ON p.id = m.person_id WHERE m.cohort = ? AND m.role = 'initiative' AND m.active = 1 "
        "GROUP BY m.network_slug, m.initiative_slug ORDER BY m.network_slug, m.initiative_slug", [cohort])
    for initiative in initiatives:
        strength = rng.uniform(-1.0, 1.0)  # some initiatives see their offer more critically than others
        for number, (key, instrument) in enumerate(sorted(quizzes.items())):
            if number > 0 and rng.random() < 0.5:
                continue
            levels = len(instrument.scale)
            answers = {}
            for statement in instrument.statements():
                centre = (levels + 1) / 2 + strength + number * 0.5  # the second analysis after improvements
                answers[question_idnumber(instrument.version, statement.key)] = max(
                    1, min(levels, round(rng.gauss(centre, 0.8))))
            site.submit_quiz_attempt(initiative["userid"], quiz_rows[(initiative["network_slug"], key)], answers)
            counts["self-analyses"] += 1
    site.run_cron()
    return counts


def _later(sandbox: Sandbox, *, seconds: int) -> None:
    """Move the sandbox's clock on: a real sync comes long after people worked, and the plugin serves only rows a
    few seconds old (a row of the current second may still have siblings being written)."""
    earlier = sandbox.site.clock
    sandbox.site.clock = lambda: earlier() + seconds


def _record_attendance(site: Sandbox | object, userid: int, cmid: int, by: int | None) -> None:
    """As Moodle stores attendance of an in-person workshop: the activity marked complete by someone else (``by``:
    staff or the coordinator, Moodle's ``overrideby``), or by the person themself (``by`` None: self-reported)."""
    from mintqo_lms.sandbox import completion

    with site.lock, site.transaction():  # type: ignore[attr-defined]
        cm = site.get("course_modules", cmid)  # type: ignore[attr-defined]
        completion.set_activity_state(site, cm, userid, 1, overrideby=by, viewed=by is None)  # type: ignore[arg-type]
        completion.review_activity_now(site, cm, userid)  # type: ignore[arg-type]


def _write_readme(out: Path, provisioned: ProvisionResult, synced: SyncResult) -> Path:
    path = out / "README.txt"
    applied = provisioned.summary()
    path.write_text(
        "mintqo-lms demo output\n======================\n\n"
        f"Provisioned ({provisioned.calls} web-service calls): {applied}\n\n"
        f"{provisioned.plan.table()}\n\n"
        f"Synced: {synced}\n\n"
        "mintqo.db                     the programme store (SQLite): roster, Moodle ids, completions, answers\n"
        "courses.csv / .xlsx           the courses provisioned in the sandbox (German, for staff)\n"
        "selbstanalyse_antworten.csv / .xlsx\n"
        "                              every synced self-analysis answer, one row per statement (German)\n"
        "profile.json                  each initiative's analyses: scores 0-100 per dimension and criterion,\n"
        "                              improvement potentials, change (mintqo-lms selfanalysis profile --format json)\n"
        "selbstanalyse_profil.csv / .xlsx\n"
        "                              the same profile as a table (German)\n\n"
        "The CSV files are UTF-8 with BOM, separated by ';' (they open in German Excel by double-click).\n\n"
        "fortschritt.csv / .xlsx       progress per coordinator: required modules, workshops attended (recorded\n"
        "                              by staff; self-reported apart), what the certificate still needs, regional\n"
        "                              cycle and allowance evidence; the .xlsx has one sheet per regional cycle\n"
        "certificates/                 the certificates of participation issued (PDF, one per eligible coordinator)\n"
        "dashboard.html / .xlsx        the programme office's dashboard (German, opens without network) and its\n"
        "                              tables for Excel; across initiatives only aggregates of at least five\n",
        encoding="utf-8")
    return path


__all__ = ["DemoError", "DemoResult", "MARKER", "prepare_out_dir", "run_demo", "simulate_participants"]
