"""The staff roster CSV: tolerant about format, strict about content, and every problem reported."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import openpyxl
import pytest

from mintqo_lms.moodle.errors import MintqoError
from mintqo_lms.roster import (
    RosterError,
    initiative_idnumber,
    moodle_text_problem,
    parse_roster,
    region_idnumber,
    slugify,
)

EXAMPLE = Path(__file__).resolve().parent.parent / "lms_templates" / "roster.example.csv"

GERMAN_HEADER = "Rolle;Vorname;Nachname;E-Mail;Netzwerk;Bundesland;Initiative-Name;Angebot;Rechtsform;Buddy-von"
COORDINATOR = "Koordination;Jürgen;Weißmüller;jw@mint-trier.example;MINT-Region Trier;Rheinland-Pfalz;;;gemeinnützig;"
MEMBER = "Initiative;Lea;Schäfer;lea@fw.example;MINT-Region Trier;;Forscherwerkstatt Saarburg;Forscher-AG;;"


def write(tmp_path: Path, *lines: str, name: str = "roster.csv", encoding: str = "utf-8") -> Path:
    file = tmp_path / name
    file.write_bytes(("\n".join(lines) + "\n").encode(encoding))
    return file


def problems_of(file: Path) -> RosterError:
    with pytest.raises(RosterError) as info:
        parse_roster(file)
    return info.value


# -- good files --------------------------------------------------------------------------------------


def test_example_roster_loads_with_the_documented_shape():
    roster = parse_roster(EXAMPLE)
    coordinators = roster.coordinators()
    assert len(coordinators) == 3
    assert len({c.network for c in coordinators}) == len({c.region for c in coordinators}) == 3
    assert {c.legal_status for c in coordinators} == {"gemeinnuetzig", "koerperschaft"}
    for network in roster.networks().values():
        initiatives = roster.initiatives(network)
        assert 2 <= len(initiatives) <= 3
        assert all(2 <= len(members) <= 3 for members in initiatives.values())
    assert len(roster.by_role("buddy")) == 1 and len(roster.by_role("staff")) == 1
    assert roster.by_role("buddy")[0].buddy_of == "j.weissmueller@mint-trier.example"
    assert any("ü" in e.last_name or "ö" in e.last_name for e in roster.entries)
    assert roster.entries[0].line == 2 and roster.entries[-1].line == 21


def test_english_headers_comma_bom_whitespace_and_trailing_blank_lines(tmp_path):
    file = tmp_path / "roster.csv"
    text = (
        "role, first_name ,last_name,email,network,region,initiative,offer,legal_status,buddy_of\r\n"
        "COORDINATOR,  Özlem ,Kaya, Oezlem.Kaya@Ruhr.Example ,zdi-Netzwerk Ruhr-Süd,NRW,,,Körperschaft,\r\n"
        "initiative,Emre,Yılmaz,emre@maker.example,ZDI-NETZWERK RUHR-SÜD,,\"Makerspace, Bochum\",,,\r\n"
        "Staff,Stefan,Brückner,sb@office.example,,,,,,\r\n"
        "\r\n ,,,,,,,,,\r\n\r\n"
    )
    file.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    roster = parse_roster(file)
    coordinator, member, staff = roster.entries
    assert coordinator.role == "coordinator" and coordinator.first_name == "Özlem"
    assert coordinator.email == "oezlem.kaya@ruhr.example"
    assert coordinator.legal_status == "koerperschaft"
    assert member.initiative == "Makerspace, Bochum"
    assert member.network == "zdi-Netzwerk Ruhr-Süd"  # spelled as its coordinator spells it
    assert staff.role == "staff" and (member.line, staff.line) == (3, 4)


def test_semicolon_detected_even_with_commas_in_values(tmp_path):
    file = write(tmp_path, GERMAN_HEADER, COORDINATOR,
                 "Initiative;Lea;Schäfer;lea@fw.example;MINT-Region Trier;;Forscherwerkstatt, Saarburg;AG, Kl. 3;;")
    assert parse_roster(file).entries[1].initiative == "Forscherwerkstatt, Saarburg"


def test_slugs_and_idnumbers():
    assert slugify("MINT-Region Trier") == "mint-region-trier"
    assert slugify("zdi-Netzwerk Ruhr-Süd") == "zdi-netzwerk-ruhr-sued"
    assert slugify("  Große Straße – Ölmühle ") == "grosse-strasse-oelmuehle"
    assert slugify("Robotik-Club Mosel e. V.") == "robotik-club-mosel-e-v"
    assert slugify("Café Yılmaz") == "cafe-yilmaz"
    assert region_idnumber("2025", "MINT-Region Trier") == "mintqo:region:2025:mint-region-trier"
    assert initiative_idnumber("2025", "MINT-Region Trier", "Sternwarte Hochwald") == (
        "mintqo:initiative:2025:mint-region-trier:sternwarte-hochwald")


# -- errors -----------------------------------------------------------------------------------------


def test_invalid_email_names_file_line_and_column(tmp_path):
    err = problems_of(write(tmp_path, GERMAN_HEADER, COORDINATOR, MEMBER.replace("lea@fw.example", "max@")))
    assert "roster.csv line 3, E-Mail: 'max@' is not a valid e-mail address" in str(err)
    assert [(p.line, p.column) for p in err.problems] == [(3, "E-Mail")]


def test_same_email_twice_names_both_lines(tmp_path):
    err = problems_of(write(tmp_path, GERMAN_HEADER, COORDINATOR, MEMBER,
                            MEMBER.replace("Lea;Schäfer;lea@", "Leo;Schäfer;LEA@")))
    assert "roster.csv line 4, E-Mail: 'lea@fw.example' appears twice (lines 3 and 4)" in str(err)


def test_every_bad_row_is_reported(tmp_path):
    err = problems_of(write(
        tmp_path, GERMAN_HEADER,
        "Koordination;Hannah;Groß;hg@erz.example;MINT-Netzwerk Erzgebirge;;;;gemeinnützig;",  # no region
        "Praktikant;Max;Muster;max@x.example;;;;;;",  # unknown role
        "Initiative;Ida;Lorenz;ida@nf.example;MINT-Netzwerk Erzgebirge;;;;;",  # no initiative
        "Initiative;Karl;Schubert;karl@nf.example;Netzwerk Nirgendwo;;Naturforscher;;;",  # unknown network
        "Koordination;Jan;Ohne;jan@o.example;Netz Ost;Sachsen;;;Verein;",  # bad legal status
        "Buddy;Renate;Köhler;rk@alumni.example;;;;;;niemand@x.example",  # not a coordinator
        "Buddy;Rolf;Ohne;ro@alumni.example;;;;;;",  # no buddy_of
        "Initiative;;Leer;leer@x.example;MINT-Netzwerk Erzgebirge;;Naturforscher;;;",  # no first name
    ))
    text = str(err)
    assert text.startswith("8 problems in roster:")
    expected = [
        "roster.csv line 2, Bundesland: is required for coordinators",
        "roster.csv line 3, Rolle: unknown role 'Praktikant'",
        "roster.csv line 4, Initiative-Name: is required for initiative members",
        "roster.csv line 5, Netzwerk: network 'Netzwerk Nirgendwo' has no coordinator in this file",
        "roster.csv line 6, Rechtsform: unknown legal status 'Verein'",
        "roster.csv line 7, Buddy-von: 'niemand@x.example' is not the e-mail of a coordinator in this file",
        "roster.csv line 8, Buddy-von: is required for buddies",
        "roster.csv line 9, Vorname: is empty",
    ]
    for fragment in expected:
        assert fragment in text
    assert [p.line for p in err.problems] == [2, 3, 4, 5, 6, 7, 8, 9]


def test_member_network_must_belong_to_a_coordinator_not_another_member(tmp_path):
    err = problems_of(write(tmp_path, GERMAN_HEADER, MEMBER))
    assert "line 2, Netzwerk: network 'MINT-Region Trier' has no coordinator in this file" in str(err)


def test_unknown_header_and_missing_required_column(tmp_path):
    err = problems_of(write(tmp_path, GERMAN_HEADER.replace("Bundesland", "Landkreis"), COORDINATOR))
    text = str(err)
    assert "roster.csv line 1, Landkreis: unknown column header 'Landkreis'" in text
    assert "roster.csv line 1: required column 'Bundesland' (or 'region') is missing" in text

    err = problems_of(write(tmp_path, "Rolle;Vorname;Nachname;Netzwerk;Bundesland;Initiative-Name", "x;y;z;;;"))
    assert "required column 'E-Mail' (or 'email') is missing" in str(err)


def test_optional_columns_may_be_absent(tmp_path):
    file = write(tmp_path, "Rolle;Vorname;Nachname;E-Mail;Netzwerk;Bundesland;Initiative-Name",
                 "Koordination;Jürgen;Weißmüller;jw@mint-trier.example;MINT-Region Trier;Rheinland-Pfalz;")
    entry = parse_roster(file).entries[0]
    assert entry.legal_status is None and entry.offer is None and entry.buddy_of is None


def test_non_utf8_file_gets_a_clear_error(tmp_path):
    err = problems_of(write(tmp_path, GERMAN_HEADER, COORDINATOR, encoding="latin-1"))
    assert "roster.csv line 2: file is not UTF-8 (byte 0xfc)" in str(err)
    assert "CSV UTF-8" in str(err)


def test_empty_and_missing_files(tmp_path):
    (tmp_path / "leer.csv").write_text("\n\n", encoding="utf-8")
    assert "leer.csv: file is empty" in str(problems_of(tmp_path / "leer.csv"))
    assert "fehlt.csv: file not found" in str(problems_of(tmp_path / "fehlt.csv"))


def test_extra_cells_beyond_the_header_are_reported(tmp_path):
    err = problems_of(write(tmp_path, GERMAN_HEADER, COORDINATOR + ";zu viel"))
    assert "roster.csv line 2: row has 11 cells but the header only 10 columns" in str(err)


def test_initiative_names_that_collide_as_keys(tmp_path):
    err = problems_of(write(tmp_path, GERMAN_HEADER, COORDINATOR, MEMBER,
                            MEMBER.replace("lea@", "tom@").replace("Forscherwerkstatt Saarburg",
                                                                   "Forscherwerkstatt-Saarburg")))
    assert "line 4, Initiative-Name: 'Forscherwerkstatt-Saarburg' and 'Forscherwerkstatt Saarburg' give the same key" \
        in str(err)


def test_initiative_spelling_differing_only_in_case_is_unified(tmp_path):
    roster = parse_roster(write(tmp_path, GERMAN_HEADER, COORDINATOR, MEMBER,
                                MEMBER.replace("lea@", "tom@").replace("Forscherwerkstatt", "FORSCHERWERKSTATT")))
    assert {e.initiative for e in roster.by_role("initiative")} == {"Forscherwerkstatt Saarburg"}


def test_multiline_quoted_cell_keeps_line_numbers_right(tmp_path):
    member = 'Initiative;Lea;Schäfer;lea@fw.example;MINT-Region Trier;;Forscherwerkstatt;"Forscher-AG\nmit Ausflug";;'
    err = problems_of(write(tmp_path, GERMAN_HEADER, COORDINATOR, member, MEMBER.replace("lea@fw.example", "kaputt")))
    assert "roster.csv line 5, E-Mail: 'kaputt' is not a valid e-mail address" in str(err)


def test_one_mistake_does_not_cascade_into_the_rows_that_depend_on_it(tmp_path):
    # The coordinator's Rechtsform is wrong, but its network still exists for the member and the buddy.
    err = problems_of(write(tmp_path, GERMAN_HEADER, COORDINATOR.replace("gemeinnützig", "eV"), MEMBER,
                            "Buddy;Renate;Köhler;rk@alumni.example;;;;;;jw@mint-trier.example"))
    assert [(p.line, p.column) for p in err.problems] == [(2, "Rechtsform")]


def test_two_coordinators_of_one_network_must_agree_on_the_region(tmp_path):
    second = "Koordination;Eva;Zwei;eva@mint-trier.example;MINT-Region Trier;Saarland;;;;"
    err = problems_of(write(tmp_path, GERMAN_HEADER, COORDINATOR, "", second))
    assert "roster.csv line 4, Bundesland: network 'MINT-Region Trier' is in region 'Rheinland-Pfalz' on line 2" \
        in str(err)



# -- Moodle's rules for names (PARAM_TEXT / PARAM_NOTAGS) ---------------------------------------------

ENGLISH_HEADER = "role;first_name;last_name;email;network;region;initiative;offer;legal_status;buddy_of"


def test_example_roster_keeps_messy_real_names_exactly():
    roster = parse_roster(EXAMPLE)
    assert "zdi-Netzwerk Ruhr & Emscher" in roster.networks().values()
    assert 'Schülerlabor "Elektron"' in roster.initiatives("zdi-Netzwerk Ruhr & Emscher")
    last_names = {e.last_name for e in roster.entries}
    assert {"D'Angelo", "Öztürk", "Yılmaz"} <= last_names
    offers = {e.offer for e in roster.entries}
    assert "Chemie-Labortag 'Rund ums Wasser'" in offers and "Löten & Programmieren ab 12" in offers


@pytest.mark.parametrize("value, shown", [
    ("MINT-Region Trier <Großregion>", "looks like an HTML tag '<Großregion>'"),
    ("<b>Trier</b>", "looks like an HTML tag '<b>'"),
    ("Trier </x>", "looks like an HTML tag '</x>'"),
    ("Trier <Nord>", "looks like an HTML tag '<Nord>'"),
    ("Trier <!-- alt -->", "contains an HTML comment '<!-- alt -->'"),
    ("Trier<Süd", "has '<' directly before 'Süd'"),
    ("Trier <", "ends with '<'"),
    ("Trier\x00", "NUL character"),
])
def test_names_moodle_would_strip_are_named_with_the_reason(value, shown):
    why = moodle_text_problem(value)
    assert why is not None and shown in why


@pytest.mark.parametrize("value", [
    "Ruhr & Emscher", 'Schülerlabor "Elektron"', "D'Angelo", "Öztürk", "3 < 5", "A > B", "a <\tb", "&amp;", "",
])
def test_names_moodle_accepts_pass(value):
    assert moodle_text_problem(value) is None


@pytest.mark.parametrize("header", [GERMAN_HEADER, ENGLISH_HEADER])
def test_tag_like_names_are_refused_with_line_column_and_why_in_every_name_column(tmp_path, header):
    coordinator = "Koordination;Jürgen;<b>Weiß</b>;jw@mint-trier.example;MINT-Region Trier <Großregion>;<RLP>;;;;"
    member = "Initiative;<i>Lea;Schäfer;lea@fw.example;MINT-Region Trier <Großregion>;;Forscher <AG>;Kurs </x>;;"
    err = problems_of(write(tmp_path, header, coordinator, member))
    columns = header.split(";")
    expected = [
        (2, columns[2], "looks like an HTML tag '<b>'"),
        (2, columns[4], "looks like an HTML tag '<Großregion>'"),
        (2, columns[5], "looks like an HTML tag '<RLP>'"),
        (3, columns[1], "looks like an HTML tag '<i>'"),
        (3, columns[4], "looks like an HTML tag '<Großregion>'"),
        (3, columns[6], "looks like an HTML tag '<AG>'"),
        (3, columns[7], "looks like an HTML tag '</x>'"),
    ]
    assert [(p.line, p.column) for p in err.problems] == [(line, column) for line, column, _ in expected]
    for problem, (_, _, why) in zip(err.problems, expected):
        assert problem.message.startswith(why)
        assert "Moodle refuses names with tags — write it without angle brackets" in problem.message
    assert ("roster.csv line 2, " + columns[4] + ": looks like an HTML tag '<Großregion>'; Moodle refuses names "
            "with tags — write it without angle brackets") in str(err)
    assert isinstance(err, MintqoError)


def test_ampersand_quotes_apostrophes_and_a_spaced_lt_survive_unchanged(tmp_path):
    roster = parse_roster(write(
        tmp_path, GERMAN_HEADER,
        "Koordination;Chiara;D'Angelo;cd@ruhr.example;MINT-Netzwerk Ruhr & Emscher;NRW;;;gemeinnützig;",
        'Initiative;Deniz;Öztürk;do@lab.example;MINT-Netzwerk Ruhr & Emscher;;"Schülerlabor ""Elektron""";'
        "Mathe: 3 < 5 & 'mehr';;",
    ))
    coordinator, member = roster.entries
    assert (coordinator.last_name, coordinator.network) == ("D'Angelo", "MINT-Netzwerk Ruhr & Emscher")
    assert (member.last_name, member.initiative) == ("Öztürk", 'Schülerlabor "Elektron"')
    assert member.offer == "Mathe: 3 < 5 & 'mehr'"


