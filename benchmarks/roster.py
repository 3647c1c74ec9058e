"""Rosters of N times the programme: 1x is the cohort the programme office runs (20 coordinators, 150
initiatives of three, 5 buddies, 2 staff: 477 people); 16x is about 320 coordinators, 2,400 initiatives and
7,600 people. Built on :mod:`mintqo_lms.samples` (German names, the office's column headers)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from mintqo_lms.exports import write_table
from mintqo_lms.samples import HEADER, synthetic_roster

PROGRAMME = {"coordinators": 20, "initiatives": 150, "members_per_initiative": 3, "buddies": 5, "staff": 2}


def sizes(scale: float) -> dict[str, int]:
    """The roster's sizes at ``scale`` (at least one coordinator, initiative and buddy: every role appears)."""
    return {"coordinators": max(1, round(PROGRAMME["coordinators"] * scale)),
            "initiatives": max(1, round(PROGRAMME["initiatives"] * scale)),
            "members_per_initiative": PROGRAMME["members_per_initiative"],
            "buddies": max(1, round(PROGRAMME["buddies"] * scale)),
            "staff": PROGRAMME["staff"]}


def roster_rows(scale: float, tag: str = "") -> list[list[str]]:
    """The rows (without header). ``tag`` goes into every e-mail address (``name.tag@domain``) so that runs
    against one real site do not find the accounts of an earlier run."""
    rows = list(csv.reader(io.StringIO(synthetic_roster(**sizes(scale))), delimiter=";"))[1:]
    if tag:
        email, buddy_of = HEADER.index("E-Mail"), HEADER.index("Buddy-von")
        for row in rows:
            for column in (email, buddy_of):
                if row[column]:
                    row[column] = row[column].replace("@", f".{tag}@", 1)
    return rows


def write_roster(path: str | Path, scale: float, tag: str = "") -> Path:
    """Write the roster as the office keeps it (UTF-8 with BOM, ';'); returns the CSV's path."""
    return write_table(Path(path), HEADER, roster_rows(scale, tag), sheet="Roster")[0]
