"""Storing the roster: all or nothing, re-import updates, people leaving are marked, not deleted."""

from __future__ import annotations

from pathlib import Path

import pytest

import openpyxl
from click.testing import CliRunner

from mintqo_lms.cli import main
from mintqo_lms.keys import COHORT_KEY_PATTERN, CohortKeyError, UnknownCohortError
from mintqo_lms.programme import (
    EmptyRosterError,
    ProgrammeError,
    RosterShrinkError,
    import_roster,
    load_cohort,
    person_idnumber,
    remove_member,
    removed_people,
)
from mintqo_lms.roster import RosterError
from mintqo_lms.store import Store

EXAMPLE = Path(__file__).resolve().parents[1] / "lms_templates" / "roster.example.csv"
HEADER = "Rolle;Vorname;Nachname;E-Mail;Netzwerk;Bundesland;Initiative-Name;Angebot;Rechtsform;Buddy-von\n"


@pytest.fixture
def store(tmp_path):
    with Store(tmp_path / "t.db") as s:
        yield s


def write(tmp_path, rows: str, name="roster.csv") -> Path:
    path = tmp_path / name
    path.write_text(HEADER + rows, encoding="utf-8")
    return path


def test_example_roster_is_stored_with_people_networks_and_initiatives(store):
    summary = import_roster(store, EXAMPLE, "2025")
    cohort = load_cohort(store, "2025")
    lines = [l for l in EXAMPLE.read_text(encoding="utf-8").splitlines()[1:] if l.strip()]
    assert summary.people_created == len(lines) == len(cohort.members)
    assert len(cohort.networks) == 3
    assert len(cohort.by_role("coordinator")) == 3
    assert {m.idnumber for m in cohort.members} == {person_idnumber(m.email) for m in cohort.members}
    buddy = cohort.by_role("buddy")[0]
    coordinator = next(m for m in cohort.by_role("coordinator") if m.person_id == buddy.buddy_of_id)
    assert coordinator.email == "j.weissmueller@mint-trier.example"


def test_reimport_updates_instead_of_duplicating(store, tmp_path):
    import_roster(store, EXAMPLE, "2025")
    people_before = store.db["people"].count
    text = EXAMPLE.read_text(encoding="utf-8").replace("Jürgen;Weißmüller", "Jürgen;Weißmüller-Lang")
    corrected = tmp_path / "corrected.csv"
    corrected.write_text(text, encoding="utf-8")
    summary = import_roster(store, corrected, "2025")
    assert summary.people_created == 0 and summary.people_updated == 1
    assert store.db["people"].count == people_before
    row = next(store.db["people"].rows_where("email = ?", ["j.weissmueller@mint-trier.example"]))
    assert row["last_name"] == "Weißmüller-Lang"


def test_a_file_with_errors_stores_nothing_and_keeps_what_was_there(store, tmp_path):
    import_roster(store, EXAMPLE, "2025")
    snapshot = [dict(r) for r in store.db["memberships"].rows]
    bad = write(tmp_path, "Koordination;Neu;Person;neu@example.org;Netz Neu;Sachsen;;;gemeinnützig;\n"
                          "Koordination;Kaputt;Zeile;keine-mail;Netz X;Sachsen;;;gemeinnützig;\n")
    with pytest.raises(RosterError) as caught:
        import_roster(store, bad, "2025")
    assert "line 3" in str(caught.value)
    assert [dict(r) for r in store.db["memberships"].rows] == snapshot
    assert not list(store.db["people"].rows_where("email = ?", ["neu@example.org"]))


def test_people_missing_from_a_new_file_are_deactivated_not_deleted(store, tmp_path):
    first = write(tmp_path, "Koordination;Anna;Alt;anna@example.org;Netz A;Sachsen;;;gemeinnützig;\n"
                            "Koordination;Bert;Bleibt;bert@example.org;Netz B;Hessen;;;koerperschaft;\n")
    import_roster(store, first, "2025")
    second = write(tmp_path, "Koordination;Bert;Bleibt;bert@example.org;Netz B;Hessen;;;koerperschaft;\n",
                   name="second.csv")
    with pytest.raises(RosterShrinkError):  # one of two people is more than a third
        import_roster(store, second, "2025")
    summary = import_roster(store, second, "2025", allow_shrink=True)
    assert summary.deactivated == ["anna@example.org (coordinator)"]
    assert [m.email for m in load_cohort(store, "2025").members] == ["bert@example.org"]
    assert store.db["people"].count == 2  # the person record stays



# -- messy real names ---------------------------------------------------------------------------------


def test_messy_real_names_are_stored_exactly(store):
    import_roster(store, EXAMPLE, "2025")
    names = {(r["first_name"], r["last_name"]) for r in store.db["people"].rows}
    assert {("Clara", "D'Angelo"), ("Aylin", "Öztürk"), ("Emre", "Yılmaz")} <= names
    assert "zdi-Netzwerk Ruhr & Emscher" in {r["name"] for r in store.db["networks"].rows}
    initiatives = {r["name"]: r["offer"] for r in store.db["initiatives"].rows}
    assert initiatives['Schülerlabor "Elektron"'] == "Chemie-Labortag 'Rund ums Wasser'"
    assert initiatives["Makerspace Bochum-Süd"] == "Löten & Programmieren ab 12"


