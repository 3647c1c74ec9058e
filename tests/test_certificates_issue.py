"""Issuing certificates against the sandbox Moodle: eligibility after sync, exactly once, the verify page (CLI and
the plugin's page), revocation, messages, publication faults, pseudonymisation, and the command line."""

from __future__ import annotations

import json
import os
import stat
import urllib.request
from pathlib import Path

import pytest
from click.testing import CliRunner
from report_data import COHORT, ERZGEBIRGE, RUHR, TRIER, attend, complete, complete_everything

from mintqo_lms.certificates import (CertificateError, eligibility, issue_certificates, list_certificates,
                                     pdf_file, pseudonymise_certificates, publish_certificates, revoke_certificate,
                                     verify_certificate)
from mintqo_lms.cli import main
from mintqo_lms.sandbox.plugin_certificates import TABLE
from mintqo_lms.sync import sync_cohort
from mintqo_lms.templates import load_curriculum


def later(sb, seconds: int = 10) -> None:
    """A sync comes after people worked: the plugin serves only rows a few seconds old."""
    earlier = sb.site.clock
    sb.site.clock = lambda: earlier() + seconds


def userid(store, email: str) -> int:
    return next(store.db["people"].rows_where("email = ?", [email]))["moodle_user_id"]


def cmids(store) -> dict[str, int]:
    return {row["idnumber"].rsplit(":", 1)[-1]: row["cmid"]
            for row in store.db["activities"].rows_where("course_idnumber = ?", [f"mintqo:cohort:{COHORT}"])}


def work_in_moodle(sb, store, moodle, email: str, *, skip: tuple[str, ...] = (), self_ticked: tuple[str, ...] = ()):
    """The coordinator does every required activity in Moodle and staff record both workshops (an override by the
    service user, as the plugin's attendance mechanism does) — except ``skip``; ``self_ticked`` workshops are
    completed without anybody else (as if the participant could tick them)."""
    rule = load_curriculum("qualification").certificate
    ids, uid = cmids(store), userid(store, email)
    for key in rule.requires:
        if key not in skip:
            sb.site.complete_activity(uid, ids[key])
    for key in rule.attendance_required:
        if key in self_ticked:
            sb.site.complete_activity(uid, ids[key])
        elif key not in skip:
            moodle.core.override_activity_completion(uid, ids[key], 1)


def synced(sb, store, moodle) -> None:
    later(sb)
    sync_cohort(moodle, store, COHORT)


def messages_to(sb, uid: int) -> list[str]:
    return [m["text"] for m in sb.site.tables["messages"].values() if m["useridto"] == uid]


def page(sb, code: str) -> str:
    with urllib.request.urlopen(f"{sb.url}/local/mintqo/verify.php?code={code}", timeout=10) as answer:
        assert answer.status == 200
        return answer.read().decode("utf-8")


