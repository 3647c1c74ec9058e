"""The sync streams: page by page with keyset cursors, enrolments with digests, full and incremental converge,
and a crash re-reads instead of losing data.

The plugin serves a row only once it is a couple of seconds old (rows of the current second may still be joined
by others), so these tests run the sandbox on a clock they move forward (:class:`Clock`).
"""

from __future__ import annotations

import dataclasses
import gc
import shutil
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner

from faultkit import IGNORED_TABLES, copy_store, store_difference, store_rows
from mintqo_lms.config import Config
from mintqo_lms.instrument import question_idnumber
from mintqo_lms.moodle import Moodle, MoodleClient
from mintqo_lms.moodle.client import PROTOCOL_FIELDS
from mintqo_lms.moodle.errors import MintqoError, MoodleError
from mintqo_lms.programme import import_roster
from mintqo_lms.provision import provision
from mintqo_lms.sandbox import Sandbox
from mintqo_lms.sandbox.core_user import enrol_user, unenrol_user
from mintqo_lms.sandbox.params import Params
from mintqo_lms.sandbox.registry import all_functions
from mintqo_lms import syncstore
from mintqo_lms.store import Store
from mintqo_lms.sync import (
    SyncError,
    active_cohorts,
    completions_stream,
    enrolments_stream,
    responses_stream,
    sync_cohort,
)
from mintqo_lms.templates import load_instrument

EXAMPLE_ROSTER = Path(__file__).resolve().parents[1] / "lms_templates" / "roster.example.csv"
LEA = "lea.schaefer@forscherwerkstatt.example"
HANNAH = "hannah.gross@mint-erzgebirge.example"


class Clock:
    """The sandbox's clock, moved by the test: rows written at ``t`` are served once it is a few seconds later."""

    def __init__(self, sb: Sandbox, start: int = 1_800_000_000):
        self.t = start
        sb.site.clock = lambda: self.t

    def tick(self, seconds: int = 5) -> None:
        self.t += seconds


@pytest.fixture
def clocked(world):
    sb, store, moodle = world
    clock = Clock(sb)
    clock.tick()
    return sb, store, moodle, clock


def quiz_and_member(store: Store, email: str) -> tuple[int, int]:
    row = next(store.db.query(
        "SELECT p.moodle_user_id, a.instance_id FROM people p JOIN memberships m ON m.person_id = p.id "
        "JOIN courses c ON c.network_slug = m.network_slug AND c.kind = 'regional' "
        "JOIN activities a ON a.course_idnumber = c.idnumber AND a.idnumber LIKE '%selbstanalyse-1' "
        "WHERE p.email = ?", [email]))
    return row["instance_id"], row["moodle_user_id"]


def userid(store: Store, email: str) -> int:
    return next(store.db["people"].rows_where("email = ?", [email]))["moodle_user_id"]


def answers(position: int) -> dict[str, int]:
    instrument = load_instrument("selfanalysis/v1")
    return {question_idnumber(instrument.version, s.key): position for s in instrument.statements()}


def course_id(store: Store, network_slug: str | None = None) -> int:
    where = "kind = 'cohort'" if network_slug is None else f"network_slug = '{network_slug}'"
    return next(store.db.query(f"SELECT moodle_id FROM courses WHERE cohort = '2025' AND {where}"))["moodle_id"]


def calls(result) -> dict[str, int]:
    return {name: int(c["calls"]) for name, c in result.calls.items()}


def test_answers_arrive_once_and_an_unchanged_sync_costs_three_calls(clocked):
    sb, store, moodle, clock = clocked
    quizid, member = quiz_and_member(store, LEA)
    sb.site.submit_quiz_attempt(member, quizid, answers(3))
    clock.tick()
    first = sync_cohort(moodle, store, "2025")
    statements = len(load_instrument("selfanalysis/v1").statements())
    assert (first.attempts, first.responses) == (1, statements)
    assert {r["answer_text"] for r in store.db["responses"].rows} == {"trifft eher zu"}
    assert first.enrolment_records == store.db["moodle_enrolments"].count > 0
    mark = len(sb.calls)
    second = sync_cohort(moodle, store, "2025")
    assert store.db["responses"].count == statements
    assert (second.attempts, second.enrolment_records, second.activity_records) == (0, 0, 0)
    # one call per stream, whatever the cohort's size — counted by the client and by the site
    assert calls(second) == {"local_mintqo_get_enrolments": 1, "local_mintqo_get_completions": 1,
                             "local_mintqo_get_quiz_responses": 1}
    assert len(sb.calls) - mark == 3