def test_a_tag_like_name_is_refused_and_nothing_is_stored(store, tmp_path):
    bad = write(tmp_path, "Koordination;Jürgen;Weiß;jw@trier.example;MINT-Region Trier <Großregion>;RLP;;;;\n")
    with pytest.raises(RosterError) as caught:
        import_roster(store, bad, "2025")
    assert "roster.csv line 2, Netzwerk: looks like an HTML tag '<Großregion>'" in str(caught.value)
    assert store.db["people"].count == 0 and store.db["cohorts"].count == 0


# -- cohort keys ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["", "2025 ", "25/26"])
def test_bad_cohort_keys_are_refused_before_anything_is_stored(store, key):
    with pytest.raises(CohortKeyError) as caught:
        import_roster(store, EXAMPLE, key)
    assert COHORT_KEY_PATTERN in str(caught.value)
    assert store.db["cohorts"].count == 0 and store.db["people"].count == 0


def test_unknown_cohort_names_the_cohorts_there_are(store):
    import_roster(store, EXAMPLE, "2025")
    import_roster(store, EXAMPLE, "2024-test")
    with pytest.raises(UnknownCohortError) as caught:
        load_cohort(store, "2052")
    assert "unknown cohort '2052': no roster yet (known cohorts: 2024-test, 2025)" in str(caught.value)
    with pytest.raises(UnknownCohortError):
        remove_member(NO_MOODLE, store, "lea.schaefer@forscherwerkstatt.example", "2052")


# -- guard rails: empty and shrinking rosters -----------------------------------------------------------


def people_rows(n: int, start: int = 0) -> str:
    return "".join(f"Koordination;P{i};Person;p{i}@example.org;Netz {i};Sachsen;;;;\n" for i in range(start, n))


def snapshot(store) -> list[dict]:
    return [dict(r) for r in store.db["memberships"].rows]


def test_a_header_only_roster_is_refused_unless_allowed(store, tmp_path):
    import_roster(store, write(tmp_path, people_rows(6)), "2025")
    before = snapshot(store)
    empty = write(tmp_path, "", name="empty.csv")
    with pytest.raises(EmptyRosterError) as caught:
        import_roster(store, empty, "2025")
    message = str(caught.value)
    assert len(message.splitlines()) == 1
    assert "only a header row" in message and "all 6 active people of cohort 2025" in message
    assert "Nothing was stored" in message and "--allow-shrink" in message
    assert snapshot(store) == before
    summary = import_roster(store, empty, "2025", allow_shrink=True)
    assert len(summary.deactivated) == 6 and load_cohort(store, "2025").members == []


def test_a_header_only_roster_for_a_new_cohort_is_refused_too(store, tmp_path):
    with pytest.raises(EmptyRosterError) as caught:
        import_roster(store, write(tmp_path, ""), "2026")
    assert "would create cohort 2026 without anyone in it" in str(caught.value)
    assert store.db["cohorts"].count == 0


def test_dropping_more_than_a_third_is_refused_with_the_count_and_a_third_is_fine(store, tmp_path):
    import_roster(store, write(tmp_path, people_rows(9)), "2025")
    before = snapshot(store)
    with pytest.raises(RosterShrinkError) as caught:
        import_roster(store, write(tmp_path, people_rows(9, start=4), name="short.csv"), "2025")
    message = str(caught.value)
    assert message.startswith("this roster would take 4 of the 9 active people of cohort 2025 off the roster "
                              "(more than a third): p0@example.org, p1@example.org, p2@example.org, p3@example.org.")
    assert len(message.splitlines()) == 1 and "--allow-shrink" in message
    assert caught.value.dropping == [f"p{i}@example.org" for i in range(4)] and caught.value.active == 9
    assert snapshot(store) == before
    summary = import_roster(store, write(tmp_path, people_rows(9, start=3), name="third.csv"), "2025")
    assert len(summary.deactivated) == 3  # exactly a third passes without the flag


def test_a_role_change_is_not_a_drop(store, tmp_path):
    import_roster(store, write(tmp_path, people_rows(3)), "2025")
    buddies = "".join(f"Buddy;P{i};Person;p{i}@example.org;;;;;;p0@example.org\n" for i in (1, 2))
    summary = import_roster(store, write(tmp_path, people_rows(1) + buddies, name="b.csv"), "2025")
    assert sorted(summary.deactivated) == ["p1@example.org (coordinator)", "p2@example.org (coordinator)"]


# -- people removed on purpose --------------------------------------------------------------------------


class _NoMoodle:
    """remove_member only calls Moodle for people with enrolments; these tests have none."""

    def __getattr__(self, name):
        raise AssertionError(f"Moodle must not be called ({name})")


NO_MOODLE = _NoMoodle()


