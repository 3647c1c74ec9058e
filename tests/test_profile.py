"""Self-analysis results on the sandbox: the team rule, scores stored by sync, and ``selfanalysis profile``."""

from __future__ import annotations

import json
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from mintqo_lms.cli import main
from mintqo_lms.config import Config
from mintqo_lms.instrument import question_idnumber
from mintqo_lms.moodle import Moodle, MoodleClient
from mintqo_lms.moodle.errors import MintqoError
from mintqo_lms.profile import ProfileError, analysis_kind, backfill_stream, new_analyses, profile
from mintqo_lms.programme import import_roster
from mintqo_lms.provision import provision
from mintqo_lms.sandbox import Sandbox
from mintqo_lms.store import Store
from mintqo_lms.sync import responses_stream, sync_cohort
from mintqo_lms.templates import load_instrument


# These tests sync right after the simulated work; the plugin's settle window is not their topic.
pytestmark = pytest.mark.usefixtures("no_settle")

EXAMPLE_ROSTER = Path(__file__).resolve().parents[1] / "lms_templates" / "roster.example.csv"
V1 = load_instrument("selfanalysis/v1")
LEA, TOBIAS = "lea.schaefer@forscherwerkstatt.example", "tobias.becker@forscherwerkstatt.example"
TRIER, SAARBURG = "mint-region-trier", "forscherwerkstatt-saarburg"


@pytest.fixture
def world(tmp_path):
    with Sandbox() as sb, Store(tmp_path / "mintqo.db") as store:
        import_roster(store, EXAMPLE_ROSTER, "2025")
        moodle = Moodle(MoodleClient(sb.url, sb.token, retries=0))
        provision(moodle, store, Config(), "2025")
        sb.site.clock = 1_750_000_000
        yield sb, store, moodle, tmp_path


def quiz_of(store: Store, email: str, key: str = "selbstanalyse-1") -> tuple[int, int]:
    row = next(store.db.query(
        "SELECT p.moodle_user_id, a.instance_id FROM people p JOIN memberships m ON m.person_id = p.id "
        "JOIN courses c ON c.network_slug = m.network_slug AND c.kind = 'regional' "
        "JOIN activities a ON a.course_idnumber = c.idnumber AND a.idnumber = ? "
        "WHERE p.email = ?", [f"mintqo:regional_cycle:{key}", email]))
    return row["instance_id"], row["moodle_user_id"]


def positions(chosen: dict[str, int]) -> dict[str, int]:
    """Statement key -> answer position (1..4) as question idnumber -> position for the sandbox."""
    return {question_idnumber("v1", key): pos for key, pos in chosen.items()}


def by_hand(chosen: dict[str, int]) -> dict[str, float | None]:
    """The issue's formula, written out: (value − 1) / (4 − 1) × 100 per statement, the mean of the answered
    statements per dimension, null below half answered."""
    result: dict[str, float | None] = {}
    for dimension in V1.dimensions:
        keys = [s.key for c in dimension.criteria for s in c.statements]
        values = [(chosen[k] - 1) / 3 * 100 for k in keys if chosen.get(k)]
        result[dimension.key] = sum(values) / len(values) if 2 * len(values) >= len(keys) else None
    return result


def run(args: list[str], config: Path):
    return CliRunner().invoke(main, ["--config", str(config), *args], env={"MINTQO_CONFIG": ""})


def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "mintqo.toml"
    path.write_text('[moodle]\nurl = "http://127.0.0.1:9"\n[store]\npath = "mintqo.db"\n', encoding="utf-8")
    return path


def mixed_answers() -> dict[str, int]:
    """Every dimension differently: ang all answered, res a mix with two open, erg five of eight, gen three of
    eight (not meaningful)."""
    keys = {d.key: [s.key for s in d.statements()] for d in V1.dimensions}
    chosen = {k: (i % 4) + 1 for i, k in enumerate(keys["ang"])}
    chosen |= {k: 4 - (i % 2) for i, k in enumerate(keys["res"][:6])}
    chosen |= {k: 2 for k in keys["erg"][:5]}
    chosen |= {k: 1 for k in keys["gen"][:3]}
    return chosen


