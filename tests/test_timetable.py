"""The timetable staff keep: read like the roster (CSV/XLSX, line/column/why), stored all or nothing."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from mintqo_lms.programme import import_roster
from mintqo_lms.roster import slugify
from mintqo_lms.store import Store
from mintqo_lms.templates import load_curriculum
from mintqo_lms.timetable import (
    TIMEZONE,
    TimetableError,
    format_slot,
    import_timetable,
    load_timetable,
    parse_timetable,
    short_network_name,
)

PROJECT = Path(__file__).resolve().parents[1]
EXAMPLE = PROJECT / "lms_templates" / "timetable.example.csv"
EXAMPLE_ROSTER = PROJECT / "lms_templates" / "roster.example.csv"
NETWORKS = {slugify(n): n for n in ("MINT-Region Trier", "zdi-Netzwerk Ruhr & Emscher", "MINT-Netzwerk Erzgebirge")}
HEADER = "Kurs;Termin;Beginn;Ende;Ort;Hinweis\n"


@pytest.fixture(scope="module")
def curricula():
    return load_curriculum("qualification"), load_curriculum("regional_cycle")


def parse(tmp_path: Path, text: str, curricula, name: str = "termine.csv", cohort: str = "2025", raw: bytes | None = None):
    path = tmp_path / name
    if raw is not None:
        path.write_bytes(raw)
    else:
        path.write_text(text, encoding="utf-8")
    return parse_timetable(path, cohort, NETWORKS, *curricula)


def problems(tmp_path: Path, text: str, curricula) -> list[str]:
    with pytest.raises(TimetableError) as caught:
        parse(tmp_path, text, curricula)
    return [str(p) for p in caught.value.problems]


def local(timestamp: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(timestamp, tz=TIMEZONE)


def test_the_example_covers_every_network_and_the_cohort_course_without_warnings(curricula):
    table = parse_timetable(EXAMPLE, "2025", NETWORKS, *curricula)
    assert table.warnings == []
    courses = {s.course_idnumber for s in table.slots}
    assert courses == {"mintqo:cohort:2025", *(f"mintqo:region:2025:{slug}" for slug in NETWORKS)}
    cohort = {(s.key, s.kind) for s in table.slots if s.course_idnumber == "mintqo:cohort:2025"}
    for section in ("kickoff", "wirkungslogik", "wirkungsmessung", "storytelling", "kollegiale-runden", "transfer"):
        assert (section, "section") in cohort
    for slug in NETWORKS:
        keys = {s.key for s in table.slots if s.course_idnumber == f"mintqo:region:2025:{slug}"}
        assert {"workshop-1", "workshop-2", "workshop-3", "selbstanalyse-1"} <= keys
    rounds = [s for s in table.slots if s.key == "kollegiale-runden"]
    assert [s.seq for s in rounds] == [0, 1, 2]


def test_german_dates_times_and_the_line_people_read(tmp_path, curricula):
    table = parse(tmp_path, HEADER + "Qualifizierung;kickoff;Do, 30.01.2025 10:00;31.01.2025 16:00;Berlin;\n"
                  "Qualifizierung;wirkungslogik;25.02.2025 16:00;18:00 Uhr;Online;\n"
                  "Qualifizierung;kickoff-reflexion;;14.02.2025;;\n"
                  "Trier;workshop-1;2025-06-17T15:00;2025-06-17 18:00;Trier;\n", curricula)
    kickoff, logik, reflexion, ws1 = table.slots
    assert local(kickoff.start) == dt.datetime(2025, 1, 30, 10, 0, tzinfo=TIMEZONE)
    assert format_slot(kickoff) == "Do, 30.01.2025, 10:00 Uhr – Fr, 31.01.2025, 16:00 Uhr"
    assert format_slot(logik) == "Di, 25.02.2025, 16:00–18:00 Uhr"
    assert reflexion.start is None and local(reflexion.end) == dt.datetime(2025, 2, 14, 23, 59, tzinfo=TIMEZONE)
    assert format_slot(reflexion) == "bis Fr, 14.02.2025, 23:59 Uhr"
    assert ws1.course_idnumber == "mintqo:region:2025:mint-region-trier"   # the short name "Trier" is known
    assert local(ws1.end).hour == 18


def test_summer_time_is_german_local_time(tmp_path, curricula):
    table = parse(tmp_path, HEADER + "Qualifizierung;transfer;22.05.2025 10:00;23.05.2025 16:00;;\n", curricula)
    assert table.slots[0].start == int(dt.datetime(2025, 5, 22, 8, 0, tzinfo=dt.timezone.utc).timestamp())


def test_english_headers_comma_separator_and_bom(tmp_path, curricula):
    text = "course,key,start,end,location,note\n,kickoff,30.01.2025 10:00,31.01.2025 16:00,\"Berlin, Wannsee\",\n"
    table = parse(tmp_path, "", curricula, raw=b"\xef\xbb\xbf" + text.encode("utf-8"))
    assert table.slots[0].course_idnumber == "mintqo:cohort:2025"   # an empty Kurs is the cohort course
    assert table.slots[0].location == "Berlin, Wannsee"


def test_an_excel_timetable_gives_rows_as_excel_numbers_them(tmp_path, curricula):
    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Kurs", "Termin", "Beginn", "Ende", "Ort"])
    sheet.append(["Qualifizierung", "kickoff", dt.datetime(2025, 1, 30, 10, 0), dt.datetime(2025, 1, 31, 16, 0), "Berlin"])
    sheet.append(["MINT-Region Trier", "workshop-9", dt.datetime(2025, 6, 17, 15, 0), dt.time(18, 0), "Trier"])
    path = tmp_path / "termine.xlsx"
    book.save(path)
    with pytest.raises(TimetableError) as caught:
        parse_timetable(path, "2025", NETWORKS, *curricula)
    (only,) = caught.value.problems
    assert str(only).startswith("termine.xlsx row 3, Termin: unknown key 'workshop-9'")
    sheet.delete_rows(3)
    book.save(path)
    table = parse_timetable(path, "2025", NETWORKS, *curricula)
    assert format_slot(table.slots[0]) == "Do, 30.01.2025, 10:00 Uhr – Fr, 31.01.2025, 16:00 Uhr"


def test_unknown_keys_and_networks_name_what_exists(tmp_path, curricula):
    found = problems(tmp_path, HEADER + "Qualifizierung;kick-off;30.01.2025 10:00;;;\n"
                     "MINT-Region Tier;workshop-1;17.06.2025 15:00;18:00;;\n"
                     "MINT-Region Trier;kickoff;17.06.2025 15:00;18:00;;\n", curricula)
    assert found[0].startswith("termine.csv line 2, Termin: unknown key 'kick-off' for the cohort course: "
                               "did you mean 'kickoff'?")
    assert "sections are kickoff, wirkungslogik" in found[0] and "activities are kickoff-programm" in found[0]
    assert found[1].startswith("termine.csv line 3, Kurs: unknown network 'MINT-Region Tier' (networks of cohort "
                               "2025: MINT-Netzwerk Erzgebirge, MINT-Region Trier, zdi-Netzwerk Ruhr & Emscher;")
    assert "unknown key 'kickoff' for the regional course of MINT-Region Trier" in found[2]
    assert "workshop-1, selbstanalyse, workshop-2" in found[2]


@pytest.mark.parametrize(("row", "expected"), [
    ("Qualifizierung;kickoff;31.01.2025 16:00;30.01.2025 10:00;;",
     "line 2, Ende: '30.01.2025 10:00' is before Beginn '31.01.2025 16:00'"),
    ("Qualifizierung;kickoff;30.02.2025 10:00;;;", "line 2, Beginn: '30.02.2025 10:00': there is no such day"),
    ("Qualifizierung;kickoff;Mo, 30.01.2025 10:00;;;", "'Mo, 30.01.2025 10:00': 30.01.2025 is a Do, not a Mo"),
    ("Qualifizierung;kickoff;nächste Woche;;;", "line 2, Beginn: 'nächste Woche' is not a date and time"),
    ("Qualifizierung;kickoff;10:00;;;", "line 2, Beginn: '10:00' has no date"),
    ("Qualifizierung;kickoff;;31.01.2025 16:00;;", "line 2, Beginn: is empty; a meeting of section 'kickoff' needs"),
    ("Qualifizierung;kickoff-reflexion;;;;", "line 2, Beginn: is empty (and so is Ende)"),
    ("Qualifizierung;kickoff;30.01.2025 10:00;31.01.2025;;", "line 2, Ende: '31.01.2025' has no time but Beginn"),
    ("Qualifizierung;kickoff;30.01.2025 10:00;;<b>Berlin</b>;", "line 2, Ort: looks like an HTML tag '<b>'"),
    (";;30.01.2025 10:00;;;", "line 2, Termin: is empty"),
    ("Qualifizierung;kickoff-programm;30.01.2025 10:00;;;", None),  # a page with completion: a date is fine
    ("Qualifizierung;kickoff;30.01.2025 10:00;;;;zu viel", "line 2: row has 7 cells but the header only 6 columns"),
])
def test_each_bad_cell_is_named_with_line_column_and_why(tmp_path, curricula, row, expected):
    if expected is None:
        assert parse(tmp_path, HEADER + row + "\n", curricula).slots
        return
    found = problems(tmp_path, HEADER + row + "\n", curricula)
    assert any(expected in p for p in found), found


def test_an_activity_has_one_deadline_and_a_meeting_is_not_listed_twice(tmp_path, curricula):
    found = problems(tmp_path, HEADER + "Trier;selbstanalyse-1;18.06.2025;02.09.2025;;\n"
                     "Trier;selbstanalyse-1;18.06.2025;09.09.2025;;\n"
                     "Trier;workshop-1;17.06.2025 15:00;18:00;;\n"
                     "Trier;workshop-1;17.06.2025 15:00;18:00;;\n", curricula)
    assert any("line 3, Termin: activity 'selbstanalyse-1' of the regional course of MINT-Region Trier has a date "
               "on line 2 already" in p for p in found)
    assert any("line 5, Beginn: section 'workshop-1' of the regional course of MINT-Region Trier has the same date "
               "on line 4" in p for p in found)


def test_headers_are_checked_before_rows(tmp_path, curricula):
    found = problems(tmp_path, "Kurs;Datum;Ende\nQualifizierung;kickoff;;\n", curricula)
    assert found == [
        "termine.csv line 1, Datum: unknown column header 'Datum' (known: Kurs, Termin, Beginn, Ende, Ort, Hinweis, "
        "or their English names)",
        "termine.csv line 1: required column 'Termin' (or 'key') is missing",
        "termine.csv line 1: required column 'Beginn' (or 'start') is missing",
    ]
    assert problems(tmp_path, HEADER, curricula) == ["termine.csv line 1: the timetable has no dates, only a header row"]


def test_dates_outside_the_cohort_year_are_warned_not_refused(tmp_path, curricula):
    table = parse(tmp_path, HEADER + "Qualifizierung;kickoff;30.01.2024 10:00;31.01.2024 16:00;;\n", curricula)
    assert len(table.slots) == 1
    assert table.warnings == [
        "termine.csv line 2, Beginn: '30.01.2024 10:00' is not in the cohort's year 2025 — check the year",
        "termine.csv line 2, Ende: '31.01.2024 16:00' is not in the cohort's year 2025 — check the year"]


def test_short_network_names():
    assert short_network_name("zdi-Netzwerk Ruhr & Emscher") == "Ruhr & Emscher"
    assert short_network_name("MINT-Region Trier") == "Trier"
    assert short_network_name("MINT-Netzwerk Erzgebirge") == "Erzgebirge"
    assert short_network_name("Netzwerk") == "Netzwerk"
    assert short_network_name("Bildungsregion Nord") == "Bildungsregion Nord"


# -- the store --------------------------------------------------------------------------------------

def test_import_stores_all_and_a_bad_file_stores_nothing(tmp_path):
    with Store(tmp_path / "mintqo.db") as store:
        import_roster(store, EXAMPLE_ROSTER, "2025")
        summary = import_timetable(store, EXAMPLE, "2025")
        assert summary.slots == 35 and summary.warnings == []
        assert str(summary).startswith("35 dates for cohort 2025 stored (Qualifizierung 14, ")
        stored = load_timetable(store, "2025")
        assert len(stored["mintqo:region:2025:mint-region-trier"]) == 7
        bad = tmp_path / "bad.csv"
        bad.write_text(HEADER + "Qualifizierung;kickoff;30.01.2025 10:00;31.01.2025 16:00;;\n"
                       "Qualifizierung;transfer;22.05.2025 10:00;21.05.2025 16:00;;\n", encoding="utf-8")
        with pytest.raises(TimetableError, match="line 3, Ende"):
            import_timetable(store, bad, "2025")
        assert load_timetable(store, "2025") == stored        # nothing of the bad file
        good = tmp_path / "good.csv"
        good.write_text(HEADER + "Qualifizierung;kickoff;30.01.2025 10:00;31.01.2025 16:00;;\n", encoding="utf-8")
        import_timetable(store, good, "2025")
        assert sum(len(v) for v in load_timetable(store, "2025").values()) == 1   # replaced as a whole


def test_import_needs_the_cohorts_roster_first(tmp_path):
    from mintqo_lms.keys import UnknownCohortError

    with Store(tmp_path / "mintqo.db") as store, pytest.raises(UnknownCohortError):
        import_timetable(store, EXAMPLE, "2025")


def test_cli_timetable_import_lists_every_problem_and_stores_nothing(tmp_path):
    from click.testing import CliRunner

    from mintqo_lms.cli import main

    config = tmp_path / "mintqo.toml"
    config.write_text(f'[moodle]\nurl = "http://127.0.0.1:9"\n[store]\npath = "{tmp_path / "mintqo.db"}"\n')
    runner = CliRunner()
    env = {"MINTQO_CONFIG": str(config)}
    assert runner.invoke(main, ["roster", "import", str(EXAMPLE_ROSTER), "--cohort", "2025"], env=env).exit_code == 0
    bad = tmp_path / "termine.csv"
    bad.write_text(HEADER + "Qualifizierung;kickof;30.01.2025 10:00;;;\nTrier;workshop-1;32.06.2025;;;\n",
                   encoding="utf-8")
    result = runner.invoke(main, ["timetable", "import", str(bad), "--cohort", "2025"], env=env)
    assert result.exit_code == 1
    assert "2 problems in timetable:" in result.output and "line 3, Beginn" in result.output
    assert "Nothing was stored" in result.output and "Traceback" not in result.output
    result = runner.invoke(main, ["timetable", "import", str(EXAMPLE), "--cohort", "2025"], env=env)
    assert result.exit_code == 0, result.output
    assert "35 dates for cohort 2025 stored" in result.output and "provision --cohort 2025" in result.output
    result = runner.invoke(main, ["timetable", "import", str(EXAMPLE), "--cohort", "2031"], env=env)
    assert result.exit_code == 1 and "2031" in result.output
