"""Curriculum and instrument templates: the shipped files load, and every kind of mistake is named."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from mintqo_lms.templates import (
    ACTIVITY_TYPES,
    TemplateError,
    load_curriculum,
    load_instrument,
    templates_dir,
)

SHIPPED = Path(__file__).resolve().parent.parent / "lms_templates"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A writable copy of lms_templates/ to break in each test."""
    target = tmp_path / "lms_templates"
    shutil.copytree(SHIPPED, target)
    return target


def edit(file: Path, change) -> str:
    """Load YAML, apply `change(data)`, write it back; returns the new text."""
    data = yaml.safe_load(file.read_text(encoding="utf-8"))
    change(data)
    text = yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=200)
    file.write_text(text, encoding="utf-8")
    return text


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), start=1) if needle in line)


# -- the shipped templates ---------------------------------------------------------------------------


def test_qualification_curriculum_loads_with_all_sections_and_rules():
    cur = load_curriculum("qualification")
    assert cur.kind == "cohort"
    names = [s.name for s in cur.sections]
    assert len(names) == 8
    assert names[0].startswith("Kick-off-Workshop") and names[-1] == "Den regionalen Workshop-Zyklus durchführen"
    for expected in ("Vertiefung Wirkungslogik", "Vertiefung Wirkungsmessung", "Vertiefung Storytelling",
                     "Kollegiale Runden", "Transfer-Workshop"):
        assert any(n.startswith(expected) for n in names), expected
    keys = [a.key for _, a in cur.activities()]
    assert len(keys) == len(set(keys))
    assert all(a.type in ACTIVITY_TYPES and a.name for _, a in cur.activities())
    in_person = {a.key for _, a in cur.activities() if a.in_person}
    assert set(cur.certificate.attendance_required) == in_person == {"kickoff-teilnahme", "transfer-teilnahme"}
    assert set(cur.course_completion) <= set(keys)
    flagged = {a.key for _, a in cur.activities() if a.required_for_certificate}
    assert flagged == set(cur.certificate.requires) | set(cur.certificate.attendance_required)
    names = cur.render_course(cohort="2025/26")
    assert names.fullname == "Qualifizierung Regionalkoordination – Durchgang 2025/26"


def test_regional_cycle_references_the_instrument_twice_and_renders_per_network():
    cur = load_curriculum("regional_cycle")
    quizzes = [a for _, a in cur.activities() if a.type == "quiz"]
    assert [q.key for q in quizzes] == ["selbstanalyse-1", "selbstanalyse-2"]
    assert {q.instrument for q in quizzes} == {"selfanalysis/v1"}
    assert cur.instrument("selfanalysis/v1").title == "Selbstanalyse nach dem Orientierungsrahmen"
    assert cur.certificate is None
    names = cur.render_course(cohort="2025", network="MINT-Region Trier")
    assert names.fullname == "MINT-Region Trier – Workshop-Zyklus 2025"
    assert names.shortname == "MINT-QO 2025 Trier"
    assert cur.render_course(cohort="2025", network="zdi-Netzwerk Ruhr & Emscher").shortname == \
        "MINT-QO 2025 Ruhr & Emscher"
    with pytest.raises(ValueError, match="network"):
        cur.render_course(cohort="2025")


def test_instrument_has_four_dimensions_with_sensible_sizes():
    inst = load_instrument("selfanalysis/v1")
    assert inst.ref == "selfanalysis/v1" and inst.version == "v1"
    assert [d.title for d in inst.dimensions] == [
        "Angebotsqualität", "Ressourcenqualität", "Ergebnisqualität", "Gender und Diversität"]
    for dim in inst.dimensions:
        assert 2 <= len(dim.criteria) <= 4
        for crit in dim.criteria:
            assert 2 <= len(crit.statements) <= 4
            assert all(s.key.startswith(dim.key + "-") for s in crit.statements)
    assert [lvl.label for lvl in inst.scale][0] == "trifft nicht zu"
    assert [lvl.label for lvl in inst.scale][-1] == "trifft voll zu"
    assert inst.scale_fractions() == [0.0, 0.3333333, 0.6666667, 1.0]


def test_load_by_path_resolves_instruments_next_to_the_file(root: Path):
    cur = load_curriculum(root / "curriculum" / "regional_cycle.yaml")
    assert cur.instrument("selfanalysis/v1").version == "v1"


