"""Tables staff open in a spreadsheet: every CSV we write goes through here.

Why this shape: the office works in German Excel, which opens a CSV by double-click only when it is
UTF-8 *with* a byte-order mark (else umlauts turn into "Ã¼") and separated by ``;`` (a comma is the
decimal separator there). An ``.xlsx`` with the same rows is written beside it, for those who prefer it
or use a spreadsheet program that guesses differently.

Cells are data, never formulas: a text that starts with ``=``, ``+``, ``-``, ``@`` (or a tab / carriage
return) would be run as a formula by a spreadsheet ("CSV injection"), and names and offers come from a
roster anyone may have typed into. Such texts are written with a leading apostrophe in the CSV (the
convention spreadsheets show as plain text) and as explicit text cells in the XLSX.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CSV_DELIMITER = ";"
CSV_ENCODING = "utf-8-sig"  # UTF-8 with BOM
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

Cell = str | int | float | None


def private_file(path: str | os.PathLike[str]) -> None:
    """Create (or make) ``path`` readable and writable by its owner only, before anything is written into it:
    exports hold people's names and scores."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    os.close(fd)
    os.chmod(path, 0o600)


def _is_formula_like(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(_FORMULA_STARTS)


def csv_cell(value: Cell) -> Cell:
    """The value as it goes into the CSV: formula-like texts get a leading apostrophe."""
    if value is None:
        return ""
    if _is_formula_like(value):
        return "'" + value  # type: ignore[operator]
    return value


def write_table(path: str | os.PathLike[str], header: Sequence[str], rows: Iterable[Sequence[Cell]], *,
                sheet: str = "Tabelle1", xlsx: bool = True) -> list[Path]:
    """Write ``rows`` under ``header`` to ``path`` (``.csv``) and, unless ``xlsx=False``, to the same name
    with ``.xlsx``. Returns the files written (CSV first)."""
    csv_path = Path(path).with_suffix(".csv")
    rows = [list(row) for row in rows]
    width = len(header)
    for number, row in enumerate(rows, start=1):
        if len(row) != width:
            raise ValueError(f"row {number} has {len(row)} cells, the header {width}")
    private_file(csv_path)  # names of people: readable by the owner only
    with csv_path.open("w", newline="", encoding=CSV_ENCODING) as handle:
        writer = csv.writer(handle, delimiter=CSV_DELIMITER, lineterminator="\r\n")
        writer.writerow([csv_cell(h) for h in header])
        for row in rows:
            writer.writerow([csv_cell(value) for value in row])
    written = [csv_path]
    if xlsx:
        written.append(_write_xlsx(csv_path.with_suffix(".xlsx"), header, rows, sheet))
    return written


def _write_xlsx(path: Path, header: Sequence[str], rows: list[list[Cell]], sheet: str) -> Path:
    from openpyxl import Workbook
    from openpyxl.cell.cell import TYPE_STRING
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    book = Workbook()
    ws = book.active
    ws.title = sheet[:31]  # Excel's limit for sheet names
    widths = [len(str(h)) for h in header]
    for row_number, values in enumerate([list(header), *rows], start=1):
        for column, value in enumerate(values, start=1):
            cell = ws.cell(row=row_number, column=column)
            if isinstance(value, str):
                cell.value = value
                cell.data_type = TYPE_STRING  # never a formula, whatever it starts with
            else:
                cell.value = value
            if row_number == 1:
                cell.font = Font(bold=True)
            widths[column - 1] = max(widths[column - 1], min(len(str(value or "")), 60))
    for column, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(column)].width = width + 2
    ws.freeze_panes = "A2"
    if rows:
        ws.auto_filter.ref = ws.dimensions
    private_file(path)
    book.save(path)
    return path


@dataclass
class Sheet:
    """One worksheet of :func:`write_workbook`: a table (bold header, filter, frozen) under optional title rows."""

    name: str
    header: Sequence[str]
    rows: list[list[Cell]]
    title: list[list[Cell]] = field(default_factory=list)


