"""Secrets and file modes: the token is in no store row, run record, log line, error or export; the store and
every export are readable by their owner only; spreadsheet cells that look like formulas stay text."""

from __future__ import annotations

import logging
import stat

import pytest

from mintqo_lms.exports import write_table
from mintqo_lms.moodle import Moodle, MoodleClient
from mintqo_lms.moodle.errors import MintqoError


def test_the_token_is_nowhere_in_the_store_runs_logs_or_errors(world, caplog):
    sb, store, moodle = world
    caplog.set_level(logging.DEBUG)
    sb.faults.add("core_course_get_categories", kind="exception", message=f"echo {sb.token}")
    client = MoodleClient(sb.url, sb.token, retries=0)
    with pytest.raises(MintqoError) as caught:
        Moodle(client).core.get_categories_by_idnumber("mintqo:root")
    logging.getLogger("mintqo_lms").warning("token %s", sb.token)
    assert sb.token not in repr(client) and sb.token not in caplog.text
    dump = "\n".join(store.db.conn.iterdump())
    assert sb.token not in dump
    assert "***" in caplog.text
    assert str(caught.value)  # Moodle's own words may be quoted; the CLI redacts (redact_secrets) before printing


def test_store_and_exports_are_private_and_cells_stay_text(world, tmp_path):
    sb, store, moodle = world
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    files = write_table(tmp_path / "liste.csv", ["Name"], [["=HYPERLINK(\"http://x\")"], ["+49 123"], ["@SUM(A1)"]])
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    from openpyxl import load_workbook

    sheet = load_workbook(files[1]).active
    assert [sheet.cell(row=r, column=1).data_type for r in (2, 3, 4)] == ["s", "s", "s"]
    assert "'=HYPERLINK" in files[0].read_text(encoding="utf-8-sig").splitlines()[1]
