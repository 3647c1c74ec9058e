"""The roster staff keep: who is coordinator, initiative member, buddy or staff in a cohort.

Why strict and exhaustive: the file is hand-edited in Excel by the office, and Moodle answers most bad
data with a bare "Invalid parameter value detected" after rolling back the whole batch. So every problem
is found here, all at once, with file, line and column as the office sees them.

The roster is a CSV file (UTF-8, ``;`` or ``,``) or an Excel workbook (``.xlsx``, first sheet); rows are
numbered as the editor shows them (the header is normally line/row 1), and both give the same messages.
Names that become Moodle names are checked against Moodle's own rules (``PARAM_TEXT`` / ``PARAM_NOTAGS``:
nothing ``strip_tags`` would change; the lengths of Moodle's columns), so a tag-like name is refused here
and not by Moodle in the middle of provisioning. ``&``, quotes and apostrophes are fine and kept as written.
This module only parses and validates; storing the roster is programme.py's job.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import unicodedata
import warnings
import zipfile
from pathlib import Path
from typing import Callable, Literal

from pydantic import BaseModel

from mintqo_lms.moodle.errors import MintqoError

__all__ = [
    "Role",
    "Roster",
    "RosterEntry",
    "RosterError",
    "RosterProblem",
    "initiative_idnumber",
    "moodle_text_problem",
    "parse_roster",
    "region_idnumber",
    "slugify",
]

Role = Literal["coordinator", "initiative", "buddy", "staff"]
LegalStatus = Literal["gemeinnuetzig", "koerperschaft"]

# field -> accepted headers (compared case-insensitively, whitespace-trimmed)
_HEADERS: dict[str, tuple[str, ...]] = {
    "role": ("role", "rolle"),
    "first_name": ("first_name", "vorname"),
    "last_name": ("last_name", "nachname"),
    "email": ("email", "e-mail"),
    "network": ("network", "netzwerk"),
    "region": ("region", "bundesland"),
    "initiative": ("initiative", "initiative-name"),
    "offer": ("offer", "angebot"),
    "legal_status": ("legal_status", "rechtsform"),
    "buddy_of": ("buddy_of", "buddy-von"),
}
# How a column is named in messages when the file does not have it (the office uses German headers).
_GERMAN_HEADERS = {
    "role": "Rolle", "first_name": "Vorname", "last_name": "Nachname", "email": "E-Mail",
    "network": "Netzwerk", "region": "Bundesland", "initiative": "Initiative-Name", "offer": "Angebot",
    "legal_status": "Rechtsform", "buddy_of": "Buddy-von",
}
_REQUIRED_COLUMNS = ("role", "first_name", "last_name", "email", "network", "region", "initiative")

_ROLES: dict[str, Role] = {
    "coordinator": "coordinator", "koordination": "coordinator",
    "initiative": "initiative",
    "buddy": "buddy",
    "staff": "staff", "geschäftsstelle": "staff", "geschaeftsstelle": "staff",
}
_LEGAL_STATUS: dict[str, LegalStatus] = {
    "gemeinnuetzig": "gemeinnuetzig", "gemeinnützig": "gemeinnuetzig",
    "koerperschaft": "koerperschaft", "körperschaft": "koerperschaft",
}

# Close to what Moodle's validate_email accepts; deliberately ASCII-only like Moodle.
_EMAIL_RE = re.compile(
    r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)+[A-Za-z]{2,}$"
)

# German transliteration first (ä -> ae, not a); "ı" (Turkish dotless i) has no NFKD decomposition.
_TRANSLITERATE = {"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "ẞ": "ss", "ı": "i"}


def slugify(text: str) -> str:
    """Stable ASCII key for a name: ``"MINT-Region Trier" -> "mint-region-trier"``, ä -> ae, ß -> ss.

    Slugs end up in Moodle idnumbers, so the same name must always give the same slug.
    """
    lowered = text.strip().lower()
    lowered = "".join(_TRANSLITERATE.get(ch, ch) for ch in lowered)
    ascii_only = unicodedata.normalize("NFKD", lowered).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "-", ascii_only).strip("-")


def region_idnumber(cohort: str, network: str) -> str:
    """Moodle idnumber of a network's regional course, e.g. ``mintqo:region:2025:mint-region-trier``."""
    return f"mintqo:region:{cohort}:{slugify(network)}"


