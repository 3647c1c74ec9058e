"""The cursor-based sync: incremental, idempotent, and a crash re-reads instead of losing data."""

from __future__ import annotations

from pathlib import Path

import pytest

from mintqo_lms.instrument import question_idnumber
from mintqo_lms.moodle import Moodle, MoodleClient
from mintqo_lms.moodle.errors import MintqoError, MoodleError
from mintqo_lms.programme import import_roster
from mintqo_lms.sandbox import Sandbox
from mintqo_lms.store import Store
from mintqo_lms.sync import SyncError, responses_stream, sync_cohort
from mintqo_lms.templates import load_instrument

EXAMPLE_ROSTER = Path(__file__).resolve().parents[1] / "lms_templates" / "roster.example.csv"


def quiz_and_member(store: Store, email: str) -> tuple[int, int]:
    row = next(store.db.query(
        "SELECT p.moodle_user_id, a.instance_id FROM people p JOIN memberships m ON m.person_id = p.id "
        "JOIN courses c ON c.network_slug = m.network_slug AND c.kind = 'regional' "
        "JOIN activities a ON a.course_idnumber = c.idnumber AND a.idnumber LIKE '%selbstanalyse-1' "
        "WHERE p.email = ?", [email]))
    return row["instance_id"], row["moodle_user_id"]


def answers(position: int) -> dict[str, int]:
    instrument = load_instrument("selfanalysis/v1")
    return {question_idnumber(instrument.version, s.key): position for s in instrument.statements()}


def test_answers_arrive_once_and_an_unchanged_sync_is_cheap(world):
    sb, store, moodle = world
    quizid, userid = quiz_and_member(store, "lea.schaefer@forscherwerkstatt.example")
    sb.site.submit_quiz_attempt(userid, quizid, answers(3))
    first = sync_cohort(moodle, store, "2025")
    statements = len(load_instrument("selfanalysis/v1").statements())
    assert (first.attempts, first.responses) == (1, statements)
    assert {r["answer_text"] for r in store.db["responses"].rows} == {"trifft eher zu"}
    second = sync_cohort(moodle, store, "2025")
    assert store.db["responses"].count == statements          # re-read boundary rows are upserted, not added
    assert sum(c["calls"] for c in second.calls.values()) == 2  # one call per stream


def test_a_crash_mid_sync_rereads_on_the_next_run(world):
    sb, store, moodle = world
    quizid, userid = quiz_and_member(store, "lea.schaefer@forscherwerkstatt.example")
    sync_cohort(moodle, store, "2025")
    cursor = store.get_cursor(responses_stream("2025"))
    sb.site.submit_quiz_attempt(userid, quizid, answers(4))
    sb.faults.add("local_mintqo_get_quiz_responses", kind="exception")
    with pytest.raises(MoodleError):
        sync_cohort(moodle, store, "2025")
    assert store.get_cursor(responses_stream("2025")) == cursor  # not advanced without the data
    assert store.db["quiz_attempts"].count == 0
    result = sync_cohort(moodle, store, "2025")
    assert result.attempts == 1 and store.db["quiz_attempts"].count == 1
    assert [r["status"] for r in store.db["sync_runs"].rows_where("kind = 'sync'")] == ["ok", "failed", "ok"]


def test_completions_are_synced_with_their_activity_idnumber(world):
    sb, store, moodle = world
    userid = next(store.db["people"].rows_where("email = ?", ["hannah.gross@mint-erzgebirge.example"]))[
        "moodle_user_id"]
    cm = next(store.db.query("SELECT cmid, idnumber FROM activities WHERE course_idnumber = 'mintqo:cohort:2025' "
                             "AND modname = 'page' ORDER BY cmid LIMIT 1"))
    sb.site.complete_activity(userid, cm["cmid"])
    sync_cohort(moodle, store, "2025")
    row = store.db["activity_completion"].get((cm["cmid"], userid))
    assert row["state"] == 1 and row["activity_idnumber"] == cm["idnumber"]


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


def test_counts_say_what_they_count(world):
    sb, store, moodle = world
    result = sync_cohort(moodle, store, "2025")
    # Every enrolment has a course completion record; nobody has completed a course yet.
    assert result.course_records == store.db["course_completion"].count > 0
    assert result.courses_completed == 0
    assert f"0 course completions (of {result.course_records} course enrolment records read)" in str(result)
    assert "1 self-analysis attempt " not in str(result)  # no attempts: plural "0 self-analysis attempts"
    assert "0 self-analysis attempts with 0 answers" in str(result)
    userid = next(store.db["people"].rows_where("email = ?", ["hannah.gross@mint-erzgebirge.example"]))[
        "moodle_user_id"]
    cm = next(store.db.query("SELECT cmid FROM activities WHERE course_idnumber = 'mintqo:cohort:2025' "
                             "AND modname = 'page' ORDER BY cmid LIMIT 1"))
    sb.site.complete_activity(userid, cm["cmid"])
    second = sync_cohort(moodle, store, "2025")
    assert second.activities_completed == 1 and "1 activity completion (of" in str(second)
