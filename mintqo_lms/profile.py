"""Self-analysis results: whose analysis it is, what sync stores, and the profile people read.

**One team, one analysis** (the rule of local_mintqo, ``moodle/local/mintqo/README.md``, mirrored by
``mintqo_lms/sandbox/team.py``): an initiative is a group of its regional course; its analysis in a quiz is the
latest finished attempt (latest ``timefinish``, then highest attempt id) by any member of its group (the
roster's members of the initiative, ``memberships`` role ``initiative``, not removed). The first analysis is the
one in the quiz ``selbstanalyse-1``, the follow-up the one in ``selbstanalyse-2``.

**Tables** (migration 8, written by ``sync`` in the transaction that stores the answers, never recomputed by a
report):

- ``analyses`` — primary key ``(cohort, network_slug, initiative_slug, quiz, attemptid)``, ``attemptid`` alone
  is unique too. ``quiz`` is the activity key (``selbstanalyse-1``), ``kind`` ``first`` or ``followup``,
  ``instrument`` the version (``v1``) the answers belong to, ``cmid``, ``userid`` / ``person_id`` (who
  submitted), ``timefinish``, ``offer`` (the initiative's offer when scored), ``answered`` / ``statements``,
  ``computed_at``, and ``current``: 1 for the initiative's analysis in that quiz now, 0 for one a later
  attempt of the team replaced (kept, never deleted).
- ``analysis_scores`` — ``(attemptid, level, key)`` with ``level`` ``dimension``, ``criterion`` or
  ``statement``; ``score`` 0–100 or NULL (not answered / not meaningful), ``answered``, ``total``,
  ``meaningful`` (0 for a dimension with fewer than half of its statements answered) and, for statements,
  ``potential_rank`` (1–5: the improvement potentials, NULL otherwise).
- ``analysis_changes`` — ``(cohort, network_slug, initiative_slug, level, key)``: ``change`` = latest minus
  first analysis (NULL when not comparable), ``first_attemptid``, ``latest_attemptid``, ``compared``
  (statements compared).

**For the feedback messages** (the other half of step 6): :func:`new_analyses` returns the cohort's current
analyses that have no row in a table ``feedback_messages`` with the same ``attemptid`` (all current analyses
when that table does not exist yet); an analysis is named by its ``attemptid``.
"""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from mintqo_lms.instrument import InvalidQuestionIdnumber, parse_question_idnumber, scale_level_for_fraction
from mintqo_lms.keys import require_cohort
from mintqo_lms.moodle.errors import MintqoError
from mintqo_lms.scoring import AnalysisScores, change, score_answers
from mintqo_lms.store import Store
from mintqo_lms.templates import Instrument, ScaleLevel, load_instrument

__all__ = ["Analysis", "FIRST_QUIZ", "FOLLOWUP_QUIZ", "Instruments", "PROFILE_HEADER", "ProfileError",
           "analysis_kind", "backfill_stream", "current_analyses", "new_analyses", "profile", "profile_csv",
           "profile_rows", "profile_table", "update_analyses"]

FIRST_QUIZ = "selbstanalyse-1"
FOLLOWUP_QUIZ = "selbstanalyse-2"
_KIND_LABELS = {"first": "Erstanalyse", "followup": "Folgeanalyse"}
_CHUNK = 500  # SQLite host parameters per query, well below every build's limit
# Columns of the rows scoring writes, in the order the bulk writes give their values.
ANALYSIS_KEY = ("cohort", "network_slug", "initiative_slug", "quiz", "attemptid")
ANALYSIS_COLUMNS = (*ANALYSIS_KEY, "kind", "instrument", "cmid", "userid", "person_id", "timefinish", "offer",
                    "current", "answered", "statements", "computed_at")
SCORE_COLUMNS = ("attemptid", "level", "key", "score", "answered", "total", "meaningful", "potential_rank")
Answer = tuple[int, str, int | None, float | None]   # (attemptid, question idnumber, answer position, fraction)
CHANGE_COLUMNS = ("cohort", "network_slug", "initiative_slug", "level", "key", "first_attemptid", "latest_attemptid",
                  "change", "compared")


class ProfileError(MintqoError):
    """A profile cannot be shown as asked (unknown network or initiative)."""


