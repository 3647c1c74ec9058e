"""privacy export / forget: everything about one person out, then nothing about them left — except what must
stay for others (the team's self-analysis, a certificate's validity), without them."""

from __future__ import annotations

import json
import random
import re
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

from mintqo_lms.cli import main
from mintqo_lms.demo import simulate_participants
from mintqo_lms.feedback import send_feedback
from mintqo_lms.invite import invite
from mintqo_lms.privacy import PrivacyError, export_person, forget_person, subject_hash
from mintqo_lms.profile import profile
from mintqo_lms.store import Store
from mintqo_lms.sync import sync_cohort


@pytest.fixture(scope="module")
def analysed_snapshot(tmp_path_factory):
    """Built once: the provisioned example cohort after participants worked, a sync, feedback messages and
    invitations; each test gets it back fresh (sandbox state and a copy of the store)."""
    from faultkit import Snapshot

    from mintqo_lms.config import Config
    from mintqo_lms.moodle import Moodle, MoodleClient
    from mintqo_lms.programme import import_roster
    from mintqo_lms.provision import provision
    from mintqo_lms.sandbox import Sandbox

    folder = tmp_path_factory.mktemp("privacy")
    with Sandbox() as sb:
        with Store(folder / "built.db") as store:
            import_roster(store, Path(__file__).resolve().parents[1] / "lms_templates" / "roster.example.csv", "2025")
            moodle = Moodle(MoodleClient(sb.url, sb.token, retries=0))
            provision(moodle, store, Config(), "2025")
            simulate_participants(sb, store, "2025", random.Random(7))
            earlier = sb.site.clock  # the plugin serves rows once they are a few seconds old: a sync comes later
            sb.site.clock = lambda: earlier() + 60
            sync_cohort(moodle, store, "2025")
            send_feedback(moodle, store, "2025")
            invite(moodle, store, "2025", site_url=sb.url)
        yield sb, Snapshot.take(sb, folder / "built.db", folder, "analysed")


@pytest.fixture
def analysed(analysed_snapshot, tmp_path):
    from mintqo_lms.moodle import Moodle, MoodleClient

    sb, snapshot = analysed_snapshot
    snapshot.restore(tmp_path / "mintqo.db")
    with Store(tmp_path / "mintqo.db") as store:
        yield sb, store, Moodle(MoodleClient(sb.url, sb.token, retries=0))


def submitter(store: Store) -> dict:
    """A person whose attempt is their initiative's current analysis (they got feedback too)."""
    row = next(store.db.query(
        "SELECT p.* FROM analyses a JOIN people p ON p.id = a.person_id WHERE a.current = 1 ORDER BY p.id LIMIT 1"))
    return dict(row)


def dump(store: Store) -> str:
    return "\n".join(store.db.conn.iterdump())


def certificate_for(store: Store, person: dict, tmp_path: Path) -> tuple[str, Path]:
    """A certificate row as the certificates module writes it (migrations 4 and 11), with a PDF beside the store."""
    pdf = tmp_path / "certificates" / "zertifikat.pdf"
    pdf.parent.mkdir(exist_ok=True)
    pdf.write_bytes(b"%PDF-1.4 " + f"{person['first_name']} {person['last_name']}".encode())
    from mintqo_lms.certificates import new_code

    code = new_code()
    with store.transaction():
        store.db["certificates"].insert({
            "cohort": "2025", "person_id": person["id"], "code": code, "issued_at": 1760000000,
            "fullname": f"{person['first_name']} {person['last_name']}", "network": "MINT-Region Trier",
            "modules": "[]", "pdf_path": str(pdf), "issued_by": "Programmbüro", "moodle_user_id":
            person["moodle_user_id"]})
    return code, pdf


def test_export_holds_everything_about_the_person_and_nobody_else(analysed, tmp_path):
    sb, store, moodle = analysed
    person = submitter(store)
    data = export_person(store, person["email"].upper())  # found whatever the case
    assert data["people"][0]["email"] == person["email"]
    assert {m["role"] for m in data["memberships"]} == {"initiative"}
    assert data["enrolments"] and data["completions"]["courses"]
    assert data["attempts"] and all(a["userid"] == person["moodle_user_id"] for a in data["attempts"])
    ids = {a["attemptid"] for a in data["attempts"]}
    assert data["answers"] and {r["attemptid"] for r in data["answers"]} == ids
    assert data["analyses"] and data["scores"]
    assert [m["person_id"] for m in data["messages"]["feedback"]] == [person["id"]] * len(data["messages"]["feedback"])
    assert data["messages"]["feedback"] and data["messages"]["invitations"]
    kinds = {run["kind"] for run in data["runs"]}
    assert {"provision", "sync"} <= kinds
    text = json.dumps(data, ensure_ascii=False)
    others = [r["email"] for r in store.db.query("SELECT email FROM people WHERE id != ?", [person["id"]])]
    assert not [email for email in others if email in text]
    # the request is logged, without the e-mail
    log = list(store.db.query("SELECT * FROM privacy_log"))
    assert [(r["action"], r["person_id"]) for r in log] == [("export", person["id"])]
    assert log[0]["subject_hash"] == subject_hash(person["email"])
    assert person["email"] not in json.dumps(log) and person["last_name"] not in json.dumps(log)


