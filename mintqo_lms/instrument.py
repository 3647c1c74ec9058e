"""Compile the self-analysis instrument to Moodle question XML, and name its questions.

Why we generate XML instead of creating questions through web services: core has no web service for
questions, and Moodle's own XML format (qformat_xml) is the one path that every Moodle version imports.
The element layout follows what a real Moodle 4.4 exported for Likert multichoice questions
(shared/moodle/recordings/likert_questions_export.xml), which round-trips unchanged.

Each question's idnumber encodes instrument version and statement key (``mintqo:sa:v1:ang-03``): that
is how a flattened quiz response is traced back to a statement without trusting question order or names.
"""

from __future__ import annotations

import html
import re
from typing import TypedDict

from mintqo_lms.templates import Criterion, Instrument, ScaleLevel, Statement

__all__ = [
    "InvalidQuestionIdnumber",
    "QuizSection",
    "parse_question_idnumber",
    "question_idnumber",
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


def quiz_sections(instrument: Instrument) -> list[QuizSection]:
    """One quiz section per dimension, in instrument order, listing its questions by idnumber."""
    return [
        QuizSection(
            heading=dimension.title,
            questionidnumbers=[question_idnumber(instrument.version, s.key) for s in dimension.statements()],
        )
        for dimension in instrument.dimensions
    ]


def scale_level_for_fraction(instrument: Instrument, fraction: float | str) -> ScaleLevel:
    """The scale level a chosen answer stands for, from the fraction Moodle reports (e.g. "0.6666667")."""
    value = float(fraction)
    for level, level_fraction in zip(instrument.scale, instrument.scale_fractions()):
        if abs(level_fraction - value) < 0.00001:
            return level
    raise ValueError(f"fraction {fraction!r} matches no level of the {instrument.ref or instrument.version} scale")


def to_moodle_xml(instrument: Instrument) -> str:
    """The whole instrument as a Moodle XML question file: one multichoice question per statement.

    No category element: the plugin imports into a category of its own choosing.
    """
    answers = list(zip(instrument.scale, instrument.scale_fractions()))
    parts = ['<?xml version="1.0" encoding="UTF-8"?>', "<quiz>"]
    for dimension in instrument.dimensions:
        for criterion in dimension.criteria:
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


def _percent(fraction: float) -> str:
    """Moodle writes answer fractions as percentages with up to 5 decimals: 100, 66.66667, 0."""
    return f"{fraction * 100:.5f}".rstrip("0").rstrip(".")


def _xml_text(text: str) -> str:
    return html.escape(text, quote=False)


def _cdata(text: str) -> str:
    # "]]>" would end the section early; split it across two sections.
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"
