"""Compiling the instrument to Moodle XML: importable by qformat_xml, one question per statement, a description
item with each criterion's title before its statements."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from mintqo_lms.instrument import (
    InvalidQuestionIdnumber,
    description_idnumber,
    is_statement_idnumber,
    parse_question_idnumber,
    question_idnumber,
    quiz_intro,
    quiz_sections,
    scale_level_for_fraction,
    to_moodle_xml,
)
from mintqo_lms.templates import Instrument, load_instrument

LIKERT_EXPORT = Path(__file__).resolve().parent / "data" / "moodle" / "recordings" / "likert_questions_export.xml"
# The first question of that export (Moodle 4.4's own output, imported again unchanged), kept here so
# the structural comparison also runs where the recordings are not mounted (CI).
REFERENCE_QUESTION = """  <question type="multichoice">
    <name>
      <text>sa-v1-ang-01 – Aussage 1 (Fachwissen)</text>
    </name>
    <questiontext format="html">
      <text><![CDATA[<p>Ich kann fachliche MINT-Inhalte altersgerecht und verständlich erklären.</p>]]></text>
    </questiontext>
    <generalfeedback format="html">
      <text><![CDATA[<p>Danke für Ihre Einschätzung.</p>]]></text>
    </generalfeedback>
    <defaultgrade>1.0000000</defaultgrade>
    <penalty>0.0000000</penalty>
    <hidden>0</hidden>
    <idnumber>sa-v1-ang-01</idnumber>
    <single>true</single>
    <shuffleanswers>false</shuffleanswers>
    <answernumbering>none</answernumbering>
    <showstandardinstruction>0</showstandardinstruction>
    <correctfeedback format="html">
      <text></text>
    </correctfeedback>
    <partiallycorrectfeedback format="html">
      <text></text>
    </partiallycorrectfeedback>
    <incorrectfeedback format="html">
      <text></text>
    </incorrectfeedback>
    <answer fraction="100" format="plain_text">
      <text>trifft voll zu</text>
      <feedback format="html">
        <text></text>
      </feedback>
    </answer>
    <answer fraction="66.66667" format="plain_text">
      <text>trifft eher zu</text>
      <feedback format="html">
        <text></text>
      </feedback>
    </answer>
    <answer fraction="33.33333" format="plain_text">
      <text>trifft eher nicht zu</text>
      <feedback format="html">
        <text></text>
      </feedback>
    </answer>
    <answer fraction="0" format="plain_text">
      <text>trifft nicht zu</text>
      <feedback format="html">
        <text></text>
      </feedback>
    </answer>
  </question>"""

# Moodle's question_bank::fraction_options(), as percentages the XML carries.
MOODLE_PERCENTAGES = {100, 90, 83.33333, 80, 75, 70, 66.66667, 60, 50, 40, 33.33333, 30, 25, 20,
                      16.66667, 14.28571, 12.5, 11.11111, 10, 5, 0}


@pytest.fixture(scope="module")
def instrument() -> Instrument:
    return load_instrument("selfanalysis/v1")


@pytest.fixture(scope="module")
def items(instrument) -> list[ET.Element]:
    """Every question element of the file, description items included, in file order."""
    root = ET.fromstring(to_moodle_xml(instrument).encode("utf-8"))
    assert root.tag == "quiz"
    return root.findall("question")


@pytest.fixture(scope="module")
def questions(items) -> list[ET.Element]:
    """The statements (multichoice questions)."""
    return [q for q in items if q.get("type") == "multichoice"]


def first_statement(xml: str) -> ET.Element:
    return next(q for q in ET.fromstring(xml.encode("utf-8")).findall("question") if q.get("type") == "multichoice")


def make_instrument(statement_text: str, scale_values=(1, 2, 3, 4, 5)) -> Instrument:
    labels = ["trifft nicht zu", "trifft eher nicht zu", "teils, teils", "trifft eher zu", "trifft voll zu"]
    return Instrument.model_validate({
        "version": "v7",
        "title": "Test",
        "scale": [{"value": v, "label": lbl} for v, lbl in zip(scale_values, labels)],
        "dimensions": [{"key": "ang", "title": "Angebotsqualität", "criteria": [
            {"key": "ang-k1", "title": "Kriterium & Co.", "statements": [{"key": "ang-01", "text": statement_text}]}]}],
    })


def test_one_single_answer_multichoice_per_statement(instrument, questions):
    assert len(questions) == len(instrument.statements()) == 33
    for q in questions:
        assert q.get("type") == "multichoice"
        assert q.findtext("single") == "true"
        assert q.findtext("shuffleanswers") == "false"
        assert float(q.findtext("defaultgrade")) == 1.0
        assert q.find("category") is None


def test_idnumbers_encode_version_and_statement_and_are_unique(instrument, questions):
    idnumbers = [q.findtext("idnumber") for q in questions]
    assert len(set(idnumbers)) == len(idnumbers)
    assert idnumbers == [f"mintqo:sa:v1:{s.key}" for s in instrument.statements()]
    assert "mintqo:sa:v1:ang-03" in idnumbers


def test_answers_follow_scale_order_with_moodle_fractions(instrument, questions):
    for q in questions:
        answers = q.findall("answer")
        assert [a.findtext("text") for a in answers] == [lvl.label for lvl in instrument.scale]
        assert [a.get("fraction") for a in answers] == ["0", "33.33333", "66.66667", "100"]
        assert all(float(a.get("fraction")) in MOODLE_PERCENTAGES for a in answers)


def test_five_point_scale_uses_quarter_steps():
    question = first_statement(to_moodle_xml(make_instrument("Aussage.")))
    assert [a.get("fraction") for a in question.findall("answer")] == ["0", "25", "50", "75", "100"]


def test_questiontext_is_the_statement_and_names_are_short_german(instrument, questions):
    first = instrument.dimensions[0].criteria[0]
    assert questions[0].find("questiontext").get("format") == "html"
    assert questions[0].find("questiontext").findtext("text") == f"<p>{first.statements[0].text}</p>"
    assert questions[0].find("name").findtext("text") == f"ang-01 – {first.title}"
    assert all(len(q.find("name").findtext("text")) <= 80 for q in questions)


def test_special_characters_survive_escaping():
    text = 'Wir nutzen Kits für <5 € & "Maker"-Material ]]> ohne Bruch.'
    xml = to_moodle_xml(make_instrument(text))
    q = first_statement(xml)
    assert q.find("questiontext").findtext("text") == (
        "<p>Wir nutzen Kits für &lt;5 € &amp; \"Maker\"-Material ]]&gt; ohne Bruch.</p>")
    assert q.find("name").findtext("text") == "ang-01 – Kriterium & Co."


def test_same_elements_as_moodles_own_likert_export(questions):
    """Every question has exactly the elements, in order, that Moodle 4.4 itself exported and re-imported."""
    reference = ET.fromstring(REFERENCE_QUESTION.encode("utf-8"))

    def shape(q: ET.Element) -> list[tuple]:
        return [(child.tag, tuple(sorted(k for k in child.attrib if k != "fraction")),
                 tuple(grand.tag for grand in child)) for child in q]

    assert len(reference.findall("answer")) == 4
    for q in questions:
        assert shape(q) == shape(reference)
        for tag in ("single", "shuffleanswers", "answernumbering", "showstandardinstruction", "penalty", "hidden"):
            assert q.findtext(tag) == reference.findtext(tag), tag
        assert {a.get("fraction") for a in q.findall("answer")} == {a.get("fraction") for a in reference.findall("answer")}


def test_quiz_sections_one_per_dimension_covering_all_questions(instrument, items):
    sections = quiz_sections(instrument)
    assert [s["heading"] for s in sections] == [d.title for d in instrument.dimensions]
    flattened = [i for s in sections for i in s["questionidnumbers"]]
    assert flattened == [q.findtext("idnumber") for q in items]  # description items included, in file order
    assert all(i.startswith("mintqo:sa:v1:gen-") for i in sections[3]["questionidnumbers"])


def test_a_description_item_with_the_criterion_title_precedes_its_statements(instrument, items):
    expected: list[tuple[str, str]] = []
    for dimension in instrument.dimensions:
        for criterion in dimension.criteria:
            expected.append(("description", f"mintqo:sa:v1:{criterion.key}"))
            expected += [("multichoice", f"mintqo:sa:v1:{s.key}") for s in criterion.statements]
    assert [(q.get("type"), q.findtext("idnumber")) for q in items] == expected
    descriptions = [q for q in items if q.get("type") == "description"]
    criteria = [c for d in instrument.dimensions for c in d.criteria]
    assert len(descriptions) == len(criteria) == 12
    for item, criterion in zip(descriptions, criteria):
        assert f"<h4>{criterion.title}</h4>" in item.find("questiontext").findtext("text")
        assert float(item.findtext("defaultgrade")) == 0  # no mark
        assert item.find("answer") is None
        assert item.find("name").findtext("text") == f"{criterion.key} – {criterion.title}"
    # The dimension's description stands before its first criterion.
    first = descriptions[0].find("questiontext").findtext("text")
    assert first.startswith(f"<p>{instrument.dimensions[0].description}</p>")
    assert instrument.dimensions[0].description not in descriptions[1].find("questiontext").findtext("text")


def test_description_items_escape_and_are_no_statements(instrument):
    xml = to_moodle_xml(make_instrument("Aussage."))
    item = ET.fromstring(xml.encode("utf-8")).find("question")
    assert item.get("type") == "description"
    assert item.find("questiontext").findtext("text") == "<h4>Kriterium &amp; Co.</h4>"
    assert description_idnumber("v1", "ang-k1") == "mintqo:sa:v1:ang-k1"
    assert is_statement_idnumber(instrument, "mintqo:sa:v1:ang-01")
    assert not is_statement_idnumber(instrument, "mintqo:sa:v1:ang-k1")
    assert not is_statement_idnumber(instrument, "mintqo:sa:v2:ang-01")
    assert not is_statement_idnumber(instrument, "sa-v1-ang-01")


def test_quiz_intro_carries_the_instrument_description(instrument):
    intro = quiz_intro(instrument, "<p>Füllen Sie die Selbstanalyse im Team aus.</p>")
    assert intro.startswith("<p>Füllen Sie die Selbstanalyse im Team aus.</p>")
    assert instrument.description.strip() in intro
    assert quiz_intro(instrument) == instrument.description.strip()
    assert quiz_intro(make_instrument("x"), "") == ""


def test_idnumber_round_trip_and_rejection():
    assert question_idnumber("v1", "ang-03") == "mintqo:sa:v1:ang-03"
    assert parse_question_idnumber("mintqo:sa:v12:gen-08") == ("v12", "gen-08")
    for bad in ("", "sa-v1-ang-01", "mintqo:sa:1:ang-01", "mintqo:region:2025:trier", "mintqo:sa:v1:ANG-01"):
        with pytest.raises(InvalidQuestionIdnumber):
            parse_question_idnumber(bad)
    with pytest.raises(InvalidQuestionIdnumber):
        question_idnumber("v1", "ang 03")


def test_scale_level_for_fraction_reads_moodles_stored_fractions(instrument):
    # Moodle stores fractions with 7 decimals and web services return them as strings.
    assert scale_level_for_fraction(instrument, "0.6666667").label == "trifft eher zu"
    assert scale_level_for_fraction(instrument, "1.0000000").value == 4
    assert scale_level_for_fraction(instrument, 0).label == "trifft nicht zu"
    with pytest.raises(ValueError):
        scale_level_for_fraction(instrument, "0.5")


def test_reference_question_is_the_recorded_export():
    export = ET.parse(LIKERT_EXPORT).getroot()
    recorded = [q for q in export.findall("question") if q.get("type") == "multichoice"][0]
    inline = ET.fromstring(REFERENCE_QUESTION.encode("utf-8"))
    recorded.tail = inline.tail = None
    assert ET.tostring(recorded) == ET.tostring(inline)


# -- v2: v1's statements plus "kann ich nicht beurteilen" ---------------------------------------------


def test_v2_has_v1s_statements_word_for_word_and_a_no_judgement_answer():
    v1, v2 = load_instrument("selfanalysis/v1"), load_instrument("selfanalysis/v2")
    assert v2.version == "v2"
    assert [(s.key, s.text) for s in v2.statements()] == [(s.key, s.text) for s in v1.statements()]
    assert v2.scored_levels() == v1.scale
    assert v2.no_judgement_level().label == "kann ich nicht beurteilen"
    assert v1.no_judgement_level() is None


def test_v2_xml_carries_its_version_and_a_neutral_no_judgement_answer():
    v2 = load_instrument("selfanalysis/v2")
    items = ET.fromstring(to_moodle_xml(v2).encode("utf-8")).findall("question")
    questions = [q for q in items if q.get("type") == "multichoice"]
    assert [q.findtext("idnumber") for q in questions] == [f"mintqo:sa:v2:{s.key}" for s in v2.statements()]
    assert all(q.findtext("idnumber").startswith("mintqo:sa:v2:") for q in items)
    for q in questions:
        answers = [(a.findtext("text"), a.get("fraction")) for a in q.findall("answer")]
        assert answers == [("trifft nicht zu", "0"), ("trifft eher nicht zu", "33.33333"),
                           ("trifft eher zu", "66.66667"), ("trifft voll zu", "100"),
                           ("kann ich nicht beurteilen", "50")]
        assert all(float(f) in MOODLE_PERCENTAGES for _, f in answers)
    # the fraction names the level unambiguously: no judgement is never read as "trifft nicht zu"
    assert scale_level_for_fraction(v2, "0.5000000").no_judgement
    assert scale_level_for_fraction(v2, "0.0000000").label == "trifft nicht zu"
    assert len(set(v2.scale_fractions())) == len(v2.scale)
