"""The programme office's dashboard: one self-contained German HTML page (and the same tables as XLSX).

Why this shape: staff open it from a file share or an e-mail attachment, often without network, so the page
carries everything itself: styles and a few lines of script inline, charts as inline SVG drawn here in Python (no
chart library, no CDN, a Content-Security-Policy that forbids loading anything). Every text that comes from the
roster or a template passes :func:`h` (``html.escape``), so a name such as ``<script>`` shows as text.

**Aggregates across initiatives only for groups of at least five** (:func:`min_group`, :data:`MIN_GROUP`, the same
number the feedback messages use): the dashboard and its XLSX never show a single initiative's self-analysis
scores, only the cohort's means per dimension, the mean change, and how often statements were named as improvement
potentials — each computed from at least five initiatives, else replaced by "weniger als 5 Initiativen". Means per
network are not shown: with a cohort mean beside them, one small network's mean could be worked out by subtraction.

The page's script sets ``data-rendered="ok"`` on ``<html>`` only when every chart has drawn marks of non-zero size;
any script error sets ``data-script-error`` instead (the browser test reads both from the dumped DOM).
"""

from __future__ import annotations

import html
import os
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from mintqo_lms.feedback import COHORT_MINIMUM
from mintqo_lms.moodle.errors import MintqoError
from mintqo_lms.progress import CohortProgress, cohort_progress
from mintqo_lms.store import Store
from mintqo_lms.templates import Instrument, load_instrument

__all__ = ["MIN_GROUP", "Aggregate", "ReportError", "SelfAnalysisSummary", "build_report", "dashboard_html",
           "h", "min_group", "selfanalysis_summary", "write_report", "write_report_xlsx"]

MIN_GROUP = COHORT_MINIMUM  # five: no aggregate across initiatives from fewer
_KINDS = (("first", "Erstanalyse"), ("followup", "Folgeanalyse"))
_TOO_FEW = f"weniger als {MIN_GROUP} Initiativen – aus Datenschutzgründen keine Auswertung"


class ReportError(MintqoError):
    """The report cannot be written as asked (e.g. the output folder is a file)."""


def h(value: Any) -> str:
    """Text for HTML (element content and attribute values alike)."""
    return html.escape("" if value is None else str(value), quote=True)


@dataclass(frozen=True)
class Aggregate:
    n: int
    mean: float


def min_group(values: Sequence[float], minimum: int = MIN_GROUP) -> Aggregate | None:
    """The mean of ``values`` (one per initiative) when there are at least ``minimum`` of them, else None: the only
    way numbers across initiatives reach the dashboard or its XLSX."""
    if len(values) < minimum:
        return None
    return Aggregate(len(values), sum(values) / len(values))


@dataclass
class SelfAnalysisSummary:
    dimensions: list[tuple[str, str]]                      # key, German title
    initiatives: dict[str, int]                            # kind -> initiatives with such an analysis
    scores: dict[str, dict[str, Aggregate | None]]         # kind -> dimension key -> aggregate
    change: dict[str, Aggregate | None]                    # dimension key -> mean change (follow-up − first)
    compared: int                                          # initiatives with any comparable change
    potentials: list[tuple[str, str, int]] | None          # statement key, wording, initiatives naming it
    potential_base: int = 0


def _instruments(store: Store, cohort: str, templates_root: Any) -> dict[str, Instrument]:
    versions = sorted({r["instrument"] for r in store.db.query(
        "SELECT DISTINCT instrument FROM analyses WHERE cohort = ?", [cohort]) if r["instrument"]}) or ["v1"]
    return {v: load_instrument(f"selfanalysis/{v}", templates_root) for v in versions}


