"""The sync service against a real Moodle: a finished attempt's answers all reach the store, an unchanged sync
makes at most 3 calls (counted by the client and by Moodle's own log), a hand-made unenrolment shows up, an
attendance sheet sets completion as an override visible in core_completion_get_activities_completion_status,
and ``serve`` behaves (a second serve refused, SIGTERM stops it within seconds).

Everything runs as a new non-admin service user holding only the role the plugin README documents (so it needs
``MOODLE_DIR``), which also gives Moodle-side counting a user of its own: Moodle logs every web-service call as
``\\core\\event\\webservice_function_called`` in ``{logstore_standard_log}`` (with the user), read here through PHP
CLI — other tests running against the same site at the same time use other users.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from moodle_php import ATTEMPT_PHP, finish_attempt, php

from mintqo_lms.attendance import import_attendance
from mintqo_lms.config import Config
from mintqo_lms.moodle import Moodle
from mintqo_lms.programme import import_roster
from mintqo_lms.provision import provision
from mintqo_lms.store import Store
from mintqo_lms.sync import sync_cohort

pytestmark = pytest.mark.realmoodle

PROJECT_ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_ROSTER = PROJECT_ROOT / "lms_templates" / "roster.example.csv"
SETTLE = 3   # the plugin serves a row once it is two seconds old

CALLS_PHP = r"""<?php
define('CLI_SCRIPT', true);
require(getenv('MOODLE_DIR') . '/config.php');
[$userid, $since] = [(int)$argv[1], (int)$argv[2]];
$rows = $DB->get_records_select('logstore_standard_log', 'eventname = ? AND userid = ? AND timecreated >= ?',
    ['\\core\\event\\webservice_function_called', $userid, $since], 'id', 'id, other');
$names = [];
foreach ($rows as $row) {
    $other = json_decode($row->other, true);
    $names[] = is_array($other) ? ($other['function'] ?? '') : '';
}
echo json_encode($names);
"""

@pytest.fixture(scope="module")
def service(tmp_path_factory):
    """A cohort provisioned by the least-privilege service user, with its token, user id and an admin view."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("realmoodle_conftest", Path(__file__).with_name("conftest.py"))
    helpers = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(helpers)
    URL_VARIABLE, TOKEN_VARIABLE, make_service_user = helpers.URL_VARIABLE, helpers.TOKEN_VARIABLE, \
        helpers.make_service_user
    url = os.environ.get(URL_VARIABLE, "").strip()
    moodle_dir = os.environ.get("MOODLE_DIR", "").strip()
    if not url or not os.environ.get(TOKEN_VARIABLE) or not moodle_dir:
        pytest.skip(f"needs {URL_VARIABLE}, {TOKEN_VARIABLE} and MOODLE_DIR (PHP CLI on the site)")
    from mintqo_lms.moodle.client import MoodleClient

    tmp = tmp_path_factory.mktemp("syncservice")
    token = make_service_user(moodle_dir, tmp)
    client = MoodleClient(url, token, allow_insecure_http=True)
    site = Moodle(client)
    admin = Moodle(MoodleClient(url, os.environ[TOKEN_VARIABLE], allow_insecure_http=True))
    stamp = time.strftime("%Y%m%d%H%M%S") + f"{time.time_ns() % 1000:03d}"
    cohort, domain = f"2099-sync{stamp}", f"sync{stamp}.example"
    roster = tmp / "roster.csv"
    roster.write_text(re.sub(r"@[A-Za-z0-9.-]+\.example\b", "@" + domain, EXAMPLE_ROSTER.read_text(encoding="utf-8")),
                      encoding="utf-8")
    store = Store(tmp / "mintqo.db")
    import_roster(store, roster, cohort)
    provision(site, store, Config(), cohort)
    (tmp / "calls.php").write_text(CALLS_PHP, encoding="utf-8")
    (tmp / "attempt.php").write_text(ATTEMPT_PHP, encoding="utf-8")
    token_file = tmp / "token"
    token_file.write_text(token, encoding="utf-8")
    os.chmod(token_file, 0o600)
    yield {"cohort": cohort, "domain": domain, "site": site, "admin": admin, "store": store, "tmp": tmp,
           "userid": site.core.get_site_info().userid, "url": url, "token_file": token_file}
    store.close()


def person(store: Store, email_start: str) -> dict:
    return next(p for p in store.db["people"].rows if p["email"].startswith(email_start))


def test_answers_all_arrive_and_an_unchanged_sync_costs_three_calls_on_moodles_side(service):
    site, store, cohort, tmp = service["site"], service["store"], service["cohort"], service["tmp"]
    sync_cohort(site, store, cohort)
    lea = person(store, "lea.schaefer@")
    quiz = next(store.db.query(
        "SELECT a.instance_id FROM activities a JOIN courses c ON c.idnumber = a.course_idnumber "
        "WHERE c.cohort = ? AND c.network_slug = 'mint-region-trier' "
        "AND a.idnumber = 'mintqo:regional_cycle:selbstanalyse-1'", [cohort]))["instance_id"]
    made = finish_attempt(tmp / "attempt.php", quiz, lea["moodle_user_id"])
    time.sleep(SETTLE)
    result = sync_cohort(site, store, cohort, page_size=7)       # small pages: the attempt spans none of them
    assert result.attempts == 1
    stored = {r["slot"]: r["answer_text"] for r in store.db["responses"].rows_where("attemptid = ?",
                                                                                    [made["attemptid"]])}
    assert stored == {c["slot"]: c["answertext"] for c in made["chosen"]}
    assert store.db["analyses"].count_where("attemptid = ?", [made["attemptid"]]) == 1

    time.sleep(1)  # the sync above may have logged its last calls in this very second
    since = int(time.time())
    quiet = sync_cohort(site, store, cohort)
    client_calls = {name: int(c["calls"]) for name, c in quiet.calls.items()}
    assert sum(client_calls.values()) <= 3 and quiet.rows == 0
    time.sleep(1)
    logged = php(tmp / "calls.php", service["userid"], since)
    assert sorted(logged) == sorted(name for name, n in client_calls.items() for _ in range(n)), logged


