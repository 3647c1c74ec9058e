"""The programme's own records in the store: cohorts, people and who does what in which cohort.

The roster file is the office's source of truth for a cohort. Importing it is one transaction: a file
with errors stores nothing, a corrected file updates the same rows (people are matched by e-mail), and
people no longer in the file are marked inactive rather than deleted — provisioning never unenrols;
``mintqo-lms people remove`` does that explicitly.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel

from mintqo_lms.moodle import Moodle
from mintqo_lms.moodle.errors import MintqoError
from mintqo_lms.roster import Roster, RosterEntry, parse_roster, slugify
from mintqo_lms.store import Store


class ProgrammeError(MintqoError):
    """A programme record is missing or inconsistent (unknown cohort, unknown person …)."""


def person_idnumber(email: str) -> str:
    """A person's Moodle idnumber, derived from the normalised e-mail.

    Derived rather than random so that the same person gets the same idnumber even if the store is
    rebuilt: provisioning then finds the existing Moodle account instead of creating a second one.
    """
    digest = hashlib.sha256(email.strip().lower().encode("utf-8")).hexdigest()[:16]
    return f"mintqo:person:{digest}"


def cohort_title(cohort: str) -> str:
    return f"Durchgang {cohort}"


@dataclass
class ImportSummary:
    cohort: str
    people_created: int = 0
    people_updated: int = 0
    memberships: int = 0
    deactivated: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        text = (f"Cohort {self.cohort}: {self.memberships} roster entries; "
                f"{self.people_created} people new, {self.people_updated} updated")
        if self.deactivated:
            text += (f"; {len(self.deactivated)} no longer in the roster (still enrolled in Moodle; "
                     f"'mintqo-lms people remove' unenrols): {', '.join(self.deactivated)}")
        return text


class Member(BaseModel):
    """One active person in one role of a cohort, as provisioning needs it."""

    person_id: int
    email: str
    first_name: str
    last_name: str
    idnumber: str
    moodle_user_id: int | None = None
    role: str
    network_slug: str | None = None
    initiative_slug: str | None = None
    buddy_of_id: int | None = None


@dataclass
class CohortRoster:
    cohort: str
    members: list[Member]
    networks: dict[str, dict]      # slug -> {name, region, legal_status, coordinator_id}
    initiatives: dict[tuple[str, str], dict]  # (network slug, slug) -> {name, offer}

    def people(self) -> dict[int, Member]:
        """One entry per person (a person may hold several roles)."""
        out: dict[int, Member] = {}
        for member in self.members:
            out.setdefault(member.person_id, member)
        return out

    def by_role(self, role: str) -> list[Member]:
        return [m for m in self.members if m.role == role]


def import_roster(store: Store, path: str | Path, cohort: str) -> ImportSummary:
    """Parse and store a roster file for ``cohort``; all or nothing."""
    roster = parse_roster(path)  # raises RosterError listing every problem; nothing stored
    return save_roster(store, roster, cohort)


def save_roster(store: Store, roster: Roster, cohort: str) -> ImportSummary:
    summary = ImportSummary(cohort=cohort)
    now = int(time.time())
    db = store.db
    with store.transaction():
        db["cohorts"].upsert({"key": cohort, "title": cohort_title(cohort), "created_at": now}, pk="key")
        person_ids: dict[str, int] = {}
        for entry in roster.entries:
            person_ids[entry.email] = _upsert_person(store, entry, now, summary)
        seen: set[tuple[int, str]] = set()
        for entry in roster.entries:
            pid = person_ids[entry.email]
            seen.add((pid, entry.role))
            db["memberships"].upsert({
                "cohort": cohort, "person_id": pid, "role": entry.role, "network_slug": entry.network_slug,
                "initiative_slug": entry.initiative_slug if entry.role == "initiative" else None,
                "buddy_of_id": person_ids.get(entry.buddy_of or "") if entry.role == "buddy" else None,
                "roster_line": entry.line, "active": 1, "updated_at": now,
            }, pk=("cohort", "person_id", "role"))
            _upsert_structure(store, cohort, entry, pid)
        summary.memberships = len(seen)
        for row in db.query("SELECT m.person_id, m.role, p.email FROM memberships m JOIN people p "
                            "ON p.id = m.person_id WHERE m.cohort = ? AND m.active = 1", [cohort]):
            if (row["person_id"], row["role"]) not in seen:
                db["memberships"].update((cohort, row["person_id"], row["role"]), {"active": 0, "updated_at": now})
                summary.deactivated.append(f"{row['email']} ({row['role']})")
    return summary


def _upsert_person(store: Store, entry: RosterEntry, now: int, summary: ImportSummary) -> int:
    table = store.db["people"]
    existing = list(table.rows_where("email = ?", [entry.email], limit=1))
    values = {"first_name": entry.first_name, "last_name": entry.last_name, "updated_at": now}
    if existing:
        row = existing[0]
        if any(row[k] != v for k, v in values.items() if k != "updated_at"):
            table.update(row["id"], values)
            summary.people_updated += 1
        return int(row["id"])
    summary.people_created += 1
    return int(table.insert({"email": entry.email, "idnumber": person_idnumber(entry.email), "created_at": now,
                             **values}).last_pk)


def _upsert_structure(store: Store, cohort: str, entry: RosterEntry, pid: int) -> None:
    db = store.db
    if entry.role == "coordinator" and entry.network:
        db["networks"].upsert({"cohort": cohort, "slug": entry.network_slug, "name": entry.network,
                               "region": entry.region, "legal_status": entry.legal_status,
                               "coordinator_id": pid}, pk=("cohort", "slug"))
        db["coordinators"].upsert({"cohort": cohort, "person_id": pid, "network_slug": entry.network_slug,
                                   "legal_status": entry.legal_status}, pk=("cohort", "person_id"))
    elif entry.role == "initiative" and entry.initiative:
        db["initiatives"].upsert({"cohort": cohort, "network_slug": entry.network_slug,
                                  "slug": entry.initiative_slug, "name": entry.initiative, "offer": entry.offer},
                                 pk=("cohort", "network_slug", "slug"))


def load_cohort(store: Store, cohort: str) -> CohortRoster:
    """The active roster of a cohort, as stored."""
    if not store.db["cohorts"].count_where("key = ?", [cohort]):
        raise ProgrammeError(f"cohort {cohort} has no roster yet: run 'mintqo-lms roster import FILE --cohort {cohort}'")
    members = [Member.model_validate(row) for row in store.db.query(
        "SELECT m.person_id, p.email, p.first_name, p.last_name, p.idnumber, p.moodle_user_id, m.role, "
        "m.network_slug, m.initiative_slug, m.buddy_of_id FROM memberships m JOIN people p ON p.id = m.person_id "
        "WHERE m.cohort = ? AND m.active = 1 ORDER BY m.roster_line, m.role", [cohort])]
    networks = {row["slug"]: row for row in store.db["networks"].rows_where("cohort = ?", [cohort])}
    active_networks = {m.network_slug for m in members if m.role == "coordinator"}
    initiatives = {(row["network_slug"], row["slug"]): row
                   for row in store.db["initiatives"].rows_where("cohort = ?", [cohort])}
    active_initiatives = {(m.network_slug, m.initiative_slug) for m in members if m.role == "initiative"}
    return CohortRoster(
        cohort=cohort, members=members,
        networks={k: v for k, v in networks.items() if k in active_networks},
        initiatives={k: v for k, v in initiatives.items() if k in active_initiatives},
    )


def set_moodle_user_ids(store: Store, ids: Iterable[tuple[int, int]]) -> None:
    """Remember Moodle's user id per person (person_id, moodle_user_id)."""
    with store.transaction():
        for person_id, moodle_id in ids:
            store.db["people"].update(person_id, {"moodle_user_id": moodle_id})


