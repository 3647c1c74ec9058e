"""Scoring a self-analysis: pure functions over the instrument and the chosen scale levels, no I/O.

The rules (step 6, the same the plugin's team page shows):

- A statement's score is ``(value − min) / (max − min) × 100`` on the instrument's scale, min and max over the
  levels that carry a value. A "kann ich nicht beurteilen" level (``no_judgement``) counts as not answered.
- A criterion's and a dimension's score is the mean of its *answered statements* (not of its criteria).
- A criterion or dimension with fewer than half of its statements answered is **not meaningful**: its score is
  ``None`` and ``meaningful`` is False, never a number that looks solid. (Exactly half is meaningful.)
- Improvement potentials: the lowest-scored answered statements, at most five, ties in instrument order.
  Statements at the top of the scale (score 100) leave nothing to improve and are never potentials.
- Change: latest minus first analysis, per dimension and criterion, over the statements both analyses can be
  compared on: same key, same wording, same criterion and dimension. Within one instrument version that is
  every statement; across versions only the identical ones. The not-meaningful rule applies to each side over
  the compared statements.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from mintqo_lms.templates import Instrument, ScaleLevel

__all__ = ["AnalysisScores", "Change", "MAX_POTENTIALS", "Score", "change", "level_score", "meaningful",
           "score_answers"]

MAX_POTENTIALS = 5


@dataclass(frozen=True)
class Score:
    """A criterion's or dimension's score: ``score`` is None when not meaningful (or nothing answered)."""

    key: str
    score: float | None
    answered: int
    total: int

    @property
    def meaningful(self) -> bool:
        return meaningful(self.answered, self.total)


@dataclass(frozen=True)
class AnalysisScores:
    """Everything one analysis says, keys in instrument order."""

    instrument: str
    statements: dict[str, float | None]   # statement key -> score, None = not answered
    criteria: dict[str, Score]
    dimensions: dict[str, Score]
    potentials: list[str] = field(default_factory=list)

    @property
    def answered(self) -> int:
        return sum(1 for s in self.statements.values() if s is not None)


@dataclass(frozen=True)
class Change:
    """Latest minus first per dimension and criterion (None: not comparable or not meaningful on a side), and
    how many statements each comparison rests on."""

    dimensions: dict[str, float | None]
    criteria: dict[str, float | None]
    compared: dict[str, int]


def meaningful(answered: int, total: int) -> bool:
    """At least half of the statements answered."""
    return total > 0 and 2 * answered >= total


def level_score(instrument: Instrument, level: ScaleLevel | None) -> float | None:
    """A chosen level's score 0–100; None for no answer or the no-judgement level."""
    return _level_score(level, *_value_range(instrument))


def _value_range(instrument: Instrument) -> tuple[int, int]:
    values = [lv.value for lv in instrument.scale if not lv.no_judgement and lv.value is not None]
    return min(values), max(values)


def _level_score(level: ScaleLevel | None, low: int, high: int) -> float | None:
    if level is None or level.no_judgement or level.value is None:
        return None
    return (level.value - low) / (high - low) * 100.0


def _mean(scores: list[float | None], total: int) -> float | None:
    answered = [s for s in scores if s is not None]
    if not answered or not meaningful(len(answered), total):
        return None
    return sum(answered) / len(answered)


@dataclass(frozen=True)
class _Layout:
    """An instrument's statement keys in order, those of each criterion and dimension, and its value range:
    worked out once per instrument, not once per analysis (a sync scores hundreds per page)."""

    keys: tuple[str, ...]
    criteria: tuple[tuple[str, tuple[str, ...]], ...]
    dimensions: tuple[tuple[str, tuple[str, ...]], ...]
    low: int
    high: int


_LAYOUTS: dict[int, tuple[Instrument, _Layout]] = {}   # by id(); the instrument is kept so its id stays its own
_MAX_LAYOUTS = 16   # a long-running serve loads its instruments again every run: keep the latest few


def _layout(instrument: Instrument) -> _Layout:
    cached = _LAYOUTS.get(id(instrument))
    if cached is None or cached[0] is not instrument:
        layout = _Layout(tuple(s.key for s in instrument.statements()),
                         tuple((c.key, tuple(s.key for s in c.statements))
                               for d in instrument.dimensions for c in d.criteria),
                         tuple((d.key, tuple(s.key for s in d.statements())) for d in instrument.dimensions),
                         *_value_range(instrument))
        if len(_LAYOUTS) >= _MAX_LAYOUTS:
            _LAYOUTS.clear()
        cached = _LAYOUTS[id(instrument)] = (instrument, layout)
    return cached[1]


def _group_score(key: str, statements: dict[str, float | None], keys: tuple[str, ...]) -> Score:
    values = [statements[k] for k in keys]
    return Score(key, _mean(values, len(values)), sum(v is not None for v in values), len(values))


def score_answers(instrument: Instrument, answers: Mapping[str, ScaleLevel | None]) -> AnalysisScores:
    """Score one analysis from ``answers`` (statement key -> chosen level; a missing key is not answered).
    Keys that are not statements of ``instrument`` raise ValueError."""
    layout = _layout(instrument)
    unknown = sorted(set(answers) - set(layout.keys))
    if unknown:
        raise ValueError(f"not statements of instrument {instrument.version}: {', '.join(unknown)}")
    statements = {key: _level_score(answers.get(key), layout.low, layout.high) for key in layout.keys}
    criteria = {key: _group_score(key, statements, keys) for key, keys in layout.criteria}
    dimensions = {key: _group_score(key, statements, keys) for key, keys in layout.dimensions}
    ranked = sorted((score, index, key) for index, (key, score) in enumerate(statements.items())
                    if score is not None and score < 100.0)
    potentials = [key for _, _, key in ranked[:MAX_POTENTIALS]]
    return AnalysisScores(instrument.version, statements, criteria, dimensions, potentials)


def _placement(instrument: Instrument) -> dict[str, tuple[str, str, str]]:
    """statement key -> (dimension key, criterion key, wording)."""
    return {s.key: (d.key, c.key, s.text) for d in instrument.dimensions for c in d.criteria for s in c.statements}


def change(first_instrument: Instrument, first: Mapping[str, float | None],
           latest_instrument: Instrument, latest: Mapping[str, float | None]) -> Change:
    """Latest minus first analysis from their statement scores (``AnalysisScores.statements``), keyed by the
    latest instrument's dimensions and criteria."""
    before = _placement(first_instrument)
    dims: dict[str, float | None] = {}
    crits: dict[str, float | None] = {}
    compared: dict[str, int] = {}

    def diff(key: str, statement_keys: list[str]) -> float | None:
        common = [k for k in statement_keys if k in first and k in latest]
        compared[key] = len(common)
        a = _mean([first[k] for k in common], len(common))
        b = _mean([latest[k] for k in common], len(common))
        return None if a is None or b is None else b - a

    for dimension in latest_instrument.dimensions:
        dim_keys = []
        for criterion in dimension.criteria:
            keys = [s.key for s in criterion.statements
                    if before.get(s.key) == (dimension.key, criterion.key, s.text)]
            crits[criterion.key] = diff(criterion.key, keys)
            dim_keys += keys
        dims[dimension.key] = diff(dimension.key, dim_keys)
    return Change(dims, crits, compared)
