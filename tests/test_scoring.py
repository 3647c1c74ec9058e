"""Scoring rules: a hand-computed example per rule, and properties that hold for every set of answers."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mintqo_lms.scoring import change, level_score, score_answers
from mintqo_lms.templates import Instrument, load_instrument

V1 = load_instrument("selfanalysis/v1")


def level(instrument: Instrument, value: int):
    return next(lv for lv in instrument.scale if lv.value == value)


def small(version: str = "v7", *, wording: str = "Wir tun A.", no_judgement: bool = True) -> Instrument:
    """Two dimensions; the first has two criteria of 2 and 3 statements, the second one of 2."""
    scale = [{"value": 1, "label": "trifft nicht zu"}, {"value": 2, "label": "trifft eher nicht zu"},
             {"value": 3, "label": "trifft eher zu"}, {"value": 4, "label": "trifft voll zu"}]
    if no_judgement:
        scale.append({"label": "kann ich nicht beurteilen", "no_judgement": True})
    return Instrument.model_validate({
        "version": version, "title": "Test", "scale": scale,
        "dimensions": [
            {"key": "d1", "title": "Eins", "criteria": [
                {"key": "d1-k1", "title": "A", "statements": [{"key": "s1", "text": wording},
                                                              {"key": "s2", "text": "Wir tun B."}]},
                {"key": "d1-k2", "title": "B", "statements": [{"key": "s3", "text": "Wir tun C."},
                                                              {"key": "s4", "text": "Wir tun D."},
                                                              {"key": "s5", "text": "Wir tun E."}]}]},
            {"key": "d2", "title": "Zwei", "criteria": [
                {"key": "d2-k1", "title": "C", "statements": [{"key": "s6", "text": "Wir tun F."},
                                                              {"key": "s7", "text": "Wir tun G."}]}]}]})


# -- a hand-computed example per rule ---------------------------------------------------------------------

def test_a_statement_scores_its_value_on_the_scale_from_0_to_100():
    # v1: values 1..4 -> (v - 1) / 3 * 100
    assert [level_score(V1, lv) for lv in V1.scale] == pytest.approx([0.0, 100 / 3, 200 / 3, 100.0])
    assert level_score(V1, None) is None


def test_no_judgement_counts_as_not_answered_and_is_outside_min_and_max():
    inst = small()
    no_judgement = inst.scale[-1]
    assert level_score(inst, no_judgement) is None
    assert level_score(inst, level(inst, 4)) == 100.0  # max is 4, not the no-judgement level
    scores = score_answers(inst, {"s1": level(inst, 4), "s2": no_judgement})
    assert scores.statements["s2"] is None and scores.criteria["d1-k1"].answered == 1
    assert scores.criteria["d1-k1"].score == 100.0


def test_dimension_is_the_mean_of_its_answered_statements_not_of_its_criteria():
    answers = {"ang-01": level(V1, 4), "ang-02": level(V1, 4), "ang-03": level(V1, 4),
               "ang-04": level(V1, 1), "ang-05": level(V1, 2)}
    scores = score_answers(V1, answers)
    # statements 100, 100, 100, 0, 33.3: (300 + 33.3) / 5 = 66.7 (the mean of the criteria would be 58.3)
    assert scores.dimensions["ang"].score == pytest.approx((300 + 100 / 3) / 5)
    assert scores.dimensions["ang"].answered == 5 and scores.dimensions["ang"].total == 9
    assert scores.criteria["ang-k1"].score == 100.0
    assert scores.criteria["ang-k2"].score == pytest.approx((0 + 100 / 3) / 2)
    assert scores.criteria["ang-k3"].score is None  # nothing answered


def test_fewer_than_half_answered_is_not_meaningful_exactly_half_is():
    inst = small()
    # d1 has 5 statements: 2 answered is fewer than half
    two = score_answers(inst, {"s1": level(inst, 4), "s3": level(inst, 4)})
    assert two.dimensions["d1"].score is None and not two.dimensions["d1"].meaningful
    three = score_answers(inst, {"s1": level(inst, 4), "s3": level(inst, 4), "s4": level(inst, 1)})
    assert three.dimensions["d1"].meaningful and three.dimensions["d1"].score == pytest.approx(200 / 3)
    # d2 has 2 statements: one answered is exactly half
    half = score_answers(inst, {"s6": level(inst, 2)})
    assert half.dimensions["d2"].score == pytest.approx(100 / 3)
    # a criterion follows the same rule: d1-k2 (3 statements) with one answer shows no number
    assert three.criteria["d1-k2"].score == pytest.approx(50.0)
    assert two.criteria["d1-k2"].score is None


def test_potentials_are_the_five_lowest_answered_statements_ties_in_instrument_order():
    answers = {s.key: level(V1, 4) for s in V1.statements()}
    keys = [s.key for s in V1.statements()]
    for key in (keys[20], keys[3], keys[11], keys[7], keys[15], keys[2], keys[18]):
        answers[key] = level(V1, 2)   # seven ties at 33.3
    answers[keys[25]] = level(V1, 1)  # the lowest
    answers[keys[1]] = None           # not answered: never a potential
    scores = score_answers(V1, answers)
    assert scores.potentials == [keys[25], keys[2], keys[3], keys[7], keys[11]]


def test_a_statement_at_the_top_of_the_scale_is_no_potential():
    scores = score_answers(V1, {s.key: level(V1, 4) for s in V1.statements()} | {"ang-05": level(V1, 3)})
    assert scores.potentials == ["ang-05"]


def test_change_is_latest_minus_first_per_dimension_and_criterion():
    inst = small()
    first = score_answers(inst, {"s1": level(inst, 1), "s2": level(inst, 2), "s3": level(inst, 2),
                                 "s4": level(inst, 2), "s5": level(inst, 2), "s6": level(inst, 3)})
    latest = score_answers(inst, {"s1": level(inst, 4), "s2": level(inst, 2), "s3": level(inst, 3),
                                  "s4": level(inst, 3), "s5": level(inst, 2), "s6": level(inst, 3),
                                  "s7": level(inst, 4)})
    result = change(inst, first.statements, inst, latest.statements)
    # d1 first: (0 + 33.3*4) / 5 = 26.7; latest: (100 + 33.3 + 66.7 + 66.7 + 33.3) / 5 = 60 -> +33.3
    assert result.dimensions["d1"] == pytest.approx(60 - 400 / 15)
    assert result.criteria["d1-k1"] == pytest.approx((100 + 100 / 3) / 2 - (0 + 100 / 3) / 2)
    # d2: first 66.7 (one of two: meaningful), latest (66.7 + 100) / 2 = 83.3
    assert result.dimensions["d2"] == pytest.approx(500 / 6 - 200 / 3)
    assert result.dimensions["d1"] == pytest.approx(latest.dimensions["d1"].score - first.dimensions["d1"].score)


def test_change_across_versions_compares_only_statements_with_identical_key_and_wording():
    old, new = small("v1"), small("v2", wording="Wir tun A anders.")  # s1 reworded in v2
    first = score_answers(old, {"s1": level(old, 1), "s2": level(old, 1)})
    latest = score_answers(new, {"s1": level(new, 4), "s2": level(new, 4)})
    result = change(old, first.statements, new, latest.statements)
    assert result.compared["d1-k1"] == 1                # only s2
    assert result.criteria["d1-k1"] == pytest.approx(100.0)
    assert result.dimensions["d1"] is None                # 1 of 4 comparable statements answered: not meaningful
    assert result.criteria["d1-k2"] is None and result.dimensions["d2"] is None


# -- properties -------------------------------------------------------------------------------------------

INST = small()
KEYS = [s.key for s in INST.statements()]
choices = st.sampled_from([None, *INST.scale])  # no answer, each level, no judgement
answer_sets = st.fixed_dictionaries({key: choices for key in KEYS})


def numbers(scores):
    return ([s.score for s in scores.dimensions.values()] + [s.score for s in scores.criteria.values()]
            + list(scores.statements.values()))


@settings(max_examples=200, deadline=None)
@given(answer_sets)
def test_every_score_is_within_0_and_100(answers):
    for value in numbers(score_answers(INST, answers)):
        assert value is None or 0.0 <= value <= 100.0


@settings(max_examples=100, deadline=None)
@given(answer_sets, st.randoms(use_true_random=False))
def test_scores_do_not_depend_on_the_order_of_the_answers(answers, rnd):
    items = list(answers.items())
    rnd.shuffle(items)
    assert score_answers(INST, dict(items)) == score_answers(INST, answers)


@settings(max_examples=300, deadline=None)
@given(answer_sets, st.sampled_from(KEYS), st.data())
def test_no_score_falls_when_one_answer_rises(answers, key, data):
    current = answers[key]
    scored = [lv for lv in INST.scale if not lv.no_judgement]
    higher = [lv for lv in scored if current is not None and not current.no_judgement and lv.value > current.value]
    if not higher:
        return
    raised = dict(answers, **{key: data.draw(st.sampled_from(higher))})
    before, after = score_answers(INST, answers), score_answers(INST, raised)
    for old, new in zip(numbers(before), numbers(after)):
        assert (old is None) == (new is None)
        assert old is None or new >= old - 1e-9


@settings(max_examples=100, deadline=None)
@given(answer_sets)
def test_potentials_are_at_most_five_answered_statements_below_the_top(answers):
    scores = score_answers(INST, answers)
    assert len(scores.potentials) <= 5
    assert all(scores.statements[k] is not None and scores.statements[k] < 100 for k in scores.potentials)
    chosen = [scores.statements[k] for k in scores.potentials]
    left_out = [v for k, v in scores.statements.items() if v is not None and v < 100 and k not in scores.potentials]
    assert all(v >= max(chosen) for v in left_out) if chosen else not left_out


@settings(max_examples=100, deadline=None)
@given(answer_sets)
def test_an_analysis_compared_with_itself_changes_nothing(answers):
    scores = score_answers(INST, answers)
    result = change(INST, scores.statements, INST, scores.statements)
    for key, score in scores.dimensions.items():
        assert result.dimensions[key] == (None if score.score is None else 0.0)