def test_templates_dir_override_by_argument_and_environment(root: Path, monkeypatch):
    assert templates_dir(root) == root.resolve()
    monkeypatch.setenv("MINTQO_TEMPLATES_DIR", str(root))
    assert templates_dir() == root.resolve()
    (root / "curriculum" / "qualification.yaml").write_text("key: [unclosed\n", encoding="utf-8")
    with pytest.raises(TemplateError):  # proves the override dir is the one being read
        load_curriculum("qualification")
    monkeypatch.setenv("MINTQO_TEMPLATES_DIR", str(root / "missing"))
    with pytest.raises(TemplateError, match="templates directory not found"):
        templates_dir()


# -- curriculum errors --------------------------------------------------------------------------------


def test_unknown_activity_type_names_file_path_and_line(root: Path):
    file = root / "curriculum" / "qualification.yaml"
    text = edit(file, lambda d: d["sections"][2]["activities"][1].update(type="forum"))
    with pytest.raises(TemplateError) as info:
        load_curriculum("qualification", root)
    assert str(info.value).startswith(
        "lms_templates/curriculum/qualification.yaml: sections[2].activities[1].type: "
        "unknown activity type 'forum' (allowed: page, url, label, assign, quiz)")
    assert info.value.line == line_of(text, "type: forum")
    assert info.value.path == "sections[2].activities[1].type"


def test_duplicate_yaml_mapping_key_is_refused(root: Path):
    file = root / "curriculum" / "qualification.yaml"
    text = file.read_text(encoding="utf-8")
    # A second `name:` inside the first activity: PyYAML alone would silently keep the last one.
    text = text.replace("        name: Ablauf und Ziele des Kick-off-Workshops\n",
                        "        name: Ablauf und Ziele des Kick-off-Workshops\n        name: Doppelt\n", 1)
    file.write_text(text, encoding="utf-8")
    with pytest.raises(TemplateError) as info:
        load_curriculum("qualification", root)
    assert info.value.path == "sections[0].activities[0].name"
    assert "duplicate key 'name'" in str(info.value)
    assert info.value.line == line_of(text, "name: Doppelt")


def test_duplicate_activity_key_across_sections(root: Path):
    file = root / "curriculum" / "qualification.yaml"
    edit(file, lambda d: d["sections"][3]["activities"][0].update(key="kickoff-programm"))
    with pytest.raises(TemplateError) as info:
        load_curriculum("qualification", root)
    assert info.value.path == "sections[3].activities[0].key"
    assert "duplicate key 'kickoff-programm' (first at sections[0].activities[0].key)" in str(info.value)


@pytest.mark.parametrize("blank", [None, ""])
def test_missing_german_name(root: Path, blank):
    file = root / "curriculum" / "regional_cycle.yaml"

    def change(d):
        act = d["sections"][1]["activities"][0]
        if blank is None:
            del act["name"]
        else:
            act["name"] = blank

    edit(file, change)
    with pytest.raises(TemplateError) as info:
        load_curriculum("regional_cycle", root)
    assert str(info.value).startswith(
        "lms_templates/curriculum/regional_cycle.yaml: sections[1].activities[0].name: missing German name")


def test_missing_section_name_and_course_fullname(root: Path):
    file = root / "curriculum" / "qualification.yaml"
    edit(file, lambda d: d["course"].pop("fullname"))
    with pytest.raises(TemplateError, match=r"course\.fullname: missing German fullname"):
        load_curriculum("qualification", root)


def test_reference_to_missing_instrument(root: Path):
    file = root / "curriculum" / "regional_cycle.yaml"
    edit(file, lambda d: d["sections"][1]["activities"][1].update(instrument="selfanalysis/v9"))
    with pytest.raises(TemplateError) as info:
        load_curriculum("regional_cycle", root)
    assert info.value.path == "sections[1].activities[1].instrument"
    assert "instrument 'selfanalysis/v9' not found (expected lms_templates/selfanalysis/v9.yaml)" in str(info.value)