def test_a_row_of_the_current_second_comes_with_the_next_sync_not_never(clocked):
    sb, store, moodle, clock = clocked
    quizid, member = quiz_and_member(store, LEA)
    sync_cohort(moodle, store, "2025")
    sb.site.submit_quiz_attempt(member, quizid, answers(2))   # written "now": not served yet
    assert sync_cohort(moodle, store, "2025").attempts == 0
    clock.tick()
    assert sync_cohort(moodle, store, "2025").attempts == 1
    assert store.db["quiz_attempts"].count == 1


def test_a_crash_mid_sync_rereads_on_the_next_run(clocked):
    sb, store, moodle, clock = clocked
    quizid, member = quiz_and_member(store, LEA)
    sync_cohort(moodle, store, "2025")
    cursor = store.get_cursor(responses_stream("2025"))
    sb.site.submit_quiz_attempt(member, quizid, answers(4))
    clock.tick()
    sb.faults.add("local_mintqo_get_quiz_responses", kind="exception")
    with pytest.raises(MoodleError):
        sync_cohort(moodle, store, "2025")
    assert store.get_cursor(responses_stream("2025")) == cursor  # not advanced without the data
    assert store.db["quiz_attempts"].count == 0
    result = sync_cohort(moodle, store, "2025")
    assert result.attempts == 1 and store.db["quiz_attempts"].count == 1
    assert [r["status"] for r in store.db["sync_runs"].rows_where("kind = 'sync'")] == ["ok", "failed", "ok"]


def test_pages_are_committed_one_by_one_and_small_pages_read_the_same_rows(clocked, tmp_path):
    sb, store, moodle, clock = clocked
    quizid, member = quiz_and_member(store, LEA)
    sb.site.submit_quiz_attempt(member, quizid, answers(1))
    cm = next(store.db.query("SELECT cmid FROM activities WHERE course_idnumber = 'mintqo:cohort:2025' "
                             "AND modname = 'page' ORDER BY cmid LIMIT 1"))["cmid"]
    for person in store.db.query("SELECT p.moodle_user_id FROM people p JOIN coordinators c ON c.person_id = p.id"):
        sb.site.complete_activity(person["moodle_user_id"], cm)
    clock.tick()
    copy_store(store.path, tmp_path / "copy.db")
    big = sync_cohort(moodle, store, "2025", page_size=1000)
    with Store(tmp_path / "copy.db") as small_store:
        small = sync_cohort(moodle, small_store, "2025", page_size=5)
    assert sum(calls(small).values()) > sum(calls(big).values()) == 3
    assert (small.enrolment_records, small.activity_records, small.responses) == \
           (big.enrolment_records, big.activity_records, big.responses)
    assert not store_difference(store_rows(store.path), store_rows(tmp_path / "copy.db"))


def test_completions_are_synced_with_their_activity_idnumber(clocked):
    sb, store, moodle, clock = clocked
    cm = next(store.db.query("SELECT cmid, idnumber FROM activities WHERE course_idnumber = 'mintqo:cohort:2025' "
                             "AND modname = 'page' ORDER BY cmid LIMIT 1"))
    sb.site.complete_activity(userid(store, HANNAH), cm["cmid"])
    clock.tick()
    sync_cohort(moodle, store, "2025")
    row = store.db["activity_completion"].get((cm["cmid"], userid(store, HANNAH)))
    assert row["state"] == 1 and row["activity_idnumber"] == cm["idnumber"]