def selfanalysis_summary(store: Store, cohort: str, *, templates_root: Any = None) -> SelfAnalysisSummary:
    """The cohort's self-analysis results as aggregates of at least :data:`MIN_GROUP` initiatives. Per initiative and
    kind (first / follow-up) its latest current analysis counts once."""
    instruments = _instruments(store, cohort, templates_root)
    latest = instruments[max(instruments, key=lambda v: int(v[1:]))]
    dimensions = [(d.key, d.title) for d in latest.dimensions]
    texts: dict[str, str] = {}
    for instrument in instruments.values():
        texts.update({s.key: s.text for s in instrument.statements()})

    chosen: dict[tuple[str, str, str], dict[str, Any]] = {}  # (kind, network, initiative) -> analysis
    for row in store.db.query("SELECT attemptid, network_slug, initiative_slug, kind, timefinish FROM analyses "
                              "WHERE cohort = ? AND current = 1 AND kind IS NOT NULL", [cohort]):
        key = (row["kind"], row["network_slug"], row["initiative_slug"])
        if key not in chosen or (row["timefinish"], row["attemptid"]) > (chosen[key]["timefinish"],
                                                                         chosen[key]["attemptid"]):
            chosen[key] = row
    attempt_kind = {row["attemptid"]: kind for (kind, _, _), row in chosen.items()}
    values: dict[str, dict[str, list[float]]] = {kind: defaultdict(list) for kind, _ in _KINDS}
    potentials: dict[int, list[str]] = defaultdict(list)
    if attempt_kind:
        for row in store.db.query(
                "SELECT s.attemptid, s.level, s.key, s.score, s.meaningful, s.potential_rank FROM analyses a "
                "JOIN analysis_scores s ON s.attemptid = a.attemptid WHERE a.cohort = ? AND a.current = 1 AND "
                "(s.level = 'dimension' OR s.potential_rank IS NOT NULL)", [cohort]):
            kind = attempt_kind.get(row["attemptid"])
            if kind is None:
                continue
            if row["level"] == "dimension":
                if row["meaningful"] and row["score"] is not None:
                    values[kind][row["key"]].append(float(row["score"]))
            else:
                potentials[row["attemptid"]].append(row["key"])
    initiatives = {kind: sum(1 for (k, _, _) in chosen if k == kind) for kind, _ in _KINDS}
    scores = {kind: {key: (min_group(values[kind][key]) if initiatives[kind] >= MIN_GROUP else None)
                     for key, _ in dimensions} for kind, _ in _KINDS}

    changes: dict[str, list[float]] = defaultdict(list)
    compared: set[tuple[str, str]] = set()
    for row in store.db.query("SELECT network_slug, initiative_slug, key, change FROM analysis_changes "
                              "WHERE cohort = ? AND level = 'dimension' AND change IS NOT NULL", [cohort]):
        changes[row["key"]].append(float(row["change"]))
        compared.add((row["network_slug"], row["initiative_slug"]))
    change = {key: (min_group(changes[key]) if len(compared) >= MIN_GROUP else None) for key, _ in dimensions}

    # Potentials: per initiative its latest analysis (follow-up if there is one), each statement counted once.
    latest_per_initiative: dict[tuple[str, str], dict[str, Any]] = {}
    for (kind, network, initiative), row in chosen.items():
        key = (network, initiative)
        if key not in latest_per_initiative or (kind == "followup"):
            latest_per_initiative[key] = row
    base = len(latest_per_initiative)
    named: list[tuple[str, str, int]] | None = None
    if min_group([1.0] * base) is not None:
        counts = Counter(k for row in latest_per_initiative.values() for k in set(potentials[row["attemptid"]]))
        order = {s: i for i, s in enumerate(texts)}
        ranked = sorted(counts.items(), key=lambda kv: (-kv[1], order.get(kv[0], 0)))[:10]
        named = [(k, texts.get(k, k), n) for k, n in ranked]
    return SelfAnalysisSummary(dimensions, initiatives, scores, change, len(compared), named, base)


# -- the page ---------------------------------------------------------------------------------------------