def test_quiz_without_instrument_and_page_with_instrument(root: Path):
    file = root / "curriculum" / "regional_cycle.yaml"
    edit(file, lambda d: d["sections"][1]["activities"][1].pop("instrument"))
    with pytest.raises(TemplateError, match="a quiz needs an instrument reference"):
        load_curriculum("regional_cycle", root)
    shutil.copy(SHIPPED / "curriculum" / "regional_cycle.yaml", file)
    edit(file, lambda d: d["sections"][0]["activities"][0].update(instrument="selfanalysis/v1"))
    with pytest.raises(TemplateError, match="only quiz activities refer to an instrument, not a page"):
        load_curriculum("regional_cycle", root)


def test_course_completion_naming_unknown_key(root: Path):
    file = root / "curriculum" / "qualification.yaml"
    edit(file, lambda d: d["course_completion"].append("abschlussfest"))
    with pytest.raises(TemplateError) as info:
        load_curriculum("qualification", root)
    assert info.value.path == f"course_completion[{8}]"
    assert str(info.value).startswith(
        "lms_templates/curriculum/qualification.yaml: course_completion[8]: unknown activity key 'abschlussfest'")


def test_certificate_rules_naming_unknown_or_unfit_keys(root: Path):
    file = root / "curriculum" / "qualification.yaml"
    edit(file, lambda d: d["certificate"]["requires"].insert(0, "gibt-es-nicht"))
    with pytest.raises(TemplateError, match=r"certificate\.requires\[0\]: unknown activity key 'gibt-es-nicht'"):
        load_curriculum("qualification", root)

    shutil.copy(SHIPPED / "curriculum" / "qualification.yaml", file)
    edit(file, lambda d: d["certificate"]["attendance_required"].append("kickoff-reflexion"))
    with pytest.raises(TemplateError, match=r"attendance_required\[2\]: activity 'kickoff-reflexion' is not an in-person"):
        load_curriculum("qualification", root)


def test_required_for_certificate_flag_must_match_certificate_rule(root: Path):
    file = root / "curriculum" / "qualification.yaml"
    edit(file, lambda d: d["sections"][5]["activities"][1].update(required_for_certificate=True))
    with pytest.raises(TemplateError) as info:
        load_curriculum("qualification", root)
    assert info.value.path == "sections[5].activities[1].required_for_certificate"
    assert "'buddy-vereinbarung' is required_for_certificate but not listed under certificate" in str(info.value)

    shutil.copy(SHIPPED / "curriculum" / "qualification.yaml", file)
    edit(file, lambda d: d["certificate"]["requires"].append("buddy-vereinbarung"))
    with pytest.raises(TemplateError, match="not marked required_for_certificate: true"):
        load_curriculum("qualification", root)


def test_completion_rule_must_fit_the_activity_type(root: Path):
    file = root / "curriculum" / "qualification.yaml"
    edit(file, lambda d: d["sections"][4]["activities"][1].update(completion="view"))  # a label
    with pytest.raises(TemplateError, match=r"activities\[1\]\.completion: completion 'view' is not possible for a label"):
        load_curriculum("qualification", root)


def test_in_person_activity_needs_completion(root: Path):
    file = root / "curriculum" / "regional_cycle.yaml"
    edit(file, lambda d: d["sections"][0]["activities"][2].update(completion="none"))
    with pytest.raises(TemplateError, match="attendance is recorded as completion"):
        load_curriculum("regional_cycle", root)


def test_unknown_field_and_unknown_placeholder(root: Path):
    file = root / "curriculum" / "qualification.yaml"
    edit(file, lambda d: d["sections"][0].update(nmae="Tippfehler"))
    with pytest.raises(TemplateError, match=r"sections\[0\]\.nmae: unknown field 'nmae'"):
        load_curriculum("qualification", root)
    shutil.copy(SHIPPED / "curriculum" / "qualification.yaml", file)
    edit(file, lambda d: d["course"].update(shortname="QRK-{cohort}-{jahr}"))
    with pytest.raises(TemplateError, match=r"course\.shortname: unknown placeholder '\{jahr\}'"):
        load_curriculum("qualification", root)


def test_regional_shortname_must_vary_by_network(root: Path):
    file = root / "curriculum" / "regional_cycle.yaml"
    edit(file, lambda d: d["course"].update(shortname="MINTQO-{cohort}"))
    with pytest.raises(TemplateError, match="one regional course per network"):
        load_curriculum("regional_cycle", root)