def analysis_kind(quiz: str) -> str | None:
    """``selbstanalyse-1`` (and a later version's ``selbstanalyse-1-v2``) is the first analysis,
    ``selbstanalyse-2`` (``selbstanalyse-2-v2``) the follow-up; any other quiz is neither (None)."""
    for kind, key in (("first", FIRST_QUIZ), ("followup", FOLLOWUP_QUIZ)):
        if quiz == key or quiz.startswith(key + "-"):
            return kind
    return None


def backfill_stream(cohort: str) -> str:
    """The ``sync_state`` row that says the cohort's answers synced before scores existed have been scored."""
    return f"analyses:{cohort}"


class Instruments:
    """The self-analysis instruments by version, each loaded once (a sync keeps one for its whole run)."""

    def __init__(self, templates_root: Any = None) -> None:
        self.root = templates_root
        self.loaded: dict[str, Instrument] = {}
        self.keys: dict[str, frozenset[str]] = {}
        self.questions: dict[str, tuple[str, str] | None] = {}

    def __call__(self, version: str) -> Instrument:
        if version not in self.loaded:
            self.loaded[version] = load_instrument(f"selfanalysis/{version}", self.root)
            self.keys[version] = frozenset(s.key for s in self.loaded[version].statements())
        return self.loaded[version]

    def statement_keys(self, version: str) -> frozenset[str]:
        self(version)
        return self.keys[version]

    def question(self, idnumber: str) -> tuple[str, str] | None:
        """(version, statement key) of a question idnumber; None for a question that is not ours."""
        if idnumber not in self.questions:
            try:
                self.questions[idnumber] = parse_question_idnumber(idnumber)
            except InvalidQuestionIdnumber:
                self.questions[idnumber] = None
        return self.questions[idnumber]


# -- computing (inside sync's transaction) ----------------------------------------------------------------

def update_analyses(store: Store, cohort: str, attemptids: Iterable[int], *, templates_root: Any = None,
                    instruments: Instruments | None = None, answers: dict[int, list[Answer]] | None = None
                    ) -> list[int]:
    """Re-apply the team rule for every initiative and quiz that one of ``attemptids`` belongs to, score the
    team's analysis and its change, and store them. Idempotent; joins the caller's transaction (``sync``
    calls it in the one that stores the answers). Also scores, once per cohort, every answer stored before
    scores existed. Returns the attempt ids of the analyses (re)scored. ``answers``: the stored answers of
    attempts the caller has at hand (sync: the page it just stored), so they are not read back."""
    ids = sorted(set(attemptids))
    instruments = instruments or Instruments(templates_root)
    with store.transaction():
        if store.get_cursor(backfill_stream(cohort), "") != "1":
            ids = sorted(set(ids) | {r["attemptid"] for r in store.db.query(
                "SELECT q.attemptid FROM quiz_attempts q JOIN activities a ON a.cmid = q.cmid "
                "JOIN courses c ON c.idnumber = a.course_idnumber WHERE c.cohort = ?", [cohort])})
            store.set_cursor(backfill_stream(cohort), "1")
        teams = {(r["network_slug"], r["initiative_slug"], r["cmid"], r["idnumber"]) for r in store.query_in(
            "SELECT DISTINCT m.network_slug, m.initiative_slug, q.cmid, a.idnumber FROM quiz_attempts q "
            "JOIN activities a ON a.cmid = q.cmid "
            "JOIN courses c ON c.idnumber = a.course_idnumber AND c.cohort = ? "
            "JOIN people p ON p.moodle_user_id = q.userid "
            "JOIN memberships m ON m.person_id = p.id AND m.cohort = c.cohort AND m.role = 'initiative' "
            "AND m.removed_at IS NULL AND m.network_slug = c.network_slug "
            "WHERE q.attemptid IN ({})", ids, [cohort])}
        statements = _score_teams(store, cohort, sorted(teams), instruments, answers or {})
        scored = list(statements)
        _update_changes(store, cohort, sorted({(t[0], t[1]) for t in teams}), instruments, statements)
    return scored


