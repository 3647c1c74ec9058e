"""Feedback inside Moodle: after a newly finished self-analysis, every member of the initiative reads it.

``sync`` stores the answers and computes each initiative's analysis (tables ``analyses`` and
``analysis_scores``, see :mod:`mintqo_lms.profile`). Then :func:`send_feedback` sends each member of the
initiative (everyone of the roster's initiative with a Moodle account, the submitter included) one German
Moodle message from the service user:

* per dimension the team's assessment as "Einschätzung 67 von 100", or "noch nicht aussagekräftig" when fewer
  than half of its statements were answered;
* the improvement potentials (the lowest-rated statements, three to five) in full wording;
* where at least five initiatives of the cohort have an analysis in the same quiz, the cohort's average per
  dimension beside the team's (an average of at least five meaningful assessments, never anything about
  another single initiative).

**Once per analysis and recipient, whatever happens.** ``feedback_messages`` holds one row per analysis
(``attemptid``) and person, written before the message goes out (:func:`mintqo_lms.messaging.send_recorded`):
``sent`` rows are done; ``failed`` rows (Moodle refused, answered 503, or was provably not reached) are tried
again by the next sync; a row left ``sending`` is a message whose answer was lost: it is reported as unknown
and sent again only when asked (``sync --resend-unknown``). Only the initiative's current analysis of a quiz
is fed back (a later finished attempt of the team replaces it and gets its own messages).
``feedback.messages = false`` turns all of this off.
"""

from __future__ import annotations

import datetime as dt
import html
import time
from dataclasses import dataclass, field
from typing import Any

from mintqo_lms.messaging import send_recorded
from mintqo_lms.moodle import Moodle
from mintqo_lms.programme import Member, load_cohort
from mintqo_lms.store import Store
from mintqo_lms.templates import Instrument, load_instrument
from mintqo_lms.timetable import TIMEZONE

__all__ = ["COHORT_MINIMUM", "FeedbackResult", "feedback_text", "send_feedback"]

COHORT_MINIMUM = 5   # the cohort's average is shown only when at least this many initiatives analysed


@dataclass
class FeedbackResult:
    cohort: str
    sent: list[str] = field(default_factory=list)                 # "email (analysis N)"
    already: int = 0                                              # sent by an earlier run
    failed: dict[str, str] = field(default_factory=dict)          # "email (analysis N)" -> why; retried next run
    unknown: list[str] = field(default_factory=list)              # answer lost: may have it, not re-sent
    without_account: list[str] = field(default_factory=list)
    analyses: int = 0                                             # analyses with a message sent in this run
    calls: int = 0
    stopped: str | None = None

    @property
    def ok(self) -> bool:
        return not self.failed and self.stopped is None

    def summary(self) -> str:
        messages = f"{len(self.sent)} feedback message{'' if len(self.sent) == 1 else 's'}"
        return (f"Sent {messages} for {self.analyses} self-analys{'is' if self.analyses == 1 else 'es'} "
                f"({self.already} sent before, {len(self.unknown)} unknown, {len(self.failed)} failed; "
                f"{self.calls} web-service calls).")


@dataclass
class _Analysis:
    row: dict[str, Any]
    initiative: str
    quiz_name: str
    dimensions: list[tuple[str, float | None, int, int]]   # title, score, answered, total
    potentials: list[str]
    averages: dict[str, float]                               # dimension title -> cohort average


def _format_score(score: float) -> str:
    return f"{int(round(score))} von 100"