def remove_member(moodle: Moodle, store: Store, email: str, cohort: str) -> int:
    """Unenrol a person from the cohort's courses, then mark their memberships inactive.

    Moodle first, the store after: if the unenrol fails, the store still says "member" and the command can
    simply be run again.
    """
    person = find_person(store, email)
    rows = list(store.db.query(
        "SELECT e.course_idnumber, c.moodle_id FROM enrolments e JOIN courses c ON c.idnumber = e.course_idnumber "
        "WHERE e.person_id = ? AND c.cohort = ? GROUP BY e.course_idnumber", [person["id"], cohort]))
    if person["moodle_user_id"] and rows:
        moodle.core.unenrol_users([{"userid": person["moodle_user_id"], "courseid": row["moodle_id"]} for row in rows])
    with store.transaction():
        store.db.execute("UPDATE memberships SET active = 0, updated_at = ? WHERE cohort = ? AND person_id = ?",
                         [int(time.time()), cohort, person["id"]])
        for row in rows:
            store.db.execute("DELETE FROM enrolments WHERE course_idnumber = ? AND person_id = ?",
                             [row["course_idnumber"], person["id"]])
    return len(rows)


def find_person(store: Store, email: str) -> dict:
    rows = list(store.db["people"].rows_where("email = ?", [email.strip().lower()], limit=1))
    if not rows:
        raise ProgrammeError(f"no person with e-mail {email} in the store")
    return rows[0]


__all__ = ["CohortRoster", "ImportSummary", "Member", "ProgrammeError", "cohort_title", "find_person",
           "import_roster", "load_cohort", "remove_member", "person_idnumber", "save_roster", "set_moodle_user_ids", "slugify"]
