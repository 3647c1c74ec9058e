"""The staff roster CSV: tolerant about format, strict about content, and every problem reported."""

from __future__ import annotations

from pathlib import Path

import pytest

from mintqo_lms.roster import (
    RosterError,
    initiative_idnumber,
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