def test_exactly_one_certificate_for_the_one_who_completed_everything(world, tmp_path):
    sb, store, moodle = world
    work_in_moodle(sb, store, moodle, TRIER)
    work_in_moodle(sb, store, moodle, RUHR, skip=("zyklus-dokumentation",))
    work_in_moodle(sb, store, moodle, ERZGEBIRGE, self_ticked=("transfer-teilnahme",))
    synced(sb, store, moodle)

    dry = issue_certificates(store, COHORT, site_url=sb.url, moodle=moodle, dry_run=True)
    assert dry.would_issue == ["Jürgen Weißmüller"] and not store.db["certificates"].count
    assert dry.incomplete["Özlem Kaya"] == ["zyklus-dokumentation (not complete)"]
    assert dry.incomplete["Hannah Groß"] == ["transfer-teilnahme (attendance not recorded by staff)"]

    first = issue_certificates(store, COHORT, site_url=sb.url, moodle=moodle)
    assert [name for _, name in first.issued] == ["Jürgen Weißmüller"] and first.ok
    assert len(first.publish.published) == 1 and first.messages_sent == ["Jürgen Weißmüller"]
    code = first.issued[0][0]
    row = next(store.db["certificates"].rows_where("code = ?", [code]))
    assert (row["fullname"], row["network"], row["cohort"]) == ("Jürgen Weißmüller", "MINT-Region Trier", COHORT)
    assert json.loads(row["modules"])[0] == "Kick-off-Workshop (zwei Tage, Präsenz)"
    pdf = pdf_file(store, row)
    assert pdf.parent == store.path.resolve().parent / "certificates" and pdf.read_bytes().startswith(b"%PDF")
    assert stat.S_IMODE(os.stat(pdf).st_mode) == 0o600 and stat.S_IMODE(os.stat(pdf.parent).st_mode) == 0o700
    assert "Weiß" not in pdf.name   # no name in the file name

    texts = messages_to(sb, userid(store, TRIER))
    assert len(texts) == 1 and code in texts[0] and f"{sb.url}/local/mintqo/verify.php?code={code}" in texts[0]

    again = issue_certificates(store, COHORT, site_url=sb.url, moodle=moodle)
    assert again.issued == [] and again.already == [(code, "Jürgen Weißmüller")]
    assert first.render_s > 0 and again.render_s == 0   # drawing is counted apart (nothing drawn again)
    assert store.db["certificates"].count == 1 and len(messages_to(sb, userid(store, TRIER))) == 1
    assert again.publish.published == [] and again.publish.calls == 0   # nothing new: no call at all
    for email in (RUHR, ERZGEBIRGE):
        assert messages_to(sb, userid(store, email)) == []

    sent = next(store.db["certificates"].rows_where("code = ?", [code]))
    assert sent["message_status"] == "sent" and sent["message_id"]
    with store.transaction():   # what a run killed between the message and the copy of its status leaves
        store.db.execute("UPDATE certificates SET message_status = NULL, message_id = NULL")
    issue_certificates(store, COHORT, site_url=sb.url, moodle=moodle)
    mended = next(store.db["certificates"].rows_where("code = ?", [code]))
    assert (mended["message_status"], mended["message_id"]) == ("sent", sent["message_id"])
    assert len(messages_to(sb, userid(store, TRIER))) == 1


def test_verify_in_the_store_and_on_the_plugins_page_then_revoke(world):
    sb, store, moodle = world
    complete_everything(store, TRIER)   # the store as a sync leaves it: everything, workshops recorded by staff
    code = issue_certificates(store, COHORT, site_url=sb.url, moodle=moodle).issued[0][0]

    answer = verify_certificate(store, code.lower().replace("-", " "))
    assert (answer.status, answer.fullname, answer.cohort) == ("valid", "Jürgen Weißmüller", COHORT)
    html = page(sb, code)
    assert 'data-status="valid"' in html and "Gültig" in html and "Jürgen Weißmüller" in html and COHORT in html
    assert "@" not in html.split("<body>")[1]   # no e-mail, nothing but the four answers

    made_up = "ZZZZ-ZZZZ-ZZZ" + "Z"
    assert verify_certificate(store, made_up).status == "unknown"
    typo = code[:-1] + ("0" if code[-1] != "0" else "1")
    assert verify_certificate(store, typo).status == "unknown"
    unknown = page(sb, typo)
    assert 'data-status="unknown"' in unknown and "Jürgen" not in unknown
    assert unknown.count("<dt>") == html.count("<dt>") == 3   # the same shape

    with pytest.raises(CertificateError, match="--reason is required"):
        revoke_certificate(store, code, "  ", moodle=moodle)
    row, changed, published = revoke_certificate(store, code, "Teilnahme nachträglich aberkannt", moodle=moodle)
    assert changed and published.published == [code] and row["revoked_reason"] == "Teilnahme nachträglich aberkannt"
    assert verify_certificate(store, code).status == "revoked"
    revoked = page(sb, code)
    assert 'data-status="revoked"' in revoked and "Widerrufen" in revoked and "aberkannt" not in revoked
    _, changed, _ = revoke_certificate(store, code, "nochmal", moodle=moodle)
    assert not changed and next(store.db["certificates"].rows_where("code = ?", [code]))["revoked_reason"] == \
        "Teilnahme nachträglich aberkannt"
    with pytest.raises(CertificateError, match="no certificate has the code"):
        revoke_certificate(store, made_up, "x")