def _offers(store: Store, cohort: str, networks: list[str]) -> dict[tuple[str, str], str | None]:
    """(network, initiative) -> offer, for the initiatives of these networks (sync scores page by page: a page
    touches a few networks, not the cohort's thousands of initiatives)."""
    return {(r["network_slug"], r["slug"]): r["offer"] for r in store.query_in(
        "SELECT network_slug, slug, offer FROM initiatives WHERE cohort = ? AND network_slug IN ({})", networks,
        [cohort])}


def _score_teams(store: Store, cohort: str, teams: list[tuple[str, str, int, str]], instruments: Instruments,
                 known: dict[int, list[Answer]]) -> dict[int, dict[str, float | None]]:
    """Each team's analysis in its quiz: its latest finished attempt (timefinish, then attempt id) by any member,
    scored and stored. Returns the statement scores of each analysis scored (the change needs no re-read).
    A query per table for all the teams: a page of answers brings hundreds of them."""
    latest: dict[tuple[str, str, int], dict[str, Any]] = {}
    for row in store.query_in(
            "SELECT m.network_slug, m.initiative_slug, q.cmid, q.attemptid, q.userid, q.timefinish, "
            "p.id AS person_id FROM quiz_attempts q JOIN people p ON p.moodle_user_id = q.userid "
            "JOIN memberships m ON m.person_id = p.id AND m.cohort = ? AND m.role = 'initiative' "
            "AND m.removed_at IS NULL WHERE q.timefinish > 0 AND q.cmid IN ({})", sorted({t[2] for t in teams}),
            [cohort]):
        team = (row["network_slug"], row["initiative_slug"], row["cmid"])
        if team not in latest or (row["timefinish"], row["attemptid"]) > (latest[team]["timefinish"],
                                                                          latest[team]["attemptid"]):
            latest[team] = row
    chosen = [(t, latest[t[:3]]) for t in teams if t[:3] in latest]
    answers = _answers(store, sorted({attempt["attemptid"] for _, attempt in chosen}), instruments, known)
    offers = _offers(store, cohort, sorted({t[0] for t, _ in chosen}))
    statements: dict[int, dict[str, float | None]] = {}
    stale: list[tuple[Any, ...]] = []
    analyses: list[tuple[Any, ...]] = []
    scores: list[tuple[Any, ...]] = []
    now = int(time.time())
    for (network, initiative, cmid, activity), attempt in chosen:
        version, chosen_levels = answers.get(attempt["attemptid"], (None, {}))
        if version is None:
            continue  # no statement of any instrument we know: not a self-analysis
        result = score_answers(instruments(version), chosen_levels)
        quiz = activity.rsplit(":", 1)[-1]
        stale.append((cohort, network, initiative, cmid, attempt["attemptid"]))
        analyses.append((cohort, network, initiative, quiz, attempt["attemptid"], analysis_kind(quiz), version, cmid,
                         attempt["userid"], attempt["person_id"], attempt["timefinish"],
                         offers.get((network, initiative)), 1, result.answered, len(result.statements), now))
        if attempt["attemptid"] not in statements:  # one attempt, one set of scores
            scores += _score_rows(attempt["attemptid"], result)
        statements[int(attempt["attemptid"])] = result.statements
    conn = store.db.conn
    conn.executemany("UPDATE analyses SET current = 0 WHERE cohort = ? AND network_slug = ? AND "
                     "initiative_slug = ? AND cmid = ? AND attemptid != ?", stale)
    store.upsert_rows("analyses", ANALYSIS_KEY, ANALYSIS_COLUMNS, analyses)
    conn.executemany("DELETE FROM analysis_scores WHERE attemptid = ?", [(a,) for a in statements])
    store.insert_rows("analysis_scores", SCORE_COLUMNS, scores)
    return statements