def test_a_hand_made_unenrolment_shows_up(service):
    site, admin, store, cohort = service["site"], service["admin"], service["store"], service["cohort"]
    sync_cohort(site, store, cohort)
    paul = person(store, "paul.hoffmann@")
    course = next(store.db.query(
        "SELECT moodle_id FROM courses WHERE cohort = ? AND network_slug = 'mint-region-trier'", [cohort]))["moodle_id"]
    assert store.db["moodle_enrolments"].get((course, paul["moodle_user_id"]))["active"] == 1
    admin.core.unenrol_users([{"userid": paul["moodle_user_id"], "courseid": course}])   # "by hand"
    time.sleep(SETTLE)
    result = sync_cohort(site, store, cohort)
    assert result.removed_in_moodle >= 1 and result.reread_courses == 1
    assert store.db["moodle_enrolments"].get((course, paul["moodle_user_id"]))["active"] == 0
    assert not store.db["moodle_group_members"].count_where("courseid = ? AND userid = ?",
                                                            [course, paul["moodle_user_id"]])


def test_an_attendance_sheet_sets_completion_as_an_override_by_the_service_user(service):
    site, admin, store, cohort, tmp = (service["site"], service["admin"], service["store"], service["cohort"],
                                       service["tmp"])
    people = [person(store, start) for start in ("emre.yilmaz@", "clara.dangelo@", "aylin.oeztuerk@")]
    sheet = tmp / "ws1.csv"
    sheet.write_text("Name;E-Mail;anwesend\n" + "\n".join(
        f"{p['first_name']} {p['last_name']};{p['email']};{v}" for p, v in zip(people, ("ja", "x", "nein"))) + "\n",
        encoding="utf-8")
    result = import_attendance(site, store, sheet, cohort, "ws1-teilnahme", network="zdi-Netzwerk Ruhr & Emscher",
                               recorded_by="e2e")
    assert len(result.changed) == 3 and result.calls == 1
    course = next(store.db.query("SELECT moodle_id FROM courses WHERE idnumber = ?",
                                 [result.target.course_idnumber]))["moodle_id"]
    for p, present in zip(people, (True, True, False)):
        status = next(s for s in admin.core.get_activities_completion_status(course, p["moodle_user_id"])
                      if s.cmid == result.target.cmid)
        if present:
            assert (status.state, status.overrideby) == (1, service["userid"])
        else:
            assert status.state == 0
    again = import_attendance(site, store, sheet, cohort, "ws1-teilnahme", network="zdi-netzwerk-ruhr-emscher")
    assert again.changed == [] and again.calls == 0
    time.sleep(SETTLE)
    sync_cohort(site, store, cohort)
    rows = store.db["attendance"].rows_where("cmid = ?", [result.target.cmid])
    assert sorted((r["present"], r["source"], r["recorded_by"]) for r in rows) == \
           [(0, "staff", "e2e"), (1, "staff", "e2e"), (1, "staff", "e2e")]


def test_serve_second_serve_and_sigterm(service):
    tmp = service["tmp"]
    config = tmp / "mintqo.toml"
    config.write_text(f'[moodle]\nurl = "{service["url"]}"\ntoken_file = "{service["token_file"]}"\n'
                      f'[store]\npath = "{service["store"].path}"\n[sync]\nevery_minutes = 60\n'
                      f'[feedback]\nmessages = false\n', encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT), "MINTQO_CONFIG": str(config)}
    env.pop("MINTQO_MOODLE_TOKEN", None)
    env.pop("MINTQO_MOODLE_URL", None)
    serve = subprocess.Popen([sys.executable, "-m", "mintqo_lms.cli", "serve"], cwd=PROJECT_ROOT, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        seen = []
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            line = serve.stdout.readline()
            seen.append(line)
            if " ok: " in line or not line:
                break
        assert any(" ok: " in line for line in seen), seen
        second = subprocess.run([sys.executable, "-m", "mintqo_lms.cli", "serve"], cwd=PROJECT_ROOT, env=env,
                                capture_output=True, text=True, timeout=120)
        assert second.returncode == 1 and "already running" in second.stderr
        assert len(second.stderr.strip().splitlines()) == 1
        sync = subprocess.run([sys.executable, "-m", "mintqo_lms.cli", "sync", "--all"], cwd=PROJECT_ROOT, env=env,
                              capture_output=True, text=True, timeout=120)
        assert sync.returncode == 1 and "is running on this store" in sync.stderr
        stopped = time.monotonic()
        serve.send_signal(signal.SIGTERM)
        assert serve.wait(timeout=15) == 0 and time.monotonic() - stopped < 5
        assert "serve: stopped" in serve.stdout.read()
    finally:
        if serve.poll() is None:
            serve.kill()
            serve.wait()
