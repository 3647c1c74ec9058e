"""The programme's own records in the store: cohorts, people and who does what in which cohort.

The roster file is the office's source of truth for a cohort. Importing it is one transaction: a file
with errors stores nothing, a corrected file updates the same rows (people are matched by e-mail), and
people no longer in the file are marked inactive rather than deleted — provisioning never unenrols;
``mintqo-lms people remove`` does that explicitly.

Guard rails where a slip costs a cohort: a roster without people, or one that would take more than a third
of the cohort's active people off it, is refused unless the caller allows it (``--allow-shrink``); people
removed on purpose stay removed when an old roster lists them again, unless they are named to be restored
(``--restore EMAIL``).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel

from mintqo_lms.keys import UnknownCohortError, require_cohort, validate_cohort_key
from mintqo_lms.moodle import Moodle
from mintqo_lms.moodle.errors import MintqoError
from mintqo_lms.roster import Roster, RosterEntry, parse_roster, slugify
from mintqo_lms.store import Store

ALLOW_SHRINK_FLAG = "--allow-shrink"
RESTORE_OPTION = "--restore"
SHRINK_LIMIT = 1 / 3  # more than this share of a cohort's active people leaving needs ALLOW_SHRINK_FLAG


class ProgrammeError(MintqoError):
    """A programme record is missing or inconsistent (unknown person, person not in a roster …)."""


class RosterShrinkError(ProgrammeError):
    """Importing this roster would take more than a third of a cohort's active people off it."""

    def __init__(self, cohort: str, dropping: list[str], active: int, message: str | None = None) -> None:
        self.cohort = cohort
        self.dropping = dropping
        self.active = active
        if message is None:
            message = (f"this roster would take {len(dropping)} of the {active} active people of cohort {cohort} "
                       f"off the roster (more than a third): {_some(dropping)}. Nothing was stored; if that is "
                       f"intended, import it again with {ALLOW_SHRINK_FLAG}")
        super().__init__(message)


class EmptyRosterError(RosterShrinkError):
    """The roster has a header but no people."""

    def __init__(self, cohort: str, dropping: list[str], active: int) -> None:
        takes = (f"importing it would take all {active} active people of cohort {cohort} off the roster"
                 if active else f"importing it would create cohort {cohort} without anyone in it")
        super().__init__(cohort, dropping, active,
                         f"the roster has no people, only a header row; {takes}. Nothing was stored; if that is "
                         f"intended, import it again with {ALLOW_SHRINK_FLAG}")


