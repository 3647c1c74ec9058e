"""The fault matrix: for every call of a full sync and of an attendance import, each of connection reset, read
timeout, HTTP 503 and a Moodle exception — and a real process SIGKILLed in each of its store transactions after
its writes, before COMMIT — then a clean re-run: the store equals a fault-free run, row for row.

Every case starts from one snapshot (sandbox state and store), so nothing is provisioned twice; the sandbox runs
on a fixed clock so Moodle's own times are the same in every case. Run logs (``sync_runs``) and wall-clock
columns (``*_at``, compared as set/not set) are left out of the comparison (tests/faultkit.py).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from faultkit import (
    NETWORK_FAULTS,
    Snapshot,
    count_transactions,
    fault_client,
    inject,
    record_calls,
    run_killed,
    run_killed_forked,
    store_difference,
    store_rows,
)
from mintqo_lms.attendance import import_attendance
from mintqo_lms.config import Config
from mintqo_lms.instrument import question_idnumber
from mintqo_lms.moodle import Moodle, MoodleClient
from mintqo_lms.moodle.errors import MoodleError
from mintqo_lms.programme import import_roster
from mintqo_lms.provision import provision
from mintqo_lms.sandbox import Sandbox, completion
from mintqo_lms.sandbox.core_user import enrol_user, unenrol_user
from mintqo_lms.store import Store
from mintqo_lms.sync import sync_cohort
from mintqo_lms.templates import load_instrument

PROJECT_ROOT = Path(__file__).resolve().parents[1]
T0 = 1_800_000_000
PAGE = 10   # small pages: every stream takes several calls, so faults hit the middle of a stream too
TRIER = ["lea.schaefer@forscherwerkstatt.example", "tobias.becker@forscherwerkstatt.example",
         "m.lenz@robotik-mosel.example", "f.kraemer@robotik-mosel.example",
         "sophie.wagner@hochwald-sternwarte.example", "paul.hoffmann@hochwald-sternwarte.example"]
CASES: dict[str, int] = {}


def report(name: str, count: int) -> None:
    CASES[name] = count
    sys.__stderr__.write(f"\nfault matrix {name}: {count} cases (total so far {sum(CASES.values())})\n")


def uid(store: Store, email: str) -> int:
    return next(store.db["people"].rows_where("email = ?", [email]))["moodle_user_id"]


@pytest.fixture(scope="module")
def matrix(tmp_path_factory):
    """A provisioned cohort with a history (synced once, then attempts, completions, a self tick, a hand
    enrolment, a hand unenrolment and a group removal in Moodle): the snapshot every case starts from."""
    folder = tmp_path_factory.mktemp("faults")
    store_path = folder / "mintqo.db"
    with Sandbox(clock=lambda: T0) as sb:
        with Store(store_path) as store:
            import_roster(store, PROJECT_ROOT / "lms_templates" / "roster.example.csv", "2025")
            moodle = Moodle(MoodleClient(sb.url, sb.token, retries=0))
            provision(moodle, store, Config(), "2025")
            sb.site.clock = lambda: T0 + 10
            sync_cohort(moodle, store, "2025")
            site = sb.site
            instrument = load_instrument("selfanalysis/v1")
            quizzes = {r["network_slug"]: r["instance_id"] for r in store.db.query(
                "SELECT c.network_slug, a.instance_id FROM activities a "
                "JOIN courses c ON c.idnumber = a.course_idnumber "
                "WHERE a.idnumber = 'mintqo:regional_cycle:selbstanalyse-1'")}
            for email, network, position in ((TRIER[0], "mint-region-trier", 3), (TRIER[2], "mint-region-trier", 2),
                                             ("emre.yilmaz@makerspace-bochum.example", "zdi-netzwerk-ruhr-emscher", 4)):
                site.submit_quiz_attempt(uid(store, email), quizzes[network], {
                    question_idnumber("v1", s.key): position for s in instrument.statements()})
            kickoff = next(store.db.query("SELECT cmid FROM activities WHERE "
                                          "idnumber = 'mintqo:qualification:kickoff-teilnahme'"))["cmid"]
            site.complete_activity(uid(store, "hannah.gross@mint-erzgebirge.example"), kickoff)  # a self tick
            trier = next(store.db.query("SELECT moodle_id FROM courses WHERE network_slug = 'mint-region-trier'"))[
                "moodle_id"]
            with site.lock, site.transaction():
                enrol_user(site, trier, uid(store, "oezlem.kaya@mint-netz-ruhr.example"), 5)   # by hand
                unenrol_user(site, trier, uid(store, TRIER[5]))                                 # by hand
                member = site.find("groups_members", userid=uid(store, TRIER[3]))[0]
                site.delete("groups_members", member["id"])                                     # by hand
                cm = site.get("course_modules", kickoff)
                completion.set_activity_state(site, cm, uid(store, "j.weissmueller@mint-trier.example"), 1,
                                              overrideby=2)                                     # staff in Moodle
            site.clock = lambda: T0 + 20
        snap = Snapshot.take(sb, store_path, folder)
        sheet = folder / "ws1.csv"
        sheet.write_text("E-Mail;anwesend\n" + "\n".join(f"{e};{v}" for e, v in zip(
            TRIER[:5], ("ja", "x", "nein", "1", "ja"))) + "\n", encoding="utf-8")
        config = folder / "mintqo.toml"
        config.write_text(f'[moodle]\nurl = "{sb.url}"\nretries = 0\nread_timeout = 5\n[store]\npath = "{store_path}"\n'
                          f'[sync]\npage_size = {PAGE}\n[feedback]\nmessages = false\n', encoding="utf-8")
        yield sb, snap, sheet, config


def full_sync(sb, store_path: Path, **options) -> None:
    with Store(store_path) as store:
        sync_cohort(fault_client(sb, **options), store, "2025", full=True, page_size=PAGE)


def attendance(sheet: Path):
    def run(sb, store_path: Path) -> None:
        # max_form_fields 8: two entries per request, so the sheet's five people take three calls
        with Store(store_path) as store:
            import_attendance(fault_client(sb, max_form_fields=8), store, sheet, "2025", "ws1-teilnahme",
                              network="mint-region-trier", recorded_by="staff")
    return run


def network_matrix(sb, snap: Snapshot, action, name: str) -> int:
    snap.restore()
    calls = record_calls(sb, lambda: action(sb, snap.store_path))
    baseline = store_rows(snap.store_path)
    assert len(calls) >= 3, calls
    failures, cases = [], 0
    for index in range(len(calls)):
        for kind in NETWORK_FAULTS:
            snap.restore()
            label = inject(sb, calls, index, kind)
            try:
                action(sb, snap.store_path)
            except MoodleError:
                pass
            else:
                failures.append(f"{label}: the run did not fail")
            sb.faults.clear()
            action(sb, snap.store_path)            # the clean re-run
            difference = store_difference(baseline, store_rows(snap.store_path))
            if difference:
                failures.append(f"{label}:\n{difference}")
            cases += 1
    report(f"{name} network faults ({len(calls)} calls x {len(NETWORK_FAULTS)} kinds)", cases)
    assert not failures, "\n".join(failures)
    return cases


def kill_matrix(sb, snap: Snapshot, config: Path, args: list[str], rerun, name: str, *, forked: bool = False) -> int:
    """SIGKILL a real ``mintqo-lms`` process in each of its transactions (after the writes, before COMMIT): a
    fresh ``python`` process, or (``forked``) a forked child of this test process, which starts in a fraction
    of the time."""
    from click.testing import CliRunner

    from mintqo_lms.cli import main

    snap.restore()
    with count_transactions() as counted:
        done = CliRunner().invoke(main, ["--config", str(config), *args], env={"MINTQO_MOODLE_TOKEN": sb.token})
    assert done.exit_code == 0, done.output
    baseline = store_rows(snap.store_path)
    env = {"MINTQO_MOODLE_TOKEN": sb.token, "PYTHONPATH": str(PROJECT_ROOT)}
    points = list(range(1, counted[0] + 1))
    failures = []

    def check(kill_at: int, killed, store_path: Path) -> None:
        if killed.returncode != -9:
            failures.append(f"transaction {kill_at}: not killed (exit {killed.returncode}: {killed.stderr[-300:]})")
            return
        rerun(sb, store_path)                      # the clean re-run
        difference = store_difference(baseline, store_rows(store_path))
        if difference:
            failures.append(f"killed in transaction {kill_at}:\n{difference}")

    if forked:
        for kill_at in points:
            snap.restore()
            code = run_killed_forked(kill_at, ["--config", str(config), *args], env=env)
            check(kill_at, subprocess.CompletedProcess(args, code, "", ""), snap.store_path)
    else:
        for kill_at in points:
            snap.restore()
            check(kill_at, run_killed(kill_at, ["--config", str(config), *args], env=env, cwd=str(PROJECT_ROOT)),
                  snap.store_path)
    report(f"{name} SIGKILL before COMMIT ({counted[0]} transactions)", counted[0])
    assert not failures, "\n".join(failures)
    return counted[0]


def test_full_sync_network_faults_at_every_call(matrix):
    sb, snap, sheet, config = matrix
    network_matrix(sb, snap, full_sync, "sync --full")


def test_full_sync_killed_between_fetch_and_commit(matrix):
    sb, snap, sheet, config = matrix
    kill_matrix(sb, snap, config, ["sync", "--cohort", "2025", "--full"], full_sync, "sync --full", forked=True)


def test_attendance_import_network_faults_at_every_call(matrix):
    sb, snap, sheet, config = matrix
    network_matrix(sb, snap, attendance(sheet), "attendance import")


def test_attendance_import_killed_between_fetch_and_commit(matrix):
    sb, snap, sheet, config = matrix
    args = ["attendance", "import", str(sheet), "--cohort", "2025", "--activity", "ws1-teilnahme",
            "--network", "mint-region-trier", "--by", "staff"]
    kill_matrix(sb, snap, config, args, attendance(sheet), "attendance import")


def test_the_fault_free_cli_and_library_runs_agree(matrix):
    """The kill matrix compares with a CLI run, the network matrix with a library run: they are the same store."""
    from click.testing import CliRunner

    from mintqo_lms.cli import main

    sb, snap, sheet, config = matrix
    snap.restore()
    full_sync(sb, snap.store_path)
    library = store_rows(snap.store_path)
    snap.restore()
    done = CliRunner().invoke(main, ["--config", str(config), "sync", "--cohort", "2025", "--full"],
                              env={"MINTQO_MOODLE_TOKEN": sb.token})
    assert done.exit_code == 0, done.output
    assert not store_difference(library, store_rows(snap.store_path))
    assert "3 self-analysis attempts" in done.output and "removed in Moodle" in done.output
