"""``mintqo-lms report``: the dashboard's content, its escaping, its XLSX, and the rule of five."""

from __future__ import annotations

import html
import re

import openpyxl
import pytest
from click.testing import CliRunner
from report_data import COHORT, DIMENSIONS, TRIER, analyse, change, complete_everything, initiatives, person

from mintqo_lms.cli import main
from mintqo_lms.reports import MIN_GROUP, dashboard_html, min_group, selfanalysis_summary, write_report

# Scores no mean of the other initiatives (all 50) can produce, shown rounded as numbers that appear nowhere else on
# the page: if one of them shows up, a single initiative leaked.
SECRET = {"ang": 87.77, "res": 13.33, "erg": 91.11, "gen": 71.11}
SECRET_CHANGE = 37.7
OTHERS = {"ang": 50.0, "res": 50.0, "erg": 50.0, "gen": 50.0}


def test_min_group_is_five():
    assert MIN_GROUP == 5
    assert min_group([10.0, 20.0, 30.0, 40.0]) is None
    agg = min_group([10.0, 20.0, 30.0, 40.0, 50.0])
    assert (agg.n, agg.mean) == (5, 30.0)


def analysed(store, count: int, *, followups: int = 0) -> list[tuple[str, str]]:
    """``count`` initiatives with a first analysis, the first of them with the SECRET scores; ``followups`` of them
    with a follow-up and a change."""
    chosen = initiatives(store)[:count]
    for number, (network, slug) in enumerate(chosen):
        analyse(store, network, slug, 100 + number, SECRET if number == 0 else OTHERS,
                potentials=["ang-01", "res-02"] if number % 2 else ["ang-01"])
    for number, (network, slug) in enumerate(chosen[:followups]):
        analyse(store, network, slug, 200 + number, OTHERS, kind="followup", potentials=["gen-01"])
        change(store, network, slug, {k: SECRET_CHANGE if number == 0 else 2.0 for k in DIMENSIONS})
    return chosen


def visible(page: str) -> str:
    """What a person can read on the page (text and tooltips), without styles and scripts."""
    page = re.sub(r"<(style|script)[^>]*>.*?</\\1>", " ", page, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


def xlsx_values(path) -> list:
    return [c.value for sheet in openpyxl.load_workbook(path).worksheets for row in sheet.iter_rows() for c in row
            if c.value is not None]


def leaked(text: str, values: list) -> list[str]:
    """Every way the SECRET scores could be shown (rounded, German or English decimals) found in the text or cells."""
    found = []
    for value in [*SECRET.values(), SECRET_CHANGE]:
        for shown in {f"{value:.0f}", f"{value:.1f}", f"{value:.2f}", f"{value:.1f}".replace(".", ","),
                      f"{value:.2f}".replace(".", ",")}:
            if re.search(rf"(?<![\\d,.:]){re.escape(shown)}(?![\\d,:])", text):
                found.append(shown)
        found += [repr(v) for v in values if isinstance(v, (int, float)) and abs(v - value) < 0.06]
        found += [v for v in values if isinstance(v, str) and f"{value:.0f}" in re.findall(r"\\d+", v)]
    return found


def test_four_initiatives_give_no_aggregate_anywhere(world, tmp_path):
    """Below five initiatives nothing of their scores reaches the page or the XLSX: not the single one, not a mean."""
    _, store, _ = world
    analysed(store, 4, followups=4)
    report = write_report(store, COHORT, tmp_path)
    page = report.files[0].read_text(encoding="utf-8")
    assert report.summary.scores["first"] == {k: None for k in DIMENSIONS}
    assert report.summary.potentials is None
    assert 'id="chart-scores' not in page and 'id="chart-change' not in page and 'id="chart-potentials' not in page
    assert "weniger als 5 Initiativen" in page
    assert leaked(visible(page), xlsx_values(report.files[1])) == []
    mean_of_four = (SECRET["ang"] + 3 * 50) / 4
    assert f"{mean_of_four:.0f}" not in visible(page).split()


def test_five_initiatives_show_means_but_never_a_single_initiatives_score(world, tmp_path):
    _, store, _ = world
    analysed(store, 5, followups=5)
    summary = selfanalysis_summary(store, COHORT)
    assert summary.scores["first"]["ang"].n == 5
    assert summary.scores["first"]["ang"].mean == pytest.approx((SECRET["ang"] + 4 * 50) / 5)
    assert summary.change["ang"].mean == pytest.approx((SECRET_CHANGE + 4 * 2.0) / 5)
    assert summary.potentials[0][::2] == ("gen-01", 5)  # in all five latest (follow-up) analyses

    report = write_report(store, COHORT, tmp_path)
    page = report.files[0].read_text(encoding="utf-8")
    assert 'id="chart-scores' in page and 'id="chart-change' in page and 'id="chart-potentials' in page
    assert leaked(visible(page), xlsx_values(report.files[1])) == []
    book = openpyxl.load_workbook(report.files[1])
    scores = [[c.value for c in row] for row in book["Selbstanalyse"].iter_rows()]
    assert ["Angebotsqualität", round((SECRET["ang"] + 200) / 5, 1)] == scores[2][:2]


def test_a_dimension_meaningful_for_fewer_than_five_has_no_mean(world):
    _, store, _ = world
    chosen = initiatives(store)[:6]
    for number, (network, slug) in enumerate(chosen):
        analyse(store, network, slug, 300 + number, {**OTHERS, "gen": None if number < 2 else 40.0})
    summary = selfanalysis_summary(store, COHORT)
    assert summary.scores["first"]["ang"].n == 6
    assert summary.scores["first"]["gen"] is None  # only four meaningful


def test_user_text_is_escaped_and_the_page_loads_nothing_from_outside(world, tmp_path):
    _, store, _ = world
    complete_everything(store, TRIER)
    store.db["people"].update(person(store, TRIER)["id"], {"first_name": "<script>alert(1)</script>",
                                                           "last_name": "O'Brien & \"Söhne\""})
    store.db.execute("UPDATE networks SET name = '\"><img src=x onerror=alert(2)>' WHERE slug = 'mint-region-trier'")
    page = write_report(store, COHORT, tmp_path).files[0].read_text(encoding="utf-8")
    assert "<script>alert(1)" not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; O&#x27;Brien &amp; &quot;Söhne&quot;" in page
    assert "&quot;&gt;&lt;img src=x onerror=alert(2)&gt;" in page
    assert page.count("<script>") == 2  # ours: the error recorder and the page script
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)
    assert "default-src 'none'" in page
    assert '<html lang="de"' in page


