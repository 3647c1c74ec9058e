"""The programme store: SQLite through sqlite-utils.

Why SQLite: one office, one writer, a file that can be backed up by copying. WAL lets reports read while a
sync writes. The schema moves forward only, through numbered migrations recorded in
``schema_migrations``; a file at any earlier version is brought up to date on open. The file holds
personal data, so it is created with mode 0600 before SQLite touches it.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlite_utils

from mintqo_lms.moodle.errors import MintqoError


class StoreError(MintqoError):
    """The store file is unusable (not SQLite, from a newer version of this program …)."""


def _now() -> int:
    return int(time.time())


# -- migrations -------------------------------------------------------------------------------------

def _m1_programme(db: sqlite_utils.Database) -> None:
    """Cohorts, networks, people and their roles: what the roster says."""
    db["cohorts"].create({"key": str, "title": str, "created_at": int}, pk="key")
    db["people"].create({
        "id": int, "email": str, "first_name": str, "last_name": str, "idnumber": str,
        "moodle_user_id": int, "created_at": int, "updated_at": int,
    }, pk="id", not_null={"email", "idnumber"})
    db["people"].create_index(["email"], unique=True)
    db["people"].create_index(["idnumber"], unique=True)
    db["networks"].create({
        "cohort": str, "slug": str, "name": str, "region": str, "legal_status": str,
        "coordinator_id": int,
    }, pk=("cohort", "slug"), foreign_keys=[("cohort", "cohorts", "key"), ("coordinator_id", "people", "id")])
    db["coordinators"].create({"cohort": str, "person_id": int, "network_slug": str, "legal_status": str},
                              pk=("cohort", "person_id"),
                              foreign_keys=[("cohort", "cohorts", "key"), ("person_id", "people", "id")])
    db["initiatives"].create({"cohort": str, "network_slug": str, "slug": str, "name": str, "offer": str},
                             pk=("cohort", "network_slug", "slug"), foreign_keys=[("cohort", "cohorts", "key")])
    db["memberships"].create({
        "cohort": str, "person_id": int, "role": str, "network_slug": str, "initiative_slug": str,
        "buddy_of_id": int, "roster_line": int, "active": int, "updated_at": int,
    }, pk=("cohort", "person_id", "role"),
        foreign_keys=[("cohort", "cohorts", "key"), ("person_id", "people", "id")])


def _m2_moodle_objects(db: sqlite_utils.Database) -> None:
    """What we created in Moodle, by idnumber, with Moodle's ids."""
    db["courses"].create({
        "idnumber": str, "cohort": str, "kind": str, "network_slug": str, "moodle_id": int,
        "shortname": str, "fullname": str, "content_hash": str, "updated_at": int,
    }, pk="idnumber")
    db["enrolments"].create({"course_idnumber": str, "person_id": int, "role": str, "updated_at": int},
                            pk=("course_idnumber", "person_id", "role"))
    db["groups"].create({"idnumber": str, "course_idnumber": str, "moodle_id": int, "name": str}, pk="idnumber")
    db["activities"].create({
        "course_idnumber": str, "idnumber": str, "cmid": int, "instance_id": int, "modname": str,
        "name": str, "section": int, "updated_at": int,
    }, pk=("course_idnumber", "idnumber"))  # activity idnumbers repeat across regional courses
    db["activities"].create_index(["cmid"], unique=True)


def _m3_sync(db: sqlite_utils.Database) -> None:
    """What the sync reads back, the cursors it keeps, and a log of every run."""
    db["activity_completion"].create({
        "cmid": int, "userid": int, "courseid": int, "activity_idnumber": str, "state": int,
        "timemodified": int, "overrideby": int,
    }, pk=("cmid", "userid"))
    db["course_completion"].create({
        "courseid": int, "userid": int, "timeenrolled": int, "timestarted": int, "timecompleted": int,
        "timemodified": int,
    }, pk=("courseid", "userid"))
    db["quiz_attempts"].create({
        "attemptid": int, "quizid": int, "cmid": int, "userid": int, "attempt": int, "timestart": int,
        "timefinish": int, "timemodified": int,
    }, pk="attemptid")
    db["responses"].create({
        "attemptid": int, "slot": int, "question_idnumber": str, "answer_position": int, "answer_text": str,
        "fraction": float,
    }, pk=("attemptid", "slot"), foreign_keys=[("attemptid", "quiz_attempts", "attemptid")])
    db["sync_state"].create({"stream": str, "cursor": str, "updated_at": int}, pk="stream")
    db["sync_runs"].create({
        "id": int, "kind": str, "cohort": str, "started_at": int, "finished_at": int, "status": str,
        "summary": str, "calls": str, "error": str,
    }, pk="id")


