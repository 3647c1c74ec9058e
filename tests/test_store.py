from __future__ import annotations

import os
import stat

import pytest

from mintqo_lms.store import LATEST_VERSION, MIGRATIONS, Store, StoreError

EXPECTED_TABLES = {
    "cohorts", "networks", "coordinators", "initiatives", "people", "memberships", "courses", "enrolments",
    "groups", "activities", "activity_completion", "course_completion", "quiz_attempts", "responses",
    "certificates", "sync_state", "sync_runs", "schema_migrations", "timetable", "invitations", "role_assignments",
    "analyses", "analysis_scores", "analysis_changes", "feedback_messages", "moodle_enrolments",
    "moodle_group_members", "attendance", "privacy_log", "certificate_messages",
}


def test_new_store_is_private_wal_and_fully_migrated(tmp_path):
    path = tmp_path / "sub" / "mintqo.db"
    with Store(path) as store:
        assert store.version == LATEST_VERSION
        assert set(store.db.table_names()) == EXPECTED_TABLES
        assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert [r["version"] for r in store.db["schema_migrations"].rows] == [m.version for m in MIGRATIONS]
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_an_empty_existing_file_is_refused_not_migrated(tmp_path):
    # A 0-byte file is not a store (a truncated backup, a typo in store.path): never turn it into one.
    path = tmp_path / "empty.db"
    path.touch()
    with pytest.raises(StoreError, match="is an empty file, not a programme store; nothing was changed"):
        Store(path)
    assert path.stat().st_size == 0
    assert not (tmp_path / "empty.db-wal").exists()


def test_a_store_readable_by_others_is_made_private_on_open(tmp_path):
    path = tmp_path / "s.db"
    Store(path).close()
    os.chmod(path, 0o644)
    with Store(path) as store:
        assert store.version == LATEST_VERSION
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


@pytest.mark.parametrize("start", range(0, LATEST_VERSION))
def test_a_file_at_every_earlier_version_migrates_forward_keeping_its_data(tmp_path, start):
    path = tmp_path / "old.db"
    with Store(path, migrate_to=start) as old:
        assert old.version == start
        if start >= 1:
            old.db["cohorts"].insert({"key": "2024", "title": "Durchgang 2024"})
            old.db["people"].insert({"email": "a@example.org", "idnumber": "mintqo:p:1", "first_name": "Änne"})
    with Store(path) as store:
        assert store.version == LATEST_VERSION
        assert set(store.db.table_names()) == EXPECTED_TABLES
        if start >= 1:
            assert [r["title"] for r in store.db["cohorts"].rows] == ["Durchgang 2024"]
            assert [r["first_name"] for r in store.db["people"].rows] == ["Änne"]
        assert store.migrate() == []  # idempotent


def test_a_store_from_a_newer_program_is_refused(tmp_path):
    path = tmp_path / "new.db"
    with Store(path) as store:
        store.db["schema_migrations"].insert({"version": LATEST_VERSION + 1, "name": "future", "applied_at": 0})
    with pytest.raises(StoreError, match="newer than this program"):
        Store(path)


def test_a_file_that_is_not_sqlite_is_a_clear_error(tmp_path):
    path = tmp_path / "junk.db"
    path.write_bytes(b"this is not a database at all" * 100)
    with pytest.raises(StoreError, match="is not an SQLite database, not a programme store"):
        Store(path)
    assert path.read_bytes() == b"this is not a database at all" * 100


def test_transaction_rolls_back_everything_on_error(tmp_path):
    with Store(tmp_path / "t.db") as store:
        with pytest.raises(RuntimeError):
            with store.transaction():
                store.db["cohorts"].insert({"key": "2025", "title": "x"})
                store.set_cursor("completions", "123")
                raise RuntimeError("crash mid-way")
        assert store.db["cohorts"].count == 0
        assert store.get_cursor("completions") == "0"


def test_runs_are_recorded_with_summary_and_calls(tmp_path):
    with Store(tmp_path / "t.db") as store:
        run = store.start_run("provision", "2025")
        store.finish_run(run, status="ok", summary={"courses": {"created": 2}}, calls={"x": {"calls": 3}})
        row = store.db["sync_runs"].get(run)
        assert row["status"] == "ok" and row["cohort"] == "2025"
        assert '"created": 2' in row["summary"] and row["finished_at"] >= row["started_at"]


