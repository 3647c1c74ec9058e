"""``mintqo-lms progress``: per coordinator the qualification and the regional cycle, read from the store."""

from __future__ import annotations

import json

import openpyxl
import pytest
from click.testing import CliRunner
from report_data import (CERTIFICATE_MODULES, COHORT, ERZGEBIRGE, RUHR, TRIER, analyse, attend, complete,
                         complete_everything, initiatives, members, regional_course, staff_userid)

from mintqo_lms.certificates import eligibility
from mintqo_lms.cli import main
from mintqo_lms.exports import read_table
from mintqo_lms.progress import (cohort_progress, overview_header, progress_json, progress_table,
                                 write_progress_csv, write_progress_xlsx)
from mintqo_lms.templates import TemplateError, load_curriculum


def by_email(progress):
    return {c.email: c for c in progress.coordinators}


def test_required_modules_attendance_by_staff_and_what_the_certificate_still_needs(world):
    _, store, _ = world
    complete_everything(store, TRIER)                           # everything, workshops recorded by staff
    for key in CERTIFICATE_MODULES[:-1]:
        complete(store, RUHR, key)
    complete(store, RUHR, "kickoff-teilnahme", overrideby=staff_userid(store))
    complete(store, RUHR, "transfer-teilnahme")                 # ticked by herself: does not count
    complete(store, ERZGEBIRGE, "kickoff-reflexion", state=3)   # complete-fail is not complete
    attend(store, ERZGEBIRGE, "kickoff-teilnahme")              # staff's sheet
    complete(store, ERZGEBIRGE, "transfer-teilnahme", overrideby=staff_userid(store))
    attend(store, ERZGEBIRGE, "transfer-teilnahme", present=0)  # …but staff's sheet says absent: the sheet wins

    people = by_email(cohort_progress(store, COHORT))
    trier, ruhr, erz = people[TRIER], people[RUHR], people[ERZGEBIRGE]
    assert trier.eligible and trier.missing == []
    assert all(m.done for m in trier.modules) and all(w.done for w in trier.workshops)

    assert not ruhr.eligible
    assert ruhr.missing == ["Aufgabe: Dokumentation des regionalen Zyklus", "Teilnahme am Transfer-Workshop"]
    transfer = next(w for w in ruhr.workshops if w.key == "transfer-teilnahme")
    assert not transfer.done and transfer.self_reported  # shown apart
    kickoff = next(w for w in ruhr.workshops if w.key == "kickoff-teilnahme")
    assert kickoff.done and not kickoff.self_reported

    assert [w.done for w in erz.workshops] == [True, False]
    assert not next(w for w in erz.workshops if w.key == "transfer-teilnahme").self_reported
    assert "Reflexionsaufgabe: Qualität in meinem Netzwerk" in erz.missing
    assert sum(m.done for m in erz.modules) == 0


def test_missing_for_the_certificate_is_the_certificates_own_rule(world):
    """Progress and ``certificates issue`` must never disagree about who is eligible and what is missing."""
    _, store, _ = world
    complete_everything(store, TRIER)
    complete(store, RUHR, "transfer-teilnahme")
    complete(store, RUHR, "kickoff-reflexion")
    attend(store, ERZGEBIRGE, "kickoff-teilnahme", source="self")
    rule, _ = eligibility(store, COHORT)
    names = {a.key: a.name for _, a in load_curriculum("qualification").activities()}
    expected = {p.email: [names[m.split(" ", 1)[0]] for m in p.missing] for p in rule}
    shown = {c.email: c.missing for c in cohort_progress(store, COHORT).coordinators}
    assert shown == expected
    assert {c.email: c.eligible for c in cohort_progress(store, COHORT).coordinators} == \
        {p.email: p.eligible for p in rule}


def test_a_self_reported_attendance_row_is_shown_apart_and_never_counts(world):
    _, store, _ = world
    complete_everything(store, TRIER)
    store.db["activity_completion"].delete_where("overrideby IS NOT NULL")
    attend(store, TRIER, "kickoff-teilnahme", source="self")
    attend(store, TRIER, "transfer-teilnahme", source="self")
    trier = by_email(cohort_progress(store, COHORT))[TRIER]
    assert [(w.done, w.self_reported) for w in trier.workshops] == [(False, True), (False, True)]
    assert not trier.eligible