def test_names_longer_than_moodle_allows_are_refused(tmp_path):
    ok = parse_roster(write(tmp_path, GERMAN_HEADER, COORDINATOR.replace("Jürgen", "J" * 100)))
    assert ok.entries[0].first_name == "J" * 100
    err = problems_of(write(tmp_path, GERMAN_HEADER,
                            COORDINATOR.replace("Jürgen", "J" * 101).replace("Weißmüller", "W" * 120),
                            MEMBER.replace("Forscherwerkstatt Saarburg", "F" * 255)))
    text = str(err)
    assert "line 2, Vorname: is 101 characters long; a Moodle first name may have at most 100" in text
    assert "line 2, Nachname: is 120 characters long; a Moodle last name may have at most 100" in text
    assert "line 3, Initiative-Name: is 255 characters long; a Moodle group name may have at most 254" in text


def test_names_whose_moodle_idnumber_would_be_too_long_are_refused_for_a_cohort(tmp_path):
    long_initiative = "Forscherwerkstatt für junge Entdeckerinnen und Entdecker an der Saar und Mosel"
    file = write(tmp_path, GERMAN_HEADER, COORDINATOR, MEMBER.replace("Forscherwerkstatt Saarburg", long_initiative),
                 MEMBER.replace("lea@", "tom@").replace("Forscherwerkstatt Saarburg", long_initiative))
    assert len(parse_roster(file).entries) == 3  # without a cohort there is no idnumber to check
    with pytest.raises(RosterError) as caught:
        parse_roster(file, cohort="2025-herbst")
    assert [(p.line, p.column) for p in caught.value.problems] == [(3, "Initiative-Name")]  # once per initiative
    assert "the name is too long for Moodle's key 'mintqo:initiative:2025-herbst:" in str(caught.value)
    assert "at most 100" in str(caught.value)