def feedback_text(*, first_name: str, last_name: str, initiative: str, offer: str, quiz: str, finished: int,
                  dimensions: list[tuple[str, float | None, int, int]], potentials: list[str],
                  averages: dict[str, float]) -> str:
    """The German feedback message (HTML); everything from the roster and the templates is escaped."""
    e = lambda text: html.escape(str(text), quote=True)  # noqa: E731
    day = dt.datetime.fromtimestamp(finished, TIMEZONE).strftime("%d.%m.%Y")
    about = f" zu Ihrem Angebot „{e(offer)}“" if offer else ""
    lines = []
    for title, score, answered, total in dimensions:
        if score is None:
            text = (f"noch nicht aussagekräftig (erst {answered} von {total} Aussagen eingeschätzt)"
                    if answered else "noch nicht aussagekräftig (keine Aussage eingeschätzt)")
        else:
            text = f"Einschätzung {_format_score(score)}"
        if title in averages:
            text += f" – Durchschnitt aller Initiativen im Durchgang: {_format_score(averages[title])}"
        lines.append(f"<li><strong>{e(title)}</strong>: {text}</li>")
    parts = [
        f"<p>Guten Tag {e(first_name)} {e(last_name)},</p>",
        f"<p>Ihre Initiative {e(initiative)} hat am {day} die Selbstanalyse „{e(quiz)}“ abgeschlossen. "
        f"Hier sehen Sie, was Ihr Team{about} eingeschätzt hat.</p>",
        "<p><strong>Ihre Einschätzung je Bereich</strong> (0 bedeutet: trifft nirgends zu, 100: trifft überall "
        "voll zu; nicht eingeschätzte Aussagen zählen nicht mit):</p>",
        "<ul>" + "".join(lines) + "</ul>",
    ]
    if potentials:
        parts += ["<p><strong>Wo sich ein genauerer Blick lohnt:</strong> Diese Aussagen hat Ihr Team am "
                  "niedrigsten eingeschätzt.</p>",
                  "<ol>" + "".join(f"<li>{e(text)}</li>" for text in potentials) + "</ol>"]
    parts.append("<p>Alle Antworten Ihres Teams finden Sie im Kurs Ihres Netzwerks. Besprechen Sie die "
                 "Einschätzung gemeinsam – sie ist Ihr eigener Blick auf Ihr Angebot, keine Bewertung von außen.</p>")
    return "".join(parts)


def send_feedback(moodle: Moodle, store: Store, cohort: str, *, templates_root: str | None = None,
                  resend_unknown: bool = False) -> FeedbackResult:
    """Send the feedback of every current analysis of ``cohort`` to each member who has not had it (see the
    module docstring). ``resend_unknown`` sends again the messages whose answer was lost."""
    roster = load_cohort(store, cohort)
    result = FeedbackResult(cohort=cohort)
    analyses = list(store.db.query(
        "SELECT * FROM analyses WHERE cohort = ? AND current = 1 ORDER BY timefinish, attemptid", [cohort]))
    if not analyses:
        return result
    members: dict[tuple[str, str], list[Member]] = {}
    for member in roster.by_role("initiative"):
        members.setdefault((member.network_slug or "", member.initiative_slug or ""), []).append(member)
    records = {(r["attemptid"], r["person_id"]): r
               for r in store.db["feedback_messages"].rows_where("cohort = ?", [cohort])}
    instruments: dict[str, Instrument] = {}

    stats = moodle.client.stats
    before = stats.total_calls
    for analysis in analyses:
        todo: list[Member] = []
        for member in sorted(members.get((analysis["network_slug"], analysis["initiative_slug"]), []),
                             key=lambda m: m.email):
            name = f"{member.email} (analysis {analysis['attemptid']})"
            status = (records.get((analysis["attemptid"], member.person_id)) or {}).get("status")
            if member.moodle_user_id is None:
                result.without_account.append(name)
            elif status == "sent":
                result.already += 1
            elif status == "sending" and not resend_unknown:
                result.unknown.append(name)
            else:   # new, failed before, or unknown and asked to send again
                todo.append(member)
        if not todo:
            continue
        version = analysis["instrument"]
        if version not in instruments:
            instruments[version] = load_instrument(f"selfanalysis/{version}", templates_root)
        content = _analysis(store, analysis, instruments[version], roster.initiatives)
        sent_any = False
        for member in todo:
            name = f"{member.email} (analysis {analysis['attemptid']})"
            record = records.get((analysis["attemptid"], member.person_id)) or {}
            attempt = int(record.get("attempts") or 0) + 1
            text = feedback_text(first_name=member.first_name, last_name=member.last_name,
                                 initiative=content.initiative, offer=analysis.get("offer") or "",
                                 quiz=content.quiz_name, finished=int(analysis["timefinish"] or 0),
                                 dimensions=content.dimensions, potentials=content.potentials,
                                 averages=content.averages)
            outcome = send_recorded(moodle, store, "feedback_messages", ("attemptid", "person_id"), {
                "attemptid": analysis["attemptid"], "person_id": member.person_id, "cohort": cohort,
                "network_slug": analysis["network_slug"], "initiative_slug": analysis["initiative_slug"],
                "userid": member.moodle_user_id, "attempts": attempt,
                "created_at": record.get("created_at") or int(time.time())},
                touserid=member.moodle_user_id or 0, text=text,
                clientmsgid=f"mintqo-feedback-{analysis['attemptid']}-{member.person_id}-{attempt}")
            if outcome.status == "sent":
                result.sent.append(name)
                sent_any = True
            elif outcome.status == "sending":
                result.unknown.append(name)
            else:
                result.failed[name] = outcome.error or "unknown"
            if outcome.stop:
                result.stopped = outcome.stop
                break
        result.analyses += int(sent_any)
        if result.stopped:
            break
    result.calls = stats.total_calls - before
    return result


