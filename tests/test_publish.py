"""`selfanalysis publish`: a new instrument version beside the v1 quizzes, v1 untouched, idempotent."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from mintqo_lms.cli import main
from mintqo_lms.config import Config
from mintqo_lms.instrument import question_idnumber
from mintqo_lms.programme import import_roster
from mintqo_lms.publish import PublishError, publish
from mintqo_lms.store import Store
from mintqo_lms.sync import sync_cohort
from mintqo_lms.templates import load_instrument


# These tests sync right after the simulated work; the plugin's settle window is not their topic.
pytestmark = pytest.mark.usefixtures("no_settle")

PROJECT = Path(__file__).resolve().parents[1]
EXAMPLE_ROSTER = PROJECT / "lms_templates" / "roster.example.csv"
READS = {"local_mintqo_get_quiz_responses", "local_mintqo_get_completions"}


def quizzes(store: Store) -> dict[tuple[str, str], dict]:
    return {(r["course_idnumber"], r["idnumber"]): r for r in store.db["activities"].rows_where("modname = 'quiz'")}


def member(store: Store, email: str) -> tuple[int, str]:
    row = next(store.db.query(
        "SELECT p.moodle_user_id, c.idnumber FROM people p JOIN memberships m ON m.person_id = p.id "
        "JOIN courses c ON c.network_slug = m.network_slug AND c.kind = 'regional' WHERE p.email = ?", [email]))
    return row["moodle_user_id"], row["idnumber"]


def answers(version: str, position: int) -> dict[str, int]:
    return {question_idnumber(version, s.key): position for s in load_instrument(f"selfanalysis/{version}").statements()}


def test_v2_quizzes_go_beside_every_v1_quiz_and_v1_stays_untouched(world):
    sb, store, moodle = world
    userid, course = member(store, "lea.schaefer@forscherwerkstatt.example")
    before = quizzes(store)
    v1 = before[(course, "mintqo:regional_cycle:selbstanalyse-1")]
    attempt = sb.site.submit_quiz_attempt(userid, v1["instance_id"], answers("v1", 3))
    v1_questions = {k: dict(v) for k, v in sb.site.tables["question"].items()}
    v1_quiz = dict(sb.site.tables["quiz"][v1["instance_id"]])

    result = publish(moodle, store, Config(), "2025", "selfanalysis/v2")
    regional = store.db["courses"].count_where("cohort = '2025' AND kind = 'regional'")
    assert result.quizzes == {"created": 2 * regional} and result.skipped == 0
    after = quizzes(store)
    assert set(after) - set(before) == {(c, f"mintqo:regional_cycle:selbstanalyse-{n}-v2")
                                        for (c, _) in before if c != "mintqo:cohort:2025" for n in (1, 2)}
    v2 = after[(course, "mintqo:regional_cycle:selbstanalyse-1-v2")]
    assert v2["section"] == v1["section"] and v2["cmid"] != v1["cmid"]
    assert v2["name"] == "Selbstanalyse nach dem Orientierungsrahmen (Version 2)"
    # placed after the v1 quiz in the same section
    cms = sb.site.tables["course_modules"]
    section = cms[v2["cmid"]]["section"]
    assert section == cms[v1["cmid"]]["section"]
    sequence = list(sb.site.tables["course_sections"][section]["sequence"])
    assert sequence.index(v2["cmid"]) > sequence.index(v1["cmid"])
    # the same no-exam settings as v1
    quiz = sb.site.tables["quiz"][v2["instance_id"]]
    for setting in ("attempts", "grade", "grademethod", "questionsperpage", "reviewattempt", "reviewcorrectness",
                    "reviewmarks", "reviewrightanswer", "timeopen", "timeclose"):
        assert quiz.get(setting) == v1_quiz.get(setting), setting
    assert cms[v2["cmid"]]["completion"] == cms[v1["cmid"]]["completion"]
    # v2 questions carry their version and the no-judgement answer; v1's questions and attempt are as before
    new = [q for k, q in sb.site.tables["question"].items() if k not in v1_questions]
    assert new and all(q["idnumber"].startswith("mintqo:sa:v2:") for q in new)
    assert {k: dict(v) for k, v in sb.site.tables["question"].items() if k in v1_questions} == v1_questions
    assert sb.site.tables["quiz_attempts"][attempt]["quiz"] == v1["instance_id"]

    # sync reads the v2 quiz like any other
    sb.site.submit_quiz_attempt(userid, v2["instance_id"], answers("v2", 5))
    synced = sync_cohort(moodle, store, "2025")
    assert synced.attempts == 2
    v2_answers = {r["answer_text"] for r in store.db.query(
        "SELECT answer_text FROM responses WHERE question_idnumber LIKE 'mintqo:sa:v2:%'")}
    assert v2_answers == {"kann ich nicht beurteilen"}


def test_publishing_again_makes_no_write_call(world):
    sb, store, moodle = world
    publish(moodle, store, Config(), "2025", "selfanalysis/v2")
    mark = len(sb.calls)
    again = publish(moodle, store, Config(), "2025", "selfanalysis/v2")
    assert again.quizzes == {} and again.skipped > 0 and again.total_calls == 0
    assert len(sb.calls) == mark


def test_an_edited_instrument_is_published_again_and_then_left_alone(world, tmp_path):
    # The fingerprint names the XML by its hash: an edit in the instrument must still be found.
    sb, store, moodle = world
    templates = tmp_path / "templates"
    shutil.copytree(PROJECT / "lms_templates", templates)
    first = publish(moodle, store, Config(), "2025", "selfanalysis/v2", templates_root=str(templates))
    path = templates / "selfanalysis" / "v2.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("knüpft an die Interessen", "knüpft an die Fragen", 1), encoding="utf-8")
    edited = publish(moodle, store, Config(), "2025", "selfanalysis/v2", templates_root=str(templates))
    assert edited.skipped == 0 and sum(edited.quizzes.values()) == sum(first.quizzes.values()) > 0
    assert edited.total_calls > 0
    mark = len(sb.calls)
    again = publish(moodle, store, Config(), "2025", "selfanalysis/v2", templates_root=str(templates))
    assert again.quizzes == {} and again.skipped == sum(first.quizzes.values()) and len(sb.calls) == mark


def test_the_curriculums_own_instrument_and_an_unprovisioned_cohort_are_refused(world, tmp_path):
    sb, store, moodle = world
    with pytest.raises(PublishError, match="selfanalysis/v1 is the curriculum's own instrument"):
        publish(moodle, store, Config(), "2025", "selfanalysis/v1")
    with Store(tmp_path / "empty.db") as empty:
        import_roster(empty, EXAMPLE_ROSTER, "2025")
        with pytest.raises(PublishError, match="run 'mintqo-lms provision --cohort 2025' first"):
            publish(moodle, empty, Config(), "2025", "selfanalysis/v2")


def test_cli_publish_and_export_xml(world, tmp_path):
    sb, store, moodle = world
    store.close()
    config = tmp_path / "mintqo.toml"
    config.write_text(f'[moodle]\nurl = "{sb.url}"\nretries = 0\n[store]\npath = "{tmp_path / "s.db"}"\n')
    env = {"MINTQO_CONFIG": str(config), "MINTQO_MOODLE_TOKEN": sb.token}
    runner = CliRunner()
    first = runner.invoke(main, ["selfanalysis", "publish", "--cohort", "2025", "--instrument", "selfanalysis/v2"],
                          env=env)
    assert first.exit_code == 0, first.output
    assert "Published selfanalysis/v2 in cohort 2025: 6 created" in first.output
    second = runner.invoke(main, ["selfanalysis", "publish", "--cohort", "2025", "--instrument", "selfanalysis/v2"],
                           env=env)
    assert second.exit_code == 0 and "none written, 6 unchanged without a call (0 web-service calls)" in second.output
    bad = runner.invoke(main, ["selfanalysis", "publish", "--cohort", "2025", "--instrument", "selfanalysis/v9"],
                        env=env)
    assert bad.exit_code != 0 and "Traceback" not in bad.output and "v9" in bad.output
    out = tmp_path / "v2.xml"
    exported = runner.invoke(main, ["selfanalysis", "export-xml", "--instrument", "selfanalysis/v2", "-o", str(out)],
                             env=env)
    assert exported.exit_code == 0, exported.output
    text = out.read_text(encoding="utf-8")
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>') and "mintqo:sa:v2:ang-01" in text
    assert "kann ich nicht beurteilen" in text and str(out) in exported.output
    assert sb.token not in first.output + second.output + bad.output + exported.output
