"""``mintqo-lms demo``: the whole job on the bundled sandbox Moodle, with no real site needed.

It starts the sandbox, imports the sample roster, provisions the cohort from ``lms_templates/``, lets the
simulated coordinators and initiatives work (qualification activities, attendance recorded by staff,
self-analyses), syncs everything back into a fresh store and writes what it produced into an output
folder. Each step uses the same library code as the real commands; only the people are simulated.
"""

from __future__ import annotations

import csv
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from mintqo_lms.config import Config
from mintqo_lms.instrument import question_idnumber
from mintqo_lms.moodle import Moodle, MoodleClient
from mintqo_lms.programme import import_roster
from mintqo_lms.provision import ProvisionResult, provision
from mintqo_lms.samples import write_synthetic_roster
from mintqo_lms.sandbox import Sandbox
from mintqo_lms.store import Store
from mintqo_lms.sync import SyncResult, sync_cohort
from mintqo_lms.templates import load_curriculum, templates_dir

Echo = Callable[[str], None]


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
    """Run the demo into ``out_dir`` (created; an existing store there is replaced)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for stale in out.glob("mintqo.db*"):
        stale.unlink()
    config = Config()
    config.store.path = out / "mintqo.db"
    if full_size:
        roster_file = write_synthetic_roster(out / "roster.csv", coordinators=20, initiatives=150,
                                             members_per_initiative=3, buddies=5, staff=2)
    else:
        roster_file = templates_dir() / "roster.example.csv"

    with Sandbox(latency=latency) as sandbox, Store(config.store.path) as store:
        echo(f"Sandbox Moodle running at {sandbox.url} (a local stand-in; nothing leaves this machine).")
        summary = import_roster(store, roster_file, cohort)
        echo(f"Roster {roster_file.name}: {summary}")
        moodle = Moodle(MoodleClient(sandbox.url, sandbox.token))
        runner = provision_runner or provision
        provisioned = runner(moodle, store, config, cohort)
        simulated = simulate_participants(sandbox, store, cohort, random.Random(seed))
        echo("Simulated: " + ", ".join(f"{n} {what}" for what, n in simulated.items()) + ".")
        synced = sync_cohort(moodle, store, cohort)
        echo(f"Synced into the store: {synced}.")
        files = [config.store.path, _write_courses(out, store, sandbox.url, cohort),
                 _write_answers(out, store, cohort), _write_readme(out, provisioned, synced)]
    return DemoResult(out, provisioned, simulated, synced, files)


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
    for index, coordinator in enumerate(coordinators):
        progress = 1.0 if index % 3 == 0 else rng.uniform(0.3, 0.9)  # every third coordinator is done
        for activity in cohort_activities:
            if activity["idnumber"].rsplit(":", 1)[-1] not in completable or rng.random() > progress:
                continue
            site.complete_activity(coordinator["moodle_user_id"], activity["cmid"])
            key = "attendance records" if activity["idnumber"] in in_person else "activity completions"
            counts[key] += 1

    regional = load_curriculum("regional_cycle")
    quizzes = {a.key: regional.instrument(a.instrument or "") for _, a in regional.activities() if a.type == "quiz"}
    quiz_rows = {(row["network_slug"], row["idnumber"].rsplit(":", 1)[-1]): row["instance_id"] for row in store.db.query(
        "SELECT c.network_slug, a.idnumber, a.instance_id FROM activities a JOIN courses c "
        "ON c.idnumber = a.course_idnumber WHERE c.cohort = ? AND a.modname = 'quiz'", [cohort])}
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


def _write_courses(out: Path, store: Store, url: str, cohort: str) -> Path:
    path = out / "courses.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["idnumber", "kind", "shortname", "fullname", "moodle_id", "url", "enrolled"])
        for row in store.db.query(
                "SELECT c.*, (SELECT COUNT(DISTINCT person_id) FROM enrolments e WHERE e.course_idnumber = c.idnumber)"
                " AS enrolled FROM courses c WHERE cohort = ? ORDER BY kind, idnumber", [cohort]):
            writer.writerow([row["idnumber"], row["kind"], row["shortname"], row["fullname"], row["moodle_id"],
                             f"{url}/course/view.php?id={row['moodle_id']}", row["enrolled"]])
    return path


def _write_answers(out: Path, store: Store, cohort: str) -> Path:
    """The synced self-analysis answers, one row per statement, as the store holds them."""
    path = out / "selbstanalyse_antworten.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["netzwerk", "initiative", "versuch", "aussage", "antwort_position", "antwort"])
        for row in store.db.query(
                "SELECT n.name AS network, i.name AS initiative, q.attemptid, r.question_idnumber, "
                "r.answer_position, r.answer_text FROM responses r JOIN quiz_attempts q USING (attemptid) "
                "JOIN people p ON p.moodle_user_id = q.userid "
                "JOIN memberships m ON m.person_id = p.id AND m.cohort = ? AND m.role = 'initiative' "
                "JOIN initiatives i ON i.cohort = m.cohort AND i.network_slug = m.network_slug "
                "AND i.slug = m.initiative_slug JOIN networks n ON n.cohort = m.cohort AND n.slug = m.network_slug "
                "ORDER BY n.name, i.name, q.attemptid, r.slot", [cohort]):
            writer.writerow([row["network"], row["initiative"], row["attemptid"], row["question_idnumber"],
                             row["answer_position"], row["answer_text"]])
    return path


def _write_readme(out: Path, provisioned: ProvisionResult, synced: SyncResult) -> Path:
    path = out / "README.txt"
    applied = ", ".join(f"{n} {what}" for what, n in sorted(provisioned.applied.items()))
    path.write_text(
        "mintqo-lms demo output\n======================\n\n"
        f"Provisioned ({provisioned.calls} web-service calls): {applied}\n\n"
        f"{provisioned.plan.table()}\n\n"
        f"Synced: {synced}\n\n"
        "mintqo.db                    the programme store (SQLite): roster, Moodle ids, completions, answers\n"
        "courses.csv                  the courses provisioned in the sandbox\n"
        "selbstanalyse_antworten.csv  every synced self-analysis answer, one row per statement\n\n"
        "Scores, reports and certificates are built in later steps; they will appear here.\n",
        encoding="utf-8")
    return path


__all__ = ["DemoResult", "run_demo", "simulate_participants"]