def _answers(store: Store, attemptids: list[int], instruments: Instruments,
             known: dict[int, list[Answer]] | None = None) -> dict[int, tuple[str | None, dict[str, ScaleLevel | None]]]:
    """Per attempt its instrument version and chosen level per statement. The level is the answer's position in
    the quiz (the instrument's scale order), else the one its fraction names; description items and questions
    that are not ours are skipped. ``known``: answers the caller has at hand (the page just stored), in slot
    order; the others are read from the store."""
    known = known or {}
    rows: list[Answer] = [answer for a in attemptids if a in known for answer in known[a]]
    rows += [(r["attemptid"], r["question_idnumber"], r["answer_position"], r["fraction"]) for r in store.query_in(
        "SELECT attemptid, question_idnumber, answer_position, fraction FROM responses "
        "WHERE attemptid IN ({}) ORDER BY attemptid, slot", [a for a in attemptids if a not in known])]
    out: dict[int, tuple[str | None, dict[str, ScaleLevel | None]]] = {}
    for attemptid, idnumber, position, fraction in rows:
        parsed = instruments.question(idnumber)
        if parsed is None:
            continue
        row_version, key = parsed
        version, answers = out.setdefault(attemptid, (None, {}))
        if version not in (None, row_version):
            continue  # one attempt, one instrument: a stray question of another version is not scored
        if key not in instruments.statement_keys(row_version):
            continue  # a criterion's description item
        instrument = instruments(row_version)
        out[attemptid] = (row_version, answers)
        level = None
        if 1 <= (position or 0) <= len(instrument.scale):
            level = instrument.scale[position - 1]
        elif fraction is not None:
            try:
                level = scale_level_for_fraction(instrument, fraction)
            except ValueError:
                level = None
        answers[key] = level
    return out


def _score_rows(attemptid: int, scores: AnalysisScores) -> list[tuple[Any, ...]]:
    """The rows of ``analysis_scores`` (values in :data:`SCORE_COLUMNS` order): dimensions, criteria, statements."""
    rows: list[tuple[Any, ...]] = []
    for level, table in (("dimension", scores.dimensions), ("criterion", scores.criteria)):
        rows += [(attemptid, level, key, s.score, s.answered, s.total, int(s.meaningful), None)
                 for key, s in table.items()]
    ranks = {key: rank for rank, key in enumerate(scores.potentials, start=1)}
    rows += [(attemptid, "statement", key, score, int(score is not None), 1, int(score is not None), ranks.get(key))
             for key, score in scores.statements.items()]
    return rows


def _update_changes(store: Store, cohort: str, initiatives: list[tuple[str, str]], instruments: Instruments,
                    scored: dict[int, dict[str, float | None]]) -> None:
    """Per initiative: latest follow-up minus first analysis of the same initiative and offer (a first analysis
    in the follow-up's instrument version preferred; across versions only identical statements count). A query
    per table for all the initiatives."""
    wanted = set(initiatives)
    store.db.conn.executemany("DELETE FROM analysis_changes WHERE cohort = ? AND network_slug = ? AND "
                              "initiative_slug = ?", [(cohort, *i) for i in initiatives])
    # `current` filtered here: with it in the WHERE, SQLite picks the (cohort, current) index and reads the
    # whole cohort's analyses (3.6 s of scoring at 16x the programme); by network it uses the primary key.
    current: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for a in store.query_in("SELECT * FROM analyses WHERE cohort = ? AND network_slug IN ({})",
                            sorted({i[0] for i in initiatives}), [cohort]):
        if a["current"] == 1 and (a["network_slug"], a["initiative_slug"]) in wanted:
            current.setdefault((a["network_slug"], a["initiative_slug"]), []).append(a)
    pairs = {i: pair for i in initiatives if (pair := _compared_pair(current.get(i, [])))}
    _load_statement_scores(store, scored, [a["attemptid"] for pair in pairs.values() for a in pair])
    rows: list[tuple[Any, ...]] = []
    for (network, initiative), (first, latest) in pairs.items():
        result = change(instruments(first["instrument"]), scored[first["attemptid"]],
                        instruments(latest["instrument"]), scored[latest["attemptid"]])
        rows += [(cohort, network, initiative, level, key, first["attemptid"], latest["attemptid"], value,
                  result.compared[key])
                 for level, table in (("dimension", result.dimensions), ("criterion", result.criteria))
                 for key, value in table.items()]
    store.insert_rows("analysis_changes", CHANGE_COLUMNS, rows)