_CSS = """
:root{--ink:#1d2733;--muted:#5b6775;--line:#d9dee5;--bg:#f5f7fa;--card:#fff;--ok:#1f7a4d;--okbg:#e3f4ea;
--warn:#9a5b00;--warnbg:#fff1d6;--no:#a3282b;--nobg:#fbe5e5;--c1:#2f6db5;--c2:#e07b24;--c3:#7a4fb0}
*{box-sizing:border-box}body{margin:0;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans",
Arial,sans-serif;color:var(--ink);background:var(--bg)}header{background:#12355b;color:#fff;padding:22px 32px}
header h1{margin:0 0 4px;font-size:24px}header p{margin:0;opacity:.85}main{max-width:1240px;margin:0 auto;
padding:20px 24px 48px}section{background:var(--card);border:1px solid var(--line);border-radius:10px;
padding:18px 22px;margin:18px 0}h2{font-size:19px;margin:0 0 6px}h3{font-size:16px;margin:18px 0 6px}
p.note{color:var(--muted);margin:4px 0 12px;font-size:13.5px}.tiles{display:grid;
grid-template-columns:repeat(auto-fit,minmax(170px,1fr));gap:12px}.tile{background:var(--card);
border:1px solid var(--line);border-radius:10px;padding:12px 16px}.tile b{display:block;font-size:26px}
.tile span{color:var(--muted);font-size:13px}.scroll{overflow-x:auto}table{border-collapse:collapse;width:100%;
font-size:13.5px}th,td{border-bottom:1px solid var(--line);padding:6px 8px;text-align:left;vertical-align:top}
th{background:#eef2f7;position:sticky;top:0;cursor:pointer;user-select:none}th.rot{font-weight:600;
font-size:11.5px;min-width:64px}.muted{color:var(--muted)}td.c{text-align:center}.ok{background:var(--okbg);color:var(--ok);font-weight:600}
.no{background:var(--nobg);color:var(--no)}.self{background:var(--warnbg);color:var(--warn)}
.badge{display:inline-block;border-radius:10px;padding:1px 8px;font-size:12.5px;font-weight:600}
.empty{padding:14px;border:1px dashed var(--line);border-radius:8px;color:var(--muted);background:#fafbfc}
.legend span{display:inline-block;margin-right:14px;font-size:13px}.legend i{display:inline-block;width:12px;
height:12px;border-radius:2px;margin-right:5px;vertical-align:-1px}svg.chart{display:block;width:100%;
height:auto;max-width:900px}svg text{font:12.5px system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;
fill:var(--ink)}ul.missing{margin:0;padding-left:16px;font-size:12.5px}td.wide{min-width:200px}footer{color:var(--muted);font-size:12.5px;
text-align:center;padding:10px}@media print{header{background:#fff;color:#000}section{break-inside:avoid}}
"""

# Runs before anything else: any later script error is recorded on <html> for the browser test (and for staff:
# the page says so at the top instead of showing a half-drawn dashboard silently).
_ERROR_SCRIPT = """
window.addEventListener('error', function (e) {
  document.documentElement.setAttribute('data-script-error', String(e.message || e.type));
});
"""

_SCRIPT = """
(function () {
  // Sort a table by a column when its header is clicked (numbers as numbers, German collation for text).
  document.querySelectorAll('table.sortable').forEach(function (table) {
    table.querySelectorAll('thead th').forEach(function (th, index) {
      th.title = 'Nach dieser Spalte sortieren';
      th.addEventListener('click', function () {
        var body = table.tBodies[0], rows = Array.prototype.slice.call(body.rows);
        var up = th.getAttribute('data-dir') !== 'up';
        rows.sort(function (a, b) {
          var x = a.cells[index].getAttribute('data-sort') || a.cells[index].textContent;
          var y = b.cells[index].getAttribute('data-sort') || b.cells[index].textContent;
          var nx = parseFloat(x), ny = parseFloat(y);
          var r = (!isNaN(nx) && !isNaN(ny)) ? nx - ny : x.localeCompare(y, 'de');
          return up ? r : -r;
        });
        rows.forEach(function (row) { body.appendChild(row); });
        th.setAttribute('data-dir', up ? 'up' : 'down');
      });
    });
  });
  // Every chart must have drawn marks of non-zero size; only then is the page marked as rendered.
  var charts = document.querySelectorAll('svg.chart'), failed = [];
  charts.forEach(function (svg) {
    var marks = svg.querySelectorAll('.mark'), box = svg.getBBox();
    var drawn = Array.prototype.some.call(marks, function (m) {
      var b = m.getBBox(); return b.width > 0 && b.height > 0;
    });
    if (!marks.length || !drawn || !(box.width > 0 && box.height > 0)) failed.push(svg.id);
  });
  var root = document.documentElement;
  root.setAttribute('data-charts', String(charts.length));
  if (failed.length) { root.setAttribute('data-charts-failed', failed.join(' ')); }
  else if (!root.hasAttribute('data-script-error')) { root.setAttribute('data-rendered', 'ok'); }
})();
"""