def _sheet_name(name: str, taken: set[str]) -> str:
    """Excel's rules: at most 31 characters, none of ``[]:*?/\\``, unique (case-insensitive)."""
    base = "".join("_" if ch in "[]:*?/\\" else ch for ch in name).strip("' ") or "Tabelle"
    candidate, number = base[:31], 2
    while candidate.lower() in taken:
        suffix = f" ({number})"
        candidate, number = base[:31 - len(suffix)] + suffix, number + 1
    taken.add(candidate.lower())
    return candidate


def write_workbook(path: str | os.PathLike[str], sheets: Sequence[Sheet]) -> Path:
    """Several tables in one ``.xlsx``; every text cell stays text (never a formula), like :func:`write_table`."""
    from openpyxl import Workbook
    from openpyxl.cell.cell import TYPE_STRING
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    book = Workbook()
    book.remove(book.active)
    taken: set[str] = set()
    for sheet in sheets:
        ws = book.create_sheet(_sheet_name(sheet.name, taken))
        widths: dict[int, int] = {}
        top = len(sheet.title) + 1
        for row_number, values in enumerate([*sheet.title, list(sheet.header), *sheet.rows], start=1):
            for column, value in enumerate(values, start=1):
                cell = ws.cell(row=row_number, column=column, value=value)
                if isinstance(value, str):
                    cell.data_type = TYPE_STRING  # never a formula, whatever it starts with
                if row_number == top or (row_number < top and (column == 1 or row_number == 1)):
                    cell.font = Font(bold=True)
                if row_number >= top or column > 1:
                    widths[column] = max(widths.get(column, 8), min(len(str(value or "")), 60))
        for column, width in widths.items():
            ws.column_dimensions[get_column_letter(column)].width = width + 2
        ws.freeze_panes = f"A{top + 1}"
        if sheet.rows:
            ws.auto_filter.ref = f"A{top}:{get_column_letter(len(sheet.header))}{top + len(sheet.rows)}"
    path = Path(path)
    private_file(path)
    book.save(path)
    return path


# -- the tables staff hand on ----------------------------------------------------------------------

COURSE_HEADER = ("Art", "Netzwerk", "Kursname", "Kurzname", "Link", "Eingeschriebene Personen")
ANSWER_HEADER = ("Netzwerk", "Initiative", "Analyse", "Versuch Nr.", "Abgeschlossen am",
                 "Aussage-Nr.", "Aussage", "Antwort", "Wert")
_COURSE_KINDS = {"cohort": "Qualifizierungskurs", "regional": "Regionalkurs"}
_ANALYSES = {"selbstanalyse-1": "Erstanalyse", "selbstanalyse-2": "Folgeanalyse"}


def analysis_label(activity_key: str) -> str:
    """Which self-analysis an activity key stands for: ``selbstanalyse-1`` is the first analysis of the
    cycle, ``selbstanalyse-2`` the follow-up after the improvements."""
    return _ANALYSES.get(activity_key, activity_key)


def course_rows(store: Any, url: str, cohort: str) -> list[list[Cell]]:
    """The cohort's courses as staff see them: kind, network, names, link and how many are enrolled."""
    rows = []
    for row in store.db.query(
            "SELECT c.kind, c.shortname, c.fullname, c.moodle_id, n.name AS network, "
            "(SELECT COUNT(DISTINCT person_id) FROM enrolments e WHERE e.course_idnumber = c.idnumber) AS enrolled "
            "FROM courses c LEFT JOIN networks n ON n.cohort = c.cohort AND n.slug = c.network_slug "
            "WHERE c.cohort = ? ORDER BY c.kind, n.name, c.idnumber", [cohort]):
        rows.append([_COURSE_KINDS.get(row["kind"], row["kind"]), row["network"] or "", row["fullname"],
                     row["shortname"], f"{url.rstrip('/')}/course/view.php?id={row['moodle_id']}", row["enrolled"]])
    return rows