def test_a_members_attempt_after_sync_is_in_the_profile_json_with_the_hand_computed_scores(world):
    sb, store, moodle, tmp_path = world
    chosen = mixed_answers()
    quizid, userid = quiz_of(store, LEA)
    attemptid = sb.site.submit_quiz_attempt(userid, quizid, positions(chosen))
    result = sync_cohort(moodle, store, "2025")
    assert result.analyses == 1 and "1 team analysis scored" in str(result)
    store.close()
    out = run(["selfanalysis", "profile", "--cohort", "2025", "--network", TRIER, "--initiative", SAARBURG,
               "--format", "json"], config_file(tmp_path))
    assert out.exit_code == 0, out.output
    data = json.loads(out.output)
    [item] = data["initiatives"]
    assert data["cohort"] == "2025"
    assert {k: item[k] for k in ("network", "initiative", "name", "offer")} == {
        "network": TRIER, "initiative": SAARBURG, "name": "Forscherwerkstatt Saarburg",
        "offer": "Forscher-AG Klasse 3–4"}
    [analysis] = item["analyses"]
    assert analysis["quiz"] == "selbstanalyse-1" and analysis["attemptid"] == attemptid
    assert analysis["finished"] == 1_750_000_000
    expected = by_hand(chosen)
    assert expected["gen"] is None  # three of eight: not meaningful, shown as null
    assert list(analysis["dimensions"]) == ["ang", "res", "erg", "gen"]
    for key, score in expected.items():
        assert analysis["dimensions"][key] == (None if score is None else pytest.approx(score, abs=0.005))
    assert analysis["dimensions"]["erg"] == pytest.approx(100 / 3, abs=0.005)
    # ang-k1: positions 1, 2, 3 -> 0, 33.3, 66.7 -> 33.3
    assert analysis["criteria"]["ang-k1"] == pytest.approx(100 / 3, abs=0.005)
    # potentials: the lowest answered statements in instrument order: 0 scores first
    assert analysis["potentials"] == ["ang-01", "ang-05", "ang-09", "gen-01", "gen-02"]
    assert item["change"] == {"ang": None, "res": None, "erg": None, "gen": None}  # no follow-up yet


def test_the_teams_analysis_is_its_latest_finished_attempt_by_any_member(world):
    sb, store, moodle, _ = world
    quizid, lea = quiz_of(store, LEA)
    _, tobias = quiz_of(store, TOBIAS)
    first = sb.site.submit_quiz_attempt(lea, quizid, positions({s.key: 1 for s in V1.statements()}))
    sync_cohort(moodle, store, "2025")
    sb.site.clock = 1_750_000_100
    later = sb.site.submit_quiz_attempt(tobias, quizid, positions({s.key: 4 for s in V1.statements()}))
    sb.site.start_quiz_attempt(lea, quizid, positions({s.key: 2 for s in V1.statements()}))  # in progress
    sync_cohort(moodle, store, "2025")
    [item] = profile(store, "2025", initiative=SAARBURG)["initiatives"]
    [analysis] = item["analyses"]
    assert analysis["attemptid"] == later and analysis["dimensions"]["ang"] == 100.0
    rows = {r["attemptid"]: r["current"] for r in store.db["analyses"].rows}
    assert rows == {first: 0, later: 1}  # the replaced analysis is kept, not current
    assert [a.attemptid for a in new_analyses(store, "2025")] == [later]


def test_same_second_attempts_go_to_the_higher_attempt_id(world):
    sb, store, moodle, _ = world
    quizid, lea = quiz_of(store, LEA)
    _, tobias = quiz_of(store, TOBIAS)
    sb.site.submit_quiz_attempt(tobias, quizid, positions({s.key: 4 for s in V1.statements()}))
    second = sb.site.submit_quiz_attempt(lea, quizid, positions({s.key: 2 for s in V1.statements()}))
    sync_cohort(moodle, store, "2025")
    [analysis] = profile(store, "2025", initiative=SAARBURG)["initiatives"][0]["analyses"]
    assert analysis["attemptid"] == second and analysis["dimensions"]["res"] == pytest.approx(100 / 3, abs=0.005)


def test_change_is_the_follow_up_minus_the_first_analysis(world):
    sb, store, moodle, _ = world
    first_quiz, lea = quiz_of(store, LEA)
    followup_quiz, tobias = quiz_of(store, TOBIAS, "selbstanalyse-2")
    sb.site.submit_quiz_attempt(lea, first_quiz, positions({s.key: 2 for s in V1.statements()}))
    sync_cohort(moodle, store, "2025")
    sb.site.clock = 1_760_000_000
    chosen = {s.key: 3 for s in V1.statements()} | {"ang-01": 4, "ang-02": 4}
    sb.site.submit_quiz_attempt(tobias, followup_quiz, positions(chosen))
    # the follow-up is scored; the first analysis it is compared with is read, not scored again
    assert sync_cohort(moodle, store, "2025").analyses == 1
    [item] = profile(store, "2025", network="MINT-Region Trier", initiative="Forscherwerkstatt Saarburg")[
        "initiatives"]
    assert [a["quiz"] for a in item["analyses"]] == ["selbstanalyse-1", "selbstanalyse-2"]
    # ang: first 33.3 everywhere; follow-up (7 × 66.7 + 2 × 100) / 9 = 74.1 -> change 40.7
    assert item["change"]["ang"] == pytest.approx((7 * 200 / 3 + 200) / 9 - 100 / 3, abs=0.005)
    assert item["change"]["res"] == pytest.approx(100 / 3, abs=0.005)
    criteria = {r["key"]: r["change"] for r in store.db["analysis_changes"].rows_where("level = 'criterion'")}
    assert criteria["ang-k1"] == pytest.approx((200 + 200 / 3) / 3 - 100 / 3)