def _m4_certificates(db: sqlite_utils.Database) -> None:
    """Certificates of participation: one per coordinator and cohort; revoking keeps the record."""
    db["certificates"].create({
        "id": int, "cohort": str, "person_id": int, "code": str, "issued_at": int, "revoked_at": int,
        "revoked_reason": str, "pdf_sha256": str,
    }, pk="id", foreign_keys=[("person_id", "people", "id")])
    db["certificates"].create_index(["code"], unique=True)
    db["certificates"].create_index(["cohort", "person_id"], unique=True)


def _m5_removals(db: sqlite_utils.Database) -> None:
    """People taken off a cohort on purpose (``people remove``): a re-imported old roster must not bring them back."""
    db["memberships"].add_column("removed_at", int)


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    apply: Callable[[sqlite_utils.Database], None]


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "programme: cohorts, people, networks, initiatives, memberships", _m1_programme),
    Migration(2, "moodle objects: courses, enrolments, groups, activities", _m2_moodle_objects),
    Migration(3, "sync: completions, attempts, responses, cursors, runs", _m3_sync),
    Migration(4, "certificates", _m4_certificates),
    Migration(5, "memberships.removed_at: removed on purpose", _m5_removals),
)
LATEST_VERSION = MIGRATIONS[-1].version


# -- the store --------------------------------------------------------------------------------------

class Store:
    """Open (creating if needed) and migrate the programme store."""

    def __init__(self, path: str | os.PathLike[str], *, migrate_to: int | None = LATEST_VERSION):
        self.path = Path(path)
        if str(path) != ":memory:":
            self._create_private(self.path)
        try:
            conn = sqlite3.connect(str(self.path), isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{self.path}: not a usable SQLite file ({exc})") from None
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA busy_timeout=5000")
        self.db = sqlite_utils.Database(conn)
        if migrate_to is not None:
            self.migrate(migrate_to)

    @staticmethod
    def _create_private(path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o600)
            os.close(fd)

    def close(self) -> None:
        self.db.conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- schema -------------------------------------------------------------------------------------

    @property
    def version(self) -> int:
        if "schema_migrations" not in self.db.table_names():
            return 0
        row = self.db.execute("SELECT MAX(version) FROM schema_migrations").fetchone()
        return int(row[0] or 0)

    def migrate(self, target: int = LATEST_VERSION) -> list[int]:
        """Apply each missing migration in its own transaction; return the versions applied."""
        try:
            current = self.version
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{self.path}: not a usable SQLite file ({exc})") from None
        if current > LATEST_VERSION:
            raise StoreError(f"{self.path} is at schema version {current}, newer than this program "
                             f"({LATEST_VERSION}); upgrade mintqo-lms")
        applied = []
        for migration in MIGRATIONS:
            if current < migration.version <= target:
                with self.transaction():
                    if "schema_migrations" not in self.db.table_names():
                        self.db["schema_migrations"].create(
                            {"version": int, "name": str, "applied_at": int}, pk="version")
                    migration.apply(self.db)
                    self.db["schema_migrations"].insert(
                        {"version": migration.version, "name": migration.name, "applied_at": _now()})
                applied.append(migration.version)
        return applied

    @contextmanager
    def transaction(self) -> Iterator[sqlite_utils.Database]:
        """All-or-nothing writes: nothing half-written survives an error or a kill."""
        conn = self.db.conn
        if conn.in_transaction:  # nested: join the outer transaction
            yield self.db
            return
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        else:
            conn.execute("COMMIT")

    # -- cursors and runs ---------------------------------------------------------------------------

    def get_cursor(self, stream: str, default: str = "0") -> str:
        rows = list(self.db.query("SELECT cursor FROM sync_state WHERE stream = ?", [stream]))
        return rows[0]["cursor"] if rows else default

    def set_cursor(self, stream: str, cursor: str) -> None:
        self.db["sync_state"].upsert({"stream": stream, "cursor": str(cursor), "updated_at": _now()}, pk="stream")

    def start_run(self, kind: str, cohort: str | None = None) -> int:
        with self.transaction():
            return int(self.db["sync_runs"].insert(
                {"kind": kind, "cohort": cohort, "started_at": _now(), "status": "running"}).last_pk)

    def finish_run(self, run_id: int, *, status: str, summary: dict[str, Any] | None = None,
                   calls: dict[str, Any] | None = None, error: str | None = None) -> None:
        with self.transaction():
            self.db["sync_runs"].update(run_id, {
                "finished_at": _now(), "status": status,
                "summary": json.dumps(summary or {}, ensure_ascii=False, sort_keys=True),
                "calls": json.dumps(calls or {}, sort_keys=True), "error": error,
            })