def test_dashboard_sections_and_xlsx_sheets(world, tmp_path):
    _, store, _ = world
    complete_everything(store, TRIER)
    analysed(store, 6, followups=2)
    report = write_report(store, COHORT, tmp_path / "new" / "folder")
    page = report.files[0].read_text(encoding="utf-8")
    for heading in ("Qualifizierung: Abschluss je Koordination", "Regionale Workshop-Zyklen und Regionalpauschale",
                    "Selbstanalyse: Ergebnisse je Qualitätsbereich", "Veränderung von der Erst- zur Folgeanalyse",
                    "Am häufigsten genannte Verbesserungspotenziale"):
        assert f"<h2>{heading}</h2>" in page
    assert "Bedingungen erfüllt" in page and "2.500 €" in page
    assert "Bisher 2 Initiativen mit Erst- und Folgeanalyse" in page
    book = openpyxl.load_workbook(report.files[1])
    assert book.sheetnames == ["Abschlussmatrix", "Regionale Zyklen", "Selbstanalyse", "Veränderung",
                               "Verbesserungspotenziale"]
    matrix = [[c.value for c in row] for row in book["Abschlussmatrix"].iter_rows()]
    assert len(matrix) == 4 and matrix[0][0] == "Koordination"
    trier = next(r for r in matrix if r[0] == "Jürgen Weißmüller")
    assert trier[-2] == "vollständig"
    change_rows = [[c.value for c in row] for row in book["Veränderung"].iter_rows()]
    assert all(r[1] == "keine Auswertung" for r in change_rows[2:])


def test_dashboard_html_builds_from_an_empty_cohort(world):
    _, store, _ = world
    from mintqo_lms.progress import cohort_progress

    page = dashboard_html(cohort_progress(store, COHORT), selfanalysis_summary(store, COHORT))
    assert "Bisher 0 Initiativen mit Selbstanalyse" in page


def test_cli_report(world, tmp_path):
    _, store, _ = world
    config = tmp_path / "mintqo.toml"
    config.write_text(f'[store]\npath = "{store.path}"\n', encoding="utf-8")
    runner = CliRunner()
    result = runner.invoke(main, ["report", "--cohort", COHORT, "--out", str(tmp_path / "out")],
                           env={"MINTQO_CONFIG": str(config)})
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out" / "dashboard.html").exists() and (tmp_path / "out" / "dashboard.xlsx").exists()
    unknown = runner.invoke(main, ["report", "--cohort", "2031", "--out", str(tmp_path / "x")],
                            env={"MINTQO_CONFIG": str(config)})
    assert unknown.exit_code == 1 and "unknown cohort '2031'" in unknown.output
    nostore = tmp_path / "none.toml"
    nostore.write_text(f'[store]\npath = "{tmp_path / "nothing.db"}"\n', encoding="utf-8")
    missing = runner.invoke(main, ["report", "--cohort", COHORT, "--out", str(tmp_path / "y")],
                            env={"MINTQO_CONFIG": str(nostore)})
    assert missing.exit_code == 1 and "no store at" in missing.output
    assert not (tmp_path / "nothing.db").exists()