def test_a_dry_run_is_recorded_as_one_and_not_counted(tmp_path):
    with Store(tmp_path / "t.db") as store:
        dry = store.start_run("provision", "2025", dry_run=True)
        store.finish_run(dry, status="planned")
        older_spelling = store.start_run("provision-dry-run", "2025")
        store.finish_run(older_spelling, status="planned")
        store.finish_run(store.start_run("sync", "2025"), status="ok")
        real = store.start_run("provision", "2025")
        store.finish_run(real, status="ok")
        assert store.run_number(real) == 1
        rows = {row["id"]: row for row in store.db["sync_runs"].rows}
        assert (rows[dry]["kind"], rows[dry]["dry_run"]) == ("provision", 1)
        assert (rows[older_spelling]["kind"], rows[older_spelling]["dry_run"]) == ("provision", 1)
        assert rows[real]["dry_run"] == 0 and rows[real]["pid"] == os.getpid()


def test_a_run_whose_process_died_is_marked_interrupted_by_the_next_one(tmp_path):
    import subprocess
    import sys

    path = tmp_path / "t.db"
    # A run started by a process that then dies without finishing it (as if killed half-way).
    subprocess.run([sys.executable, "-c", "import sys; from mintqo_lms.store import Store; "
                    f"s = Store({str(path)!r}); s.start_run('sync', '2025'); s.close()"], check=True)
    with Store(path) as store:
        [row] = store.db["sync_runs"].rows
        assert row["status"] == "running"
        mine = store.start_run("sync", "2025")
        assert store.db["sync_runs"].get(row["id"])["status"] == "interrupted"
        assert store.db["sync_runs"].get(mine)["status"] == "running"  # our own run is alive
        assert store.mark_interrupted_runs() == []


def test_migration_6_turns_old_dry_run_records_into_dry_runs(tmp_path):
    path = tmp_path / "old.db"
    with Store(path, migrate_to=5) as old:
        old.db["sync_runs"].insert({"kind": "provision-dry-run", "cohort": "2025", "status": "planned"})
        old.db["sync_runs"].insert({"kind": "provision", "cohort": "2025", "status": "running"})
    with Store(path) as store:
        first, second = store.db["sync_runs"].rows
        assert (first["kind"], first["dry_run"]) == ("provision", 1)
        assert second["dry_run"] == 0
        store.mark_interrupted_runs()  # recorded without an owner: nothing can still be running it
        assert store.db["sync_runs"].get(second["id"])["status"] == "interrupted"


