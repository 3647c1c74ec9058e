"""``mintqo-lms selfanalysis publish``: a new version of the instrument as quizzes beside the existing ones.

Why beside and not instead: attempts and answers belong to the questions they were given on. Replacing the v1
questions would change what finished analyses mean, so a new version (``selfanalysis/v2``) gets quizzes of its
own, placed in every regional course of the cohort next to each quiz of the curriculum:

* idnumber: the v1 quiz's with the version appended (``mintqo:regional_cycle:selbstanalyse-1-v2``; activity key
  ``selbstanalyse-1-v2``), questions ``mintqo:sa:v2:…``;
* the same section (Moodle appends it there, after the v1 quiz and its team page) and the same settings as the
  v1 quiz (one attempt, no grade, no exam review, the timetable's window, completion as the template says):
  sent like provisioning sends quizzes, through ``upsert_course_content`` batched across the courses;
* the v1 quizzes, their attempts and answers are never touched: nothing here writes to them.

Every published quiz is recorded in the store's ``activities`` table (``modname`` quiz), so ``sync`` reads its
answers like any other. A fingerprint of what was sent is kept per course in ``sync_state``
(``publish:<course>:<quiz>``): publishing the same again makes no write call; a changed timetable window is
sent again (the plugin updates the settings, keeps questions and attempts).

Not placed for a new version: the team page link ("Unsere Antworten im Team"). The plugin's team page computes
its 0–100 assessment from the answer's position in the scale and does not know a no-judgement answer yet, so it
would show "kann ich nicht beurteilen" as the highest rating.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from mintqo_lms.config import Config
from mintqo_lms.gcpause import cyclic_gc_paused
from mintqo_lms.instrument import quiz_intro, quiz_sections, to_moodle_xml
from mintqo_lms.keys import require_cohort
from mintqo_lms.moodle import Moodle
from mintqo_lms.moodle.errors import MintqoError
from mintqo_lms.provision import (Provisioner, content_calls, fingerprint, quiz_by_key,
                                  quiz_module, store_activities, store_answered)
from mintqo_lms.store import Store
from mintqo_lms.templates import Instrument, load_instrument

__all__ = ["PublishError", "PublishResult", "publish", "published_idnumber", "NEW_VERSION_INTRO"]

NEW_VERSION_INTRO = (
    "<p>Dies ist die neue Version der Selbstanalyse: dieselben Aussagen wie bisher, dazu die Antwort "
    "„kann ich nicht beurteilen“ für Aussagen, die Sie für Ihr Angebot nicht einschätzen können. Diese Antwort "
    "zählt nicht als niedrige Einschätzung, sondern als „nicht beantwortet“.</p>")


class PublishError(MintqoError):
    """An instrument cannot be published as asked (cohort not provisioned, the curriculum's own version …)."""


@dataclass
class PublishResult:
    cohort: str
    instrument: str
    quizzes: Counter = field(default_factory=Counter)    # created / updated / unchanged (Moodle's word)
    skipped: int = 0                                     # already published, nothing changed: no call
    published: list[str] = field(default_factory=list)   # "<course idnumber> <quiz idnumber>"
    calls: dict = field(default_factory=dict)

    def summary(self) -> str:
        written = ", ".join(f"{n} {status}" for status, n in sorted(self.quizzes.items())) or "none written"
        return (f"Published {self.instrument} in cohort {self.cohort}: {written}, {self.skipped} unchanged "
                f"without a call ({self.total_calls} web-service calls).")

    @property
    def total_calls(self) -> int:
        return int(sum(stats["calls"] for stats in self.calls.values()))


def published_idnumber(quiz_idnumber: str, instrument: Instrument) -> str:
    """``mintqo:regional_cycle:selbstanalyse-1`` + v2 -> ``mintqo:regional_cycle:selbstanalyse-1-v2``."""
    return f"{quiz_idnumber}-{instrument.version}"


@cyclic_gc_paused()
def publish(moodle: Moodle, store: Store, config: Config, cohort: str, instrument_ref: str, *,
            templates_root: str | None = None,
            progress: Callable[[str, int, int], None] | None = None) -> PublishResult:
    """Place ``instrument_ref`` as quizzes in every regional course of ``cohort`` (see the module docstring)."""
    require_cohort(store, cohort)
    provisioner = Provisioner(moodle, store, config, templates_root=templates_root, progress=progress)
    instrument = load_instrument(instrument_ref, provisioner.templates_root)
    stored = {row["idnumber"]: row for row in store.db["courses"].rows_where("cohort = ?", [cohort])}
    courses = [c for c in provisioner.desired_courses(cohort) if c.network_slug]
    missing = [c.idnumber for c in courses if not (stored.get(c.idnumber) or {}).get("moodle_id")]
    if not courses or missing:
        raise PublishError(f"cohort {cohort} has regional courses not in Moodle yet ({', '.join(missing) or 'none'}); "
                           f"run 'mintqo-lms provision --cohort {cohort}' first")

    result = PublishResult(cohort=cohort, instrument=instrument_ref)
    stats = moodle.client.stats
    snapshot = stats.as_dict()
    run_id = store.start_run("publish", cohort)
    try:
        _send(moodle, store, courses, stored, instrument, instrument_ref, result, progress)
    except Exception as exc:
        store.finish_run(run_id, status="failed", summary=dict(result.quizzes), calls=stats.delta(snapshot),
                         error=str(exc))
        raise
    result.calls = stats.delta(snapshot)
    store.finish_run(run_id, status="ok", summary={**result.quizzes, "skipped": result.skipped},
                     calls=result.calls)
    return result


def _payloads(course: Any, instrument: Instrument, instrument_ref: str, xml: str, intro: str,
              sections: list[Any]) -> list[dict[str, Any]]:
    """The new version's quiz beside each of the course's quizzes, as ``import_quiz`` takes it (``intro`` and
    ``sections`` are the instrument's, made once for all courses)."""
    payloads = []
    for quiz in course.content["quizzes"]:
        activity = course.curriculum.activity(quiz["idnumber"].rsplit(":", 1)[-1])
        if activity.instrument == instrument_ref:
            raise PublishError(f"{instrument_ref} is the curriculum's own instrument for "
                               f"{activity.key}: provision places it, publish is for a new version")
        payloads.append({
            "section": quiz["section"], "idnumber": published_idnumber(quiz["idnumber"], instrument),
            "name": f"{quiz['name']} (Version {instrument.version.lstrip('v')})",
            "intro": intro, "questionsxml": xml, "sections": [dict(s) for s in sections],
            "settings": dict(quiz["settings"]),
        })
    return payloads


def _send(moodle: Moodle, store: Store, courses: list[Any], stored: dict[str, Any], instrument: Instrument,
          instrument_ref: str, result: PublishResult, progress: Callable[[str, int, int], None] | None) -> None:
    """The quizzes not published yet (or changed since), batched across courses; each course's rows and
    fingerprints are stored once the call carrying its last entry answered."""
    todo: list[tuple[Any, list[tuple[dict[str, Any], str]]]] = []
    xml = to_moodle_xml(instrument)
    intro, sections = quiz_intro(instrument, NEW_VERSION_INTRO), quiz_sections(instrument)
    known = {(row["course_idnumber"], row["idnumber"]) for row in store.db.query(
        "SELECT course_idnumber, idnumber FROM activities WHERE modname = 'quiz'")}
    sent = {row["stream"]: row["cursor"] for row in store.db.query(   # the range keeps to the key's index
        "SELECT stream, cursor FROM sync_state WHERE stream >= ? AND stream < ?", [STREAM_PREFIX, STREAM_END])}
    for course in courses:
        pending = []
        for payload in _payloads(course, instrument, instrument_ref, xml, intro, sections):
            sending = fingerprint(quiz_by_key(payload))
            if (course.idnumber, payload["idnumber"]) in known and sent.get(_stream(course, payload)) == sending:
                result.skipped += 1
            else:
                pending.append((payload, sending))
        if pending:
            todo.append((course, pending))
    questionsets: dict[str, str] = {}
    entries = [{"courseid": stored[course.idnumber]["moodle_id"],
                "modules": [quiz_module(p, questionsets) for p, _ in pending]} for course, pending in todo]
    if progress:
        progress("Quizzes", 0, len(todo))
    done = 0

    def store_quizzes(completed: list[tuple[int, Any]]) -> None:
        nonlocal done
        now = int(time.time())
        with store.transaction():
            for index, answer in completed:
                course, pending = todo[index]
                placed = list(zip(pending, answer.quizzes))
                store_activities(store, course.idnumber, [
                    (quiz.idnumber, quiz.cmid, quiz.quizid, "quiz", payload["name"], payload["section"])
                    for (payload, _), quiz in placed])
                store.upsert_rows("sync_state", ("stream",), ("stream", "cursor", "updated_at"),
                                  [(_stream(course, payload), sending, now) for (payload, sending), _ in placed])
        for index, answer in completed:
            course = todo[index][0]
            for quiz in answer.quizzes:
                result.quizzes[quiz.status] += 1
                result.published.append(f"{course.idnumber} {quiz.idnumber}")
            done += 1
            if progress:
                progress("Quizzes", done, len(todo))

    store_answered(content_calls(moodle.plugin, entries, questionsets), store_quizzes)


STREAM_PREFIX, STREAM_END = "publish:", "publish;"   # ";" follows ":": every stream of publish lies between


def _stream(course: Any, payload: dict[str, Any]) -> str:
    return f"publish:{course.idnumber}:{payload['idnumber']}"