def test_export_names_only_the_subject_in_a_run_command(analysed):
    sb, store, moodle = analysed
    person, other = [dict(r) for r in store.db.query("SELECT * FROM people ORDER BY id LIMIT 2")]
    run = store.start_run("people", "2025", command=f"mintqo-lms people remove {other['email']} --cohort 2025; "
                                                      f"invite --resend {person['email']}")
    store.finish_run(run, status="ok")
    data = export_person(store, person["email"])
    commands = [r["command"] for r in data["runs"] if r["id"] == run]
    assert commands and person["email"] in commands[0] and other["email"] not in commands[0]


def test_cli_export_to_a_private_file_and_unknown_email_changes_nothing(analysed, tmp_path, monkeypatch):
    sb, store, moodle = analysed
    person = submitter(store)
    config = tmp_path / "mintqo.toml"
    config.write_text(f'[store]\npath = "{store.path}"\n', encoding="utf-8")
    out = tmp_path / "auskunft.json"
    result = CliRunner().invoke(main, ["--config", str(config), "privacy", "export", "--email", person["email"],
                                       "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert json.loads(out.read_text(encoding="utf-8"))["people"][0]["id"] == person["id"]
    store.db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    before = dump(store)
    result = CliRunner().invoke(main, ["--config", str(config), "privacy", "forget", "--email",
                                       "niemand@example.org", "--yes"])
    assert result.exit_code == 1
    assert "no person with e-mail niemand@example.org" in result.output and "Traceback" not in result.output
    assert dump(store) == before


def test_forget_leaves_nothing_about_the_person_but_keeps_the_teams_analysis(analysed, tmp_path):
    sb, store, moodle = analysed
    person = submitter(store)
    code, pdf = certificate_for(store, person, tmp_path)
    run = store.start_run("invite", "2025", command=f"mintqo-lms invite --cohort 2025 --resend {person['email']}")
    store.finish_run(run, status="ok", summary={"resent": [person["email"]]})
    team = profile(store, "2025")
    from mintqo_lms.exports import answer_rows
    office_answers = answer_rows(store, "2025")
    membership = next(store.db.query("SELECT * FROM memberships WHERE person_id = ?", [person["id"]]))
    attempts = [r["attemptid"] for r in store.db.query("SELECT attemptid FROM quiz_attempts WHERE userid = ?",
                                                       [person["moodle_user_id"]])]
    answers = store.db["responses"].count_where(f"attemptid IN ({','.join(map(str, attempts))})")
    assert attempts and answers

    from mintqo_lms.certificates import publish_certificates, verify_certificate
    from mintqo_lms.sandbox.plugin_certificates import TABLE

    publish_certificates(moodle, store, codes=[code])
    assert person["last_name"] in json.dumps(list(sb.site.tables[TABLE].values()), ensure_ascii=False)

    result = forget_person(store, person["email"], moodle=moodle)

    text = dump(store)
    fullname = f"{person['first_name']} {person['last_name']}"
    for needle in (person["email"], fullname, person["idnumber"].rsplit(":", 1)[-1]):
        assert needle.lower() not in text.lower(), needle
    # nothing links any row to their Moodle account any more
    uid = person["moodle_user_id"]
    for table, column in (("quiz_attempts", "userid"), ("analyses", "userid"), ("activity_completion", "userid"),
                          ("course_completion", "userid"), ("feedback_messages", "userid")):
        assert not store.db[table].count_where(f"{column} = ?", [uid]), table
    for table in ("feedback_messages", "invitations", "enrolments", "analyses"):
        assert not store.db[table].count_where("person_id = ?", [person["id"]]), table
    # the team's analysis stays the initiative's: same profile, same answers
    assert profile(store, "2025") == team
    assert answer_rows(store, "2025") == office_answers  # the office's answers export still has the team's rows
    assert store.db["responses"].count_where(f"attemptid IN ({','.join(map(str, attempts))})") == answers
    assert store.db["analyses"].count_where(f"attemptid IN ({','.join(map(str, attempts))})") >= 1
    # the certificate keeps its code and validity, without the name; the PDF with the name is gone
    cert = next(store.db.query("SELECT * FROM certificates WHERE code = ?", [code]))
    assert cert["revoked_at"] is None and cert["fullname"] in (None, "") and not pdf.exists()
    verified = verify_certificate(store, code)
    assert (verified.status, verified.fullname) == ("valid", None)
    published = [r for r in sb.site.tables[TABLE].values() if r.get("code") == code]
    assert published and person["last_name"] not in json.dumps(published, ensure_ascii=False)
    assert result.republished == 1
    # the membership stays pseudonymous and inactive: provisioning and feedback skip it
    left = next(store.db.query("SELECT * FROM memberships WHERE person_id = ?", [person["id"]]))
    assert (left["active"], left["initiative_slug"]) == (0, membership["initiative_slug"])
    # the person row is a tombstone
    row = store.db["people"].get(person["id"])
    assert row["first_name"] is None and row["last_name"] is None and row["moodle_user_id"] is None
    assert row["email"].endswith("@forgotten.invalid")
    # what it did, said and logged (without the e-mail)
    lines = "\n".join(result.lines())
    assert "feedback_messages" in lines and "certificate" in lines and "quiz_attempts" in lines
    log = list(store.db.query("SELECT * FROM privacy_log WHERE action = 'forget'"))
    assert len(log) == 1 and log[0]["subject_hash"] == subject_hash(person["email"])
    # a second request for the same e-mail: nothing left to find
    with pytest.raises(PrivacyError):
        export_person(store, person["email"])


def test_forget_through_the_cli_says_what_it_did_and_how_moodle_forgets(analysed, tmp_path):
    sb, store, moodle = analysed
    person = submitter(store)
    config = tmp_path / "mintqo.toml"
    config.write_text(f'[store]\npath = "{store.path}"\n', encoding="utf-8")
    result = CliRunner().invoke(main, ["--config", str(config), "privacy", "forget", "--email", person["email"]],
                                input="n\n")
    assert result.exit_code == 1 and store.db["people"].get(person["id"])["email"] == person["email"]
    result = CliRunner().invoke(main, ["--config", str(config), "privacy", "forget", "--email", person["email"],
                                       "--yes"])
    assert result.exit_code == 0, result.output
    assert f"Person #{person['id']}" in result.output and "Data requests" in result.output
    assert person["email"] not in result.output.split("?")[-1]


def test_every_table_with_a_person_column_is_covered(analysed):
    """A new table that names a person must be taught to privacy export/forget: this fails until it is."""
    from mintqo_lms import privacy

    source = Path(privacy.__file__).read_text(encoding="utf-8")
    sb, store, moodle = analysed
    personal = {"person_id", "userid", "moodle_user_id", "email", "coordinator_id", "recorded_by", "fullname"}
    uncovered = []
    for table in store.db.table_names():
        columns = set(store.db[table].columns_dict)
        if columns & personal and table not in ("people", "privacy_log", "sync_runs", "schema_migrations"):
            if not re.search(rf"\b{table}\b", source):
                uncovered.append(table)
    assert uncovered == []


def test_messages_show_one_initiative_only_to_itself_and_averages_only_from_five(analysed):
    """Every feedback message is read for another initiative's score: a message shows its own team's scores, and
    an average only when it is the mean of at least five initiatives' meaningful assessments in that quiz (the
    follow-up quiz has fewer than five analyses here, so its messages show no average at all)."""
    from sandbox_reads import messages

    from mintqo_lms.templates import load_instrument

    sb, store, moodle = analysed
    titles = {d.key: d.title for d in load_instrument("selfanalysis/v1").dimensions}
    current = list(store.db.query("SELECT * FROM analyses WHERE current = 1"))
    by_quiz: dict[str, list[dict]] = {}
    for row in current:
        by_quiz.setdefault(row["quiz"], []).append(row)
    assert any(len(rows) >= 5 for rows in by_quiz.values()) and any(len(rows) < 5 for rows in by_quiz.values())
    scores = {row["attemptid"]: {r["key"]: r["score"] for r in store.db.query(
        "SELECT key, score FROM analysis_scores WHERE attemptid = ? AND level = 'dimension'", [row["attemptid"]])}
        for row in current}
    texts = {m["id"]: m["text"] for m in sb.site.tables["messages"].values()}
    checked = 0
    for sent in store.db.query("SELECT * FROM feedback_messages WHERE status = 'sent'"):
        analysis = next(r for r in current if r["attemptid"] == sent["attemptid"])
        own = scores[analysis["attemptid"]]
        peers = by_quiz[analysis["quiz"]]
        for key, title in titles.items():
            line = re.search(rf"<strong>{re.escape(title)}</strong>: ([^<]*)</li>", texts[sent["msgid"]])
            assert line, title
            said = re.search(r"Einschätzung (\d+) von 100", line.group(1))
            assert (said is None) == (own[key] is None)
            if said:
                assert int(said.group(1)) == round(own[key])
            average = re.search(r"Durchschnitt[^:]*: (\d+) von 100", line.group(1))
            values = [scores[p["attemptid"]][key] for p in peers if scores[p["attemptid"]][key] is not None]
            if average is None:
                assert len(peers) < 5 or len(values) < 5
            else:
                assert len(peers) >= 5 and len(values) >= 5
                assert int(average.group(1)) == round(sum(values) / len(values))
            checked += 1
    assert checked >= 20
    assert len(messages(sb)) >= 5
