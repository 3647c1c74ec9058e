"""Feedback messages after a self-analysis: every member once, never twice, faults end without duplicates and
with a clear account of what is unknown; the cohort's average only from five initiatives on."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from mintqo_lms.cli import main
from mintqo_lms.feedback import feedback_text, send_feedback
from mintqo_lms.sandbox import Sandbox
from mintqo_lms.store import Store
from mintqo_lms.templates import load_instrument

from sandbox_reads import messages, userid


# These tests sync right after the simulated work; the plugin's settle window is not their topic.
pytestmark = pytest.mark.usefixtures("no_settle")

V1 = load_instrument("selfanalysis/v1")
SAARBURG = ("mint-region-trier", "forscherwerkstatt-saarburg")
TEAM = ["lea.schaefer@forscherwerkstatt.example", "tobias.becker@forscherwerkstatt.example"]


def initiatives(store: Store) -> list[tuple[str, str]]:
    return [(r["network_slug"], r["slug"]) for r in store.db["initiatives"].rows_where("cohort = '2025'")]


def analyse(store: Store, initiative: tuple[str, str], attemptid: int, dimensions: dict[str, float | None],
            potentials: list[str] = (), quiz: str = "selbstanalyse-1", current: int = 1) -> None:
    """The rows sync writes for one analysis (the contract of mintqo_lms.profile): the analysis and its scores."""
    network, slug = initiative
    course = next(store.db["courses"].rows_where("network_slug = ? AND kind = 'regional'", [network]))["idnumber"]
    cmid = next(store.db["activities"].rows_where("course_idnumber = ? AND idnumber = ?",
                                                  [course, f"mintqo:regional_cycle:{quiz}"]))["cmid"]
    store.db["analyses"].insert({
        "cohort": "2025", "network_slug": network, "initiative_slug": slug, "quiz": quiz, "attemptid": attemptid,
        "kind": "first", "instrument": "v1", "cmid": cmid, "userid": 1, "person_id": 1, "timefinish": 1760000000,
        "offer": "Forscher-AG Klasse 3–4", "current": current, "answered": 33, "statements": 33,
        "computed_at": 1760000000})
    for dimension in V1.dimensions:
        score = dimensions.get(dimension.key)
        total = len(dimension.statements())
        store.db["analysis_scores"].insert({
            "attemptid": attemptid, "level": "dimension", "key": dimension.key, "score": score,
            "answered": total if score is not None else 1, "total": total, "meaningful": int(score is not None)})
    for rank, key in enumerate(potentials, start=1):
        store.db["analysis_scores"].insert({"attemptid": attemptid, "level": "statement", "key": key, "score": 0.0,
                                            "answered": 1, "total": 1, "meaningful": 1, "potential_rank": rank})


def team_messages(sb: Sandbox, store: Store) -> list[int]:
    sent = messages(sb)
    return [len(sent.get(userid(store, email), [])) for email in TEAM]


SCORES = {"ang": 66.66666666666667, "res": None, "erg": 40.0, "gen": 100.0}


def test_every_member_gets_one_german_message_and_a_second_run_sends_none(world):
    sb, store, moodle = world
    analyse(store, SAARBURG, 101, SCORES, ["ang-06", "res-03", "ang-01"])
    first = send_feedback(moodle, store, "2025")
    assert sorted(first.sent) == sorted(f"{e} (analysis 101)" for e in TEAM) and first.ok
    assert first.analyses == 1 and first.calls == 2
    assert team_messages(sb, store) == [1, 1]
    assert sum(len(t) for t in messages(sb).values()) == 2          # nobody outside the initiative
    text = messages(sb)[userid(store, TEAM[0])][0]
    titles = {d.key: d.title for d in V1.dimensions}
    statements = {s.key: s.text for s in V1.statements()}
    assert "Guten Tag Lea Schäfer" in text and "Forscherwerkstatt Saarburg" in text
    assert f"<strong>{titles['ang']}</strong>: Einschätzung 67 von 100" in text
    assert f"<strong>{titles['res']}</strong>: noch nicht aussagekräftig (erst 1 von" in text
    assert f"<strong>{titles['gen']}</strong>: Einschätzung 100 von 100" in text
    for key in ("ang-06", "res-03", "ang-01"):
        assert statements[key] in text
    assert text.index(statements["ang-06"]) < text.index(statements["res-03"]) < text.index(statements["ang-01"])
    assert "Durchschnitt" not in text                                # one initiative is no cohort
    for word in ("richtig", "falsch", "Note", "Punkte", "bestanden"):
        assert word not in text

    second = send_feedback(moodle, store, "2025")
    assert second.sent == [] and second.already == 2 and second.calls == 0
    assert team_messages(sb, store) == [1, 1]
    rows = list(store.db["feedback_messages"].rows)
    assert len(rows) == 2 and {r["status"] for r in rows} == {"sent"} and all(r["msgid"] > 0 for r in rows)


def test_cohort_average_only_from_five_initiatives_and_never_a_single_other(world):
    sb, store, moodle = world
    others = [i for i in initiatives(store) if i != SAARBURG]
    analyse(store, SAARBURG, 101, SCORES)
    for n, initiative in enumerate(others[:3]):
        analyse(store, initiative, 200 + n, {"ang": 10.0 * n, "res": 50.0, "erg": 50.0, "gen": 50.0})
    send_feedback(moodle, store, "2025")
    assert "Durchschnitt" not in messages(sb)[userid(store, TEAM[0])][0]   # four initiatives: no average

    analyse(store, others[3], 203, {"ang": 30.0, "res": None, "erg": 50.0, "gen": 50.0})
    send_feedback(moodle, store, "2025")
    member = next(store.db.query(
        "SELECT p.email FROM memberships m JOIN people p ON p.id = m.person_id WHERE m.network_slug = ? "
        "AND m.initiative_slug = ? ORDER BY p.email LIMIT 1", list(others[3])))["email"]
    text = messages(sb)[userid(store, member)][0]
    titles = {d.key: d.title for d in V1.dimensions}
    # five analyses: ang = mean(66.67, 0, 10, 20, 30) = 25.3; res has only four meaningful values: no average
    assert f"<strong>{titles['ang']}</strong>: Einschätzung 30 von 100 – Durchschnitt aller Initiativen im " \
           f"Durchgang: 25 von 100" in text
    assert f"<strong>{titles['res']}</strong>: noch nicht aussagekräftig (erst 1 von 8 Aussagen eingeschätzt)</li>" \
        in text
    assert team_messages(sb, store) == [1, 1]                          # the earlier analysis is not sent again


def test_a_refused_send_and_a_503_are_retried_next_run_without_duplicates(world):
    sb, store, moodle = world
    analyse(store, SAARBURG, 101, SCORES)
    sb.faults.add("core_message_send_instant_messages", nth=1, kind="exception")
    first = send_feedback(moodle, store, "2025")
    assert len(first.sent) == 1 and list(first.failed) == [f"{TEAM[0]} (analysis 101)"] and not first.ok
    assert team_messages(sb, store) == [0, 1]
    sb.faults.add("core_message_send_instant_messages", nth=1, kind="http503")
    second = send_feedback(moodle, store, "2025")
    assert second.sent == [] and second.stopped and list(second.failed) == [f"{TEAM[0]} (analysis 101)"]
    third = send_feedback(moodle, store, "2025")
    assert third.sent == [f"{TEAM[0]} (analysis 101)"] and third.ok and third.already == 1
    assert team_messages(sb, store) == [1, 1]


def test_a_lost_answer_is_reported_unknown_and_sent_again_only_when_asked(world):
    sb, store, moodle = world
    analyse(store, SAARBURG, 101, SCORES)
    # Moodle delivers the message, then the connection drops before the answer arrives.
    sb.faults.add("core_message_send_instant_messages", nth=1, kind="reset", execute=True)
    first = send_feedback(moodle, store, "2025")
    assert first.unknown == [f"{TEAM[0]} (analysis 101)"] and first.stopped and first.sent == []
    second = send_feedback(moodle, store, "2025")
    assert second.unknown == [f"{TEAM[0]} (analysis 101)"] and second.sent == [f"{TEAM[1]} (analysis 101)"]
    assert team_messages(sb, store) == [1, 1]                          # nobody twice
    third = send_feedback(moodle, store, "2025", resend_unknown=True)
    assert third.sent == [f"{TEAM[0]} (analysis 101)"] and third.unknown == []
    assert team_messages(sb, store) == [2, 1]                          # on purpose


def test_replaced_analyses_are_not_fed_back_and_a_new_one_is(world):
    sb, store, moodle = world
    analyse(store, SAARBURG, 101, SCORES)
    send_feedback(moodle, store, "2025")
    store.db["analyses"].update(("2025", *SAARBURG, "selbstanalyse-1", 101), {"current": 0})
    analyse(store, SAARBURG, 102, {**SCORES, "res": 50.0})
    result = send_feedback(moodle, store, "2025")
    assert len(result.sent) == 2 and all("(analysis 102)" in s for s in result.sent)
    assert team_messages(sb, store) == [2, 1 + 1]


def test_the_message_escapes_roster_text():
    text = feedback_text(first_name="<b>Eva</b>", last_name="Groß & Co", initiative="<script>x</script>",
                         offer="A & B", quiz="Selbstanalyse", finished=1760000000,
                         dimensions=[("Angebotsqualität", None, 0, 9)], potentials=["<i>x</i>"], averages={})
    assert "<b>Eva</b>" not in text and "<script>" not in text and "<i>x</i>" not in text
    assert "Groß &amp; Co" in text and "noch nicht aussagekräftig (keine Aussage eingeschätzt)" in text


def write_config(sb: Sandbox, tmp_path: Path, extra: str = "") -> dict[str, str]:
    config = tmp_path / "mintqo.toml"
    config.write_text(f'[moodle]\nurl = "{sb.url}"\nretries = 0\n[store]\npath = "{tmp_path / "s.db"}"\n{extra}')
    return {"MINTQO_CONFIG": str(config), "MINTQO_MOODLE_TOKEN": sb.token}


def test_cli_sync_sends_feedback_reports_unknown_and_can_be_turned_off(world, tmp_path):
    sb, store, moodle = world
    analyse(store, SAARBURG, 101, SCORES)
    store.close()
    runner = CliRunner()
    off = runner.invoke(main, ["sync", "--cohort", "2025"], env=write_config(sb, tmp_path, "[feedback]\nmessages = false\n"))
    assert off.exit_code == 0, off.output
    assert "feedback" not in off.output.lower() and messages(sb) == {}
    env = write_config(sb, tmp_path)
    sb.faults.add("core_message_send_instant_messages", nth=1, kind="reset", execute=True)
    first = runner.invoke(main, ["sync", "--cohort", "2025"], env=env)
    assert first.exit_code == 1
    assert f"Unknown: {TEAM[0]} (analysis 101) may have the feedback message already" in first.output
    assert "--resend-unknown" in first.output
    second = runner.invoke(main, ["sync", "--cohort", "2025"], env=env)
    assert second.exit_code == 0 and "Sent 1 feedback message for 1 self-analysis" in second.output
    assert f"Unknown: {TEAM[0]} (analysis 101)" in second.output
    third = runner.invoke(main, ["sync", "--cohort", "2025", "--resend-unknown"], env=env)
    assert third.exit_code == 0 and "Sent 1 feedback message" in third.output
    assert "Unknown:" not in third.output
    assert sb.token not in off.output + first.output + second.output + third.output


def test_end_to_end_a_finished_attempt_after_sync_reaches_every_member_once(world, tmp_path):
    from mintqo_lms.instrument import question_idnumber
    from mintqo_lms.sync import sync_cohort

    sb, store, moodle = world
    quiz = next(store.db.query(
        "SELECT a.instance_id FROM activities a JOIN courses c ON c.idnumber = a.course_idnumber "
        "WHERE c.network_slug = ? AND a.idnumber = 'mintqo:regional_cycle:selbstanalyse-1'", [SAARBURG[0]]))
    answers = {question_idnumber("v1", s.key): 4 for s in V1.statements()}
    answers[question_idnumber("v1", "ang-02")] = 1          # the one potential that stands out
    sb.site.submit_quiz_attempt(userid(store, TEAM[1]), quiz["instance_id"], answers)
    sync_cohort(moodle, store, "2025")
    first = send_feedback(moodle, store, "2025")
    assert len(first.sent) == 2 and first.ok
    assert team_messages(sb, store) == [1, 1]                # the submitter and the teammate
    text = messages(sb)[userid(store, TEAM[0])][0]
    assert next(s.text for s in V1.statements() if s.key == "ang-02") in text
    assert "Einschätzung 100 von 100" in text
    sync_cohort(moodle, store, "2025")
    assert send_feedback(moodle, store, "2025").sent == []
    assert team_messages(sb, store) == [1, 1]