def answer_rows(store: Any, cohort: str, templates_root: str | os.PathLike[str] | None = None) -> list[list[Cell]]:
    """One row per answered statement: network, initiative, first or follow-up analysis, the attempt's
    number for that initiative and analysis (1, 2 … in the order they were finished), when, the statement
    (key and wording, from the instrument) and the answer (label and value of the scale)."""
    from datetime import datetime

    from mintqo_lms.instrument import parse_question_idnumber, scale_level_for_fraction
    from mintqo_lms.templates import load_instrument

    instruments: dict[str, Any] = {}

    def instrument(version: str) -> Any:
        if version not in instruments:
            instruments[version] = load_instrument(f"selfanalysis/{version}", templates_root)
        return instruments[version]

    # The team of an attempt: its scored analysis says it (and keeps saying it after the person who submitted
    # was forgotten); an attempt not scored yet is placed through its person's membership.
    attempts = list(store.db.query(
        "WITH team AS ("
        "  SELECT attemptid, network_slug, initiative_slug FROM analyses WHERE cohort = :cohort "
        "  UNION ALL "
        "  SELECT q.attemptid, m.network_slug, m.initiative_slug FROM quiz_attempts q "
        "  JOIN people p ON p.moodle_user_id = q.userid "
        "  JOIN memberships m ON m.person_id = p.id AND m.cohort = :cohort AND m.role = 'initiative' "
        "  WHERE q.attemptid NOT IN (SELECT attemptid FROM analyses WHERE cohort = :cohort)) "
        "SELECT q.attemptid, q.timefinish, a.idnumber AS activity, n.name AS network, i.name AS initiative, "
        "t.network_slug, t.initiative_slug FROM quiz_attempts q "
        "JOIN activities a ON a.cmid = q.cmid "
        "JOIN team t ON t.attemptid = q.attemptid "
        "JOIN initiatives i ON i.cohort = :cohort AND i.network_slug = t.network_slug AND i.slug = t.initiative_slug "
        "JOIN networks n ON n.cohort = :cohort AND n.slug = t.network_slug "
        "ORDER BY n.name, i.name, q.timefinish, q.attemptid", {"cohort": cohort}))
    numbers: dict[tuple[str, str, str], int] = {}
    rows: list[list[Cell]] = []
    for attempt in attempts:
        key = attempt["activity"].rsplit(":", 1)[-1]
        group = (attempt["network_slug"], attempt["initiative_slug"], key)
        numbers[group] = numbers.get(group, 0) + 1
        finished = (datetime.fromtimestamp(attempt["timefinish"]).strftime("%d.%m.%Y %H:%M")
                    if attempt["timefinish"] else "")
        for response in store.db.query(
                "SELECT question_idnumber, answer_position, answer_text, fraction FROM responses "
                "WHERE attemptid = ? ORDER BY slot", [attempt["attemptid"]]):
            statement_key, wording, label, value = response["question_idnumber"], "", response["answer_text"], None
            try:
                version, statement_key = parse_question_idnumber(response["question_idnumber"])
                inst = instrument(version)
                wording = next((s.text for s in inst.statements() if s.key == statement_key), "")
                level = (scale_level_for_fraction(inst, response["fraction"]) if response["fraction"] is not None
                         else inst.scale[response["answer_position"] - 1])
                label, value = level.label, level.value
            except (ValueError, IndexError, TypeError):
                pass  # not one of our questions: keep what Moodle said
            rows.append([attempt["network"], attempt["initiative"], analysis_label(key), numbers[group], finished,
                         statement_key, wording, label, value])
    return rows


def read_table(path: str | os.PathLike[str]) -> tuple[list[str], list[list[str]]]:
    """Read a CSV written by :func:`write_table` back as a spreadsheet would show it (header, rows)."""
    with Path(path).open(newline="", encoding=CSV_ENCODING) as handle:
        rows = list(csv.reader(handle, delimiter=CSV_DELIMITER))
    return (rows[0], rows[1:]) if rows else ([], [])


__all__ = ["CSV_DELIMITER", "CSV_ENCODING", "Sheet", "csv_cell", "read_table", "write_table", "write_workbook"]
