"""Compile the self-analysis instrument to Moodle question XML, and name its questions.

Why we generate XML instead of creating questions through web services: core has no web service for
questions, and Moodle's own XML format (qformat_xml) is the one path that every Moodle version imports.
The element layout follows what a real Moodle 4.4 exported for Likert multichoice questions
(shared/moodle/recordings/likert_questions_export.xml), which round-trips unchanged.

Each question's idnumber encodes instrument version and statement key (``mintqo:sa:v1:ang-03``): that
is how a flattened quiz response is traced back to a statement without trusting question order or names.

Before the statements of each criterion comes a description item (qtype ``description``, idnumber
``mintqo:sa:v1:<criterion key>``, no answer, no mark) with the criterion's title (and the dimension's
description before its first criterion), so participants read what the statements are about. Description
items have no answer: ``local_mintqo_get_quiz_responses`` leaves them out, and :func:`is_statement_idnumber`
tells them apart where an idnumber alone is at hand. The instrument's own description belongs in the quiz
intro (:func:`quiz_intro`).

A scale may have a "kann ich nicht beurteilen" level (``no_judgement``, instrument v2). It compiles to an answer
like every other level, in scale order (last in v2), with the fraction ``templates.no_judgement_fraction`` picks:
a Moodle fraction no scored level uses (0.5 on a four-point scale). So a stored answer names its level from the
fraction alone (:func:`scale_level_for_fraction`), and the answer never carries the lowest level's 0, which
Moodle's statistics and any reader of the raw fraction would take for the worst rating. Scoring never uses its
value: the statement counts as not answered.
"""

from __future__ import annotations

import html
import re
from typing import TypedDict

from mintqo_lms.templates import Criterion, Instrument, ScaleLevel, Statement

__all__ = [
    "InvalidQuestionIdnumber",
    "QuizSection",
    "description_idnumber",
    "is_statement_idnumber",
    "parse_question_idnumber",
    "question_idnumber",
    "quiz_intro",
    "quiz_sections",
    "scale_level_for_fraction",
    "to_moodle_xml",
]

_IDNUMBER_PREFIX = "mintqo:sa"
_IDNUMBER_RE = re.compile(r"^mintqo:sa:(v[0-9]+):([a-z0-9]+(?:[-_][a-z0-9]+)*)$")
_MOODLE_IDNUMBER_MAX = 100  # question_bank_entries.idnumber is varchar(100)


class InvalidQuestionIdnumber(ValueError):
    """An idnumber that is not one of ours (``mintqo:sa:{version}:{statement key}``)."""


class QuizSection(TypedDict):
    heading: str
    questionidnumbers: list[str]


def question_idnumber(version: str, key: str) -> str:
    """``question_idnumber("v1", "ang-03") == "mintqo:sa:v1:ang-03"``."""
    idnumber = f"{_IDNUMBER_PREFIX}:{version}:{key}"
    if not _IDNUMBER_RE.match(idnumber):
        raise InvalidQuestionIdnumber(f"cannot build a question idnumber from version {version!r} and key {key!r}")
    if len(idnumber) > _MOODLE_IDNUMBER_MAX:
        raise InvalidQuestionIdnumber(f"question idnumber {idnumber!r} is longer than Moodle's {_MOODLE_IDNUMBER_MAX}")
    return idnumber


def parse_question_idnumber(idnumber: str) -> tuple[str, str]:
    """``"mintqo:sa:v1:ang-03" -> ("v1", "ang-03")``; anything else raises InvalidQuestionIdnumber."""
    match = _IDNUMBER_RE.match(idnumber or "")
    if not match:
        raise InvalidQuestionIdnumber(f"not a self-analysis question idnumber: {idnumber!r}")
    return match.group(1), match.group(2)


def description_idnumber(version: str, criterion_key: str) -> str:
    """The description item before a criterion's statements: ``mintqo:sa:v1:ang-k1``. Keys are unique across
    dimensions, criteria and statements (templates.py checks), so it never names a statement."""
    return question_idnumber(version, criterion_key)


def is_statement_idnumber(instrument: Instrument, idnumber: str) -> bool:
    """Whether an idnumber of this instrument names a statement (not a criterion's description item)."""
    try:
        version, key = parse_question_idnumber(idnumber)
    except InvalidQuestionIdnumber:
        return False
    return version == instrument.version and any(s.key == key for s in instrument.statements())


def quiz_sections(instrument: Instrument) -> list[QuizSection]:
    """One quiz section per dimension, in instrument order, listing its questions by idnumber: per criterion
    its description item, then its statements."""
    return [
        QuizSection(
            heading=dimension.title,
            questionidnumbers=[
                idnumber
                for criterion in dimension.criteria
                for idnumber in [description_idnumber(instrument.version, criterion.key)]
                + [question_idnumber(instrument.version, s.key) for s in criterion.statements]
            ],
        )
        for dimension in instrument.dimensions
    ]