def initiative_idnumber(cohort: str, network: str, initiative: str) -> str:
    """Moodle idnumber of an initiative's group in its regional course."""
    return f"mintqo:initiative:{cohort}:{slugify(network)}:{slugify(initiative)}"


class RosterProblem(BaseModel):
    """One problem: where (file, line or Excel row, column header as the file has it) and why."""

    file: str
    line: int | None
    column: str | None
    message: str
    unit: Literal["line", "row"] = "line"  # "row" for Excel workbooks, numbered as Excel shows them

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f" {self.unit} {self.line}"
        if self.column:
            where += f", {self.column}"
        return f"{where}: {self.message}"


class SheetError(MintqoError):
    """A sheet staff keep (roster, timetable) is unusable; ``problems`` lists every problem found, not just
    the first, each with its line (or Excel row), column and why."""

    sheet = "sheet"

    def __init__(self, problems: list[RosterProblem]) -> None:
        self.problems = problems
        super().__init__(str(self))

    def __str__(self) -> str:
        count = len(self.problems)
        head = f"{count} problem{'s' if count != 1 else ''} in {self.sheet}:"
        return "\n".join([head, *(f"  {p}" for p in self.problems)])


class RosterError(SheetError):
    """The roster is unusable."""

    sheet = "roster"


class RosterEntry(BaseModel):
    line: int
    role: Role
    first_name: str
    last_name: str
    email: str
    network: str | None = None
    region: str | None = None
    initiative: str | None = None
    offer: str | None = None
    legal_status: LegalStatus | None = None
    buddy_of: str | None = None

    @property
    def network_slug(self) -> str | None:
        return slugify(self.network) if self.network else None

    @property
    def initiative_slug(self) -> str | None:
        return slugify(self.initiative) if self.initiative else None


class Roster(BaseModel):
    source: str
    entries: list[RosterEntry]

    def by_role(self, role: Role) -> list[RosterEntry]:
        return [e for e in self.entries if e.role == role]

    def coordinators(self) -> list[RosterEntry]:
        return self.by_role("coordinator")

    def networks(self) -> dict[str, str]:
        """Network slug -> network name as the (first) coordinator spelled it."""
        out: dict[str, str] = {}
        for entry in self.coordinators():
            out.setdefault(entry.network_slug or "", entry.network or "")
        return out

    def initiatives(self, network: str) -> dict[str, list[RosterEntry]]:
        """Initiative name -> members, for one network (given by name or slug)."""
        slug = slugify(network)
        out: dict[str, list[RosterEntry]] = {}
        for entry in self.by_role("initiative"):
            if entry.network_slug == slug and entry.initiative:
                out.setdefault(entry.initiative, []).append(entry)
        return out


# --------------------------------------------------------------------------------------------------
# Moodle's rules for names

# PHP's strip_tags keeps a '<' only when one of C's isspace characters follows it; any other '<' starts
# a tag (or a comment) and is removed with what follows, so Moodle's PARAM_TEXT / PARAM_NOTAGS validation
# ("the value must not change when cleaned") refuses the whole call. '>' alone, '&' and quotes pass.
_TAG_START = re.compile(r"<(?![ \t\n\r\v\f])")

# Columns that become Moodle names, and the length of the Moodle field they end up in (None: no direct
# field). Lengths are characters, as Moodle counts them (core_text::strlen).
_MOODLE_NAMES: dict[str, tuple[int | None, str]] = {
    "first_name": (100, "a Moodle first name"),
    "last_name": (100, "a Moodle last name"),
    "network": (254, "a Moodle course name"),
    "initiative": (254, "a Moodle group name"),
    "region": (None, ""),
    "offer": (None, ""),
}
MOODLE_IDNUMBER_MAX = 100  # course and group idnumbers (varchar 100)


