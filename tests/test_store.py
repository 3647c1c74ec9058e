from __future__ import annotations

import os
import stat

import pytest

from mintqo_lms.store import LATEST_VERSION, MIGRATIONS, Store, StoreError

EXPECTED_TABLES = {
    "cohorts", "networks", "coordinators", "initiatives", "people", "memberships", "courses", "enrolments",
    "groups", "activities", "activity_completion", "course_completion", "quiz_attempts", "responses",
    "certificates", "sync_state", "sync_runs", "schema_migrations",
}


def test_new_store_is_private_wal_and_fully_migrated(tmp_path):
    path = tmp_path / "sub" / "mintqo.db"
    with Store(path) as store:
        assert store.version == LATEST_VERSION
        assert set(store.db.table_names()) == EXPECTED_TABLES
        assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert [r["version"] for r in store.db["schema_migrations"].rows] == [m.version for m in MIGRATIONS]
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_an_empty_existing_file_is_migrated(tmp_path):
    path = tmp_path / "empty.db"
    path.touch()
    with Store(path) as store:
        assert store.version == LATEST_VERSION


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
    with pytest.raises(StoreError, match="not a usable SQLite file"):
        Store(path)


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
