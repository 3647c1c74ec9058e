"""Tables staff open: German Excel CSV (BOM, ';'), an .xlsx beside it, never a formula, rows that say what they are."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest

from mintqo_lms.config import Config
from mintqo_lms.exports import ANSWER_HEADER, analysis_label, answer_rows, read_table, write_table
from mintqo_lms.instrument import question_idnumber
from mintqo_lms.moodle import Moodle, MoodleClient
from mintqo_lms.programme import import_roster
from mintqo_lms.provision import provision
from mintqo_lms.samples import HEADER as ROSTER_HEADER
from mintqo_lms.samples import write_synthetic_roster
from mintqo_lms.sandbox import Sandbox
from mintqo_lms.store import Store
from mintqo_lms.sync import sync_cohort
from mintqo_lms.templates import load_instrument


# These tests sync right after the simulated work; the plugin's settle window is not their topic.
pytestmark = pytest.mark.usefixtures("no_settle")

EXAMPLE_ROSTER = Path(__file__).resolve().parents[1] / "lms_templates" / "roster.example.csv"


def test_csv_is_utf8_with_bom_and_semicolons_and_an_xlsx_is_written_beside_it(tmp_path):
    files = write_table(tmp_path / "liste.csv", ["Name", "Ort"], [["Jörg Weiß", "Köln; Porz"], ["Änne", None]])
    assert files == [tmp_path / "liste.csv", tmp_path / "liste.xlsx"]
    raw = (tmp_path / "liste.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    assert raw[3:].decode("utf-8") == 'Name;Ort\r\nJörg Weiß;"Köln; Porz"\r\nÄnne;\r\n'
    sheet = openpyxl.load_workbook(tmp_path / "liste.xlsx").active
    assert [[c.value for c in row] for row in sheet.iter_rows()] == [["Name", "Ort"], ["Jörg Weiß", "Köln; Porz"],
                                                                     ["Änne", None]]


@pytest.mark.parametrize("evil", ["=HYPERLINK(\"http://x\",\"klick\")", "+49 30 1234", "-2+3", "@SUM(A1)",
                                  "\t=1", "\r=1"])
def test_a_text_that_looks_like_a_formula_is_written_as_text(tmp_path, evil):
    write_table(tmp_path / "t.csv", ["Name", "Wert"], [[evil, -3]])
    header, rows = read_table(tmp_path / "t.csv")
    assert rows == [["'" + evil, "-3"]]  # the apostrophe makes a spreadsheet show it as text; numbers stay numbers
    cell = openpyxl.load_workbook(tmp_path / "t.xlsx").active["A2"]
    assert cell.value.lstrip() == evil.lstrip() and cell.data_type == "s"  # (XML turns a leading \r into \n)
    assert openpyxl.load_workbook(tmp_path / "t.xlsx").active["B2"].value == -3


def test_rows_must_match_the_header(tmp_path):
    with pytest.raises(ValueError, match="row 1 has 1 cells, the header 2"):
        write_table(tmp_path / "t.csv", ["a", "b"], [["x"]])


def test_the_synthetic_roster_is_written_for_german_excel(tmp_path):
    path = write_synthetic_roster(tmp_path / "roster.csv", coordinators=2, initiatives=2, members_per_initiative=1,
                                  buddies=1, staff=1, xlsx=True)
    header, rows = read_table(path)
    assert path.read_bytes().startswith(b"\xef\xbb\xbf") and header == ROSTER_HEADER and len(rows) == 6
    assert (tmp_path / "roster.xlsx").exists()


def test_analysis_names_come_from_the_activity_key():
    assert analysis_label("selbstanalyse-1") == "Erstanalyse"
    assert analysis_label("selbstanalyse-2") == "Folgeanalyse"


def test_answers_are_numbered_per_initiative_and_analysis_with_wording_label_and_value(tmp_path):
    instrument = load_instrument("selfanalysis/v1")
    with Sandbox() as sb, Store(tmp_path / "s.db") as store:
        import_roster(store, EXAMPLE_ROSTER, "2025")
        moodle = Moodle(MoodleClient(sb.url, sb.token, retries=0))
        provision(moodle, store, Config(), "2025")

        def quiz(email: str, key: str) -> tuple[int, int]:
            row = next(store.db.query(
                "SELECT p.moodle_user_id, a.instance_id FROM people p JOIN memberships m ON m.person_id = p.id "
                "JOIN courses c ON c.network_slug = m.network_slug AND c.kind = 'regional' "
                "JOIN activities a ON a.course_idnumber = c.idnumber AND a.idnumber LIKE ? WHERE p.email = ?",
                [f"%:{key}", email]))
            return row["instance_id"], row["moodle_user_id"]

        def answers(position: int) -> dict[str, int]:
            return {question_idnumber(instrument.version, s.key): position for s in instrument.statements()}

        # Two members of one initiative each submit the first analysis; one of them later the follow-up.
        for email, key, position in [("lea.schaefer@forscherwerkstatt.example", "selbstanalyse-1", 2),
                                     ("tobias.becker@forscherwerkstatt.example", "selbstanalyse-1", 3),
                                     ("lea.schaefer@forscherwerkstatt.example", "selbstanalyse-2", 4),
                                     ("m.lenz@robotik-mosel.example", "selbstanalyse-1", 1)]:
            quizid, userid = quiz(email, key)
            sb.site.submit_quiz_attempt(userid, quizid, answers(position))
        sync_cohort(moodle, store, "2025")
        rows = [dict(zip(ANSWER_HEADER, row)) for row in answer_rows(store, "2025")]
    statements = len(instrument.statements())
    assert len(rows) == 4 * statements
    attempts = sorted({(r["Initiative"], r["Analyse"], r["Versuch Nr."], r["Wert"]) for r in rows})
    assert attempts == [("Forscherwerkstatt Saarburg", "Erstanalyse", 1, 2),
                        ("Forscherwerkstatt Saarburg", "Erstanalyse", 2, 3),
                        ("Forscherwerkstatt Saarburg", "Folgeanalyse", 1, 4),
                        ("Robotik-Club Mosel e. V.", "Erstanalyse", 1, 1)]
    first = next(r for r in rows if r["Aussage-Nr."] == "ang-01" and r["Wert"] == 3)
    assert first["Netzwerk"] == "MINT-Region Trier"
    assert first["Aussage"] == instrument.statements()[0].text
    assert first["Antwort"] == "trifft eher zu"