def _analysis(store: Store, analysis: dict[str, Any], instrument: Instrument,
              initiatives: dict[tuple[str, str], dict]) -> _Analysis:
    """What the message says about one analysis: its dimension scores, potentials and the cohort's averages."""
    scores = {(r["level"], r["key"]): r for r in store.db["analysis_scores"].rows_where(
        "attemptid = ?", [analysis["attemptid"]])}
    dimensions = []
    for dimension in instrument.dimensions:
        row = scores.get(("dimension", dimension.key)) or {}
        meaningful = bool(row.get("meaningful")) and row.get("score") is not None
        total = int(row.get("total") or len(dimension.statements()))
        dimensions.append((dimension.title, float(row["score"]) if meaningful else None,
                           int(row.get("answered") or 0), total))
    texts = {s.key: s.text for s in instrument.statements()}
    ranked = sorted((r for (level, _), r in scores.items() if level == "statement" and r.get("potential_rank")),
                    key=lambda r: r["potential_rank"])
    potentials = [texts[r["key"]] for r in ranked if r["key"] in texts]
    quiz = next(store.db.query("SELECT name FROM activities WHERE cmid = ?", [analysis["cmid"]]), None)
    initiative = initiatives.get((analysis["network_slug"], analysis["initiative_slug"]), {}).get("name") \
        or analysis["initiative_slug"]
    return _Analysis(row=analysis, initiative=initiative, quiz_name=quiz["name"] if quiz else analysis["quiz"],
                     dimensions=dimensions, potentials=potentials,
                     averages=_cohort_averages(store, analysis, instrument))


def _cohort_averages(store: Store, analysis: dict[str, Any], instrument: Instrument) -> dict[str, float]:
    """Per dimension title, the mean of the meaningful assessments of the cohort's current analyses in the same
    quiz, when at least :data:`COHORT_MINIMUM` initiatives analysed there and at least as many assessments are
    meaningful (else nothing: an average of two would tell about single initiatives)."""
    rows = list(store.db.query(
        "SELECT a.network_slug, a.initiative_slug, s.key, s.score, s.meaningful FROM analyses a "
        "JOIN analysis_scores s ON s.attemptid = a.attemptid AND s.level = 'dimension' "
        "WHERE a.cohort = ? AND a.quiz = ? AND a.instrument = ? AND a.current = 1",
        [analysis["cohort"], analysis["quiz"], analysis["instrument"]]))
    if len({(r["network_slug"], r["initiative_slug"]) for r in rows}) < COHORT_MINIMUM:
        return {}
    averages: dict[str, float] = {}
    for dimension in instrument.dimensions:
        values = [float(r["score"]) for r in rows
                  if r["key"] == dimension.key and r["meaningful"] and r["score"] is not None]
        if len(values) >= COHORT_MINIMUM:
            averages[dimension.title] = sum(values) / len(values)
    return averages