def regional_setup(store, present: dict[str, int], first: int = 3):
    """In Trier's cycle: ``present[key]`` initiatives with a member's attendance recorded; ``first`` first analyses."""
    course = regional_course(store, "mint-region-trier")
    trier = [i for i in initiatives(store) if i[0] == "mint-region-trier"]
    for key, count in present.items():
        for network, slug in trier[:count]:
            attend(store, members(store, network, slug)[0], key, course=course)
    for number, (network, slug) in enumerate(trier[:first]):
        analyse(store, network, slug, 500 + number, {"ang": 50.0}, kind="first")
    return course, trier


def test_regional_cycle_counts_and_the_allowance_rule_from_the_template(world):
    _, store, _ = world
    course, trier = regional_setup(store, {"ws1-teilnahme": 3, "ws2-teilnahme": 2, "ws3-teilnahme": 1})
    analyse(store, *trier[0], 600, {"ang": 60.0}, kind="followup")
    attend(store, members(store, *trier[2])[0], "ws3-teilnahme", course=course, source="self")

    cycle = by_email(cohort_progress(store, COHORT))[TRIER].cycle
    assert len(cycle.initiatives) == 3
    assert cycle.present == {"ws1-teilnahme": 3, "ws2-teilnahme": 2, "ws3-teilnahme": 1}
    assert (cycle.first_analyses, cycle.followups) == (3, 1)
    third = next(i for i in cycle.initiatives if i.slug == trier[2][1])
    assert third.self_reported["ws3-teilnahme"] and not third.workshops["ws3-teilnahme"]
    allowance = cycle.allowance
    assert allowance.amount_eur == 2500 and not allowance.complete
    assert allowance.missing == ["Workshop 3: 1 Initiative als anwesend eingetragen (nötig: mindestens 2)"]

    # the office changes the rule in the template: the same evidence is now complete
    regional = load_curriculum("regional_cycle")
    regional.allowance.min_initiatives_present = 1
    cycle = by_email(cohort_progress(store, COHORT, regional=regional))[TRIER].cycle
    assert cycle.allowance.complete and cycle.allowance.missing == []


def test_an_initiative_nobody_of_which_is_on_the_roster_is_not_taking_part(world):
    _, store, _ = world
    network, slug = initiatives(store)[0]
    store.db.execute("UPDATE memberships SET active = 0 WHERE network_slug = ? AND initiative_slug = ?",
                     [network, slug])
    coordinator = next(c for c in cohort_progress(store, COHORT).coordinators if c.network_slug == network)
    assert slug not in [i.slug for i in coordinator.cycle.initiatives]


def test_allowance_workshops_must_be_in_person_activities(tmp_path):
    source = load_curriculum("regional_cycle")
    text = (load_curriculum.__globals__["templates_dir"]() / "curriculum" / "regional_cycle.yaml").read_text(
        encoding="utf-8")
    assert source.allowance is not None
    (tmp_path / "curriculum").mkdir()
    (tmp_path / "selfanalysis").mkdir()
    for name in ("v1.yaml", "v2.yaml"):
        (tmp_path / "selfanalysis" / name).write_text(
            (load_curriculum.__globals__["templates_dir"]() / "selfanalysis" / name).read_text(encoding="utf-8"),
            encoding="utf-8")
    bad = tmp_path / "curriculum" / "regional_cycle.yaml"
    bad.write_text(text.replace("    - ws3-teilnahme\n  min_initiatives", "    - ws3-austausch\n  min_initiatives"),
                   encoding="utf-8")
    with pytest.raises(TemplateError) as caught:
        load_curriculum(bad)
    assert "allowance.workshops[2]" in str(caught.value) and "ws3-austausch" in str(caught.value)
    assert "line" in str(caught.value)


