"""A store from a newer version, a read-only store and a full disk: one clear line, nothing lost, and the
store byte for byte as it was where nothing could be written."""

from __future__ import annotations

import hashlib
import os
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

import mintqo_lms.store as store_module
from mintqo_lms.cli import main
from mintqo_lms.programme import import_roster
from mintqo_lms.samples import write_synthetic_roster
from mintqo_lms.store import LATEST_VERSION, Store, StoreError

ROSTER = Path(__file__).resolve().parents[1] / "lms_templates" / "roster.example.csv"


def config_for(tmp_path: Path, db: Path) -> Path:
    config = tmp_path / "mintqo.toml"
    config.write_text(f'[store]\npath = "{db}"\n', encoding="utf-8")
    return config


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def content(db: Path) -> list[str]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return list(conn.iterdump())
    finally:
        conn.close()


@pytest.fixture
def filled(tmp_path) -> Path:
    """A store holding the example roster, checkpointed (the WAL folded into the file) and closed."""
    db = tmp_path / "mintqo.db"
    with Store(db) as store:
        import_roster(store, ROSTER, "2025")
        store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return db


def one_error_line(output: str) -> str:
    errors = [line for line in output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, output
    assert "Traceback" not in output
    return errors[0]


def test_a_store_from_a_newer_version_is_refused_and_left_alone(filled, tmp_path):
    conn = sqlite3.connect(filled)
    conn.execute("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, 'from the future', 0)",
                 [LATEST_VERSION + 1])
    conn.commit()
    conn.close()
    before = digest(filled)
    with pytest.raises(StoreError, match=f"schema version {LATEST_VERSION + 1}, newer than this program"):
        Store(filled)
    result = CliRunner().invoke(main, ["--config", str(config_for(tmp_path, filled)), "roster", "import", str(ROSTER),
                                       "--cohort", "2026"])
    assert result.exit_code == 1
    assert "upgrade mintqo-lms" in one_error_line(result.output)
    assert digest(filled) == before


def test_a_read_only_store_is_one_line_and_nothing_changes(filled, tmp_path, monkeypatch):
    """As root (CI containers) a file mode does not stop writes, so SQLite is made to open the file read-only,
    which is what it does for a file it may not write; as another user the file itself is made read-only."""
    before = digest(filled)
    if os.geteuid() != 0:
        filled.chmod(0o400)
        filled.parent.chmod(0o500)
    else:
        real_connect = sqlite3.connect

        def read_only(database, *args, **kwargs):
            return real_connect(f"file:{database}?mode=ro", *args, uri=True, **kwargs)

        monkeypatch.setattr(store_module.sqlite3, "connect", read_only)
    try:
        result = CliRunner().invoke(main, ["--config", str(config_for(tmp_path, filled)), "roster", "import",
                                           str(ROSTER), "--cohort", "2026"])
    finally:
        filled.parent.chmod(0o700)
        filled.chmod(0o600)
    assert result.exit_code == 1
    assert "read-only" in one_error_line(result.output)
    assert digest(filled) == before


def test_a_full_disk_rolls_back_and_loses_nothing(filled, tmp_path, monkeypatch):
    """SQLite's own page limit answers exactly as a full disk does (SQLITE_FULL): the import of a second cohort
    stops with one line, the first cohort is intact, and once there is room again the same command works."""
    before = content(filled)
    real_connect = sqlite3.connect

    def full(database, *args, **kwargs):
        conn = real_connect(database, *args, **kwargs)
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        conn.execute(f"PRAGMA max_page_count = {pages}")
        return conn

    monkeypatch.setattr(store_module.sqlite3, "connect", full)
    config = config_for(tmp_path, filled)
    big = write_synthetic_roster(tmp_path / "gross.csv", coordinators=10, initiatives=60)
    args = ["--config", str(config), "roster", "import", str(big), "--cohort", "2026"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1
    line = one_error_line(result.output)
    assert "is full" in line and "nothing was lost" in line
    assert content(filled) == before
    monkeypatch.setattr(store_module.sqlite3, "connect", real_connect)
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    with Store(filled) as store:
        assert store.db["cohorts"].count == 2


def test_store_errors_from_sqlite_name_the_file_and_the_cause(tmp_path):
    error = store_module._disk_error(tmp_path / "x.db", sqlite3.OperationalError("database or disk is full"))
    assert isinstance(error, StoreError) and str(tmp_path / "x.db") in str(error)
    assert store_module._disk_error(tmp_path / "x.db", sqlite3.OperationalError("no such table: x")) is None
