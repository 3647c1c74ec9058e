"""`mintqo-lms invite`: one German invitation per person, never twice, failures retried on the next run."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from mintqo_lms.cli import main
from mintqo_lms.invite import InviteError, invitation_text, invite
from mintqo_lms.moodle import Moodle, MoodleClient
from mintqo_lms.moodle.errors import MoodleError
from mintqo_lms.programme import import_roster, set_moodle_user_ids
from mintqo_lms.provision import moodle_username, unusable_password
from mintqo_lms.sandbox import Sandbox
from mintqo_lms.store import Store

from sandbox_reads import messages, userid

PROJECT = Path(__file__).resolve().parents[1]
EXAMPLE_ROSTER = PROJECT / "lms_templates" / "roster.example.csv"
PEOPLE = 20


def site(sb: Sandbox, *, admin: bool = False) -> Moodle:
    return Moodle(MoodleClient(sb.url, sb.admin_token if admin else sb.token, retries=0, backoff=0.0))


def accounts(sb: Sandbox, store: Store) -> None:
    """The cohort's accounts as provisioning makes them (no mail, an unusable password), ids in the store."""
    import_roster(store, EXAMPLE_ROSTER, "2025")
    people = list(store.db["people"].rows)
    created = site(sb, admin=True).core.create_users([{
        "username": moodle_username(p["email"]), "auth": "manual", "password": unusable_password(),
        "firstname": p["first_name"], "lastname": p["last_name"], "email": p["email"], "idnumber": p["idnumber"]}
        for p in people])
    ids = {u.username: u.id for u in created}
    set_moodle_user_ids(store, [(p["id"], ids[moodle_username(p["email"])]) for p in people])


def test_everyone_is_invited_once_in_german_and_a_second_run_sends_none(sandbox, store):
    accounts(sandbox, store)
    first = invite(site(sandbox), store, "2025", site_url=sandbox.url)
    assert len(first.sent) == PEOPLE and first.ok
    assert first.calls == PEOPLE + 1            # one read of the usernames, one call per message
    sent = messages(sandbox)
    assert sorted(len(texts) for texts in sent.values()) == [1] * PEOPLE
    text = sent[userid(store, "oezlem.kaya@mint-netz-ruhr.example")][0]
    assert "Guten Tag Özlem Kaya" in text and "Durchgang 2025 der MINT-Qualitätsoffensive" in text
    assert "als Regionalkoordination für das Netzwerk zdi-Netzwerk Ruhr &amp; Emscher" in text
    assert f"{sandbox.url}/login/index.php" in text and f"{sandbox.url}/login/forgot_password.php" in text
    assert "Kennwort vergessen?" in text
    assert "Ihr Anmeldename: <strong>oezlem.kaya@mint-netz-ruhr.example</strong>" in text
    member = sent[userid(store, "clara.dangelo@makerspace-bochum.example")][0]
    assert "Guten Tag Clara D&#x27;Angelo" in member and "mit Ihrer Initiative" in member

    second = invite(site(sandbox), store, "2025", site_url=sandbox.url)
    assert second.sent == [] and len(second.already) == PEOPLE and second.calls == 0
    assert sum(len(t) for t in messages(sandbox).values()) == PEOPLE


def test_dry_run_lists_and_sends_nothing(sandbox, store):
    accounts(sandbox, store)
    mark = len(sandbox.calls)
    result = invite(site(sandbox), store, "2025", site_url=sandbox.url, dry_run=True)
    assert len(result.would_send) == PEOPLE and result.sent == []
    assert len(sandbox.calls) == mark and messages(sandbox) == {}
    assert list(store.db["invitations"].rows) == []


def test_a_refused_send_is_reported_and_retried_next_run_without_duplicates(sandbox, store):
    accounts(sandbox, store)
    sandbox.faults.add("core_message_send_instant_messages", nth=3, kind="exception")
    first = invite(site(sandbox), store, "2025", site_url=sandbox.url)
    assert len(first.sent) == PEOPLE - 1 and len(first.failed) == 1 and not first.ok
    (failed_email,) = first.failed
    assert store.db["invitations"].get(("2025", next(store.db["people"].rows_where(
        "email = ?", [failed_email]))["id"]))["status"] == "failed"
    second = invite(site(sandbox), store, "2025", site_url=sandbox.url)
    assert second.sent == [failed_email] and second.ok
    assert sorted(len(texts) for texts in messages(sandbox).values()) == [1] * PEOPLE


