"""The roster CSV staff keep: who is coordinator, initiative member, buddy or staff in a cohort.

Why strict and exhaustive: the file is hand-edited in Excel by the office, and Moodle answers most bad
data with a bare "Invalid parameter value detected" after rolling back the whole batch. So every problem
is found here, all at once, with file, line and column as the office sees them.
This module only parses and validates; storing the roster is store.py's job.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections import defaultdict
from pathlib import Path
from typing import Callable, Literal

from pydantic import BaseModel

__all__ = [
    "Role",
    "Roster",
    "RosterEntry",
    "RosterError",
    "RosterProblem",
    "initiative_idnumber",
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
    file: str
    line: int | None
    column: str | None
    message: str

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f" line {self.line}"
        if self.column:
            where += f", {self.column}"
        return f"{where}: {self.message}"


class RosterError(Exception):
    """The roster is unusable; `problems` lists every problem found, not just the first."""

    def __init__(self, problems: list[RosterProblem]) -> None:
        self.problems = problems
        super().__init__(str(self))

    def __str__(self) -> str:
        count = len(self.problems)
        head = f"{count} problem{'s' if count != 1 else ''} in roster:"
        return "\n".join([head, *(f"  {p}" for p in self.problems)])


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

_Report = Callable[[int | None, str | None, str], None]


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


def parse_roster(path: str | Path) -> Roster:
    """Read, normalise and validate the roster CSV. Raises RosterError listing every problem."""
    file = Path(path)
    shown = file.name
    try:
        raw = file.read_bytes()
    except FileNotFoundError:
        raise RosterError([RosterProblem(file=shown, line=None, column=None, message="file not found")]) from None
    text = _decode(raw, shown)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_detect_delimiter(text))
    problems: list[RosterProblem] = []

    def problem(line: int | None, column: str | None, message: str) -> None:
        problems.append(RosterProblem(file=shown, line=line, column=column, message=message))

    header: list[str] | None = None
    header_line = 0
    rows: list[tuple[int, list[str]]] = []
    last_line = 0
    for cells in reader:
        start = last_line + 1
        last_line = reader.line_num
        if not any(c.strip() for c in cells):
            continue  # blank lines (often trailing ones from Excel) carry nothing
        if header is None:
            header, header_line = cells, start
        else:
            rows.append((start, cells))
    if header is None:
        raise RosterError([RosterProblem(file=shown, line=None, column=None, message="file is empty")])

    columns = _map_header(header, header_line, problem)
    if problems:
        raise RosterError(problems)
    shown_column = {field: header[index].strip() for field, index in columns.items()}

    parsed = [_parse_row(line, cells, columns, shown_column, problem) for line, cells in rows]
    # Rows with a problem still take part in the cross-row checks (a coordinator with a typo in the
    # Rechtsform still owns its network), so one mistake does not cascade into spurious ones.
    entries = [entry for entry, _ in parsed if entry is not None]
    _check_relations(entries, shown_column, problem)
    if problems:
        problems.sort(key=lambda p: (p.line or 0))
        raise RosterError(problems)
    return Roster(source=str(file), entries=entries)


def _map_header(header: list[str], line: int, problem: _Report) -> dict[str, int]:
    lookup = {alias: field for field, aliases in _HEADERS.items() for alias in aliases}
    columns: dict[str, int] = {}
    for index, name in enumerate(header):
        clean = name.strip()
        if not clean:
            problem(line, None, f"column {index + 1} has no header")
            continue
        field = lookup.get(clean.lower())
        if field is None:
            known = ", ".join(_GERMAN_HEADERS.values())
            problem(line, clean, f"unknown column header '{clean}' (known: {known}, or their English names)")
        elif field in columns:
            problem(line, clean, f"column '{clean}' appears twice")
        else:
            columns[field] = index
    for field in _REQUIRED_COLUMNS:
        if field not in columns:
            problem(line, None, f"required column '{_GERMAN_HEADERS[field]}' (or '{field}') is missing")
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