def test_messages_carry_no_pydantic_prefix_or_traceback(tmp_path):
    err = problems_of(write(tmp_path, GERMAN_HEADER, COORDINATOR.replace("gemeinnützig", "Verein"),
                            "Chef;A;B;c@d.example;;;;;;", MEMBER.replace("Lea", "<Lea>")))
    text = str(err)
    assert "Value error" not in text and "Traceback" not in text and "validation error" not in text
    assert all(len(str(p).splitlines()) == 1 for p in err.problems)


# -- Excel workbooks ----------------------------------------------------------------------------------


def write_xlsx(tmp_path: Path, rows: list[list[object]], name: str = "roster.xlsx", extra_sheet: bool = False) -> Path:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "Teilnehmende"
    for number, row in enumerate(rows, start=1):
        for column, value in enumerate(row, start=1):
            if value is not None:
                sheet.cell(row=number, column=column, value=value)
    if extra_sheet:
        workbook.create_sheet("Notizen")["A1"] = "nicht die Liste"
    path = tmp_path / name
    workbook.save(path)
    return path


def test_xlsx_roster_reads_like_csv_with_excel_row_numbers(tmp_path):
    file = write_xlsx(tmp_path, [
        GERMAN_HEADER.split(";"),
        COORDINATOR.split(";"),
        [],  # an empty Excel row still counts in Excel's numbering
        'Initiative;Chiara;D\'Angelo;cd@lab.example;MINT-Region Trier;;Schülerlabor "Elektron";;;'.split(";"),
        MEMBER.replace("lea@fw.example", "kaputt").split(";"),
        MEMBER.replace("Forscherwerkstatt Saarburg", "Forscher <AG>").replace("lea@", "tom@").split(";"),
    ])
    err = problems_of(file)
    assert [str(p) for p in err.problems] == [
        "roster.xlsx row 5, E-Mail: 'kaputt' is not a valid e-mail address",
        "roster.xlsx row 6, Initiative-Name: looks like an HTML tag '<AG>'; Moodle refuses names with tags — "
        "write it without angle brackets",
    ]
    good = write_xlsx(tmp_path, [
        GERMAN_HEADER.split(";"), COORDINATOR.split(";"), [],
        'Initiative;Chiara;D\'Angelo;cd@lab.example;MINT-Region Trier;;Schülerlabor "Elektron";;;'.split(";"),
    ], name="good.xlsx")
    roster = parse_roster(good)
    assert [e.line for e in roster.entries] == [2, 4]
    assert (roster.entries[1].last_name, roster.entries[1].initiative) == ("D'Angelo", 'Schülerlabor "Elektron"')