def _some(items: list[str], limit: int = 5) -> str:
    shown = ", ".join(items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


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
    kept_removed: list[str] = field(default_factory=list)  # e-mails of people removed on purpose, still removed
    restored: list[str] = field(default_factory=list)      # e-mails brought back with --restore

    def __str__(self) -> str:
        text = (f"Cohort {self.cohort}: {self.memberships} roster entries; "
                f"{self.people_created} people new, {self.people_updated} updated")
        if self.restored:
            text += f"; restored: {', '.join(self.restored)}"
        if self.deactivated:
            text += (f"; {len(self.deactivated)} no longer in the roster (still enrolled in Moodle; "
                     f"'mintqo-lms people remove' unenrols): {', '.join(self.deactivated)}")
        if self.kept_removed:
            count = len(self.kept_removed)
            text += (f"\n{count} {'person' if count == 1 else 'people'} in this roster "
                     f"{'was' if count == 1 else 'were'} removed on purpose and stay{'s' if count == 1 else ''} "
                     f"removed: {', '.join(self.kept_removed)}; to bring them back, import again with "
                     f"{' '.join(f'{RESTORE_OPTION} {email}' for email in self.kept_removed)}")
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


def import_roster(store: Store, path: str | Path, cohort: str, *, allow_shrink: bool = False,
                  restore: Collection[str] = ()) -> ImportSummary:
    """Parse and store a roster file (CSV or .xlsx) for ``cohort``; all or nothing.

    Raises CohortKeyError (bad key), RosterError (every bad row), RosterShrinkError / EmptyRosterError
    (too many people would leave; pass ``allow_shrink``) or ProgrammeError (``restore`` names someone the
    file does not list); in each case nothing is stored.
    """
    validate_cohort_key(cohort)
    roster = parse_roster(path, cohort)  # raises RosterError listing every problem; nothing stored
    return save_roster(store, roster, cohort, allow_shrink=allow_shrink, restore=restore)


def removed_people(store: Store, cohort: str) -> dict[str, int]:
    """E-mail -> person id of everyone taken off ``cohort`` on purpose (``people remove``)."""
    return {row["email"]: int(row["id"]) for row in store.db.query(
        "SELECT DISTINCT p.email, p.id FROM memberships m JOIN people p ON p.id = m.person_id "
        "WHERE m.cohort = ? AND m.removed_at IS NOT NULL ORDER BY p.email", [cohort])}


def save_roster(store: Store, roster: Roster, cohort: str, *, allow_shrink: bool = False,
                restore: Collection[str] = ()) -> ImportSummary:
    """Store a parsed roster for ``cohort`` in one transaction (see the module's guard rails)."""
    validate_cohort_key(cohort)
    summary = ImportSummary(cohort=cohort)
    now = int(time.time())
    db = store.db
    in_roster = {entry.email for entry in roster.entries}
    wanted_back = {email.strip().lower() for email in restore}
    missing = sorted(wanted_back - in_roster)
    if missing:
        raise ProgrammeError(f"{RESTORE_OPTION} {_some(missing)}: not in this roster; only people the file "
                             "lists can be restored")
    removed = removed_people(store, cohort)
    summary.kept_removed = sorted(email for email in removed if email in in_roster and email not in wanted_back)
    summary.restored = sorted(email for email in removed if email in wanted_back)
    staying = in_roster - set(summary.kept_removed)
    active = sorted({row["email"] for row in db.query(
        "SELECT p.email FROM memberships m JOIN people p ON p.id = m.person_id "
        "WHERE m.cohort = ? AND m.active = 1", [cohort])})
    dropping = [email for email in active if email not in staying]
    if not allow_shrink:
        if not roster.entries:
            raise EmptyRosterError(cohort, dropping, len(active))
        if active and len(dropping) > SHRINK_LIMIT * len(active):
            raise RosterShrinkError(cohort, dropping, len(active))
    entries = [entry for entry in roster.entries if entry.email in staying]
    with store.transaction():
        db["cohorts"].upsert({"key": cohort, "title": cohort_title(cohort), "created_at": now}, pk="key")
        for email in summary.restored:
            db.execute("UPDATE memberships SET removed_at = NULL, updated_at = ? WHERE cohort = ? AND person_id = ?",
                       [now, cohort, removed[email]])
        person_ids: dict[str, int] = {}
        for entry in entries:
            person_ids[entry.email] = _upsert_person(store, entry, now, summary)
        seen: set[tuple[int, str]] = set()
        for entry in entries:
            pid = person_ids[entry.email]
            seen.add((pid, entry.role))
            db["memberships"].upsert({
                "cohort": cohort, "person_id": pid, "role": entry.role, "network_slug": entry.network_slug,
                "initiative_slug": entry.initiative_slug if entry.role == "initiative" else None,
                "buddy_of_id": person_ids.get(entry.buddy_of or "") if entry.role == "buddy" else None,
                "roster_line": entry.line, "active": 1, "removed_at": None, "updated_at": now,
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
    """The active roster of a cohort, as stored; UnknownCohortError (naming the cohorts there are) if none."""
    require_cohort(store, cohort)
    members = [Member.model_validate(row) for row in store.db.query(
        "SELECT m.person_id, p.email, p.first_name, p.last_name, p.idnumber, p.moodle_user_id, m.role, "
        "m.network_slug, m.initiative_slug, m.buddy_of_id FROM memberships m JOIN people p ON p.id = m.person_id "
        "WHERE m.cohort = ? AND m.active = 1 ORDER BY m.roster_line, m.role", [cohort])]
    initiatives = {(row["network_slug"], row["slug"]): row
                   for row in store.db["initiatives"].rows_where("cohort = ?", [cohort])}
    active_initiatives = {(m.network_slug, m.initiative_slug) for m in members if m.role == "initiative"}
    return CohortRoster(
        cohort=cohort, members=members,
        networks=active_networks(store, cohort),
        initiatives={k: v for k, v in initiatives.items() if k in active_initiatives},
    )


def active_networks(store: Store, cohort: str) -> dict[str, dict]:
    """The cohort's networks that have an active coordinator (slug -> row): all the courses need of a roster."""
    return {row["slug"]: row for row in store.db.query(
        "SELECT n.* FROM networks n WHERE n.cohort = ? AND EXISTS (SELECT 1 FROM memberships m WHERE "
        "m.cohort = n.cohort AND m.network_slug = n.slug AND m.role = 'coordinator' AND m.active = 1) "
        "ORDER BY n.rowid", [cohort])}


def set_moodle_user_ids(store: Store, ids: Iterable[tuple[int, int]]) -> None:
    """Remember Moodle's user id per person (person_id, moodle_user_id)."""
    with store.transaction():
        store.db.conn.executemany("UPDATE people SET moodle_user_id = ? WHERE id = ?",
                                  [(moodle_id, person_id) for person_id, moodle_id in ids])


def remove_member(moodle: Moodle, store: Store, email: str, cohort: str) -> int:
    """Unenrol a person from the cohort's courses, then mark their memberships inactive.

    Moodle first, the store after: if the unenrol fails, the store still says "member" and the command can
    simply be run again. The memberships are marked as removed on purpose, so a later import of an old
    roster that still lists the person does not bring them back (``--restore EMAIL`` does).
    """
    require_cohort(store, cohort)
    person = find_person(store, email)
    if not store.db["memberships"].count_where("cohort = ? AND person_id = ?", [cohort, person["id"]]):
        raise ProgrammeError(f"{person['email']} is not on the roster of cohort {cohort}")
    rows = list(store.db.query(
        "SELECT e.course_idnumber, c.moodle_id FROM enrolments e JOIN courses c ON c.idnumber = e.course_idnumber "
        "WHERE e.person_id = ? AND c.cohort = ? GROUP BY e.course_idnumber", [person["id"], cohort]))
    if person["moodle_user_id"] and rows:
        moodle.core.unenrol_users([{"userid": person["moodle_user_id"], "courseid": row["moodle_id"]} for row in rows])
    with store.transaction():
        now = int(time.time())
        store.db.execute("UPDATE memberships SET active = 0, removed_at = ?, updated_at = ? "
                         "WHERE cohort = ? AND person_id = ?", [now, now, cohort, person["id"]])
        for row in rows:
            store.db.execute("DELETE FROM enrolments WHERE course_idnumber = ? AND person_id = ?",
                             [row["course_idnumber"], person["id"]])
    return len(rows)


def find_person(store: Store, email: str) -> dict:
    rows = list(store.db["people"].rows_where("email = ?", [email.strip().lower()], limit=1))
    if not rows:
        raise ProgrammeError(f"no person with e-mail {email} in the store")
    return rows[0]


__all__ = ["ALLOW_SHRINK_FLAG", "RESTORE_OPTION", "CohortRoster", "active_networks", "EmptyRosterError", "ImportSummary", "Member",
           "ProgrammeError", "RosterShrinkError", "UnknownCohortError", "cohort_title", "find_person",
           "import_roster", "load_cohort", "remove_member", "removed_people", "person_idnumber", "require_cohort",
           "save_roster", "set_moodle_user_ids", "slugify"]
