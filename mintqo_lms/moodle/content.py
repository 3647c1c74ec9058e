"""Chunking for ``local_mintqo_upsert_course_content``: the content of many courses in few calls.

Why a plan of its own: one call carries whole courses (sections, modules in order, completion criteria, events)
and the question sets their quizzes use. A call stays within MAX_CONTENT_COURSES entries, MAX_CONTENT_QUIZZES
quizzes and the client's form-field budget (PHP's max_input_vars cuts silently). A course too big for one call is
split into entries of the same course: sections first, modules in their order, the completion criteria and the
events in its last entry (the criteria name modules that must exist by then). Each call carries only the question
sets its own quizzes use.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from mintqo_lms.moodle.encoding import flatten
from mintqo_lms.moodle.errors import RequestTooLargeError

MAX_CONTENT_COURSES = 8
MAX_CONTENT_QUIZZES = 8
QUESTIONSET_FIELDS = 2   # questionsets[i][key], questionsets[i][questionsxml]


@dataclass
class Piece:
    """One entry of a call: (a part of) the course content of request entry ``index``."""

    index: int
    entry: dict[str, Any]
    last: bool = False     # the course's content is complete in Moodle once this piece's call answered

    @cached_property
    def sets(self) -> set[str]:
        return {m["quiz"]["questionset"] for m in self.entry.get("modules", []) if m.get("quiz")}

    @cached_property
    def quizzes(self) -> int:
        return sum(1 for m in self.entry.get("modules", []) if m.get("quiz"))

    @cached_property
    def fields(self) -> int:   # an entry is never changed once in a piece: counted once
        return len(flatten(self.entry, "courses[0]"))


@dataclass
class ContentCall:
    pieces: list[Piece] = field(default_factory=list)
    sets: set[str] = field(default_factory=set)
    fields: int = 0
    quizzes: int = 0

    def params(self, questionsets: Mapping[str, str]) -> dict[str, Any]:
        return {"questionsets": [{"key": key, "questionsxml": questionsets[key]} for key in sorted(self.sets)],
                "courses": [piece.entry for piece in self.pieces]}


class _Limits:
    def __init__(self, budget: int, max_courses: int, max_quizzes: int):
        self.budget, self.max_courses, self.max_quizzes = budget, max_courses, max_quizzes

    def alone(self, piece: Piece) -> bool:
        """Whether ``piece`` fits into an empty call."""
        return (piece.fields + QUESTIONSET_FIELDS * len(piece.sets) <= self.budget
                and piece.quizzes <= self.max_quizzes)

    def joins(self, call: ContentCall, piece: Piece) -> bool:
        new_sets = piece.sets - call.sets
        return (len(call.pieces) < self.max_courses and call.quizzes + piece.quizzes <= self.max_quizzes
                and call.fields + piece.fields + QUESTIONSET_FIELDS * len(new_sets) <= self.budget)


def plan_calls(courses: Sequence[Mapping[str, Any]], budget: int, *, max_courses: int = MAX_CONTENT_COURSES,
               max_quizzes: int = MAX_CONTENT_QUIZZES) -> list[ContentCall]:
    """The calls that send ``courses`` (request entries) in order; ``budget`` = form fields a call may use."""
    limits = _Limits(budget, max_courses, max_quizzes)
    calls: list[ContentCall] = []
    for index, course in enumerate(courses):
        for piece in _split(index, dict(course), limits):
            if not calls or not limits.joins(calls[-1], piece):
                calls.append(ContentCall())
            call = calls[-1]
            call.fields += piece.fields + QUESTIONSET_FIELDS * len(piece.sets - call.sets)
            call.sets |= piece.sets
            call.quizzes += piece.quizzes
            call.pieces.append(piece)
    return calls


def _split(index: int, course: dict[str, Any], limits: _Limits) -> list[Piece]:
    """``course`` as one piece, or as several of the same course when it does not fit into one call."""
    whole = Piece(index, course, last=True)
    if limits.alone(whole):
        return [whole]
    head = {"courseid": course["courseid"]}
    pieces = [Piece(index, {**head, "sections": []})]
    for kind in ("sections", "modules"):
        for item in course.get(kind, []):
            _append(pieces, head, kind, item, limits)
    tail = {k: course[k] for k in ("completioncriteria", "events") if course.get(k)}
    with_tail = Piece(index, {**pieces[-1].entry, **tail})
    if limits.alone(with_tail):
        pieces[-1] = with_tail
    else:
        pieces.extend(_tail_pieces(index, head, tail, limits))
    pieces = [p for p in pieces if len(p.entry) > 1 and any(p.entry[k] for k in p.entry if k != "courseid")]
    pieces[-1].last = True
    return pieces


def _tail_pieces(index: int, head: dict[str, Any], tail: dict[str, Any], limits: _Limits) -> list[Piece]:
    """Criteria and events after the modules: events spread over as many pieces as they need, the criteria
    (one list: course completion is set to exactly it) in the last."""
    pieces = [Piece(index, dict(head))]
    for event in tail.get("events", []):
        _append(pieces, head, "events", event, limits)
    if tail.get("completioncriteria"):
        last = Piece(index, {**pieces[-1].entry, "completioncriteria": tail["completioncriteria"]})
        if not limits.alone(last):
            last = Piece(index, {**head, "completioncriteria": tail["completioncriteria"]})
            _require(limits, last, "completioncriteria")
            pieces.append(last)
        else:
            pieces[-1] = last
    return pieces


def _append(pieces: list[Piece], head: dict[str, Any], kind: str, item: Any, limits: _Limits) -> None:
    """``item`` onto the last piece's ``kind`` list, or into a new piece when that would not fit."""
    last = pieces[-1]
    grown = Piece(last.index, {**last.entry, kind: [*last.entry.get(kind, []), item]})
    if limits.alone(grown):
        pieces[-1] = grown
        return
    grown = Piece(last.index, {**head, kind: [item]})
    _require(limits, grown, kind)
    pieces.append(grown)


def _require(limits: _Limits, piece: Piece, kind: str) -> None:
    if not limits.alone(piece):
        raise RequestTooLargeError(f"course {piece.entry['courseid']}: one item of {kind} needs "
                                   f"{piece.fields} form fields; the limit leaves {limits.budget}")