def quiz_intro(instrument: Instrument, intro: str = "") -> str:
    """The quiz description participants read first: the activity's own intro, then the instrument's
    description (HTML, as the template holds it); either may be empty."""
    parts = [part.strip() for part in (intro, instrument.description) if part and part.strip()]
    return "\n".join(dict.fromkeys(parts))


def scale_level_for_fraction(instrument: Instrument, fraction: float | str) -> ScaleLevel:
    """The scale level a chosen answer stands for, from the fraction Moodle reports (e.g. "0.6666667")."""
    value = float(fraction)
    for level, level_fraction in zip(instrument.scale, instrument.scale_fractions()):
        if abs(level_fraction - value) < 0.00001:
            return level
    raise ValueError(f"fraction {fraction!r} matches no level of the {instrument.ref or instrument.version} scale")


def to_moodle_xml(instrument: Instrument) -> str:
    """The whole instrument as a Moodle XML question file: per criterion a description item with its title,
    then one multichoice question per statement.

    No category element: the plugin imports into a category of its own choosing.
    """
    answers = list(zip(instrument.scale, instrument.scale_fractions()))
    parts = ['<?xml version="1.0" encoding="UTF-8"?>', "<quiz>"]
    for dimension in instrument.dimensions:
        for index, criterion in enumerate(dimension.criteria):
            parts.append(_description_xml(instrument.version, criterion,
                                          dimension.description if index == 0 else ""))
            for statement in criterion.statements:
                parts.append(_question_xml(instrument.version, criterion, statement, answers))
    parts.append("</quiz>")
    return "\n".join(parts) + "\n"


def _question_xml(version: str, criterion: Criterion, statement: Statement,
                  answers: list[tuple[ScaleLevel, float]]) -> str:
    name = f"{statement.key} – {criterion.title}"
    questiontext = f"<p>{html.escape(statement.text, quote=False)}</p>"
    lines = [
        '  <question type="multichoice">',
        "    <name>",
        f"      <text>{_xml_text(name)}</text>",
        "    </name>",
        '    <questiontext format="html">',
        f"      <text>{_cdata(questiontext)}</text>",
        "    </questiontext>",
        '    <generalfeedback format="html">',
        "      <text></text>",
        "    </generalfeedback>",
        "    <defaultgrade>1.0000000</defaultgrade>",
        "    <penalty>0.0000000</penalty>",
        "    <hidden>0</hidden>",
        f"    <idnumber>{_xml_text(question_idnumber(version, statement.key))}</idnumber>",
        "    <single>true</single>",
        "    <shuffleanswers>false</shuffleanswers>",
        "    <answernumbering>none</answernumbering>",
        "    <showstandardinstruction>0</showstandardinstruction>",
    ]
    for feedback in ("correctfeedback", "partiallycorrectfeedback", "incorrectfeedback"):
        lines += [f'    <{feedback} format="html">', "      <text></text>", f"    </{feedback}>"]
    for level, fraction in answers:
        lines += [
            f'    <answer fraction="{_percent(fraction)}" format="plain_text">',
            f"      <text>{_xml_text(level.label)}</text>",
            '      <feedback format="html">',
            "        <text></text>",
            "      </feedback>",
            "    </answer>",
        ]
    lines.append("  </question>")
    return "\n".join(lines)


def _description_xml(version: str, criterion: Criterion, dimension_description: str) -> str:
    """A description item (no answer, no mark) with the criterion's title and description, if any; the first
    criterion of a dimension also carries the dimension's description."""
    text = ""
    if dimension_description.strip():
        text += f"<p>{html.escape(dimension_description.strip(), quote=False)}</p>"
    text += f"<h4>{html.escape(criterion.title, quote=False)}</h4>"
    description = str(getattr(criterion, "description", "") or "").strip()
    if description:
        text += f"<p>{html.escape(description, quote=False)}</p>"
    lines = [
        '  <question type="description">',
        "    <name>",
        f"      <text>{_xml_text(f'{criterion.key} – {criterion.title}')}</text>",
        "    </name>",
        '    <questiontext format="html">',
        f"      <text>{_cdata(text)}</text>",
        "    </questiontext>",
        '    <generalfeedback format="html">',
        "      <text></text>",
        "    </generalfeedback>",
        "    <defaultgrade>0.0000000</defaultgrade>",
        "    <penalty>0.0000000</penalty>",
        "    <hidden>0</hidden>",
        f"    <idnumber>{_xml_text(description_idnumber(version, criterion.key))}</idnumber>",
        "  </question>",
    ]
    return "\n".join(lines)


def _percent(fraction: float) -> str:
    """Moodle writes answer fractions as percentages with up to 5 decimals: 100, 66.66667, 0."""
    return f"{fraction * 100:.5f}".rstrip("0").rstrip(".")


def _xml_text(text: str) -> str:
    return html.escape(text, quote=False)


def _cdata(text: str) -> str:
    # "]]>" would end the section early; split it across two sections.
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"