def test_xlsx_number_date_and_boolean_cells_read_as_german_excel_shows_them(tmp_path):
    header = GERMAN_HEADER.split(";")
    rows = [header, COORDINATOR.split(";")]
    for number, offer in enumerate([dt.datetime(2025, 9, 1), dt.datetime(2025, 9, 1, 14, 30), dt.date(2025, 3, 7),
                                    3.5, 12, 12.0, True, dt.time(9, 15)]):
        row = MEMBER.replace("lea@", f"p{number}@").split(";")
        row[7] = offer
        rows.append(row)
    roster = parse_roster(write_xlsx(tmp_path, rows))
    assert [e.offer for e in roster.entries[1:]] == [
        "01.09.2025", "01.09.2025 14:30", "07.03.2025", "3,5", "12", "12", "WAHR", "09:15"]


def test_xlsx_with_several_sheets_reads_the_first_and_says_so(tmp_path):
    file = write_xlsx(tmp_path, [GERMAN_HEADER.split(";"), MEMBER.replace("lea@fw.example", "x").split(";")],
                      extra_sheet=True)
    assert "roster.xlsx [Teilnehmende] row 2, E-Mail: 'x' is not a valid e-mail address" in str(problems_of(file))


def test_empty_xlsx_and_header_only_xlsx(tmp_path):
    assert "leer.xlsx: file is empty" in str(problems_of(write_xlsx(tmp_path, [], name="leer.xlsx")))
    assert parse_roster(write_xlsx(tmp_path, [GERMAN_HEADER.split(";")], name="kopf.xlsx")).entries == []


def test_broken_old_and_misnamed_workbooks_get_one_clear_line(tmp_path):
    broken = tmp_path / "kaputt.xlsx"
    broken.write_bytes(b"PK\x03\x04 not really a zip")
    text = str(problems_of(broken))
    assert text.startswith("1 problem in roster:\n  kaputt.xlsx: cannot be read as an Excel workbook")
    assert "'Excel-Arbeitsmappe (*.xlsx)'" in text and "Traceback" not in text

    old = tmp_path / "alt.xls"
    old.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100)
    assert "alt.xls: is an old Excel (.xls)" in str(problems_of(old))

    # An .xlsx saved under a .csv name is still read as a workbook, not reported as "not UTF-8".
    misnamed = write_xlsx(tmp_path, [GERMAN_HEADER.split(";"), COORDINATOR.split(";")], name="roster.csv")
    assert parse_roster(misnamed).entries[0].last_name == "Weißmüller"