def test_a_publication_that_fails_is_sent_again_by_the_next_run(world):
    sb, store, moodle = world
    complete_everything(store, TRIER)
    sb.faults.add("local_mintqo_publish_certificates", nth=1, kind="http503")
    first = issue_certificates(store, COHORT, site_url=sb.url, moodle=moodle)
    code = first.issued[0][0]
    assert first.publish.error and not first.ok and first.messages_sent == []   # no message before it verifies
    assert not sb.site.tables[TABLE] and verify_certificate(store, code).status == "valid"
    second = issue_certificates(store, COHORT, site_url=sb.url, moodle=moodle)
    assert second.issued == [] and second.publish.published == [code] and second.messages_sent == ["Jürgen Weißmüller"]
    record = next(iter(sb.site.tables[TABLE].values()))
    assert (record["code"], record["fullname"], record["userid"]) == (code, "Jürgen Weißmüller", userid(store, TRIER))


def test_a_refused_message_is_tried_again_and_a_lost_answer_is_never_resent(world):
    sb, store, moodle = world
    complete_everything(store, TRIER)
    complete_everything(store, RUHR)
    sb.faults.add("core_message_send_instant_messages", nth=1, kind="exception")
    first = issue_certificates(store, COHORT, site_url=sb.url, moodle=moodle)
    assert len(first.issued) == 2 and len(first.messages_failed) == 1 and len(first.messages_sent) == 1
    second = issue_certificates(store, COHORT, site_url=sb.url, moodle=moodle)
    assert len(second.messages_sent) == 1 and second.ok
    for email in (TRIER, RUHR):
        assert len(messages_to(sb, userid(store, email))) == 1

    complete_everything(store, ERZGEBIRGE)
    sb.faults.add("core_message_send_instant_messages", nth=1, kind="reset")
    third = issue_certificates(store, COHORT, site_url=sb.url, moodle=moodle)
    assert third.messages_unknown == ["Hannah Groß"] and third.stopped
    fourth = issue_certificates(store, COHORT, site_url=sb.url, moodle=moodle)
    assert fourth.messages_unknown == ["Hannah Groß"] and fourth.messages_sent == []


def test_a_record_whose_pdf_went_missing_is_drawn_again_with_the_same_code(world):
    sb, store, moodle = world
    complete_everything(store, TRIER)
    code = issue_certificates(store, COHORT, site_url=sb.url).issued[0][0]
    row = next(store.db["certificates"].rows_where("code = ?", [code]))
    pdf_file(store, row).unlink()   # as if the run died between the commit and moving the file into place
    again = issue_certificates(store, COHORT, site_url=sb.url)
    assert again.issued == [] and again.redrawn == [code] and pdf_file(store, row).exists()
    assert store.db["certificates"].count == 1


def test_what_was_drawn_before_a_failure_is_issued_and_the_rest_next_time(world, monkeypatch):
    """The run records its certificates together: one that cannot be drawn stops the run, those drawn before it
    are issued (record and PDF, no temporary file left), and the next run issues the rest."""
    from mintqo_lms import certificates

    sb, store, _ = world
    complete_everything(store, TRIER)
    complete_everything(store, RUHR)
    draw = certificates.render_pdf

    def failing(template, **values):
        if values["name"] == "Jürgen Weißmüller":   # drawn after Özlem Kaya (by last name)
            raise CertificateError("the certificate does not fit on one page")
        return draw(template, **values)

    monkeypatch.setattr(certificates, "render_pdf", failing)
    with pytest.raises(CertificateError, match="does not fit"):
        issue_certificates(store, COHORT, site_url=sb.url)
    rows = list(store.db["certificates"].rows)
    assert [row["fullname"] for row in rows] == ["Özlem Kaya"] and pdf_file(store, rows[0]).exists()
    assert sorted(p.name for p in pdf_file(store, rows[0]).parent.iterdir()) == [pdf_file(store, rows[0]).name]
    monkeypatch.setattr(certificates, "render_pdf", draw)
    again = issue_certificates(store, COHORT, site_url=sb.url)
    assert [name for _, name in again.issued] == ["Jürgen Weißmüller"] and again.already[0][1] == "Özlem Kaya"