def test_someone_enrolled_or_removed_by_hand_in_moodle_shows_up(clocked):
    sb, store, moodle, clock = clocked
    sync_cohort(moodle, store, "2025")
    trier = course_id(store, "mint-region-trier")
    outsider = userid(store, HANNAH)                     # coordinator in Erzgebirge, not in Trier's course
    lea = userid(store, LEA)
    group = next(g for g in sb.site.find("groups", courseid=trier)
                 if sb.site.find_one("groups_members", groupid=g["id"], userid=lea))
    with sb.site.lock, sb.site.transaction():
        enrol_user(sb.site, trier, outsider, 5)           # enrolled by hand
    clock.tick()
    added = sync_cohort(moodle, store, "2025")
    assert added.enrolment_records == 1 and calls(added)["local_mintqo_get_enrolments"] == 1
    row = store.db["moodle_enrolments"].get((trier, outsider))
    assert (row["roles"], row["active"], row["status"]) == ("student", 1, 0)

    with sb.site.lock, sb.site.transaction():
        unenrol_user(sb.site, trier, outsider)            # removed by hand: Moodle leaves no row behind
        member = sb.site.find_one("groups_members", groupid=group["id"], userid=lea)
        sb.site.delete("groups_members", member["id"])    # taken out of the initiative's group by hand
    clock.tick()
    removed = sync_cohort(moodle, store, "2025")
    # the digest of Trier's course differs: that course alone is read again in full (one more call)
    assert calls(removed)["local_mintqo_get_enrolments"] == 2
    assert removed.removed_in_moodle == 2 and removed.reread_courses == 1
    assert store.db["moodle_enrolments"].get((trier, outsider))["active"] == 0
    assert not store.db["moodle_group_members"].count_where("groupid = ? AND userid = ?", [group["id"], lea])
    assert store.db["moodle_enrolments"].get((trier, lea))["active"] == 1
    assert sum(calls(sync_cohort(moodle, store, "2025")).values()) == 3   # and quiet again


def test_full_sync_converges_to_the_incremental_store(clocked, tmp_path):
    sb, store, moodle, clock = clocked
    quizid, member = quiz_and_member(store, LEA)
    sync_cohort(moodle, store, "2025")
    sb.site.submit_quiz_attempt(member, quizid, answers(2))
    trier = course_id(store, "mint-region-trier")
    with sb.site.lock, sb.site.transaction():
        enrol_user(sb.site, trier, userid(store, HANNAH), 5)
    clock.tick()
    sync_cohort(moodle, store, "2025")
    with sb.site.lock, sb.site.transaction():
        unenrol_user(sb.site, trier, userid(store, HANNAH))
    clock.tick()
    sync_cohort(moodle, store, "2025")
    # the rows, not the cursors: a full read may stop at another (equally valid) keyset position
    rows_only = IGNORED_TABLES | {"sync_state"}
    incremental = store_rows(store.path, ignored_tables=rows_only)
    full = sync_cohort(moodle, store, "2025", full=True, page_size=7)
    assert full.full and full.enrolment_records > 0 and full.responses > 0
    assert not store_difference(incremental, store_rows(store.path, ignored_tables=rows_only))
    # a full sync costs pages (grows with rows and courses), not one call per person or activity
    people = store.db["moodle_enrolments"].count
    assert sum(calls(full).values()) < people


def test_a_cursor_belongs_to_its_courses_a_new_quiz_restarts_that_stream(clocked):
    sb, store, moodle, clock = clocked
    sync_cohort(moodle, store, "2025")
    import json

    saved = json.loads(store.get_cursor(responses_stream("2025")))
    store.set_cursor(responses_stream("2025"), json.dumps({"cursor": saved["cursor"], "ids": [1]}))
    quizid, member = quiz_and_member(store, LEA)
    sb.site.submit_quiz_attempt(member, quizid, answers(4))
    clock.tick()
    assert sync_cohort(moodle, store, "2025").attempts == 1
    assert json.loads(store.get_cursor(responses_stream("2025")))["ids"] != [1]
    for stream in (enrolments_stream("2025"), completions_stream("2025")):
        assert json.loads(store.get_cursor(stream))["cursor"]


def test_an_unknown_cohort_is_an_error_naming_the_known_ones(world):
    sb, store, moodle = world
    mark = len(sb.calls)
    with pytest.raises(MintqoError, match=r"unknown cohort '1999'.*\(known cohorts: 2025\)"):
        sync_cohort(moodle, store, "1999")
    assert len(sb.calls) == mark and store.db["sync_runs"].count_where("kind = 'sync'") == 0