def test_bad_yaml_syntax_reports_line(root: Path):
    file = root / "curriculum" / "qualification.yaml"
    file.write_text("key: qualification\nkind: cohort\ncourse:\n  fullname: Kurs\n shortname: K\n", encoding="utf-8")
    with pytest.raises(TemplateError) as info:
        load_curriculum("qualification", root)
    assert str(info.value).startswith("lms_templates/curriculum/qualification.yaml: bad YAML syntax: ")
    assert info.value.line == 5
    assert str(info.value).endswith("(line 5)")


def test_non_utf8_and_missing_files(root: Path):
    file = root / "curriculum" / "qualification.yaml"
    file.write_bytes("key: qualification\nname: Übung\n".encode("latin-1"))
    with pytest.raises(TemplateError, match=r"not UTF-8 encoded \(line 2\)"):
        load_curriculum("qualification", root)
    with pytest.raises(TemplateError, match="file not found"):
        load_curriculum("gibt_es_nicht", root)


# -- instrument errors --------------------------------------------------------------------------------


def test_instrument_version_must_match_file_name(root: Path):
    edit(root / "selfanalysis" / "v1.yaml", lambda d: d.update(version="v2"))
    with pytest.raises(TemplateError) as info:
        load_instrument("selfanalysis/v1", root)
    assert str(info.value).startswith(
        "lms_templates/selfanalysis/v1.yaml: version: version 'v2' does not match the file name 'v1.yaml'")


def test_instrument_scale_must_map_onto_moodle_fractions(root: Path):
    def change(d):
        for level, value in zip(d["scale"], [0, 1, 3, 7]):  # 3/7 is no Moodle grade
            level["value"] = value

    edit(root / "selfanalysis" / "v1.yaml", change)
    with pytest.raises(TemplateError) as info:
        load_instrument("selfanalysis/v1", root)
    assert info.value.path == "scale[2].value"
    assert "0.4285714 is not one Moodle accepts" in str(info.value)


def test_five_point_scale_is_accepted(root: Path):
    def change(d):
        d["scale"] = [{"value": v, "label": lbl} for v, lbl in enumerate(
            ["trifft nicht zu", "trifft eher nicht zu", "teils, teils", "trifft eher zu", "trifft voll zu"], 1)]

    edit(root / "selfanalysis" / "v1.yaml", change)
    assert load_instrument("selfanalysis/v1", root).scale_fractions() == [0.0, 0.25, 0.5, 0.75, 1.0]


NO_JUDGEMENT = {"label": "kann ich nicht beurteilen", "no_judgement": True}


def test_no_judgement_level_is_not_counted_in_the_scale(root: Path):
    edit(root / "selfanalysis" / "v1.yaml", lambda d: d["scale"].append(dict(NO_JUDGEMENT)))
    inst = load_instrument("selfanalysis/v1", root)
    assert [lvl.value for lvl in inst.scored_levels()] == [1, 2, 3, 4]
    assert inst.no_judgement_level().label == "kann ich nicht beurteilen"
    assert inst.no_judgement_level().value is None
    # the scored levels keep 0 .. 1; no judgement is a free Moodle fraction, never the lowest level's 0
    assert inst.scale_fractions() == [0.0, 0.3333333, 0.6666667, 1.0, 0.5]


def test_no_judgement_fraction_avoids_every_scored_fraction(root: Path):
    def change(d):
        d["scale"] = [NO_JUDGEMENT] + [{"value": v, "label": lbl} for v, lbl in enumerate(
            ["trifft nicht zu", "trifft eher nicht zu", "teils, teils", "trifft eher zu", "trifft voll zu"], 1)]

    edit(root / "selfanalysis" / "v1.yaml", change)
    fractions = load_instrument("selfanalysis/v1", root).scale_fractions()
    assert fractions[1:] == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert fractions[0] == 0.4  # nearest the middle that no scored level uses


def test_at_most_one_no_judgement_level(root: Path):
    edit(root / "selfanalysis" / "v1.yaml",
         lambda d: d["scale"].extend([dict(NO_JUDGEMENT), {"label": "keine Angabe", "no_judgement": True}]))
    with pytest.raises(TemplateError) as info:
        load_instrument("selfanalysis/v1", root)
    assert info.value.path == "scale[5].no_judgement"
    assert "only one level may be 'no_judgement' (also scale[4])" in str(info.value)