def test_staff_sheet_wins_and_self_reported_attendance_never_counts(world):
    _, store, _ = world
    complete_everything(store, TRIER)
    attend(store, TRIER, "transfer-teilnahme", present=0)            # staff's sheet: absent
    complete_everything(store, RUHR)
    store.db.execute("UPDATE activity_completion SET overrideby = NULL WHERE userid = ?", [userid(store, RUHR)])
    attend(store, RUHR, "kickoff-teilnahme", source="self")          # her own tick in the sheet
    attend(store, ERZGEBIRGE, "kickoff-teilnahme")                   # staff's sheet: present
    attend(store, ERZGEBIRGE, "transfer-teilnahme")
    for key in load_curriculum("qualification").certificate.requires:
        complete(store, ERZGEBIRGE, key)
    people = {p.email: p for p in eligibility(store, COHORT)[0]}
    assert people[TRIER].missing == ["transfer-teilnahme (recorded absent)"]
    assert people[RUHR].missing == ["kickoff-teilnahme (attendance not recorded by staff)",
                                    "transfer-teilnahme (attendance not recorded by staff)"]
    assert people[ERZGEBIRGE].eligible


def test_a_cohort_that_was_never_provisioned_is_refused(store):
    from mintqo_lms.programme import import_roster

    import_roster(store, Path(__file__).resolve().parents[1] / "lms_templates" / "roster.example.csv", COHORT)
    with pytest.raises(CertificateError, match="no qualification course in Moodle yet"):
        issue_certificates(store, COHORT, site_url="http://127.0.0.1")


def test_pseudonymised_certificate_still_answers_without_the_name(world):
    sb, store, moodle = world
    complete_everything(store, TRIER)
    code = issue_certificates(store, COHORT, site_url=sb.url, moodle=moodle).issued[0][0]
    row = next(store.db["certificates"].rows_where("code = ?", [code]))
    pdf = pdf_file(store, row)
    person = row["person_id"]

    assert pseudonymise_certificates(store, person, moodle=moodle) == [code]
    answer = verify_certificate(store, code)
    assert answer.status == "valid" and answer.fullname is None and answer.cohort == COHORT
    assert not pdf.exists() and not store.db["certificate_messages"].count
    kept = next(store.db["certificates"].rows_where("code = ?", [code]))
    assert kept["person_id"] is None and kept["moodle_user_id"] is None and kept["network"] is None
    record = next(iter(sb.site.tables[TABLE].values()))
    assert record["fullname"] == "" and record["userid"] is None
    html = page(sb, code)
    assert 'data-status="valid"' in html and "Jürgen" not in html and "nicht mehr gespeichert" in html
    assert publish_certificates(moodle, store).published == []   # already republished
    assert list_certificates(store, COHORT)[0]["status"] == "valid"


def test_the_sandbox_function_is_idempotent_all_or_nothing_and_needs_its_capability(world):
    from mintqo_lms.moodle.errors import AccessDeniedError, InvalidParameterError

    sb, _, moodle = world
    record = {"code": "K7QM-2XVD-93HC", "userid": 0, "fullname": "Ada Öztürk", "cohort": COHORT,
              "timeissued": 1763900000, "revoked": 0, "timerevoked": 0}
    assert [r.status for r in moodle.plugin.publish_certificates([record])] == ["created"]
    assert [r.status for r in moodle.plugin.publish_certificates([record])] == ["unchanged"]
    assert [r.status for r in moodle.plugin.publish_certificates([{**record, "revoked": 1,
                                                                   "timerevoked": 1763990000}])] == ["updated"]
    with pytest.raises(InvalidParameterError):
        moodle.plugin.publish_certificates([{**record, "code": "B021-Q3H3-ZQGP"}, {**record, "code": "kein-code"}])
    assert len(sb.site.tables[TABLE]) == 1
    sb.deny_capability("local/mintqo:publishcertificates")
    with pytest.raises(AccessDeniedError):
        moodle.plugin.publish_certificates([{**record, "code": "B021-Q3H3-ZQGP"}])
    assert len(sb.site.tables[TABLE]) == 1