def test_csv_xlsx_with_one_sheet_per_regional_cycle_json_and_table(world, tmp_path):
    _, store, _ = world
    complete_everything(store, TRIER)
    regional_setup(store, {"ws1-teilnahme": 2, "ws2-teilnahme": 2, "ws3-teilnahme": 2})
    store.db.execute("UPDATE networks SET name = '=HYPERLINK(\"http://evil\")' WHERE slug = 'mint-netzwerk-erzgebirge'")
    progress = cohort_progress(store, COHORT)

    (csv_file,) = write_progress_csv(progress, tmp_path / "fortschritt.csv")
    assert csv_file.read_bytes().startswith(b"\xef\xbb\xbf")
    header, rows = read_table(csv_file)
    assert header == overview_header(progress) and len(rows) == 3
    trier = next(r for r in rows if r[3] == TRIER)
    assert trier[header.index("Zertifikat möglich")] == "ja"
    assert trier[header.index("Nachweise Regionalpauschale vollständig")] == "ja"
    assert any(r[0] == "'=HYPERLINK(\"http://evil\")" for r in rows)  # defused formula

    book = openpyxl.load_workbook(write_progress_xlsx(progress, tmp_path / "fortschritt.xlsx"))
    assert book.sheetnames[0] == "Übersicht" and len(book.sheetnames) == 4
    sheet = book["MINT-Region Trier"]
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert values[0][0] == "Nachweis Regionaler Workshop-Zyklus – Durchgang 2025"
    assert ["Koordination", f"Jürgen Weißmüller ({TRIER})"] == values[3][:2]
    assert any(row[:2] == ["Regionalpauschale für die Durchführung der Workshops (2.500 €)", "Nachweise vollständig"]
               for row in values)
    table = values.index(next(r for r in values if r[0] == "Initiative"))
    assert values[table][3:8] == ["Workshop 1", "Workshop 2", "Workshop 3", "Erste Selbstanalyse",
                                  "Zweite Selbstanalyse"]
    assert len(values) - table - 1 == 3
    evil = next(book[name] for name in book.sheetnames if name.startswith("=HYPERLINK"))
    assert all(c.data_type == "s" for row in evil.iter_rows() for c in row if isinstance(c.value, str))

    data = progress_json(progress)
    json.dumps(data)
    assert {c["email"]: c["eligible"] for c in data["coordinators"]}[TRIER] is True
    assert data["allowance"]["amount_eur"] == 2500
    assert "allowance evidence: complete" in progress_table(progress)


def test_cli_progress_formats_and_errors(world, tmp_path):
    _, store, _ = world
    complete_everything(store, TRIER)
    config = tmp_path / "mintqo.toml"
    config.write_text(f'[store]\npath = "{store.path}"\n', encoding="utf-8")
    env = {"MINTQO_CONFIG": str(config)}
    runner = CliRunner()

    table = runner.invoke(main, ["progress", "--cohort", COHORT], env=env)
    assert table.exit_code == 0, table.output
    assert "Jürgen Weißmüller" in table.output and "certificate: eligible" in table.output
    as_csv = runner.invoke(main, ["progress", "--cohort", COHORT, "--format", "csv"], env=env)
    assert as_csv.exit_code == 0 and as_csv.stdout_bytes.startswith(b"\xef\xbb\xbfNetzwerk;Region;")
    as_json = runner.invoke(main, ["progress", "--cohort", COHORT, "--format", "json"], env=env)
    assert json.loads(as_json.output)["cohort"] == COHORT
    xlsx = runner.invoke(main, ["progress", "--cohort", COHORT, "--format", "xlsx", "-o",
                                str(tmp_path / "p.xlsx")], env=env)
    assert xlsx.exit_code == 0 and (tmp_path / "p.xlsx").exists()

    missing_out = runner.invoke(main, ["progress", "--cohort", COHORT, "--format", "xlsx"], env=env)
    assert missing_out.exit_code != 0 and "--format xlsx needs --out" in missing_out.output
    unknown = runner.invoke(main, ["progress", "--cohort", "2031"], env=env)
    assert unknown.exit_code == 1 and "unknown cohort '2031'" in unknown.output
    assert "Traceback" not in unknown.output


def test_progress_makes_the_same_number_of_queries_for_one_coordinator_as_for_three(world):
    """Reports must stay fast at 16× the programme: no query per person or per initiative."""
    _, store, _ = world
    complete_everything(store, TRIER)
    regional_setup(store, {"ws1-teilnahme": 2})

    def selects() -> int:
        statements: list[str] = []
        store.db.conn.set_trace_callback(statements.append)
        try:
            cohort_progress(store, COHORT)
        finally:
            store.db.conn.set_trace_callback(None)
        return sum(1 for s in statements if s.lstrip().upper().startswith("SELECT"))

    three = selects()
    store.db.execute("UPDATE memberships SET active = 0 WHERE role IN ('coordinator', 'initiative') "
                     "AND network_slug != 'mint-region-trier'")
    assert len(cohort_progress(store, COHORT).coordinators) == 1
    assert selects() == three