def test_a_lost_answer_is_never_resent_on_its_own_only_with_resend(sandbox, store):
    accounts(sandbox, store)
    # Moodle sends the message, then the connection drops before the answer arrives.
    sandbox.faults.add("core_message_send_instant_messages", nth=2, kind="reset", execute=True)
    first = invite(site(sandbox), store, "2025", site_url=sandbox.url)
    assert len(first.uncertain) == 1 and first.stopped and len(first.sent) == 1
    (unsure,) = first.uncertain
    second = invite(site(sandbox), store, "2025", site_url=sandbox.url)
    assert unsure in second.uncertain and unsure not in second.sent
    assert len(second.sent) == PEOPLE - 2
    assert sorted(len(texts) for texts in messages(sandbox).values()) == [1] * PEOPLE   # nobody twice
    third = invite(site(sandbox), store, "2025", site_url=sandbox.url, resend=[unsure])
    assert third.sent == [unsure]
    assert len(messages(sandbox)[userid(store, unsure)]) == 2                       # on purpose


def test_moodle_unreachable_stops_and_marks_the_message_failed(store, tmp_path):
    with Sandbox() as sb:
        accounts(sb, store)
        url = sb.url
    with pytest.raises(MoodleError, match="cannot reach Moodle"):   # reading the usernames fails first
        invite(Moodle(MoodleClient(url, "x" * 32, retries=0, backoff=0.0)), store, "2025", site_url=url)
    assert list(store.db["invitations"].rows) == []
    assert store.db["sync_runs"].get(1)["status"] == "failed"


def test_people_without_an_account_are_named_and_resend_must_be_a_member(sandbox, store):
    import_roster(store, EXAMPLE_ROSTER, "2025")
    result = invite(site(sandbox), store, "2025", site_url=sandbox.url)
    assert result.sent == [] and len(result.not_provisioned) == PEOPLE
    with pytest.raises(InviteError, match="--resend nobody@example.org: not an active member of cohort 2025"):
        invite(site(sandbox), store, "2025", site_url=sandbox.url, resend=["nobody@example.org"])


def test_the_invitation_escapes_what_comes_from_the_roster():
    text = invitation_text(site="https://moodle.example.org", cohort="2025", first_name="<b>Eva</b>",
                           last_name="Groß & Co", username="eva@example.org", role_line="für die Geschäftsstelle")
    assert "<b>Eva</b>" not in text and "&lt;b&gt;Eva&lt;/b&gt; Groß &amp; Co" in text


def test_cli_invite_reports_failures_with_exit_1_and_never_prints_the_token(sandbox, store, tmp_path):
    accounts(sandbox, store)
    store.close()
    config = tmp_path / "mintqo.toml"
    config.write_text(f'[moodle]\nurl = "{sandbox.url}"\nretries = 0\n[store]\npath = "{tmp_path / "mintqo.db"}"\n')
    env = {"MINTQO_CONFIG": str(config), "MINTQO_MOODLE_TOKEN": sandbox.token}
    runner = CliRunner()
    dry = runner.invoke(main, ["invite", "--cohort", "2025", "--dry-run"], env=env)
    assert dry.exit_code == 0 and "Would invite 20 people of cohort 2025" in dry.output
    sandbox.faults.add("core_message_send_instant_messages", nth=1, kind="exception")
    first = runner.invoke(main, ["invite", "--cohort", "2025"], env=env)
    assert first.exit_code == 1 and "Invited 19 people" in first.output
    assert "Failed: " in first.output and "run invite again to retry" in first.output
    second = runner.invoke(main, ["invite", "--cohort", "2025"], env=env)
    assert second.exit_code == 0 and "Invited 1 person" in second.output and "19 invited before" in second.output
    assert sandbox.token not in first.output + second.output + dry.output