def test_no_judgement_level_has_no_value_and_others_need_one(root: Path):
    file = root / "selfanalysis" / "v1.yaml"
    edit(file, lambda d: d["scale"].append({"value": 0, **NO_JUDGEMENT}))
    with pytest.raises(TemplateError, match=r"scale\[4\]\.value: a no_judgement level has no value"):
        load_instrument("selfanalysis/v1", root)
    shutil.copy(SHIPPED / "selfanalysis" / "v1.yaml", file)
    edit(file, lambda d: d["scale"][1].pop("value"))
    with pytest.raises(TemplateError, match=r"scale\[1\]\.value: a scale level needs a value"):
        load_instrument("selfanalysis/v1", root)


def test_scale_needs_two_scored_levels(root: Path):
    edit(root / "selfanalysis" / "v1.yaml",
         lambda d: d.update(scale=[d["scale"][0], dict(NO_JUDGEMENT)]))
    with pytest.raises(TemplateError, match="at least two levels with a value"):
        load_instrument("selfanalysis/v1", root)


def test_instrument_duplicate_statement_key_and_wrong_prefix(root: Path):
    file = root / "selfanalysis" / "v1.yaml"
    edit(file, lambda d: d["dimensions"][1]["criteria"][0]["statements"][1].update(key="res-01"))
    with pytest.raises(TemplateError, match=r"dimensions\[1\]\.criteria\[0\]\.statements\[1\]\.key: duplicate key 'res-01'"):
        load_instrument("selfanalysis/v1", root)
    shutil.copy(SHIPPED / "selfanalysis" / "v1.yaml", file)
    edit(file, lambda d: d["dimensions"][1]["criteria"][0]["statements"][1].update(key="ang-99"))
    with pytest.raises(TemplateError, match="must start with its dimension key 'res-'"):
        load_instrument("selfanalysis/v1", root)


def test_instrument_missing_statement_text(root: Path):
    edit(root / "selfanalysis" / "v1.yaml", lambda d: d["dimensions"][3]["criteria"][1]["statements"][0].pop("text"))
    with pytest.raises(TemplateError, match=r"dimensions\[3\]\.criteria\[1\]\.statements\[0\]\.text: missing German text"):
        load_instrument("selfanalysis/v1", root)


def test_invalid_instrument_reference_in_file_reports_instrument_file(root: Path):
    # A broken instrument surfaces when a curriculum refers to it, naming the instrument's own file.
    edit(root / "selfanalysis" / "v1.yaml", lambda d: d["dimensions"][0].pop("title"))
    with pytest.raises(TemplateError) as info:
        load_curriculum("regional_cycle", root)
    assert str(info.value).startswith("lms_templates/selfanalysis/v1.yaml: dimensions[0].title: missing German title")


def test_templates_dir_falls_back_to_working_directory_when_installed(root: Path, monkeypatch):
    # A non-editable install has no lms_templates/ next to the package; the project checkout (cwd) does.
    import mintqo_lms.templates as templates_module

    monkeypatch.delenv("MINTQO_TEMPLATES_DIR", raising=False)
    monkeypatch.setattr(templates_module, "__file__", str(root.parent / "site-packages" / "mintqo_lms" / "templates.py"))
    monkeypatch.chdir(root.parent)
    assert templates_dir() == root.resolve()
    assert load_curriculum("qualification").key == "qualification"


# -- order, optional analyses, attendance, team work (issue 17) -----------------------------------------


@pytest.mark.parametrize("name", ["qualification", "regional_cycle"])
def test_instructions_come_before_the_quiz_they_explain(name):
    cur = load_curriculum(name)
    for section in cur.sections:
        keys = [a.key for a in section.activities]
        for index, activity in enumerate(section.activities):
            if activity.type == "quiz":
                assert any(a.type == "page" for a in section.activities[:index]), (section.key, keys)
    regional = load_curriculum("regional_cycle")
    order = [a.key for _, a in regional.activities()]
    assert order.index("sa-anleitung") < order.index("selbstanalyse-1")
    assert order.index("ws3-austausch") < order.index("selbstanalyse-2")


def test_the_second_analysis_is_optional_in_progress_too():
    cur = load_curriculum("regional_cycle")
    second = cur.activity("selbstanalyse-2")
    assert second.completion == "none"                 # no completion tracking: it never drags progress
    assert "selbstanalyse-2" not in cur.course_completion
    assert cur.activity("selbstanalyse-1").completion == "submit"