def test_a_store_that_cannot_be_created_is_a_clear_error(tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    with pytest.raises(StoreError, match="cannot create the store .*check store.path"):
        Store(blocker / "mintqo.db")
    with pytest.raises(StoreError, match="is a folder, not a store file"):
        Store(tmp_path)


def test_an_analysis_is_named_by_its_attempt_and_scored_once_per_level_and_key(tmp_path):
    """Migration 8: one row per initiative's analysis (attempt ids unique), one score per level and key."""
    import sqlite3

    with Store(tmp_path / "s.db") as store:
        store.db["cohorts"].insert({"key": "2025", "title": "Durchgang 2025"})
        row = {"cohort": "2025", "network_slug": "n", "initiative_slug": "i", "quiz": "selbstanalyse-1",
               "attemptid": 7, "kind": "first", "instrument": "v1", "current": 1}
        store.db["analyses"].insert(row)
        with pytest.raises(sqlite3.IntegrityError):
            store.db["analyses"].insert(dict(row, initiative_slug="other"))  # one attempt, one analysis
        store.db["analysis_scores"].insert({"attemptid": 7, "level": "dimension", "key": "ang", "score": None,
                                            "answered": 2, "total": 9, "meaningful": 0})
        with pytest.raises(sqlite3.IntegrityError):
            store.db["analysis_scores"].insert({"attemptid": 7, "level": "dimension", "key": "ang", "score": 50.0})
        with pytest.raises(sqlite3.IntegrityError):
            store.db["analysis_scores"].insert({"attemptid": 8, "level": "dimension", "key": "ang"})  # no analysis 8


def test_bulk_upsert_writes_what_sqlite_utils_upsert_all_writes(tmp_path):
    """sync's bulk writes (one prepared statement per page) must leave the same rows as the per-row upserts
    they replaced: new rows inserted, existing ones updated in every other column, nothing else touched."""
    columns = ("courseid", "userid", "roles", "status", "timestart", "timeend", "timemodified", "active", "seen_at")
    first = [(2, 5, "student", 0, 0, 0, 100, 1, 1), (2, 6, "editingteacher", 0, 0, 0, 100, 1, 1),
             (3, 5, "student", 1, 10, 20, 100, 1, 1)]
    second = [(2, 5, "student,teacher", 0, 0, 0, 200, 1, 2), (4, 7, "student", 0, 0, 0, 200, 1, 2)]
    with Store(tmp_path / "bulk.db") as bulk, Store(tmp_path / "utils.db") as utils:
        for rows in (first, second):
            with bulk.transaction():
                bulk.upsert_rows("moodle_enrolments", ("courseid", "userid"), columns, iter(rows))
            with utils.transaction():
                utils.db["moodle_enrolments"].upsert_all([dict(zip(columns, row)) for row in rows],
                                                         pk=("courseid", "userid"))
        query = "SELECT * FROM moodle_enrolments ORDER BY courseid, userid"
        assert list(bulk.db.query(query)) == list(utils.db.query(query))
        assert len(list(bulk.db.query(query))) == 4
        assert bulk.db["moodle_enrolments"].get((2, 5))["roles"] == "student,teacher"


def test_bulk_insert_refuses_a_second_row_with_the_same_key_and_rolls_back(tmp_path):
    import sqlite3

    columns = ("courseid", "userid", "timeenrolled", "timestarted", "timecompleted", "timemodified")
    with Store(tmp_path / "s.db") as store:
        with pytest.raises(sqlite3.IntegrityError, match="UNIQUE"):
            with store.transaction():
                store.insert_rows("course_completion", columns, [(2, 5, 1, 1, 0, 1), (2, 6, 1, 1, 0, 1),
                                                                 (2, 5, 1, 1, 9, 9)])
        assert store.db["course_completion"].count == 0


def test_query_in_asks_in_chunks_and_every_matching_row_comes_back_once(tmp_path):
    """Values over several chunks (an old SQLite build allows 999 host parameters per statement): every matching
    row comes back, none twice, the parameters before the list stay in front of each chunk."""
    columns = ("courseid", "userid", "roles", "status", "timestart", "timeend", "timemodified", "active", "seen_at")
    with Store(tmp_path / "in.db") as store:
        with store.transaction():
            store.upsert_rows("moodle_enrolments", ("courseid", "userid"), columns,
                              [(2, userid, "student", 0, 0, 0, 100, userid % 2, 1) for userid in range(1, 2501)])
        rows = list(store.query_in("SELECT userid FROM moodle_enrolments WHERE courseid = ? AND active = 1 AND "
                                   "userid IN ({})", range(0, 3000), [2]))
        assert sorted(r["userid"] for r in rows) == list(range(1, 2501, 2))
        assert list(store.query_in("SELECT userid FROM moodle_enrolments WHERE userid IN ({})", [])) == []


def test_commits_are_normal_unless_durable_where_only_the_store_knows(tmp_path):
    """WAL with synchronous=NORMAL by default; FULL inside durable() (nested too), NORMAL again after it, also
    after an error; durable() cannot begin inside a transaction."""
    store = Store(tmp_path / "s.db")
    synchronous = lambda: store.db.execute("PRAGMA synchronous").fetchone()[0]  # noqa: E731
    assert synchronous() == 1
    with store.durable():
        assert synchronous() == 2
        with store.durable():
            assert synchronous() == 2
        assert synchronous() == 2
    assert synchronous() == 1
    with pytest.raises(RuntimeError):
        with store.durable():
            raise RuntimeError("boom")
    assert synchronous() == 1
    with store.transaction():
        with pytest.raises(StoreError, match="outside a transaction"):
            with store.durable():
                pass
    assert synchronous() == 1
