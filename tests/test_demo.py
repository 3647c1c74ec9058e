"""The README's main command, end to end on the sandbox, and its output opened as a person would."""

from __future__ import annotations

import csv
import json

import openpyxl
import pytest
from click.testing import CliRunner

from mintqo_lms.cli import main
from mintqo_lms.demo import MARKER
from mintqo_lms.store import Store
from mintqo_lms.templates import load_instrument

ANSWER_HEADER = ["Netzwerk", "Initiative", "Analyse", "Versuch Nr.", "Abgeschlossen am", "Aussage-Nr.",
                 "Aussage", "Antwort", "Wert"]
COURSE_HEADER = ["Art", "Netzwerk", "Kursname", "Kurzname", "Link", "Eingeschriebene Personen"]


def demo(*args: str):
    return CliRunner().invoke(main, ["demo", *args], env={"MINTQO_CONFIG": ""})


def open_like_german_excel(path):
    """What a double-click in German Excel sees: it needs the BOM to read UTF-8 and splits on ';'."""
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf"), f"{path.name}: no UTF-8 byte-order mark"
    text = raw[3:].decode("utf-8")
    rows = list(csv.reader(text.splitlines(), delimiter=";"))
    assert all(len(row) == len(rows[0]) for row in rows), f"{path.name}: ragged rows"
    return rows[0], rows[1:]


