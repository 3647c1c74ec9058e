"""Storing the roster: all or nothing, re-import updates, people leaving are marked, not deleted."""

from __future__ import annotations

from pathlib import Path

import pytest

from mintqo_lms.programme import import_roster, load_cohort, person_idnumber
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
    summary = import_roster(store, second, "2025")
    assert summary.deactivated == ["anna@example.org (coordinator)"]
    assert [m.email for m in load_cohort(store, "2025").members] == ["bert@example.org"]
    assert store.db["people"].count == 2  # the person record stays