def test_a_cohort_with_a_roster_but_no_courses_is_an_error_not_an_empty_success(tmp_path):
    with Sandbox() as sb, Store(tmp_path / "s.db") as store:
        import_roster(store, EXAMPLE_ROSTER, "2026")
        moodle = Moodle(MoodleClient(sb.url, sb.token, retries=0))
        with pytest.raises(SyncError, match="cohort 2026 has no courses in Moodle yet.*provision --cohort 2026"):
            sync_cohort(moodle, store, "2026")
        assert active_cohorts(store) == []


def test_counts_say_what_they_count(clocked):
    sb, store, moodle, clock = clocked
    result = sync_cohort(moodle, store, "2025")
    assert result.course_records == store.db["course_completion"].count > 0
    assert result.courses_completed == 0
    assert f"0 course completions (of {result.course_records} course enrolment records read)" in str(result)
    assert "0 self-analysis attempts with 0 answers" in str(result)
    assert f"{result.enrolment_records} enrolment records" in str(result)
    cm = next(store.db.query("SELECT cmid FROM activities WHERE course_idnumber = 'mintqo:cohort:2025' "
                             "AND modname = 'page' ORDER BY cmid LIMIT 1"))
    sb.site.complete_activity(userid(store, HANNAH), cm["cmid"])
    clock.tick()
    second = sync_cohort(moodle, store, "2025")
    assert second.activities_completed == 1 and "1 activity completion (of" in str(second)


def test_cli_sync_all_syncs_every_active_cohort_and_full_says_so(tmp_path):
    with Sandbox() as sb:
        Clock(sb, 1_800_000_000)
        with Store(tmp_path / "mintqo.db") as store:
            moodle = Moodle(MoodleClient(sb.url, sb.token, retries=0))
            for cohort in ("2025", "2026"):
                import_roster(store, EXAMPLE_ROSTER, cohort)
                provision(moodle, store, Config(), cohort)
            import_roster(store, EXAMPLE_ROSTER, "2027")   # a roster, never provisioned: not active
            assert active_cohorts(store) == ["2025", "2026"]
        sb.site.clock = lambda: 1_800_000_100
        config = tmp_path / "mintqo.toml"
        config.write_text(f'[moodle]\nurl = "{sb.url}"\n[store]\npath = "mintqo.db"\n[feedback]\nmessages = false\n',
                          encoding="utf-8")
        env = {"MINTQO_MOODLE_TOKEN": sb.token}
        runner = CliRunner()
        done = runner.invoke(__import__("mintqo_lms.cli", fromlist=["main"]).main,
                             ["--config", str(config), "sync", "--all"], env=env)
        assert done.exit_code == 0, done.output
        assert "Synced cohort 2025:" in done.output and "Synced cohort 2026:" in done.output
        assert "2027" not in done.output
        full = runner.invoke(__import__("mintqo_lms.cli", fromlist=["main"]).main,
                             ["--config", str(config), "sync", "--cohort", "2025", "--full"], env=env)
        assert full.exit_code == 0 and "Synced cohort 2025 (full):" in full.output, full.output
        both = runner.invoke(__import__("mintqo_lms.cli", fromlist=["main"]).main,
                             ["--config", str(config), "sync", "--cohort", "2025", "--all"], env=env)
        assert both.exit_code != 0 and "--all" in both.output
    shutil.rmtree(tmp_path, ignore_errors=True)


GRETA = "greta.vogel@schuelerlabor-witten.example"
ANTON = "anton.fuchs@bergbau-mint.example"