def _fmt(value: float, digits: int = 0) -> str:
    return f"{value:.{digits}f}".replace(".", ",")


def _signed(value: float) -> str:
    return ("+" if value > 0 else "−" if value < 0 else "±") + _fmt(abs(value))


class _Ids:
    def __init__(self) -> None:
        self.n = 0

    def __call__(self, stem: str) -> str:
        self.n += 1
        return f"{stem}-{self.n}"


def _hbars(chart_id: str, title: str, rows: list[tuple[str, list[float | None]]], *, series: list[str],
           maximum: float = 100.0, unit: str = "", label_width: int = 320, signed: bool = False,
           integer: bool = False) -> str:
    """Horizontal bars, one group per row (one bar per series); ``signed`` draws from a zero line in the middle."""
    colours = ["var(--c1)", "var(--c2)", "var(--c3)"]
    bar, gap, width = 16, 10, 900
    plot = width - label_width - 60
    per_row = bar * len(series) + gap
    height = 28 + per_row * len(rows) + 8
    parts = [f'<svg class="chart" id="{h(chart_id)}" role="img" aria-label="{h(title)}" '
             f'viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg"><title>{h(title)}</title>']
    zero = label_width + (plot / 2 if signed else 0)
    scale = (plot / 2 if signed else plot) / maximum
    if integer:
        step = max(1, round(maximum / 5))
        ticks = [float(t) for t in range(0, int(maximum) + 1, step)]
    elif signed:
        ticks = [-maximum, -maximum / 2, 0, maximum / 2, maximum]
    else:
        ticks = [0, maximum / 4, maximum / 2, 3 * maximum / 4, maximum]
    room = int((label_width - 16) / 7.4)  # characters that fit left of the bars
    for tick in ticks:
        x = zero + tick * scale
        parts.append(f'<line x1="{x:.1f}" y1="20" x2="{x:.1f}" y2="{height - 6}" stroke="#d9dee5" '
                     f'stroke-width="{1.5 if tick == 0 else 1}"/>'
                     f'<text x="{x:.1f}" y="13" text-anchor="middle" fill="#5b6775">'
                     f'{h(_signed(tick) if signed and tick else _fmt(tick))}{h(unit)}</text>')
    for index, (label, values) in enumerate(rows):
        top = 28 + index * per_row
        shown = label if len(label) <= room else label[:room - 1].rstrip() + "…"
        parts.append(f'<text x="{label_width - 10}" y="{top + per_row / 2 - gap / 2 + 4:.1f}" text-anchor="end">'
                     f'<title>{h(label)}</title>{h(shown)}</text>')
        for s, value in enumerate(values):
            y = top + s * bar
            if value is None:
                parts.append(f'<text x="{zero + 6:.1f}" y="{y + bar - 4}" fill="#5b6775">keine Auswertung</text>')
                continue
            length = abs(value) * scale
            x = zero - length if value < 0 else zero
            text = _signed(value) if signed else _fmt(value)
            parts.append(f'<rect class="mark" x="{x:.1f}" y="{y + 1}" width="{max(length, 1.5):.1f}" '
                         f'height="{bar - 3}" rx="2" fill="{colours[s % 3]}"><title>{h(series[s])}: {h(text)}'
                         f'{h(unit)}</title></rect>')
            tx = (x - 6) if value < 0 else (x + length + 6)
            parts.append(f'<text x="{tx:.1f}" y="{y + bar - 4}" text-anchor="{"end" if value < 0 else "start"}">'
                         f'{h(text)}{h(unit)}</text>')
    parts.append("</svg>")
    legend = "".join(f'<span><i style="background:{colours[s % 3]}"></i>{h(name)}</span>'
                     for s, name in enumerate(series)) if len(series) > 1 else ""
    return (f'<div class="legend">{legend}</div>' if legend else "") + "".join(parts)


def _tile(value: Any, label: str) -> str:
    return f'<div class="tile"><b>{h(value)}</b><span>{h(label)}</span></div>'


def _cell(done: bool, self_reported: bool = False) -> str:
    if done:
        return '<td class="c ok" data-sort="2" title="erledigt">✓</td>'
    if self_reported:
        return '<td class="c self" data-sort="1" title="nur selbst gemeldet – zählt nicht">selbst</td>'
    return '<td class="c no" data-sort="0" title="offen">–</td>'