def test_scores_are_written_in_the_transaction_of_their_answers(world, monkeypatch):
    sb, store, moodle, _ = world
    quizid, lea = quiz_of(store, LEA)
    sb.site.submit_quiz_attempt(lea, quizid, positions({s.key: 3 for s in V1.statements()}))
    cursor = store.get_cursor(responses_stream("2025"))

    def broken(*args, **kwargs):
        raise RuntimeError("scoring crashed")

    monkeypatch.setattr("mintqo_lms.profile.score_answers", broken)
    with pytest.raises(RuntimeError):
        sync_cohort(moodle, store, "2025")
    assert store.db["responses"].count == 0 and store.db["analyses"].count == 0
    assert store.get_cursor(responses_stream("2025")) == cursor
    monkeypatch.undo()
    sync_cohort(moodle, store, "2025")
    sync_cohort(moodle, store, "2025")  # re-reads the boundary second: nothing doubled
    assert store.db["analyses"].count == 1
    assert store.db["analysis_scores"].count == 4 + 12 + 33


def test_answers_stored_before_scores_existed_are_scored_by_the_next_sync(world):
    sb, store, moodle, _ = world
    quizid, lea = quiz_of(store, LEA)
    sb.site.submit_quiz_attempt(lea, quizid, positions({s.key: 4 for s in V1.statements()}))
    sync_cohort(moodle, store, "2025")
    # as if the answers had come in before migration 8: no analyses, no backfill mark
    store.db.execute("DELETE FROM analysis_scores")
    store.db.execute("DELETE FROM analyses")
    store.db.execute("DELETE FROM sync_state WHERE stream = ?", [backfill_stream("2025")])
    result = sync_cohort(moodle, store, "2025")
    assert result.analyses == 1
    assert profile(store, "2025", initiative=SAARBURG)["initiatives"][0]["analyses"][0]["dimensions"]["gen"] == 100.0


def test_attempts_of_people_outside_an_initiative_are_no_analysis(world):
    sb, store, moodle, _ = world
    quizid, _ = quiz_of(store, LEA)
    coordinator = next(store.db.query("SELECT moodle_user_id FROM people WHERE email = ?",
                                      ["j.weissmueller@mint-trier.example"]))["moodle_user_id"]
    sb.site.submit_quiz_attempt(coordinator, quizid, positions({s.key: 1 for s in V1.statements()}))
    sync_cohort(moodle, store, "2025")
    assert store.db["analyses"].count == 0
    assert all(not i["analyses"] for i in profile(store, "2025")["initiatives"])


def test_unknown_network_or_initiative_is_one_line_naming_what_exists(world):
    sb, store, moodle, tmp_path = world
    store.close()
    config = config_file(tmp_path)
    out = run(["selfanalysis", "profile", "--cohort", "2025", "--network", "trier"], config)
    assert out.exit_code == 1
    [line] = [ln for ln in out.output.splitlines() if ln.startswith("Error:")]
    assert "unknown network 'trier' in cohort 2025" in line
    assert "mint-region-trier" in line and "zdi-netzwerk-ruhr-emscher" in line
    out = run(["selfanalysis", "profile", "--cohort", "2025", "--network", TRIER, "--initiative", "saarburg"], config)
    assert out.exit_code == 1 and "Traceback" not in out.output
    [line] = [ln for ln in out.output.splitlines() if ln.startswith("Error:")]
    assert "unknown initiative 'saarburg' in network mint-region-trier" in line
    assert "forscherwerkstatt-saarburg, robotik-club-mosel-e-v, sternwarte-hochwald" in line
    out = run(["selfanalysis", "profile", "--cohort", "1999"], config)
    assert out.exit_code == 1 and "unknown cohort '1999'" in out.output