@pytest.fixture(scope="module")
def demo_out(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo") / "out"
    result = demo("--out", str(out))
    assert result.exit_code == 0, result.output
    return out, result


def test_demo_provisions_simulates_syncs_and_writes_its_files(demo_out):
    out, result = demo_out
    assert "Sandbox Moodle running at http://127.0.0.1:" in result.output
    assert f"Results in {out.resolve()}" in result.output
    for name in ("mintqo.db", "courses.csv", "courses.xlsx", "selbstanalyse_antworten.csv",
                 "selbstanalyse_antworten.xlsx", "profile.json", "selbstanalyse_profil.csv",
                 "selbstanalyse_profil.xlsx", "README.txt", MARKER):
        assert (out / name).exists(), name
    with Store(out / "mintqo.db") as store:
        assert store.db["courses"].count == 4
        assert store.db["people"].count == 20
        attempts = store.db["quiz_attempts"].count
        assert attempts >= 7  # one per initiative, some with a second analysis
        assert store.db["responses"].count == attempts * 33
        assert [(r["kind"], r["dry_run"], r["status"]) for r in store.db["sync_runs"].rows] == [
            ("provision", 0, "ok"), ("sync", 0, "ok"), ("certificates", 0, "ok")]


def test_demo_prints_one_initiatives_profile_and_writes_every_profile_as_json(demo_out):
    out, result = demo_out
    data = json.loads((out / "profile.json").read_text(encoding="utf-8"))
    assert f"(mintqo-lms selfanalysis profile --format json): {(out / 'profile.json').resolve()}" in result.output
    assert data["cohort"] == "2025" and len(data["initiatives"]) == 7
    with Store(out / "mintqo.db") as store:
        assert store.db["analyses"].count == store.db["quiz_attempts"].count  # one member each: all current
        shown = next(item for item in data["initiatives"] if len(item["analyses"]) == 2)
        assert f"{shown['network']} / {shown['initiative']}: {shown['name']}" in result.output
        for analysis in shown["analyses"]:
            level = {r["question_idnumber"].rsplit(":", 1)[-1]: r["answer_position"]
                     for r in store.db["responses"].rows_where("attemptid = ?", [analysis["attemptid"]])}
            for dimension in load_instrument("selfanalysis/v1").dimensions:
                values = [(level[s.key] - 1) / 3 * 100 for s in dimension.statements()]
                assert analysis["dimensions"][dimension.key] == pytest.approx(sum(values) / len(values), abs=0.005)
        first, latest = shown["analyses"]
        for key, value in shown["change"].items():
            assert value == pytest.approx(latest["dimensions"][key] - first["dimensions"][key], abs=0.011)
            assert f"{value:+.0f}" in result.output
        assert "improvement potentials (latest analysis):" in result.output
        assert all(f"    {key}: " in result.output for key in latest["potentials"])
    header, rows = open_like_german_excel(out / "selbstanalyse_profil.csv")
    assert header[:5] == ["Netzwerk", "Initiative", "Name", "Angebot", "Analyse"]
    assert {row[4] for row in rows} == {"Erstanalyse", "Folgeanalyse"}


def test_the_answers_open_in_german_excel_and_say_what_they_are(demo_out):
    out, _ = demo_out
    header, rows = open_like_german_excel(out / "selbstanalyse_antworten.csv")
    assert header == ANSWER_HEADER
    with Store(out / "mintqo.db") as store:
        attempts = list(store.db["quiz_attempts"].rows)
    assert len(rows) == len(attempts) * 33
    by_column = [dict(zip(header, row)) for row in rows]
    assert {r["Analyse"] for r in by_column} == {"Erstanalyse", "Folgeanalyse"}
    # The attempt's number for that initiative and analysis, not Moodle's global attempt id.
    assert {r["Versuch Nr."] for r in by_column} == {"1"}
    assert len({a["attemptid"] for a in attempts}) > 1  # Moodle's ids differ; the initiative's number does not
    for row in by_column:
        assert row["Aussage-Nr."].count("-") == 1 and not row["Aussage-Nr."].startswith("mintqo:")
        assert row["Antwort"].startswith("trifft") and row["Wert"] in {"1", "2", "3", "4"}
        assert row["Abgeschlossen am"].count(".") == 2
    first = by_column[0]
    assert first["Aussage"] and first["Aussage"][0].isupper() and first["Aussage"].endswith(".")
    assert {r["Aussage-Nr."] for r in by_column} & {"ang-01"}
    # No raw database ids: no column named after one, no idnumber in any cell.
    assert not any("id" in name.lower().split() for name in header)
    assert not any(cell.startswith("mintqo:") for row in rows for cell in row)


def test_the_courses_open_in_german_excel_without_raw_ids(demo_out):
    out, _ = demo_out
    header, rows = open_like_german_excel(out / "courses.csv")
    assert header == COURSE_HEADER
    assert [row[0] for row in rows].count("Qualifizierungskurs") == 1
    assert [row[0] for row in rows].count("Regionalkurs") == 3
    assert all(row[4].startswith("http://127.0.0.1:") and "/course/view.php?id=" in row[4] for row in rows)
    assert not any(cell.startswith("mintqo:") for row in rows for cell in row)


def test_the_xlsx_beside_each_csv_holds_the_same_table(demo_out):
    out, _ = demo_out
    for name in ("courses", "selbstanalyse_antworten"):
        header, rows = open_like_german_excel(out / f"{name}.csv")
        book = openpyxl.load_workbook(out / f"{name}.xlsx", read_only=True)
        sheet = book.active
        values = [[("" if v is None else str(v)) for v in row] for row in sheet.iter_rows(values_only=True)]
        book.close()
        assert values[0] == header
        assert values[1:] == rows


def test_a_folder_with_the_users_own_files_is_refused_and_left_alone(tmp_path):
    out = tmp_path / "mydir"
    out.mkdir()
    (out / "mintqo.db").write_bytes(b"my own store")
    (out / "roster.csv").write_text("my roster", encoding="utf-8")
    result = demo("--out", str(out), "--full-size")
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    [line] = [ln for ln in result.output.splitlines() if ln.startswith("Error:")]
    assert "already holds files the demo did not write (mintqo.db, roster.csv); nothing was changed" in line
    assert (out / "mintqo.db").read_bytes() == b"my own store"
    assert (out / "roster.csv").read_text(encoding="utf-8") == "my roster"
    assert sorted(p.name for p in out.iterdir()) == ["mintqo.db", "roster.csv"]


def test_a_file_as_out_is_refused(tmp_path):
    target = tmp_path / "notes.txt"
    target.write_text("mine")
    result = demo("--out", str(target))
    assert result.exit_code != 0 and target.read_text() == "mine"


def test_an_earlier_demo_folder_is_replaced_but_a_users_file_in_it_stops_the_run(demo_out, tmp_path):
    out = tmp_path / "again"
    first = demo("--out", str(out))
    assert first.exit_code == 0, first.output
    with Store(out / "mintqo.db") as store:
        attempts = store.db["quiz_attempts"].count
    again = demo("--out", str(out))
    assert again.exit_code == 0, again.output
    with Store(out / "mintqo.db") as store:
        assert store.db["quiz_attempts"].count == attempts
        assert store.db["sync_runs"].count == 3  # a fresh store (provision, sync, certificates), not the old one continued
    (out / "meine-notizen.txt").write_text("mine", encoding="utf-8")
    refused = demo("--out", str(out))
    assert refused.exit_code == 1 and "meine-notizen.txt" in refused.output
    assert (out / "meine-notizen.txt").read_text(encoding="utf-8") == "mine"
    assert (out / "mintqo.db").exists()


def test_the_demo_ends_with_progress_and_the_dashboard(demo_out):
    out, result = demo_out
    lines = result.output.splitlines()
    done = lines.index(next(line for line in lines if line.startswith("Done.")))
    assert lines[done - 2].startswith("Dashboard (mintqo-lms report), opens in any browser without network: ")
    assert str((out / "dashboard.html").resolve()) in lines[done - 2]
    for name in ("certificates", "fortschritt.csv", "fortschritt.xlsx", "dashboard.html", "dashboard.xlsx"):
        assert f"  {name}" in lines[done:], name

    header, rows = open_like_german_excel(out / "fortschritt.csv")
    assert header[:4] == ["Netzwerk", "Region", "Koordination", "E-Mail"] and len(rows) == 3
    with Store(out / "mintqo.db") as store:
        from mintqo_lms.certificates import eligibility

        eligible = {p.email: "ja" if p.eligible else "nein" for p in eligibility(store, "2025")[0]}
    assert {row[3]: row[header.index("Zertifikat möglich")] for row in rows} == eligible
    assert "ja" in eligible.values()  # staff recorded the workshops of the coordinator who did everything
    # the demo issued their certificates before writing the progress: one PDF each, shown as issued
    assert len(list((out / "certificates").glob("*.pdf"))) == list(eligible.values()).count("ja")
    assert "Certificates (mintqo-lms certificates issue): Issued " in result.output
    assert all(row[header.index("Zertifikat")].startswith("ausgestellt am ")
               for row in rows if row[header.index("Zertifikat möglich")] == "ja")
    assert all(int(row[header.index("Initiativen")]) >= 2 for row in rows)
    assert any(int(row[header.index("Workshop 1: Initiativen anwesend")]) > 0 for row in rows)

    book = openpyxl.load_workbook(out / "fortschritt.xlsx", read_only=True)
    assert book.sheetnames == ["Übersicht", "MINT-Netzwerk Erzgebirge", "MINT-Region Trier",
                               "zdi-Netzwerk Ruhr & Emscher"]
    book.close()
    page = (out / "dashboard.html").read_text(encoding="utf-8")
    assert "<title>MINT-Qualitätsoffensive – Dashboard Durchgang 2025</title>" in page
    assert 'id="chart-module-' in page and 'id="chart-scores-' in page  # seven initiatives: means are shown
    assert openpyxl.load_workbook(out / "dashboard.xlsx").sheetnames[0] == "Abschlussmatrix"


def test_an_earlier_demos_certificates_folder_is_replaced(tmp_path):
    from mintqo_lms.demo import prepare_out_dir

    out = tmp_path / "demo"
    prepare_out_dir(out)
    (out / "certificates").mkdir()
    (out / "certificates" / "old.pdf").write_bytes(b"%PDF-old")
    (out / "dashboard.html").write_text("old", encoding="utf-8")
    prepare_out_dir(out)
    assert sorted(p.name for p in out.iterdir()) == [MARKER]
