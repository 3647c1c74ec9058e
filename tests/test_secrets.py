"""Secrets and file modes: the token is in no store row, run record, log line, error or export; the store and
every export are readable by their owner only; spreadsheet cells that look like formulas stay text."""

from __future__ import annotations

import logging
import stat
from pathlib import Path

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


def _everything_written(folder: Path) -> bytes:
    return b"\n".join(p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file() and p.name != "mintqo.token")


def test_the_token_is_in_no_output_run_row_message_report_pdf_or_export(world, tmp_path, caplog):
    """Every command of a working day through the command line, with Moodle echoing the token in its error
    messages (as a misconfigured proxy or debug output might): the token is in no line printed, no log record,
    no store row (sync_runs included), no message, no report, no PDF and no export."""
    from click.testing import CliRunner
    from report_data import CERTIFICATE_MODULES, CERTIFICATE_WORKSHOPS, complete

    from mintqo_lms.cli import main

    sb, store, moodle = world
    caplog.set_level(logging.DEBUG)
    token = tmp_path / "mintqo.token"
    token.write_text(sb.token, encoding="utf-8")
    token.chmod(0o600)
    config = tmp_path / "mintqo.toml"
    config.write_text(f'[moodle]\nurl = "{sb.url}"\ntoken_file = "{token}"\nretries = 0\n\n'
                      f'[store]\npath = "{store.path}"\n', encoding="utf-8")
    with store.transaction():
        for key in CERTIFICATE_MODULES:
            complete(store, "j.weissmueller@mint-trier.example", key)
        for key in CERTIFICATE_WORKSHOPS:
            complete(store, "j.weissmueller@mint-trier.example", key, overrideby=2)
    echo = f"Invalid token {sb.token} (debug)"
    runner = CliRunner()
    outputs = []

    def run(*args: str) -> None:
        result = runner.invoke(main, ["--config", str(config), *args])
        outputs.append(result.output)

    first = sb.calls[0]
    sb.faults.add(first, kind="exception", message=echo)           # provisioning fails on Moodle's echo
    run("provision", "--cohort", "2025")
    sb.faults.add("core_message_send_instant_messages", kind="exception", message=echo, times=3)
    run("invite", "--cohort", "2025")                               # refused messages: their error is stored
    sb.faults.clear()
    run("-vv", "provision", "--cohort", "2025")
    run("sync", "--cohort", "2025")
    run("certificates", "issue", "--cohort", "2025")
    run("invite", "--cohort", "2025")
    run("report", "--cohort", "2025", "--out", str(tmp_path / "bericht"))
    run("selfanalysis", "profile", "--cohort", "2025", "--format", "csv", "-o", str(tmp_path / "profil"))
    run("privacy", "export", "--email", "j.weissmueller@mint-trier.example", "-o", str(tmp_path / "auskunft.json"))
    assert "Error:" in outputs[0] and "***" in outputs[0]            # the echo was printed, redacted
    assert store.db["invitations"].count_where("error IS NOT NULL") or store.db["invitations"].count
    printed = "\n".join(outputs)
    assert sb.token not in printed and sb.token not in caplog.text
    assert sb.token not in "\n".join(store.db.conn.iterdump())
    assert sb.token.encode() not in _everything_written(tmp_path)
    assert list((tmp_path / "certificates").glob("*.pdf")) and (tmp_path / "bericht").exists()
    texts = [m["text"] for m in sb.site.tables["messages"].values()]
    assert texts and not [t for t in texts if sb.token in t]
    # and everything those commands wrote is readable by its owner only
    written = [*(tmp_path / "bericht").iterdir(), *tmp_path.glob("profil.*"), tmp_path / "auskunft.json",
               *(tmp_path / "certificates").glob("*.pdf"), store.path]
    assert len(written) >= 6
    assert {p.name: oct(stat.S_IMODE(p.stat().st_mode)) for p in written if stat.S_IMODE(p.stat().st_mode) & 0o077} \
        == {}


HOSTILE = "<script>alert('x')</script> & \"Anführung\" =SUM(A1) Ümlaut ß"


def test_user_text_is_escaped_in_moodle_xml_html_and_pdf(tmp_path):
    """A statement, a name and an offer containing markup, quotes and a formula: Moodle XML carries it as escaped
    HTML (it shows as the same text), the feedback message shows it as text (no tag), the certificate PDF prints it literally."""
    import subprocess
    import xml.etree.ElementTree as ET

    from mintqo_lms.certificates import load_certificate_template, render_pdf
    from mintqo_lms.feedback import feedback_text
    from mintqo_lms.instrument import to_moodle_xml
    from mintqo_lms.templates import load_instrument

    instrument = load_instrument("selfanalysis/v1")
    statement = instrument.dimensions[0].criteria[0].statements[0]
    object.__setattr__(statement, "text", HOSTILE)
    root = ET.fromstring(to_moodle_xml(instrument))
    texts = ["".join(q.find("questiontext/text").itertext()) for q in root.iter("question")
             if q.find("questiontext/text") is not None]
    import html as html_module
    import re

    assert not [t for t in texts if "<script>" in t]  # HTML-format question text: the statement is escaped HTML
    assert any(HOSTILE in html_module.unescape(re.sub(r"</?p>", "", t)) for t in texts)

    html = feedback_text(first_name=HOSTILE, last_name="B", initiative=HOSTILE, offer=HOSTILE, quiz="Q",
                         finished=1760000000, dimensions=[("Bereich", 50.0, 3, 3)], potentials=[HOSTILE], averages={})
    assert "<script>" not in html and "&lt;script&gt;" in html

    pdf = tmp_path / "c.pdf"
    pdf.write_bytes(render_pdf(load_certificate_template(), name=HOSTILE[:60], network="Netz & <b>", cohort="2025",
                               modules=["Modul <i>1</i>"], issued_at=1760000000, code="ABCD-EFGH-JKMN",
                               url="http://127.0.0.1/local/mintqo/verify.php?code=ABCD-EFGH-JKMN"))
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    flat = " ".join(text.split())
    assert "<script>alert('x')</script>" in flat and "Netz & <b>" in flat and "Modul <i>1</i>" in flat