def _compared_pair(current: list[dict[str, Any]]) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """(first, latest) analysis of an initiative to compare, or None (no follow-up yet, or another offer)."""
    firsts = [a for a in current if a["kind"] == "first"]
    followups = [a for a in current if a["kind"] == "followup"]
    if not firsts or not followups:
        return None
    latest = max(followups, key=lambda a: (a["timefinish"], a["attemptid"]))
    first = min([a for a in firsts if a["instrument"] == latest["instrument"]] or firsts,
                key=lambda a: (a["timefinish"], a["attemptid"]))
    if (first["offer"] or "") != (latest["offer"] or ""):
        return None  # another offer: nothing to compare
    return first, latest


def _load_statement_scores(store: Store, scored: dict[int, dict[str, float | None]], attemptids: list[int]) -> None:
    """Add the stored statement scores of the attempts not scored now to ``scored`` (for the comparison)."""
    missing = sorted({a for a in attemptids if a not in scored})
    for a in missing:
        scored[a] = {}
    for r in store.query_in("SELECT attemptid, key, score FROM analysis_scores WHERE level = 'statement' "
                            "AND attemptid IN ({}) ORDER BY rowid", missing):
        scored[r["attemptid"]][r["key"]] = r["score"]


# -- reading ----------------------------------------------------------------------------------------------

@dataclass
class Analysis:
    """One stored analysis of an initiative, as reports and feedback messages read it."""

    cohort: str
    network_slug: str
    initiative_slug: str
    quiz: str
    kind: str | None
    attemptid: int
    instrument: str
    timefinish: int
    offer: str | None
    userid: int
    dimensions: dict[str, float | None] = field(default_factory=dict)
    criteria: dict[str, float | None] = field(default_factory=dict)
    potentials: list[str] = field(default_factory=list)


def _analyses(store: Store, where: str, params: list[Any]) -> list[Analysis]:
    result = []
    for row in store.db.query(f"SELECT * FROM analyses WHERE {where} "
                              "ORDER BY network_slug, initiative_slug, timefinish, attemptid", params):
        analysis = Analysis(row["cohort"], row["network_slug"], row["initiative_slug"], row["quiz"], row["kind"],
                            row["attemptid"], row["instrument"], row["timefinish"], row["offer"], row["userid"])
        potentials = []
        for score in store.db.query("SELECT level, key, score, potential_rank FROM analysis_scores "
                                    "WHERE attemptid = ? ORDER BY rowid", [row["attemptid"]]):
            if score["level"] == "dimension":
                analysis.dimensions[score["key"]] = score["score"]
            elif score["level"] == "criterion":
                analysis.criteria[score["key"]] = score["score"]
            elif score["potential_rank"] is not None:
                potentials.append((score["potential_rank"], score["key"]))
        analysis.potentials = [key for _, key in sorted(potentials)]
        result.append(analysis)
    return result


def current_analyses(store: Store, cohort: str) -> list[Analysis]:
    """Every initiative's analysis per quiz in the cohort now (replaced ones left out)."""
    return _analyses(store, "cohort = ? AND current = 1", [cohort])


def new_analyses(store: Store, cohort: str) -> list[Analysis]:
    """The current analyses no feedback message was recorded for yet (no ``feedback_messages`` row with their
    ``attemptid``; all current analyses while that table does not exist)."""
    if "feedback_messages" not in store.db.table_names():
        return current_analyses(store, cohort)
    return _analyses(store, "cohort = ? AND current = 1 AND attemptid NOT IN "
                            "(SELECT attemptid FROM feedback_messages WHERE attemptid IS NOT NULL)", [cohort])


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def _resolve(store: Store, cohort: str, network: str | None, initiative: str | None) -> list[dict[str, Any]]:
    """The cohort's initiatives, narrowed to ``network`` / ``initiative`` (slug or full name); an unknown one is
    an error naming those that exist."""
    networks = list(store.db.query("SELECT slug, name FROM networks WHERE cohort = ? ORDER BY slug", [cohort]))
    initiatives = list(store.db.query(
        "SELECT i.network_slug, i.slug, i.name, i.offer, n.name AS network_name FROM initiatives i "
        "LEFT JOIN networks n ON n.cohort = i.cohort AND n.slug = i.network_slug "
        "WHERE i.cohort = ? ORDER BY i.network_slug, i.slug", [cohort]))
    if network is not None:
        match = [n["slug"] for n in networks if network in (n["slug"], n["name"])]
        if not match:
            raise ProfileError(f"unknown network {network!r} in cohort {cohort} (networks: "
                               f"{', '.join(n['slug'] for n in networks) or 'none'})")
        initiatives = [i for i in initiatives if i["network_slug"] == match[0]]
    if initiative is not None:
        chosen = [i for i in initiatives if initiative in (i["slug"], i["name"])]
        if not chosen:
            where = f"network {initiatives[0]['network_slug']}" if network is not None and initiatives else \
                f"cohort {cohort}"
            names = ", ".join(sorted({i["slug"] for i in initiatives})) or "none"
            raise ProfileError(f"unknown initiative {initiative!r} in {where} (initiatives: {names})")
        if len({i["network_slug"] for i in chosen}) > 1:
            raise ProfileError(f"initiative {initiative!r} exists in several networks "
                               f"({', '.join(i['network_slug'] for i in chosen)}); add --network")
        initiatives = chosen
    return initiatives