def test_attendance_is_in_person_and_the_action_plan_a_team_submission():
    cur = load_curriculum("regional_cycle")
    assert {a.key for _, a in cur.activities() if a.in_person} == {"ws1-teilnahme", "ws2-teilnahme", "ws3-teilnahme"}
    assert {a.key for _, a in cur.activities() if a.teamsubmission} == {"ws2-massnahmenplan"}
    assert "Maßnahmenplan" in cur.activity("ws2-massnahmenplan").name


def test_short_names_are_readable_and_carry_the_cohort():
    assert load_curriculum("qualification").render_course(cohort="2025").shortname == "MINT-QO 2025 Qualifizierung"


def test_teamsubmission_only_on_assignments(root: Path):
    file = root / "curriculum" / "regional_cycle.yaml"
    edit(file, lambda d: d["sections"][0]["activities"][0].update(teamsubmission=True))
    with pytest.raises(TemplateError, match=r"teamsubmission: only an assign can be a team submission, not a page"):
        load_curriculum(file)


# -- parsed files are kept per process ---------------------------------------------------------------------


def test_an_edited_template_is_read_again_even_with_the_same_size(root: Path):
    file = root / "selfanalysis" / "v1.yaml"
    title = load_instrument("selfanalysis/v1", root).title
    text = file.read_text(encoding="utf-8")
    file.write_text(text.replace(title, "X" * len(title.encode("utf-8")), 1), encoding="utf-8")
    assert file.stat().st_size == len(text.encode("utf-8"))   # same size, likely the same mtime too
    assert load_instrument("selfanalysis/v1", root).title == "X" * len(title.encode("utf-8"))


def test_an_edited_curriculum_and_its_instrument_are_read_again(root: Path):
    first = load_curriculum("regional_cycle", root)
    edit(root / "curriculum" / "regional_cycle.yaml", lambda d: d["sections"][0].update(name="Neuer Abschnitt"))
    edit(root / "selfanalysis" / "v1.yaml", lambda d: d.update(title="Neuer Titel"))
    second = load_curriculum("regional_cycle", root)
    assert first.sections[0].name != "Neuer Abschnitt" and second.sections[0].name == "Neuer Abschnitt"
    assert second.instrument("selfanalysis/v1").title == "Neuer Titel"


def test_a_caller_changing_what_it_loaded_does_not_change_the_next_load(root: Path):
    curriculum = load_curriculum("qualification", root)
    curriculum.sections[0].name = "geändert"
    curriculum.sections[0].activities.clear()
    instrument = load_instrument("selfanalysis/v1", root)
    instrument.dimensions[0].criteria[0].statements[0].text = "geändert"
    again = load_curriculum("qualification", root)
    assert again.sections[0].name != "geändert" and again.sections[0].activities
    assert load_instrument("selfanalysis/v1", root).dimensions[0].criteria[0].statements[0].text != "geändert"


def test_an_unchanged_file_is_parsed_once(root: Path, monkeypatch):
    import mintqo_lms.templates as templates

    parsed: list[str] = []
    original = templates._parse_yaml
    monkeypatch.setattr(templates, "_parse_yaml", lambda raw, shown: parsed.append(shown) or original(raw, shown))
    for _ in range(3):
        load_instrument("selfanalysis/v2", root)
    assert parsed == ["lms_templates/selfanalysis/v2.yaml"]


def test_a_broken_file_fails_every_time_and_a_fixed_one_loads(root: Path):
    file = root / "selfanalysis" / "v1.yaml"
    good = file.read_text(encoding="utf-8")
    file.write_text(good + "\nversion: v1\n", encoding="utf-8")   # a duplicate key
    for _ in range(2):
        with pytest.raises(TemplateError, match="duplicate key 'version'"):
            load_instrument("selfanalysis/v1", root)
    file.write_text(good, encoding="utf-8")
    assert load_instrument("selfanalysis/v1", root).version == "v1"


@pytest.mark.parametrize("name", sorted(str(p.relative_to(SHIPPED)) for p in SHIPPED.rglob("*.yaml")))
def test_libyaml_and_pyyaml_read_every_shipped_template_alike(name: str):
    import mintqo_lms.templates as templates

    text = (SHIPPED / name).read_bytes().decode("utf-8-sig")
    assert templates._parse_yaml(text.encode("utf-8"), name) == templates._parse_yaml_python(text, name)