def dashboard_html(progress: CohortProgress, summary: SelfAnalysisSummary) -> str:
    """The whole page as one string."""
    ids = _Ids()
    coordinators = progress.coordinators
    stand = datetime.fromtimestamp(progress.generated_at).strftime("%d.%m.%Y, %H:%M Uhr")
    eligible = sum(1 for c in coordinators if c.eligible)
    initiatives = sum(len(c.cycle.initiatives) for c in coordinators)
    with_allowance = [c for c in coordinators if c.cycle.allowance]
    allowance_ok = sum(1 for c in with_allowance if c.cycle.allowance and c.cycle.allowance.complete)
    out: list[str] = []
    add = out.append

    add(f'<section id="ueberblick"><h2>Überblick</h2><div class="tiles">'
        f'{_tile(len(coordinators), "Koordinatorinnen und Koordinatoren")}'
        f'{_tile(f"{eligible} von {len(coordinators)}", "erfüllen die Bedingungen für das Zertifikat")}'
        f'{_tile(initiatives, "Initiativen in den regionalen Zyklen")}'
        f'{_tile(summary.initiatives.get("first", 0), "Erstanalysen abgeschlossen")}'
        f'{_tile(summary.initiatives.get("followup", 0), "Folgeanalysen abgeschlossen")}'
        f'{_tile(f"{allowance_ok} von {len(with_allowance)}", "Nachweise für die Regionalpauschale vollständig")}'
        "</div></section>")

    # Completion matrix -------------------------------------------------------------------------------------
    columns = [*progress.modules, *progress.workshops]
    add('<section id="qualifizierung"><h2>Qualifizierung: Abschluss je Koordination</h2>'
        '<p class="note">✓ erledigt · – offen · <span class="badge self">selbst</span> Präsenzworkshop nur selbst '
        'gemeldet (zählt nicht; die Geschäftsstelle trägt die Anwesenheit ein). Spaltenköpfe sortieren die Tabelle.'
        '</p>')
    if coordinators and columns:
        share = [(_short(name), [100.0 * sum(1 for c in coordinators if _done(c, key)) / len(coordinators)])
                 for key, name in columns]
        add(_hbars(ids("chart-module"), "Anteil der Koordinationen, die das Modul abgeschlossen haben", share,
                   series=["abgeschlossen"], unit=" %"))
    add('<div class="scroll"><table class="sortable" id="matrix"><thead><tr><th>Koordination, Netzwerk</th>'
        + "".join(f'<th class="rot" title="{h(name)}">{h(_short(name))}</th>' for _, name in columns)
        + "<th>Zertifikat: was noch fehlt</th></tr></thead><tbody>")
    for c in coordinators:
        cells = "".join(_cell(m.done) for m in c.modules) + "".join(_cell(w.done, w.self_reported)
                                                                  for w in c.workshops)
        # what is missing is visible in the row's red cells; here only how much, the list as a tooltip
        missing = (f"<span class='badge ok'>Bedingungen erfüllt</span><br><small>{h(c.certificate)}</small>"
                   if c.eligible else
                   f"<span title='{h('; '.join(c.missing))}'>noch {len(c.missing)} offen</span>")
        add(f"<tr><td>{h(c.name)}<br><small class='muted'>{h(c.network)}</small></td>{cells}"
            f"<td data-sort='{len(c.missing)}'>{missing}</td></tr>")
    add("</tbody></table></div></section>")

    # Regional cycles ---------------------------------------------------------------------------------------
    rule = progress.allowance
    add('<section id="regional"><h2>Regionale Workshop-Zyklen und Regionalpauschale</h2>')
    if rule:
        add(f'<p class="note">{h(rule.name)} ({h(_euro(rule.amount_eur))}): Nachweise vollständig, wenn jeder '
            f'Workshop mit mindestens {rule.min_initiatives_present} anwesenden Initiativen stattgefunden hat '
            f'(Anwesenheit von der Koordination eingetragen) und mindestens {rule.min_first_analyses} Initiativen '
            f'ihre erste Selbstanalyse abgeschlossen haben (Regel in regional_cycle.yaml).</p>')
    cycles = [c for c in coordinators if c.cycle.initiatives]
    if cycles:
        # One bar per evidence check, as a share of the regional cycles: the same size for 3 networks or 320.
        need = rule.min_initiatives_present if rule else 1
        share = lambda hits: 100.0 * hits / len(cycles)  # noqa: E731
        rows = [(f"{_short(name)}: mindestens {need} Initiativen anwesend",
                 [share(sum(1 for c in cycles if c.cycle.present.get(key, 0) >= need))])
                for key, name in progress.cycle_workshops]
        if rule and rule.min_first_analyses:
            rows.append((f"Erste Selbstanalyse von mindestens {rule.min_first_analyses} Initiativen",
                         [share(sum(1 for c in cycles if c.cycle.first_analyses >= rule.min_first_analyses))]))
        if rule:
            rows.append(("Nachweise für die Regionalpauschale vollständig",
                         [share(sum(1 for c in cycles if c.cycle.allowance and c.cycle.allowance.complete))]))
        add(_hbars(ids("chart-workshops"), "Anteil der regionalen Zyklen, die den Nachweis erbringen", rows,
                   series=[f"Anteil der {len(cycles)} regionalen Zyklen"], unit=" %", label_width=380))
    add('<div class="scroll"><table class="sortable" id="zyklen"><thead><tr><th>Netzwerk</th><th>Koordination</th>'
        "<th>Initiativen</th>" + "".join(f"<th>{h(_short(name))}: anwesend</th>"
                                         for _, name in progress.cycle_workshops)
        + "<th>Erstanalysen</th><th>Folgeanalysen</th><th>Regionalpauschale</th></tr></thead><tbody>")
    for c in coordinators:
        cycle = c.cycle
        allowance = cycle.allowance
        if allowance is None:
            state = "<td>–</td>"
        elif allowance.complete:
            state = "<td class='ok' data-sort='1'>Nachweise vollständig</td>"
        else:
            state = ("<td class='no wide' data-sort='0'>unvollständig<ul class='missing'>"
                     + "".join(f"<li>{h(m)}</li>" for m in allowance.missing) + "</ul></td>")
        n = len(cycle.initiatives)
        add(f"<tr><td>{h(c.network)}</td><td>{h(c.name)}</td><td class='c'>{n}</td>"
            + "".join(f"<td class='c'>{cycle.present.get(key, 0)} von {n}</td>" for key, _ in progress.cycle_workshops)
            + f"<td class='c'>{cycle.first_analyses} von {n}</td><td class='c'>{cycle.followups} von {n}</td>{state}"
            "</tr>")
    add("</tbody></table></div></section>")

    # Self-analysis -----------------------------------------------------------------------------------------
    add('<section id="selbstanalyse"><h2>Selbstanalyse: Ergebnisse je Qualitätsbereich</h2>'
        f'<p class="note">Mittelwert der Einschätzungen (0–100) über die Initiativen des Durchgangs, nur aus '
        f'mindestens {MIN_GROUP} Initiativen mit aussagekräftiger Einschätzung; einzelne Initiativen werden hier nie '
        'gezeigt. Die Selbstanalyse ist keine Prüfung: Die Werte beschreiben den eigenen Blick der Teams.</p>')
    kinds = [(kind, label) for kind, label in _KINDS if summary.initiatives.get(kind, 0) >= MIN_GROUP]
    if kinds:
        rows = [(title, [_mean(summary.scores[kind].get(key)) for kind, _ in kinds])
                for key, title in summary.dimensions]
        add(_hbars(ids("chart-scores"), "Mittlere Einschätzung je Qualitätsbereich", rows,
                   series=[f"{label} ({summary.initiatives[kind]} Initiativen)" for kind, label in kinds]))
    add(_score_table(summary))
    add("</section>")

    add('<section id="veraenderung"><h2>Veränderung von der Erst- zur Folgeanalyse</h2>'
        '<p class="note">Mittlere Veränderung (Folgeanalyse minus Erstanalyse, Punkte auf der Skala 0–100) über die '
        f'Initiativen mit beiden Analysen zum selben Angebot; nur aus mindestens {MIN_GROUP} Initiativen.</p>')
    if summary.compared >= MIN_GROUP and any(summary.change.values()):
        rows = [(title, [_mean(summary.change.get(key))]) for key, title in summary.dimensions]
        top = max([abs(v) for _, (v,) in rows if v is not None] + [10.0])
        add(_hbars(ids("chart-change"), "Mittlere Veränderung je Qualitätsbereich", rows,
                   series=[f"Veränderung ({summary.compared} Initiativen)"], maximum=float(_nice(top)), signed=True))
    else:
        add(f'<div class="empty">Bisher {summary.compared} Initiativen mit Erst- und Folgeanalyse: {_TOO_FEW}.</div>')
    add("</section>")

    add('<section id="potenziale"><h2>Am häufigsten genannte Verbesserungspotenziale</h2>'
        '<p class="note">Wie viele Initiativen die Aussage in ihrer jüngsten Selbstanalyse unter ihren '
        f'Verbesserungspotenzialen haben (die am niedrigsten eingeschätzten Aussagen); ab {MIN_GROUP} Initiativen.</p>')
    if summary.potentials:
        rows = [(text, [float(n)]) for _, text, n in summary.potentials]
        add(_hbars(ids("chart-potentials"), "Verbesserungspotenziale: Anzahl Initiativen", rows,
                   series=[f"Initiativen (von {summary.potential_base})"],
                   maximum=float(max(n for *_, n in summary.potentials)), label_width=470, integer=True))
        add('<div class="scroll"><table class="sortable"><thead><tr><th>Nr.</th><th>Aussage</th>'
            '<th>Initiativen</th></tr></thead><tbody>' + "".join(
                f"<tr><td>{h(key)}</td><td>{h(text)}</td><td class='c' data-sort='{n}'>{n} von "
                f"{summary.potential_base}</td></tr>" for key, text, n in summary.potentials)
            + "</tbody></table></div>")
    else:
        add(f'<div class="empty">Bisher {summary.potential_base} Initiativen mit Selbstanalyse: {_TOO_FEW}.</div>')
    add("</section>")

    body = "\n".join(out)
    title = f"MINT-Qualitätsoffensive – Dashboard Durchgang {progress.cohort}"
    return ("<!DOCTYPE html>\n<html lang=\"de\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; "
            "script-src 'unsafe-inline'; img-src data:\">"
            f"<title>{h(title)}</title><style>{_CSS}</style><script>{_ERROR_SCRIPT}</script></head><body>"
            f"<header><h1>{h(title)}</h1><p>Stand: {h(stand)} · Geschäftsstelle · nur für den internen Gebrauch"
            f"</p></header><main>{body}</main><footer>Erstellt mit mintqo-lms aus dem Programmspeicher. "
            f"Auswertungen über Initiativen nur ab {MIN_GROUP} Initiativen.</footer>"
            f"<script>{_SCRIPT}</script></body></html>\n")