def profile(store: Store, cohort: str, *, network: str | None = None, initiative: str | None = None) -> dict[str, Any]:
    """The cohort's self-analysis profile: per initiative its offer, each current analysis (quiz, attempt id,
    when, scores per dimension and criterion, potentials) and the change from first to latest analysis.
    Scores are rounded to two decimals; null means not answered enough to be meaningful (or not comparable)."""
    require_cohort(store, cohort)
    chosen = _resolve(store, cohort, network, initiative)
    analyses: dict[tuple[str, str], list[Analysis]] = {}
    for analysis in current_analyses(store, cohort):
        analyses.setdefault((analysis.network_slug, analysis.initiative_slug), []).append(analysis)
    out = []
    for row in chosen:
        own = sorted(analyses.get((row["network_slug"], row["slug"]), []),
                     key=lambda a: (a.kind != "first", a.timefinish, a.attemptid))
        changes = {r["key"]: _round(r["change"]) for r in store.db.query(
            "SELECT key, change FROM analysis_changes WHERE cohort = ? AND network_slug = ? AND initiative_slug = ? "
            "AND level = 'dimension' ORDER BY rowid", [cohort, row["network_slug"], row["slug"]])}
        if not changes and own:
            changes = {key: None for key in own[-1].dimensions}
        out.append({
            "network": row["network_slug"], "initiative": row["slug"], "name": row["name"], "offer": row["offer"],
            "analyses": [{
                "quiz": a.quiz, "attemptid": a.attemptid, "finished": a.timefinish,
                "dimensions": {k: _round(v) for k, v in a.dimensions.items()},
                "criteria": {k: _round(v) for k, v in a.criteria.items()},
                "potentials": list(a.potentials)} for a in own],
            "change": changes,
        })
    return {"cohort": cohort, "initiatives": out}


def _when(unix: int | None) -> str:
    return datetime.fromtimestamp(unix).strftime("%d.%m.%Y %H:%M") if unix else ""


def _number(value: float | None) -> str:
    return "—" if value is None else f"{value:.0f}"


def _titles(instrument: Instrument) -> dict[str, str]:
    titles = {d.key: d.title for d in instrument.dimensions}
    titles.update({c.key: c.title for d in instrument.dimensions for c in d.criteria})
    titles.update({s.key: s.text for s in instrument.statements()})
    return titles