def _shorten(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def moodle_text_problem(value: str) -> str | None:
    """Why Moodle would refuse ``value`` as a PARAM_TEXT / PARAM_NOTAGS name (None when it is fine).

    Moodle refuses anything PHP's ``strip_tags`` would change: ``<b>``, ``<Nord>``, ``</x>``, ``<!-- -->``,
    a ``<`` directly before a letter. ``&``, quotes, apostrophes, ``>`` and ``3 < 5`` pass unchanged.
    """
    if "\x00" in value:
        return "contains an invisible NUL character, which Moodle removes and so refuses — type the name again"
    match = _TAG_START.search(value)
    if match is None:
        return None
    start = match.start()
    if value.startswith("<!--", start):
        end = value.find("-->", start + 4)
        shown = value[start: end + 3] if end >= 0 else value[start:]
        return (f"contains an HTML comment '{_shorten(shown)}'; Moodle refuses names with tags — "
                "write it without angle brackets")
    end = value.find(">", start)
    if end >= 0:
        return (f"looks like an HTML tag '{_shorten(value[start: end + 1])}'; Moodle refuses names with tags — "
                "write it without angle brackets")
    after = value[start + 1: start + 11]
    if not after:
        return ("ends with '<', which Moodle reads as the start of an HTML tag and refuses — "
                "remove it or put a space after it")
    return (f"has '<' directly before '{after}', which Moodle reads as the start of an HTML tag and refuses — "
            "write it without '<' or put a space after it")


# --------------------------------------------------------------------------------------------------
# Reading CSV and Excel files

_Report = Callable[[int | None, str | None, str], None]
_XLSX_SUFFIXES = (".xlsx", ".xlsm")
_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # old binary .xls (and password-protected .xlsx)


def _decode(raw: bytes, shown: str) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise RosterError([RosterProblem(
            file=shown, line=line, column=None,
            message=f"file is not UTF-8 (byte 0x{raw[exc.start]:02x}); save it as 'CSV UTF-8' in Excel",
        )]) from None


def _detect_delimiter(text: str) -> str:
    """German Excel writes ';', everything else ','; the header line decides (quoted parts ignored)."""
    header = next((ln for ln in text.splitlines() if ln.strip()), "")
    unquoted = re.sub(r'"[^"]*"', "", header)
    return ";" if unquoted.count(";") > unquoted.count(",") else ","


def _csv_rows(raw: bytes, shown: str) -> list[tuple[int, list[str]]]:
    """(line where the record starts, cells) for every CSV record."""
    text = _decode(raw, shown)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_detect_delimiter(text))
    rows: list[tuple[int, list[str]]] = []
    last_line = 0
    try:
        for cells in reader:
            rows.append((last_line + 1, cells))
            last_line = reader.line_num
    except csv.Error as exc:
        raise RosterError([RosterProblem(file=shown, line=reader.line_num, column=None,
                                         message=f"cannot be read as CSV ({exc})")]) from None
    return rows