def _done(c: Any, key: str) -> bool:
    return any(i.done for i in [*c.modules, *c.workshops] if i.key == key)


def _short(name: str) -> str:
    for prefix in ("Aufgabe: ", "Teilnahme am ", "Teilnahme an "):
        name = name.removeprefix(prefix)
    return name


def _euro(amount: int) -> str:
    return f"{amount:,} €".replace(",", ".")


def _mean(aggregate: Aggregate | None) -> float | None:
    return None if aggregate is None else round(aggregate.mean, 1)


def _nice(value: float) -> int:
    for step in (10, 20, 25, 40, 50, 100):
        if value <= step:
            return step
    return int(value) + 1


def _score_table(summary: SelfAnalysisSummary) -> str:
    head = "".join(f"<th>{h(label)}</th>" for _, label in _KINDS)
    rows = []
    for key, title in summary.dimensions:
        cells = []
        for kind, _ in _KINDS:
            agg = summary.scores[kind].get(key)
            cells.append(f"<td class='c'>{_fmt(agg.mean)} <small>(n = {agg.n})</small></td>" if agg else
                         f"<td class='c' title='{h(_TOO_FEW)}'>–</td>")
        rows.append(f"<tr><td>{h(title)}</td>{''.join(cells)}</tr>")
    counts = " · ".join(f"{label}: {summary.initiatives.get(kind, 0)} Initiativen" for kind, label in _KINDS)
    return (f'<div class="scroll"><table><thead><tr><th>Qualitätsbereich</th>{head}</tr></thead><tbody>'
            f'{"".join(rows)}</tbody></table></div><p class="note">{h(counts)}. – = {h(_TOO_FEW)}.</p>')


