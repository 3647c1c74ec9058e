"""The README's main command, end to end on the sandbox."""

from __future__ import annotations

import csv

from click.testing import CliRunner

from mintqo_lms.cli import main
from mintqo_lms.store import Store


def test_demo_provisions_simulates_syncs_and_writes_its_files(tmp_path):
    out = tmp_path / "demo"
    result = CliRunner().invoke(main, ["demo", "--out", str(out)], env={"MINTQO_CONFIG": ""})
    assert result.exit_code == 0, result.output
    assert "Sandbox Moodle running at http://127.0.0.1:" in result.output
    assert f"Results in {out.resolve()}" in result.output
    for name in ("mintqo.db", "courses.csv", "selbstanalyse_antworten.csv", "README.txt"):
        assert (out / name).exists(), name
    with Store(out / "mintqo.db") as store:
        assert store.db["courses"].count == 4
        assert store.db["people"].count == 20
        attempts = store.db["quiz_attempts"].count
        assert attempts >= 7  # one per initiative, some with a second analysis
        assert store.db["responses"].count == attempts * 33
        assert [r["kind"] for r in store.db["sync_runs"].rows] == ["provision", "sync"]
    rows = list(csv.DictReader((out / "selbstanalyse_antworten.csv").open(encoding="utf-8")))
    assert len(rows) == attempts * 33 and rows[0]["antwort"].startswith("trifft")
    # Running it again replaces the store and reaches the same result.
    again = CliRunner().invoke(main, ["demo", "--out", str(out)], env={"MINTQO_CONFIG": ""})
    assert again.exit_code == 0, again.output
    with Store(out / "mintqo.db") as store:
        assert store.db["quiz_attempts"].count == attempts