def _excel_text(value: object) -> str:
    """A cell's value as German Excel shows it: dates 31.12.2025, decimal comma, WAHR/FALSCH."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "WAHR" if value else "FALSCH"
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0):
            return value.strftime("%d.%m.%Y")
        return value.strftime("%d.%m.%Y %H:%M:%S" if value.second else "%d.%m.%Y %H:%M")
    if isinstance(value, dt.date):
        return value.strftime("%d.%m.%Y")
    if isinstance(value, dt.time):
        return value.strftime("%H:%M:%S" if value.second else "%H:%M")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return f"{value:.15g}".replace(".", ",")
    return str(value)


def _xlsx_rows(raw: bytes, shown: str) -> tuple[str, list[tuple[int, list[str]]]]:
    """(how the file is named in messages, (Excel row number, cells) for every row of the first sheet)."""
    import openpyxl  # only needed for Excel files
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        with warnings.catch_warnings():  # "no default style", unsupported extensions: noise for the office
            warnings.simplefilter("ignore")
            workbook = openpyxl.load_workbook(io.BytesIO(raw), read_only=False, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError, TypeError) as exc:
        reason = str(exc).strip() or type(exc).__name__
        raise RosterError([RosterProblem(
            file=shown, line=None, column=None,
            message=f"cannot be read as an Excel workbook ({_shorten(reason, 80)}); save it again in Excel as "
                    "'Excel-Arbeitsmappe (*.xlsx)' or as 'CSV UTF-8'",
        )]) from None
    sheet = workbook.worksheets[0]
    if len(workbook.worksheets) > 1:
        shown = f"{shown} [{sheet.title}]"  # the roster is the first sheet; say which one was read
    rows = [(number, [_excel_text(value) for value in values])
            for number, values in enumerate(sheet.iter_rows(min_row=1, values_only=True), start=1)]
    workbook.close()
    return shown, rows


def read_rows(file: Path) -> tuple[str, Literal["line", "row"], list[tuple[int, list[str]]]]:
    shown = file.name
    try:
        raw = file.read_bytes()
    except FileNotFoundError:
        raise RosterError([RosterProblem(file=shown, line=None, column=None, message="file not found")]) from None
    except OSError as exc:
        raise RosterError([RosterProblem(file=shown, line=None, column=None,
                                         message=f"cannot be read ({exc.strerror or exc})")]) from None
    suffix = file.suffix.lower()
    if raw.startswith(_OLE_MAGIC) or suffix in (".xls", ".ods", ".numbers"):
        raise RosterError([RosterProblem(
            file=shown, line=None, column=None,
            message="is an old Excel (.xls), password-protected or non-Excel spreadsheet; save it in Excel as "
                    "'Excel-Arbeitsmappe (*.xlsx)' without a password, or as 'CSV UTF-8'",
        )])
    if raw.startswith(_ZIP_MAGIC) or suffix in _XLSX_SUFFIXES:
        shown, rows = _xlsx_rows(raw, shown)
        return shown, "row", rows
    return shown, "line", _csv_rows(raw, shown)


def parse_roster(path: str | Path, cohort: str | None = None) -> Roster:
    """Read, normalise and validate a roster (CSV or .xlsx). Raises RosterError listing every problem.

    With ``cohort``, the Moodle idnumbers the roster's networks and initiatives will get in that cohort are
    checked against Moodle's length limit too.
    """
    file = Path(path)
    shown, unit, records = read_rows(file)
    problems: list[RosterProblem] = []

    def problem(line: int | None, column: str | None, message: str) -> None:
        problems.append(RosterProblem(file=shown, line=line, column=column, message=message, unit=unit))

    header, header_line, rows = split_header(records, shown, unit, RosterError)
    columns = map_header(header, header_line, problem, _HEADERS, _GERMAN_HEADERS, _REQUIRED_COLUMNS,
                         {name: name for name in _HEADERS})
    if problems:
        raise RosterError(problems)
    shown_column = {field: header[index].strip() for field, index in columns.items()}

    parsed = [_parse_row(line, cells, columns, shown_column, problem) for line, cells in rows]
    # Rows with a problem still take part in the cross-row checks (a coordinator with a typo in the
    # Rechtsform still owns its network), so one mistake does not cascade into spurious ones.
    entries = [entry for entry, _ in parsed if entry is not None]
    _check_relations(entries, shown_column, problem)
    if cohort is not None:
        _check_idnumbers(entries, cohort, shown_column, problem)
    if problems:
        problems.sort(key=lambda p: (p.line or 0))
        raise RosterError(problems)
    return Roster(source=str(file), entries=entries)


def split_header(records: list[tuple[int, list[str]]], shown: str, unit: Literal["line", "row"],
                 error: type[SheetError]) -> tuple[list[str], int, list[tuple[int, list[str]]]]:
    """A sheet's header row, its line, and the rows below it; blank rows (often trailing ones from Excel)
    carry nothing and are skipped. A sheet without any row is ``error`` ("file is empty")."""
    header: list[str] | None = None
    header_line = 0
    rows: list[tuple[int, list[str]]] = []
    for start, cells in records:
        if not any(c.strip() for c in cells):
            continue
        if header is None:
            header, header_line = cells, start
        else:
            rows.append((start, cells))
    if header is None:
        raise error([RosterProblem(file=shown, line=None, column=None, message="file is empty", unit=unit)])
    return header, header_line, rows


def map_header(header: list[str], line: int, problem: _Report, headers: dict[str, tuple[str, ...]],
               german: dict[str, str], required: tuple[str, ...], english: dict[str, str]) -> dict[str, int]:
    """Column index per field of a staff sheet's header row (German or English names, any case); every
    unknown, empty, doubled or missing column is reported on the header's line. Shared by the roster and
    the timetable so both sheets explain their headers alike."""
    lookup = {alias: name for name, aliases in headers.items() for alias in aliases}
    columns: dict[str, int] = {}
    for index, text in enumerate(header):
        clean = text.strip()
        if not clean:
            problem(line, None, f"column {index + 1} has no header")
            continue
        name = lookup.get(clean.lower())
        if name is None:
            known = ", ".join(german.values())
            problem(line, clean, f"unknown column header '{clean}' (known: {known}, or their English names)")
        elif name in columns:
            problem(line, clean, f"column '{clean}' appears twice")
        else:
            columns[name] = index
    for name in required:
        if name not in columns:
            problem(line, None, f"required column '{german[name]}' (or '{english[name]}') is missing")
    return columns


def _parse_row(line: int, cells: list[str], columns: dict[str, int], shown_column: dict[str, str],
               problem: _Report) -> tuple[RosterEntry | None, bool]:
    """The row as an entry (None if its role is unknown) and whether it was free of problems."""
    def cell(field: str) -> str | None:
        index = columns.get(field)
        if index is None or index >= len(cells):
            return None
        return cells[index].strip() or None

    ok = True

    def bad(field: str, message: str) -> None:
        nonlocal ok
        ok = False
        problem(line, shown_column.get(field, _GERMAN_HEADERS[field]), message)

    width = max(columns.values()) + 1
    if len([c for c in cells[width:] if c.strip()]):
        problem(line, None, f"row has {len(cells)} cells but the header only {width} columns")
        ok = False

    raw_role = cell("role")
    role = _ROLES.get((raw_role or "").lower())
    if role is None:
        bad("role", f"unknown role {raw_role!r} (allowed: Koordination, Initiative, Buddy, Geschäftsstelle)"
            if raw_role else "is empty")
    for field in ("first_name", "last_name"):
        if not cell(field):
            bad(field, "is empty")
    raw_email = cell("email")
    email = (raw_email or "").lower()
    if not raw_email:
        bad("email", "is empty")
    elif not _EMAIL_RE.match(email):
        bad("email", f"{raw_email!r} is not a valid e-mail address")

    legal = cell("legal_status")
    legal_status = None
    if legal is not None:
        legal_status = _LEGAL_STATUS.get(legal.lower())
        if legal_status is None:
            bad("legal_status", f"unknown legal status {legal!r} (allowed: gemeinnützig, Körperschaft)")

    buddy_of = (cell("buddy_of") or "").lower() or None
    if role == "coordinator":
        for field in ("network", "region"):
            if not cell(field):
                bad(field, "is required for coordinators")
    elif role == "initiative":
        for field in ("network", "initiative"):
            if not cell(field):
                bad(field, "is required for initiative members")
    elif role == "buddy":
        if not buddy_of:
            bad("buddy_of", "is required for buddies (the coordinator's e-mail)")
    for field in ("network", "initiative"):
        if cell(field) and not slugify(cell(field) or ""):
            bad(field, f"{cell(field)!r} has no letters or digits to build a key from")
    for field, (limit, what) in _MOODLE_NAMES.items():
        value = cell(field)
        if value is None:
            continue
        why = moodle_text_problem(value)
        if why:
            bad(field, why)
        elif limit is not None and len(value) > limit:
            bad(field, f"is {len(value)} characters long; {what} may have at most {limit} — shorten it")
    if role is None:
        return None, False
    return RosterEntry(
        line=line, role=role, first_name=cell("first_name") or "", last_name=cell("last_name") or "",
        email=email, network=cell("network"), region=cell("region"), initiative=cell("initiative"),
        offer=cell("offer"), legal_status=legal_status, buddy_of=buddy_of,
    ), ok


def _check_relations(entries: list[RosterEntry], shown_column: dict[str, str], problem: _Report) -> None:
    col = lambda field: shown_column.get(field, _GERMAN_HEADERS[field])  # noqa: E731

    first_seen: dict[str, int] = {}
    for entry in entries:
        if not entry.email:
            continue  # already reported as empty
        if entry.email in first_seen:
            problem(entry.line, col("email"),
                    f"'{entry.email}' appears twice (lines {first_seen[entry.email]} and {entry.line})")
        else:
            first_seen[entry.email] = entry.line

    coordinators = {e.email: e for e in entries if e.role == "coordinator"}
    network_region: dict[str, RosterEntry] = {}
    for coordinator in coordinators.values():
        if not coordinator.network_slug:
            continue
        other = network_region.setdefault(coordinator.network_slug or "", coordinator)
        if other is not coordinator and (other.region or "").lower() != (coordinator.region or "").lower():
            problem(coordinator.line, col("region"),
                    f"network '{coordinator.network}' is in region '{other.region}' on line {other.line}")

    initiative_names: dict[tuple[str, str], str] = {}
    for entry in entries:
        if entry.role == "initiative" and entry.network_slug:
            if entry.network_slug not in network_region:
                problem(entry.line, col("network"),
                        f"network '{entry.network}' has no coordinator in this file")
                continue
            # Spell the network as its coordinator does, so every row of a network agrees.
            entry.network = network_region[entry.network_slug or ""].network
            if not entry.initiative_slug:
                continue
            key = (entry.network_slug, entry.initiative_slug)
            first = initiative_names.setdefault(key, entry.initiative or "")
            if first.lower() == (entry.initiative or "").lower():
                entry.initiative = first
            else:
                problem(entry.line, col("initiative"),
                        f"'{entry.initiative}' and '{first}' give the same key '{entry.initiative_slug}'; "
                        "use one spelling")
        elif entry.role == "buddy" and entry.buddy_of:
            if entry.buddy_of not in coordinators:
                problem(entry.line, col("buddy_of"),
                        f"'{entry.buddy_of}' is not the e-mail of a coordinator in this file")


def _check_idnumbers(entries: list[RosterEntry], cohort: str, shown_column: dict[str, str],
                     problem: _Report) -> None:
    """Course and group idnumbers are at most 100 characters in Moodle; long names make them longer."""
    col = lambda field: shown_column.get(field, _GERMAN_HEADERS[field])  # noqa: E731
    reported: set[tuple[str | None, str | None]] = set()
    for entry in entries:
        if entry.role == "coordinator" and entry.network_slug:
            key, idnumber, field = (entry.network_slug, None), region_idnumber(cohort, entry.network or ""), "network"
        elif entry.role == "initiative" and entry.network_slug and entry.initiative_slug:
            key = (entry.network_slug, entry.initiative_slug)
            idnumber, field = initiative_idnumber(cohort, entry.network or "", entry.initiative or ""), "initiative"
        else:
            continue
        if len(idnumber) > MOODLE_IDNUMBER_MAX and key not in reported:
            reported.add(key)
            problem(entry.line, col(field),
                    f"the name is too long for Moodle's key '{_shorten(idnumber, 60)}' ({len(idnumber)} characters, "
                    f"at most {MOODLE_IDNUMBER_MAX}) — shorten it")