def test_profile_as_table_and_csv_for_german_excel(world):
    sb, store, moodle, tmp_path = world
    quizid, lea = quiz_of(store, LEA)
    sb.site.submit_quiz_attempt(lea, quizid, positions(mixed_answers()))
    sync_cohort(moodle, store, "2025")
    store.close()
    config = config_file(tmp_path)
    table = run(["selfanalysis", "profile", "--cohort", "2025", "--network", TRIER], config)
    assert table.exit_code == 0, table.output
    assert "mint-region-trier / forscherwerkstatt-saarburg: Forscherwerkstatt Saarburg — Forscher-AG" in table.output
    assert "Angebotsqualität" in table.output and "no analysis yet" in table.output
    assert "ang-01: Unser Angebot knüpft an die Interessen" in table.output
    csv_out = run(["selfanalysis", "profile", "--cohort", "2025", "--initiative", SAARBURG, "--format", "csv"],
                  config)
    assert csv_out.exit_code == 0, csv_out.output
    raw = csv_out.stdout_bytes
    assert raw.startswith(b"\xef\xbb\xbf")
    lines = raw[3:].decode("utf-8").splitlines()
    assert lines[0].startswith("Netzwerk;Initiative;Name;Angebot;Analyse;Fragebogen;Versuch;Abgeschlossen;Ebene")
    assert any(";Erstanalyse;selbstanalyse-1;" in ln and ";Dimension;gen;" in ln and "nicht aussagekräftig" in ln
               for ln in lines)
    target = tmp_path / "profil"
    written = run(["selfanalysis", "profile", "--cohort", "2025", "--format", "csv", "--out", str(target)], config)
    assert written.exit_code == 0, written.output
    sheet = openpyxl.load_workbook(tmp_path / "profil.xlsx").active
    assert sheet.cell(1, 1).value == "Netzwerk" and sheet.max_row > 7
    assert (tmp_path / "profil.csv").read_bytes().startswith(b"\xef\xbb\xbf")


def test_analysis_kinds():
    assert analysis_kind("selbstanalyse-1") == "first" and analysis_kind("selbstanalyse-1-v2") == "first"
    assert analysis_kind("selbstanalyse-2") == "followup" and analysis_kind("selbstanalyse-10") is None


def test_profile_errors_are_typed(world):
    _, store, _, _ = world
    with pytest.raises(ProfileError):
        profile(store, "2025", network="nowhere")
    with pytest.raises(MintqoError):
        profile(store, "1999")


def test_a_v2_follow_up_with_no_judgement_answers_compares_with_the_v1_first_analysis(world):
    from mintqo_lms.publish import publish

    sb, store, moodle, _ = world
    publish(moodle, store, Config(), "2025", "selfanalysis/v2")
    v2 = load_instrument("selfanalysis/v2")
    no_judgement = 1 + next(i for i, level in enumerate(v2.scale) if level.no_judgement)
    first_quiz, lea = quiz_of(store, LEA)
    followup_quiz, tobias = quiz_of(store, TOBIAS, "selbstanalyse-2-v2")
    sb.site.submit_quiz_attempt(lea, first_quiz, positions({s.key: 2 for s in V1.statements()}))
    sb.site.clock = 1_760_000_000
    chosen = {s.key: 3 for s in v2.statements()} | {f"res-0{i}": no_judgement for i in range(1, 6)} | {"ang-01": 4}
    sb.site.submit_quiz_attempt(tobias, followup_quiz, {question_idnumber("v2", k): p for k, p in chosen.items()})
    sync_cohort(moodle, store, "2025")
    [item] = profile(store, "2025", initiative=SAARBURG)["initiatives"]
    first, latest = item["analyses"]
    assert (first["quiz"], latest["quiz"]) == ("selbstanalyse-1", "selbstanalyse-2-v2")
    # "kann ich nicht beurteilen" is not answered: res has 3 of 8 answered -> not meaningful
    assert latest["dimensions"]["res"] is None and latest["criteria"]["res-k1"] is None
    assert latest["dimensions"]["ang"] == pytest.approx((8 * 200 / 3 + 100) / 9, abs=0.005)
    assert "res-01" not in latest["potentials"]
    # v2 keeps every v1 statement word for word: all are compared across the versions
    assert item["change"]["ang"] == pytest.approx((8 * 200 / 3 + 100) / 9 - 100 / 3, abs=0.005)
    assert item["change"]["res"] is None and item["change"]["gen"] == pytest.approx(100 / 3, abs=0.005)
    compared = {r["key"]: r["compared"] for r in store.db["analysis_changes"].rows_where("level = 'dimension'")}
    assert compared == {"ang": 9, "res": 8, "erg": 8, "gen": 8}