def test_quizzes_beyond_one_request_are_read_by_course_in_one_call_per_page(clocked):
    """A cohort with more quizzes than max_input_vars allows in one request (16x with a second instrument
    version: 1,280) is read by its course ids: here the form-field limit leaves room for the course ids and not
    for the quiz ids, and every page is still one call."""
    sb, store, moodle, clock = clocked
    quizids = [r["instance_id"] for r in store.db.query("SELECT instance_id FROM activities WHERE modname = 'quiz'")]
    courseids = [r["moodle_id"] for r in store.db.query("SELECT moodle_id FROM courses WHERE cohort = '2025'")]
    moodle.client.max_form_fields = PROTOCOL_FIELDS + 2 + len(courseids)  # cursor and limitnum travel along
    assert len(quizids) > len(courseids)
    for email, position in ((LEA, 3), (GRETA, 2)):
        sb.site.submit_quiz_attempt(*reversed(quiz_and_member(store, email)), answers(position))
    clock.tick()

    first = sync_cohort(moodle, store, "2025", page_size=1)
    statements = len(load_instrument("selfanalysis/v1").statements())
    assert (first.attempts, first.responses) == (2, 2 * statements)
    assert calls(first)["local_mintqo_get_quiz_responses"] == 2  # a page per attempt, each one call
    streams = [r["stream"] for r in store.db.query("SELECT stream FROM sync_state WHERE stream LIKE 'responses:%'")]
    assert streams == [responses_stream("2025")]

    sb.site.submit_quiz_attempt(*reversed(quiz_and_member(store, ANTON)), answers(4))
    clock.tick()
    second = sync_cohort(moodle, store, "2025")
    assert (second.attempts, second.responses) == (1, statements)  # the new one only, nothing read twice
    assert store.db["responses"].count == 3 * statements
    unchanged = sync_cohort(moodle, store, "2025")
    assert unchanged.attempts == 0 and unchanged.total_calls == 3


def test_a_quiz_provisioning_does_not_know_is_not_read_as_a_self_analysis(clocked):
    """Reading by course brings every quiz of the course; one that is not in the store (a teacher's own quiz)
    is left out, as when the sync named its quizzes."""
    sb, store, moodle, clock = clocked
    ours, lea = quiz_and_member(store, LEA)
    theirs, greta = quiz_and_member(store, GRETA)
    sb.site.submit_quiz_attempt(lea, ours, answers(3))
    sb.site.submit_quiz_attempt(greta, theirs, answers(1))
    clock.tick()
    store.db.execute("DELETE FROM activities WHERE instance_id = ? AND modname = 'quiz'", [theirs])
    result = sync_cohort(moodle, store, "2025")
    assert ours != theirs and result.attempts == 1
    assert {r["quizid"] for r in store.db["quiz_attempts"].rows} == {ours}


def test_a_plugin_before_1_4_1_is_named_when_it_refuses_courseids(clocked, monkeypatch):
    sb, store, moodle, _clock = clocked
    name = "local_mintqo_get_quiz_responses"
    function = all_functions()[name]
    old = Params(**{k: v for k, v in function.params.keys.items() if k != "courseids"})
    monkeypatch.setitem(all_functions(), name, dataclasses.replace(function, params=old))
    with pytest.raises(SyncError) as caught:
        sync_cohort(moodle, store, "2025")
    assert "must be 1.4.1" in str(caught.value) and "\n" not in str(caught.value)


def test_the_next_page_is_read_while_a_page_is_stored(clocked, monkeypatch):
    """The completions are asked for while the enrolments are still being stored (reading ahead); what is stored
    is the same."""
    sb, store, moodle, clock = clocked
    asked = threading.Event()
    read = moodle.plugin.get_completions_page

    def completions_page(*args, **kwargs):
        asked.set()
        return read(*args, **kwargs)

    save_page = syncstore.EnrolmentPages.save
    asked_while_storing = []

    def storing(self, page, result):
        asked_while_storing.append(asked.wait(timeout=10))   # without reading ahead it never comes
        save_page(self, page, result)

    monkeypatch.setattr(moodle.plugin, "get_completions_page", completions_page)
    monkeypatch.setattr(syncstore.EnrolmentPages, "save", storing)
    result = sync_cohort(moodle, store, "2025")
    assert asked_while_storing == [True]
    assert result.enrolment_records == store.db["moodle_enrolments"].count > 0


def test_the_cycle_collector_is_off_while_syncing_and_back_on_after_success_and_failure(clocked, monkeypatch):
    sb, store, moodle, clock = clocked
    collecting_during = []
    save_page = syncstore.ResponsePages.save

    def saving(self, page, result):
        collecting_during.append(gc.isenabled())
        save_page(self, page, result)

    monkeypatch.setattr(syncstore.ResponsePages, "save", saving)
    sync_cohort(moodle, store, "2025")
    assert gc.isenabled()
    sb.faults.add("local_mintqo_get_completions", kind="exception")
    with pytest.raises(MoodleError):
        sync_cohort(moodle, store, "2025")
    assert collecting_during == [False, False]
    assert gc.isenabled()