# -- files ------------------------------------------------------------------------------------------------

@dataclass
class Report:
    progress: CohortProgress
    summary: SelfAnalysisSummary
    files: list[Path] = field(default_factory=list)


def build_report(store: Store, cohort: str, *, templates_root: Any = None) -> Report:
    return Report(cohort_progress(store, cohort, templates_root=templates_root),
                  selfanalysis_summary(store, cohort, templates_root=templates_root))


def write_report_xlsx(report: Report, path: str | os.PathLike[str]) -> Path:
    """The dashboard's tables for Excel: completion matrix, regional cycles, self-analysis aggregates, change,
    potentials (the same minimum group rule)."""
    from mintqo_lms.exports import Sheet, write_workbook

    p, s = report.progress, report.summary
    columns = [*p.modules, *p.workshops]
    matrix = [[c.name, c.network, *[("ja" if i.done else "selbst gemeldet" if i.self_reported else "nein")
                                    for i in [*c.modules, *c.workshops]],
               "; ".join(c.missing) or "vollständig", c.certificate] for c in p.coordinators]
    cycles = []
    for c in p.coordinators:
        cy, a = c.cycle, c.cycle.allowance
        cycles.append([c.network, c.name, len(cy.initiatives), *[cy.present.get(k, 0) for k, _ in p.cycle_workshops],
                       cy.first_analyses, cy.followups,
                       "" if a is None else ("vollständig" if a.complete else "unvollständig"),
                       "" if a is None else "; ".join(a.missing)])
    scores = [[title, *[(round(agg.mean, 1) if (agg := s.scores[kind].get(key)) else "keine Auswertung")
                        for kind, _ in _KINDS],
               *[(agg.n if (agg := s.scores[kind].get(key)) else "") for kind, _ in _KINDS]]
              for key, title in s.dimensions]
    change = [[title, round(agg.mean, 1) if (agg := s.change.get(key)) else "keine Auswertung",
               agg.n if agg else ""] for key, title in s.dimensions]
    potentials = [[key, text, n, s.potential_base] for key, text, n in (s.potentials or [])]
    note = [[f"Auswertungen über Initiativen nur ab {MIN_GROUP} Initiativen; darunter: keine Auswertung."]]
    sheets = [
        Sheet("Abschlussmatrix", ["Koordination", "Netzwerk", *[name for _, name in columns],
                                  "Fehlt für das Zertifikat", "Zertifikat"], matrix),
        Sheet("Regionale Zyklen", ["Netzwerk", "Koordination", "Initiativen",
                                   *[f"{_short(n)}: anwesend" for _, n in p.cycle_workshops], "Erstanalysen",
                                   "Folgeanalysen", "Regionalpauschale", "Fehlende Nachweise"], cycles),
        Sheet("Selbstanalyse", ["Qualitätsbereich", *[f"{label}: Mittelwert" for _, label in _KINDS],
                                *[f"{label}: Initiativen" for _, label in _KINDS]], scores, title=note),
        Sheet("Veränderung", ["Qualitätsbereich", "Mittlere Veränderung", "Initiativen"], change, title=note),
        Sheet("Verbesserungspotenziale", ["Nr.", "Aussage", "Initiativen", "von"], potentials,
              title=note if s.potentials else note + [["Zu wenige Initiativen: keine Auswertung."]]),
    ]
    return write_workbook(Path(path).with_suffix(".xlsx"), sheets)


def write_report(store: Store, cohort: str, out_dir: str | os.PathLike[str], *, templates_root: Any = None) -> Report:
    """``dashboard.html`` and ``dashboard.xlsx`` in ``out_dir`` (created if needed)."""
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ReportError(f"{out} is a file, not a folder; choose another --out folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
        report = build_report(store, cohort, templates_root=templates_root)
        page = out / "dashboard.html"
        page.write_text(dashboard_html(report.progress, report.summary), encoding="utf-8")
        report.files = [page, write_report_xlsx(report, out / "dashboard.xlsx")]
    except OSError as exc:
        raise ReportError(f"cannot write the report into {out}: {exc.strerror}") from None
    return report