def test_people_removed_on_purpose_stay_removed_when_an_old_roster_comes_back(store, tmp_path):
    roster = write(tmp_path, people_rows(6))
    import_roster(store, roster, "2025")
    remove_member(NO_MOODLE, store, "P1@example.org", "2025")
    assert removed_people(store, "2025") == {"p1@example.org": 2}
    summary = import_roster(store, roster, "2025")
    assert summary.kept_removed == ["p1@example.org"]
    assert "p1@example.org" not in {m.email for m in load_cohort(store, "2025").members}
    lines = str(summary).splitlines()
    assert lines[1] == ("1 person in this roster was removed on purpose and stays removed: p1@example.org; "
                        "to bring them back, import again with --restore p1@example.org")

    with pytest.raises(ProgrammeError) as caught:
        import_roster(store, roster, "2025", restore=["nobody@example.org"])
    assert "--restore nobody@example.org: not in this roster" in str(caught.value)

    summary = import_roster(store, roster, "2025", restore=["P1@example.org"])
    assert summary.restored == ["p1@example.org"] and summary.kept_removed == []
    assert "p1@example.org" in {m.email for m in load_cohort(store, "2025").members}
    assert removed_people(store, "2025") == {}
    assert import_roster(store, roster, "2025").kept_removed == []  # back for good


def test_removed_people_do_not_count_as_dropped_and_remove_needs_a_member(store, tmp_path):
    import_roster(store, write(tmp_path, people_rows(3)), "2025")
    remove_member(NO_MOODLE, store, "p0@example.org", "2025")
    summary = import_roster(store, write(tmp_path, people_rows(3, start=1), name="two.csv"), "2025")
    assert summary.deactivated == [] and summary.kept_removed == []
    store.db["people"].insert({"email": "other@example.org", "idnumber": "x", "first_name": "O", "last_name": "T"})
    with pytest.raises(ProgrammeError, match="other@example.org is not on the roster of cohort 2025"):
        remove_member(NO_MOODLE, store, "other@example.org", "2025")


# -- the command ----------------------------------------------------------------------------------------


def cli(tmp_path, *args):
    config = tmp_path / "mintqo.toml"
    if not config.exists():
        config.write_text(f'[moodle]\nurl = "http://127.0.0.1:9"\n[store]\npath = "{tmp_path / "cli.db"}"\n')
    return CliRunner().invoke(main, ["--config", str(config), "roster", "import", *args],
                              env={"MINTQO_CONFIG": "", "MINTQO_MOODLE_TOKEN": "x" * 32})


def test_cli_refuses_a_bad_cohort_key_with_the_pattern(tmp_path):
    result = cli(tmp_path, str(EXAMPLE), "--cohort", "25/26")
    assert result.exit_code == 2
    assert COHORT_KEY_PATTERN in result.output and "Traceback" not in result.output


def test_cli_guard_rail_flags(tmp_path):
    first = write(tmp_path, people_rows(6))
    assert cli(tmp_path, str(first), "--cohort", "2025").exit_code == 0
    short = write(tmp_path, people_rows(6, start=3), name="short.csv")
    refused = cli(tmp_path, str(short), "--cohort", "2025")
    assert refused.exit_code == 1
    errors = [line for line in refused.output.splitlines() if line.strip()]
    assert len(errors) == 1 and errors[0].startswith("Error: this roster would take 3 of the 6 active people")
    allowed = cli(tmp_path, str(short), "--cohort", "2025", "--allow-shrink")
    assert allowed.exit_code == 0, allowed.output
    assert "3 no longer in the roster" in allowed.output


def test_cli_reports_every_bad_cell_and_reads_xlsx(tmp_path):
    bad = write(tmp_path, "Koordination;Jürgen;<b>Weiß</b>;jw@trier.example;Trier <Großregion>;RLP;;;;\n")
    result = cli(tmp_path, str(bad), "--cohort", "2025")
    assert result.exit_code == 1
    assert "roster.csv line 2, Nachname: looks like an HTML tag '<b>'" in result.output
    assert "roster.csv line 2, Netzwerk: looks like an HTML tag '<Großregion>'" in result.output
    assert "Nothing was stored" in result.output and "Traceback" not in result.output

    workbook = openpyxl.Workbook()
    for line in (HEADER + people_rows(2)).splitlines():
        workbook.active.append(line.split(";"))
    workbook.save(tmp_path / "roster.xlsx")
    result = cli(tmp_path, str(tmp_path / "roster.xlsx"), "--cohort", "2025-herbst")
    assert result.exit_code == 0, result.output
    assert "Cohort 2025-herbst: 2 roster entries; 2 people new" in result.output


def test_cli_restore_option(tmp_path):
    roster = write(tmp_path, people_rows(4))
    assert cli(tmp_path, str(roster), "--cohort", "2025").exit_code == 0
    with Store(tmp_path / "cli.db") as store:
        remove_member(NO_MOODLE, store, "p2@example.org", "2025")
    kept = cli(tmp_path, str(roster), "--cohort", "2025")
    assert kept.exit_code == 0 and "--restore p2@example.org" in kept.output
    back = cli(tmp_path, str(roster), "--cohort", "2025", "--restore", "p2@example.org")
    assert back.exit_code == 0 and "restored: p2@example.org" in back.output