def test_cli_issue_list_verify_revoke(world, tmp_path):
    sb, store, _ = world
    complete_everything(store, TRIER)
    path = Path(store.path)
    store.close()
    config = tmp_path / "mintqo.toml"
    config.write_text(f'[moodle]\nurl = "{sb.url}"\nretries = 0\n[store]\npath = "{path}"\n', encoding="utf-8")
    env = {"MINTQO_CONFIG": str(config), "MINTQO_MOODLE_TOKEN": sb.token}
    runner = CliRunner()

    dry = runner.invoke(main, ["certificates", "issue", "--cohort", COHORT, "--dry-run"], env=env)
    assert dry.exit_code == 0, dry.output
    assert "would issue: Jürgen Weißmüller" in dry.output and "Would issue 1 certificate for cohort 2025" in dry.output
    assert "not eligible: Özlem Kaya — missing kickoff-reflexion (not complete)" in dry.output
    issued = runner.invoke(main, ["certificates", "issue", "--cohort", COHORT], env=env)
    assert issued.exit_code == 0, issued.output
    assert "Issued 1 certificate for cohort 2025 (0 issued before; 2 not eligible yet; 1 published to Moodle; " \
           "1 message sent)." in issued.output
    code = issued.output.split("issued ", 1)[1].split(":", 1)[0]
    again = runner.invoke(main, ["certificates", "issue", "--cohort", COHORT], env=env)
    assert again.exit_code == 0 and "Issued 0 certificates for cohort 2025 (1 issued before" in again.output

    listed = runner.invoke(main, ["certificates", "list", "--format", "json"], env=env)
    assert [(c["code"], c["fullname"], c["status"]) for c in json.loads(listed.output)] == \
        [(code, "Jürgen Weißmüller", "valid")]
    valid = runner.invoke(main, ["certificates", "verify", code.lower()], env=env)
    assert valid.exit_code == 0 and valid.output.startswith(f"valid: {code} — Jürgen Weißmüller, cohort 2025")
    unknown = runner.invoke(main, ["certificates", "verify", "ZZZZ-ZZZZ-ZZZZ"], env=env)
    assert unknown.exit_code == 3 and unknown.output.startswith("unknown")
    revoked = runner.invoke(main, ["certificates", "revoke", code, "--reason", "Irrtum"], env=env)
    assert revoked.exit_code == 0 and "Revoked" in revoked.output and "verify page says revoked" in revoked.output
    after = runner.invoke(main, ["certificates", "verify", code], env=env)
    assert after.exit_code == 2 and after.output.startswith("revoked:")
    assert 'data-status="revoked"' in page(sb, code)
    table = runner.invoke(main, ["certificates", "list", "--cohort", COHORT], env=env)
    assert "revoked (Irrtum)" in table.output and "verify page: revoked" in table.output
    for result in (dry, issued, again, listed, valid, unknown, revoked, after, table):
        assert sb.token not in result.output


def test_certificates_and_their_messages_are_committed_durably(world, monkeypatch):
    """A certificate's code and its message record are what only the store knows: they are committed with
    synchronous=FULL, the rest of the store's commits stay NORMAL."""
    sb, store, moodle = world
    work_in_moodle(sb, store, moodle, TRIER)
    synced(sb, store, moodle)
    seen = []
    send = moodle.core.send_instant_message

    def sending(*args, **kwargs):
        seen.append(store.db.execute("PRAGMA synchronous").fetchone()[0])
        return send(*args, **kwargs)

    monkeypatch.setattr(moodle.core, "send_instant_message", sending)
    issued = issue_certificates(store, COHORT, site_url=sb.url, moodle=moodle)
    assert [name for _, name in issued.issued] == ["Jürgen Weißmüller"]
    assert seen == [2]
    assert store.db.execute("PRAGMA synchronous").fetchone()[0] == 1