def profile_table(store: Store, data: dict[str, Any], *, templates_root: Any = None) -> str:
    """The profile as text for the terminal: per initiative each analysis with its scores per dimension
    (criteria indented), the change, and the potentials in full wording."""
    instruments = Instruments(templates_root)
    lines: list[str] = [f"Self-analysis profile, cohort {data['cohort']}"]
    for item in data["initiatives"]:
        lines += ["", f"{item['network']} / {item['initiative']}: {item['name']}"
                  + (f" — {item['offer']}" if item["offer"] else "")]
        if not item["analyses"]:
            lines.append("  no analysis yet")
            continue
        versions = {a["attemptid"]: instruments(_version_of(store, a["attemptid"])) for a in item["analyses"]}
        latest = versions[item["analyses"][-1]["attemptid"]]
        titles = _titles(latest)
        head = "".join(f"{_KIND_LABELS.get(analysis_kind(a['quiz']) or '', a['quiz']):>14}" for a in item["analyses"])
        lines.append(f"  {'':40}{head}{'change':>10}")
        lines.append(f"  {'':40}" + "".join(f"{'#' + str(a['attemptid']) + ' ' + _when(a['finished'])[:10]:>14}"
                                             for a in item["analyses"]))
        for dimension in latest.dimensions:
            for key, indent in [(dimension.key, "")] + [(c.key, "  ") for c in dimension.criteria]:
                bucket = "dimensions" if not indent else "criteria"
                cells = "".join(f"{_number(a[bucket].get(key)) if key in a[bucket] else '':>14}"
                                for a in item["analyses"])
                delta = item["change"].get(key) if not indent else None
                shown = "" if indent else ("—" if delta is None else f"{delta:+.0f}")
                label = (indent + titles.get(key, key))[:38]
                lines.append(f"  {label:40}{cells}{shown:>10}")
        last = item["analyses"][-1]
        if last["potentials"]:
            lines.append("  improvement potentials (latest analysis):")
            lines += [f"    {key}: {titles.get(key, key)}" for key in last["potentials"]]
    lines += ["", "Scores 0–100; — = fewer than half of the statements answered (not meaningful) or not comparable."]
    return "\n".join(lines)


def _version_of(store: Store, attemptid: int) -> str:
    return next(store.db.query("SELECT instrument FROM analyses WHERE attemptid = ?", [attemptid]))["instrument"]


PROFILE_HEADER = ["Netzwerk", "Initiative", "Name", "Angebot", "Analyse", "Fragebogen", "Versuch", "Abgeschlossen",
                  "Ebene", "Schlüssel", "Bereich", "Einschätzung (0–100)", "Veränderung seit Erstanalyse",
                  "Verbesserungspotenzial"]


def profile_rows(store: Store, data: dict[str, Any], *, templates_root: Any = None) -> list[list[Any]]:
    """The profile as rows for German Excel (:data:`PROFILE_HEADER`): one row per initiative, analysis and
    dimension or criterion, then one per improvement potential; an initiative without analysis has one row."""
    instruments = Instruments(templates_root)
    rows: list[list[Any]] = []
    for item in data["initiatives"]:
        base = [item["network"], item["initiative"], item["name"], item["offer"] or ""]
        if not item["analyses"]:
            rows.append(base + ["keine Analyse"] + [""] * (len(PROFILE_HEADER) - 5))
            continue
        last = item["analyses"][-1]["attemptid"]
        for a in item["analyses"]:
            instrument = instruments(_version_of(store, a["attemptid"]))
            titles = _titles(instrument)
            head = base + [_KIND_LABELS.get(analysis_kind(a["quiz"]) or "", a["quiz"]), a["quiz"], a["attemptid"],
                           _when(a["finished"])]
            for dimension in instrument.dimensions:
                delta = _cell(item["change"].get(dimension.key), "nicht vergleichbar") if a["attemptid"] == last \
                    and a is not item["analyses"][0] else ""
                rows.append(head + ["Dimension", dimension.key, dimension.title,
                                    _cell(a["dimensions"].get(dimension.key)), delta, ""])
                for criterion in dimension.criteria:
                    rows.append(head + ["Kriterium", criterion.key, criterion.title,
                                        _cell(a["criteria"].get(criterion.key)), "", ""])
            for rank, key in enumerate(a["potentials"], start=1):
                rows.append(head + ["Aussage", key, titles.get(key, key), "", "", rank])
    return rows


def _cell(value: float | None, missing: str = "nicht aussagekräftig") -> Any:
    return missing if value is None else round(value, 1)


def profile_csv(store: Store, data: dict[str, Any], *, templates_root: Any = None) -> str:
    """The rows of :func:`profile_rows` as CSV text for German Excel (``;``, formula-like texts defused); the
    caller writes it UTF-8 with BOM."""
    from mintqo_lms.exports import CSV_DELIMITER, csv_cell

    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=CSV_DELIMITER, lineterminator="\r\n")
    writer.writerow(PROFILE_HEADER)
    for row in profile_rows(store, data, templates_root=templates_root):
        writer.writerow([csv_cell(v) for v in row])
    return buffer.getvalue()
