"""Attendance sheets: checked row by row, recorded in the store and as completion overrides in Moodle, only what
differs; a participant's own tick is stored apart as self-reported."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from mintqo_lms.attendance import AttendanceError, AttendanceTargetError, import_attendance, parse_sheet
from mintqo_lms.cli import main
from mintqo_lms.sync import sync_cohort
from mintqo_lms.templates import load_curriculum

TRIER = ["lea.schaefer@forscherwerkstatt.example", "tobias.becker@forscherwerkstatt.example",
         "m.lenz@robotik-mosel.example", "f.kraemer@robotik-mosel.example",
         "sophie.wagner@hochwald-sternwarte.example", "paul.hoffmann@hochwald-sternwarte.example"]
COORDINATORS = ["j.weissmueller@mint-trier.example", "oezlem.kaya@mint-netz-ruhr.example",
                "hannah.gross@mint-erzgebirge.example"]


def sheet(tmp_path: Path, rows: list[tuple[str, str]], name: str = "ws1.csv",
          header: str = "Name;E-Mail;anwesend") -> Path:
    path = tmp_path / name
    lines = [header, *(f"Jemand;{email};{value}" for email, value in rows)]
    path.write_text("\ufeff" + "\n".join(lines) + "\n", encoding="utf-8")
    return path


def moodle_state(sb, cmid: int, userid: int) -> tuple[int, int | None] | None:
    row = sb.site.find_one("course_modules_completion", coursemoduleid=cmid, userid=userid)
    return (row["completionstate"], row["overrideby"]) if row else None


def uid(store, email: str) -> int:
    return next(store.db["people"].rows_where("email = ?", [email]))["moodle_user_id"]


def test_a_sheet_sets_completion_as_override_and_records_who_and_when(world, tmp_path):
    sb, store, moodle = world
    path = sheet(tmp_path, [(TRIER[0], "ja"), (TRIER[1], "x"), (TRIER[2], "1"), (TRIER[3], "nein"),
                            (TRIER[4], "WAHR"), (TRIER[5], "")])
    mark = len(sb.calls)
    result = import_attendance(moodle, store, path, "2025", "ws1-teilnahme", network="MINT-Region Trier",
                               recorded_by="geschaeftsstelle")
    assert sb.calls[mark:] == ["local_mintqo_set_completions"]       # one batch for the whole sheet
    assert len(result.changed) == 6 and result.moodle_changed == 4   # absent people were not complete anyway
    cmid = result.target.cmid
    assert moodle_state(sb, cmid, uid(store, TRIER[0])) == (1, 2)    # complete, overridden by the service user
    assert moodle_state(sb, cmid, uid(store, TRIER[3])) is None
    rows = {r["person_id"]: r for r in store.db["attendance"].rows}
    assert len(rows) == 6
    lea = next(store.db["people"].rows_where("email = ?", [TRIER[0]]))["id"]
    assert rows[lea]["present"] == 1 and rows[lea]["source"] == "staff"
    assert (rows[lea]["recorded_by"], rows[lea]["sheet"], rows[lea]["line"]) == ("geschaeftsstelle", "ws1.csv", 2)
    assert rows[lea]["course_idnumber"] == "mintqo:region:2025:mint-region-trier"
    assert rows[lea]["recorded_at"] and rows[lea]["pushed_at"]
    assert sorted(r["present"] for r in rows.values()) == [0, 0, 1, 1, 1, 1]
    assert store.db["sync_runs"].count_where("kind = 'attendance' AND status = 'ok'") == 1


def test_the_same_sheet_again_changes_nothing_a_corrected_one_only_what_differs(world, tmp_path):
    sb, store, moodle = world
    rows = [(email, "ja") for email in TRIER]
    import_attendance(moodle, store, sheet(tmp_path, rows), "2025", "ws1-teilnahme", network="mint-region-trier")
    before = list(store.db["attendance"].rows)
    mark = len(sb.calls)
    again = import_attendance(moodle, store, sheet(tmp_path, rows), "2025", "ws1-teilnahme",
                              network="mint-region-trier")
    assert again.changed == [] and len(sb.calls) == mark and list(store.db["attendance"].rows) == before
    assert "nothing changed" in again.summary()
    rows[2] = (TRIER[2], "nein")                                      # Marie was not there after all
    corrected = import_attendance(moodle, store, sheet(tmp_path, rows, "ws1-korrigiert.csv"), "2025",
                                  "ws1-teilnahme", network="mint-region-trier")
    assert corrected.changed == [TRIER[2]] and corrected.moodle_changed == 1
    assert sb.calls[mark:] == ["local_mintqo_set_completions"]
    assert moodle_state(sb, corrected.target.cmid, uid(store, TRIER[2])) == (0, 2)
    marie = next(r for r in store.db["attendance"].rows if r["sheet"] == "ws1-korrigiert.csv")
    assert marie["present"] == 0
    others = [r for r in store.db["attendance"].rows if r["sheet"] == "ws1.csv"]
    assert len(others) == 5                                           # untouched rows keep their sheet and line


def test_bad_rows_are_named_by_line_and_nothing_is_applied(world, tmp_path):
    sb, store, moodle = world
    path = sheet(tmp_path, [(TRIER[0], "ja"), ("keine-mail", "ja"), (TRIER[1], "vielleicht"),
                            ("niemand@example.org", "ja"), (COORDINATORS[1], "ja"), (TRIER[0], "nein")])
    mark = len(sb.calls)
    with pytest.raises(AttendanceError) as caught:
        import_attendance(moodle, store, path, "2025", "ws1-teilnahme", network="MINT-Region Trier")
    text = str(caught.value)
    assert "5 problems in attendance sheet" in text
    assert "ws1.csv line 3, E-Mail: 'keine-mail' is not an e-mail address" in text
    assert "line 4, anwesend: 'vielleicht' is not an attendance" in text
    assert "line 5, E-Mail: niemand@example.org is not in the roster" in text
    assert "line 6, E-Mail: oezlem.kaya@mint-netz-ruhr.example is not a participant" in text
    assert "line 7, E-Mail: lea.schaefer@forscherwerkstatt.example is listed twice" in text
    assert len(sb.calls) == mark and store.db["attendance"].count == 0


def test_people_are_found_by_e_mail_in_any_case_and_need_an_account(world, tmp_path):
    sb, store, moodle = world
    with store.transaction():
        store.db.execute("UPDATE people SET moodle_user_id = NULL WHERE email = ?", [TRIER[2]])
    path = sheet(tmp_path, [(TRIER[0].upper(), "ja"), (TRIER[2], "ja")])
    with pytest.raises(AttendanceError) as caught:
        import_attendance(moodle, store, path, "2025", "ws1-teilnahme", network="mint-region-trier")
    assert str(caught.value).count("line") == 1
    assert f"line 3, E-Mail: {TRIER[2]} has no Moodle account yet" in str(caught.value)
    result = import_attendance(moodle, store, sheet(tmp_path, [(TRIER[0].upper(), "ja")]), "2025", "ws1-teilnahme",
                               network="mint-region-trier")
    assert result.changed == [TRIER[0]]
    assert moodle_state(sb, result.target.cmid, uid(store, TRIER[0])) == (1, 2)


def test_headers_and_excel_sheets(world, tmp_path):
    from openpyxl import Workbook

    book = Workbook()
    sheet_ = book.active
    sheet_.append(["E-Mail", "Anwesend", "Bemerkung"])
    sheet_.append([COORDINATORS[0], True, "beide Tage"])
    sheet_.append([COORDINATORS[1], 0, None])
    sheet_.append([COORDINATORS[2], "X", None])
    book.save(tmp_path / "kickoff.xlsx")
    shown, rows, problems, unit = parse_sheet(tmp_path / "kickoff.xlsx")
    assert (shown, unit, problems) == ("kickoff.xlsx", "row", [])
    assert [(r.line, r.present) for r in rows] == [(2, True), (3, False), (4, True)]
    with pytest.raises(AttendanceError, match="required column 'anwesend'"):
        parse_sheet(sheet(tmp_path, [(TRIER[0], "ja")], header="Name;E-Mail;Status"))


def test_which_course_an_activity_key_means(world, tmp_path):
    sb, store, moodle = world
    path = sheet(tmp_path, [(c, "ja") for c in COORDINATORS], "kickoff.csv")
    result = import_attendance(moodle, store, path, "2025", "kickoff-teilnahme")   # the cohort course
    assert result.target.course_idnumber == "mintqo:cohort:2025" and len(result.changed) == 3
    with pytest.raises(AttendanceTargetError, match="name the network with --network"):
        import_attendance(moodle, store, path, "2025", "ws1-teilnahme")
    with pytest.raises(AttendanceTargetError, match="unknown network 'Mosel'.*MINT-Region Trier"):
        import_attendance(moodle, store, path, "2025", "ws1-teilnahme", network="Mosel")
    with pytest.raises(AttendanceTargetError, match="not an in-person activity.*kickoff-teilnahme.*ws3-teilnahme"):
        import_attendance(moodle, store, path, "2025", "kickoff-reflexion")
    with pytest.raises(AttendanceTargetError, match="leave out --network"):
        import_attendance(moodle, store, path, "2025", "kickoff-teilnahme", network="MINT-Region Trier")


def test_an_unchanged_curriculum_is_not_parsed_again_and_an_edited_one_is(world, tmp_path, monkeypatch):
    """What a sheet needs of a curriculum is kept under the file's digest: an unchanged file is not loaded
    again (the store keeps it: a new process does not either), an edited one is, and the edit counts."""
    import shutil

    import yaml

    from mintqo_lms import attendance
    from mintqo_lms.templates import templates_dir

    sb, store, moodle = world
    root = tmp_path / "lms_templates"
    shutil.copytree(templates_dir(), root)
    loaded = []
    monkeypatch.setattr(attendance, "load_curriculum",
                        lambda name, where=None: loaded.append(name) or load_curriculum(name, where))

    def run(rows, name):
        return import_attendance(moodle, store, sheet(tmp_path, rows, name), "2025", "ws1-teilnahme",
                                 network="mint-region-trier", templates_root=root)

    run([(TRIER[0], "ja")], "a.csv")
    assert loaded == ["regional_cycle"]
    assert run([(TRIER[0], "nein")], "b.csv").changed == [TRIER[0]] and loaded == ["regional_cycle"]
    file = root / "curriculum" / "regional_cycle.yaml"
    data = yaml.safe_load(file.read_text(encoding="utf-8"))
    for section in data["sections"]:
        for activity in section["activities"]:
            if activity["key"] == "ws1-teilnahme":
                activity["in_person"] = False
    data["allowance"]["workshops"].remove("ws1-teilnahme")
    file.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    with pytest.raises(AttendanceTargetError, match="'ws1-teilnahme' is not an in-person activity"):
        run([(TRIER[0], "ja")], "c.csv")
    assert loaded == ["regional_cycle", "regional_cycle", "qualification"]


def test_a_participants_own_tick_is_stored_as_self_reported_and_staff_records_win(world, tmp_path):
    sb, store, moodle = world
    clock = [1_800_000_000]
    sb.site.clock = lambda: clock[0]
    cmid = next(store.db.query("SELECT cmid FROM activities WHERE course_idnumber = 'mintqo:cohort:2025' "
                               "AND idnumber = 'mintqo:qualification:kickoff-teilnahme'"))["cmid"]
    sb.site.complete_activity(uid(store, COORDINATORS[0]), cmid)      # a tick without overrideby
    clock[0] += 5
    result = sync_cohort(moodle, store, "2025")
    assert result.self_ticks == 1 and "1 self-reported attendance tick" in str(result)
    row = next(store.db["attendance"].rows)
    assert (row["source"], row["present"], row["pushed_at"]) == ("self", 1, None)
    # the office's sheet says she was not there: staff's record replaces the tick, in Moodle too
    import_attendance(moodle, store, sheet(tmp_path, [(COORDINATORS[0], "nein")], "kickoff.csv"), "2025",
                      "kickoff-teilnahme")
    assert moodle_state(sb, cmid, uid(store, COORDINATORS[0])) == (0, 2)
    clock[0] += 5
    sync_cohort(moodle, store, "2025")
    row = next(store.db["attendance"].rows)
    assert (row["source"], row["present"], row["recorded_by"] != "moodle:2") == ("staff", 0, True)


def test_a_coordinators_override_in_moodle_is_a_staff_record(world):
    sb, store, moodle = world
    clock = [1_800_000_000]
    sb.site.clock = lambda: clock[0]
    from mintqo_lms.sandbox import completion

    cm = next(store.db.query("SELECT cmid FROM activities WHERE course_idnumber = "
                             "'mintqo:region:2025:mint-region-trier' "
                             "AND idnumber = 'mintqo:regional_cycle:ws2-teilnahme'"))
    coordinator = uid(store, "j.weissmueller@mint-trier.example")
    with sb.site.lock, sb.site.transaction():
        completion.set_activity_state(sb.site, sb.site.get("course_modules", cm["cmid"]), uid(store, TRIER[1]), 1,
                                      overrideby=coordinator)
    clock[0] += 5
    assert sync_cohort(moodle, store, "2025").self_ticks == 0
    row = next(store.db["attendance"].rows)
    assert (row["source"], row["present"], row["recorded_by"], row["activity_key"]) == \
           ("staff", 1, f"moodle:{coordinator}", "ws2-teilnahme")


def test_cli_attendance_import(world, tmp_path):
    sb, store, moodle = world
    config = tmp_path / "mintqo.toml"
    config.write_text(f'[moodle]\nurl = "{sb.url}"\n[store]\npath = "{store.path}"\n', encoding="utf-8")
    env = {"MINTQO_MOODLE_TOKEN": sb.token}
    path = sheet(tmp_path, [(c, "ja") for c in COORDINATORS], "kickoff.csv")
    runner = CliRunner()
    args = ["--config", str(config), "attendance", "import", str(path), "--cohort", "2025",
            "--activity", "kickoff-teilnahme", "--by", "Stefan"]
    first = runner.invoke(main, args, env=env)
    assert first.exit_code == 0, first.output
    assert "recorded 3" in first.output and "1 web-service call" in first.output
    second = runner.invoke(main, args, env={})         # nothing to send: no token needed at all
    assert second.exit_code == 0 and "nothing changed" in second.output, second.output
    bad = sheet(tmp_path, [("x@y", "ja")], "bad.csv")
    failed = runner.invoke(main, [*args[:4], str(bad), *args[5:]], env=env)
    assert failed.exit_code == 1 and "bad.csv line 2, E-Mail" in failed.output
    assert "Nothing was recorded" in failed.output


def test_someone_unenrolled_by_hand_is_named_when_moodle_refuses(world, tmp_path):
    from mintqo_lms.sandbox.core_user import unenrol_user

    sb, store, moodle = world
    trier = next(store.db.query("SELECT moodle_id FROM courses WHERE network_slug = 'mint-region-trier'"))["moodle_id"]
    with sb.site.lock, sb.site.transaction():
        unenrol_user(sb.site, trier, uid(store, TRIER[1]))
    with pytest.raises(AttendanceTargetError, match=f"refused the attendance of {TRIER[1]}.*still enrolled"):
        import_attendance(moodle, store, sheet(tmp_path, [(TRIER[0], "ja"), (TRIER[1], "ja")]), "2025",
                          "ws1-teilnahme", network="mint-region-trier")
    assert store.db["attendance"].count == 0                           # all or nothing, in Moodle too
    assert moodle_state(sb, next(store.db.query(
        "SELECT cmid FROM activities WHERE idnumber = 'mintqo:regional_cycle:ws1-teilnahme' AND course_idnumber = "
        "'mintqo:region:2025:mint-region-trier'"))["cmid"], uid(store, TRIER[0])) is None


def test_one_page_of_moodle_ticks_applies_every_rule_in_one_pass(tmp_path):
    """sync hands a whole page of completions over at once: staff's records stand against a participant's tick,
    an override that agrees with staff's record only updates Moodle's state, others become records."""
    from types import SimpleNamespace as Row

    from mintqo_lms.attendance import record_moodle_ticks
    from mintqo_lms.store import Store

    with Store(tmp_path / "s.db") as store:
        with store.transaction():
            store.db["cohorts"].insert({"key": "2025", "title": "2025", "created_at": 0})
            store.db["people"].insert_all([{"id": i, "email": f"p{i}@x.example", "idnumber": f"p{i}"}
                                           for i in (1, 2, 3, 4, 5)])
            store.db["attendance"].insert_all([
                {"cohort": "2025", "course_idnumber": "c", "activity_key": "ws1", "cmid": 7, "person_id": 1,
                 "present": 1, "source": "staff", "recorded_by": "office", "recorded_at": 1, "moodle_state": 1},
                {"cohort": "2025", "course_idnumber": "c", "activity_key": "ws1", "cmid": 7, "person_id": 2,
                 "present": 0, "source": "staff", "recorded_by": "office", "recorded_at": 1, "moodle_state": 0}])
        page = [Row(cmid=7, userid=101, state=2, overrideby=9, timemodified=50),    # agrees with staff: state only
                Row(cmid=7, userid=102, state=1, overrideby=0, timemodified=50),    # own tick against staff's "no"
                Row(cmid=7, userid=103, state=1, overrideby=0, timemodified=50),    # own tick: self-reported
                Row(cmid=7, userid=104, state=0, overrideby=0, timemodified=50),    # nothing ticked: nothing
                Row(cmid=7, userid=105, state=1, overrideby=9, timemodified=60),    # coordinator's override
                Row(cmid=8, userid=103, state=1, overrideby=0, timemodified=50)]    # not in person: ignored
        with store.transaction():
            written = record_moodle_ticks(store, "2025", page, {7: ("c", "ws1")},
                                          {100 + i: i for i in (1, 2, 3, 4, 5)})
        rows = {r["person_id"]: r for r in store.db.query("SELECT * FROM attendance ORDER BY person_id")}
    assert written == 2 and sorted(rows) == [1, 2, 3, 5]
    assert (rows[1]["source"], rows[1]["present"], rows[1]["recorded_by"], rows[1]["moodle_state"]) == \
        ("staff", 1, "office", 2)
    assert (rows[2]["source"], rows[2]["present"]) == ("staff", 0)
    assert (rows[3]["source"], rows[3]["present"], rows[3]["recorded_by"], rows[3]["pushed_at"]) == \
        ("self", 1, "moodle:103", None)
    assert (rows[5]["source"], rows[5]["recorded_by"], rows[5]["recorded_at"], rows[5]["pushed_at"]) == \
        ("staff", "moodle:9", 60, 60)
