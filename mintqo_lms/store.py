"""The programme store: SQLite through sqlite-utils.

Why SQLite: one office, one writer, a file that can be backed up by copying. WAL lets reports read while a
sync writes. The schema moves forward only, through numbered migrations recorded in
``schema_migrations``; a file at any earlier version is brought up to date on open. The file holds
personal data, so it is created with mode 0600 before SQLite touches it.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import sqlite3
import stat
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import sqlite_utils

from mintqo_lms.moodle.errors import MintqoError

log = logging.getLogger(__name__)

SQLITE_HEADER = b"SQLite format 3\x00"


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


def _m6_run_owner(db: sqlite_utils.Database) -> None:
    """Who ran a run: a dry run is told apart from a real one, and a run whose process is gone can be marked
    ``interrupted`` instead of staying ``running`` forever. Earlier dry runs were recorded as kind
    ``provision-dry-run``; they become kind ``provision`` with ``dry_run = 1``."""
    table = db["sync_runs"]
    table.add_column("dry_run", int, not_null_default=0)
    table.add_column("pid", int)
    table.add_column("host", str)
    table.add_column("command", str)
    db.execute("UPDATE sync_runs SET kind = substr(kind, 1, length(kind) - 8), dry_run = 1 "
               "WHERE kind LIKE '%-dry-run'")


def _m7_timetable_invitations_roles(db: sqlite_utils.Database) -> None:
    """The cohort's timetable (``timetable import``: one row per appointment or deadline, replaced as a whole),
    the invitations sent (``invite``: recorded before the message goes out, so nobody gets it twice), and the
    roles given outside a course (programme-office staff as managers of the cohort's category)."""
    db["timetable"].create({
        "cohort": str, "course_idnumber": str, "key": str, "seq": int, "kind": str, "start": int, "end": int,
        "allday": int, "location": str, "note": str, "source": str, "line": int, "imported_at": int,
    }, pk=("cohort", "course_idnumber", "key", "seq"), foreign_keys=[("cohort", "cohorts", "key")])
    db["invitations"].create({
        "cohort": str, "person_id": int, "status": str, "clientmsgid": str, "msgid": int, "attempts": int,
        "error": str, "created_at": int, "sent_at": int, "updated_at": int,
    }, pk=("cohort", "person_id"), foreign_keys=[("cohort", "cohorts", "key"), ("person_id", "people", "id")])
    db["role_assignments"].create({
        "contextkey": str, "person_id": int, "role": str, "contextlevel": str, "instanceid": int, "updated_at": int,
    }, pk=("contextkey", "person_id", "role"), foreign_keys=[("person_id", "people", "id")])


def _m8_analyses(db: sqlite_utils.Database) -> None:
    """Self-analysis results, computed by ``sync`` in the transaction that stores the answers (see
    :mod:`mintqo_lms.profile` for the team rule): each initiative's analysis per quiz (``analyses``; a later
    finished attempt of the team replaces it: the older row stays with ``current = 0``), its scores per
    dimension, criterion and statement (``analysis_scores``), and per initiative the change from its first to
    its latest analysis (``analysis_changes``)."""
    db["analyses"].create({
        "cohort": str, "network_slug": str, "initiative_slug": str, "quiz": str, "attemptid": int,
        "kind": str, "instrument": str, "cmid": int, "userid": int, "person_id": int, "timefinish": int,
        "offer": str, "current": int, "answered": int, "statements": int, "computed_at": int,
    }, pk=("cohort", "network_slug", "initiative_slug", "quiz", "attemptid"),
        foreign_keys=[("cohort", "cohorts", "key")])
    db["analyses"].create_index(["attemptid"], unique=True)
    db["analyses"].create_index(["cohort", "current"])
    db["analysis_scores"].create({
        "attemptid": int, "level": str, "key": str, "score": float, "answered": int, "total": int,
        "meaningful": int, "potential_rank": int,
    }, pk=("attemptid", "level", "key"), foreign_keys=[("attemptid", "analyses", "attemptid")])
    db["analysis_changes"].create({
        "cohort": str, "network_slug": str, "initiative_slug": str, "level": str, "key": str,
        "first_attemptid": int, "latest_attemptid": int, "change": float, "compared": int,
    }, pk=("cohort", "network_slug", "initiative_slug", "level", "key"),
        foreign_keys=[("cohort", "cohorts", "key")])


def _m9_feedback_messages(db: sqlite_utils.Database) -> None:
    """The feedback message each member of an initiative gets after a newly finished self-analysis
    (:mod:`mintqo_lms.feedback`): one row per analysis (``attemptid``) and recipient, written as ``sending``
    before the message goes out, ``sent`` after Moodle confirmed it, ``failed`` when Moodle provably did not
    take it; a row left ``sending`` is a message whose answer was lost (never re-sent on its own)."""
    db["feedback_messages"].create({
        "attemptid": int, "person_id": int, "cohort": str, "network_slug": str, "initiative_slug": str,
        "userid": int, "status": str, "clientmsgid": str, "msgid": int, "attempts": int, "error": str,
        "created_at": int, "sent_at": int, "updated_at": int,
    }, pk=("attemptid", "person_id"), foreign_keys=[("cohort", "cohorts", "key"), ("person_id", "people", "id")])
    db["feedback_messages"].create_index(["cohort", "status"])


def _m10_streams_attendance(db: sqlite_utils.Database) -> None:
    """What Moodle says about who is in each provisioned course (``sync``'s enrolment stream: also people
    enrolled or removed by hand in Moodle) and in which of its groups, and the attendance of in-person
    workshops: recorded by staff (``attendance import``: who recorded it, when, from which sheet line) or
    ticked by the participant (``self`` : stored, but counted apart)."""
    db["moodle_enrolments"].create({
        "courseid": int, "userid": int, "roles": str, "status": int, "timestart": int, "timeend": int,
        "timemodified": int, "active": int, "seen_at": int,
    }, pk=("courseid", "userid"))
    db["moodle_group_members"].create({
        "courseid": int, "groupid": int, "group_idnumber": str, "userid": int, "timeadded": int, "seen_at": int,
    }, pk=("groupid", "userid"))
    db["moodle_group_members"].create_index(["courseid"])
    db["attendance"].create({
        "cohort": str, "course_idnumber": str, "activity_key": str, "cmid": int, "person_id": int,
        "present": int, "source": str, "recorded_by": str, "recorded_at": int, "sheet": str, "line": int,
        "pushed_at": int, "moodle_state": int,
    }, pk=("cohort", "course_idnumber", "activity_key", "person_id"),
        foreign_keys=[("cohort", "cohorts", "key"), ("person_id", "people", "id")])
    db["attendance"].create_index(["cmid"])
    # Reports, progress and the sync join people to Moodle's rows by user id (without it SQLite builds a
    # temporary index on every such query; at 16x the programme that was 0.2 s each).
    db["people"].create_index(["moodle_user_id"])


def _m11_certificate_details(db: sqlite_utils.Database) -> None:
    """What a certificate says and where it went: the name and network printed on it (kept, so a later roster
    change does not alter an issued certificate), the modules it lists, its PDF, and when the record and a
    revocation were published to the plugin's verification page and the coordinator was messaged. The message
    itself is recorded before it is sent (``certificate_messages``, one per code: :mod:`mintqo_lms.messaging`)."""
    table = db["certificates"]
    for column, kind in (("fullname", str), ("network", str), ("modules", str), ("pdf_path", str),
                         ("issued_by", str), ("published_at", int), ("published_state", str),
                         ("message_status", str), ("message_id", int), ("moodle_user_id", int)):
        table.add_column(column, kind)
    db["certificate_messages"].create({
        "code": str, "cohort": str, "person_id": int, "userid": int, "status": str, "clientmsgid": str,
        "msgid": int, "attempts": int, "error": str, "created_at": int, "sent_at": int, "updated_at": int,
    }, pk="code")


def _m12_privacy_log(db: sqlite_utils.Database) -> None:
    """Requests under the GDPR (``privacy export`` / ``privacy forget``): what was done and when, naming the
    person only by a one-way hash (never the e-mail), so the log itself holds no personal data."""
    db["privacy_log"].create({
        "id": int, "action": str, "subject_hash": str, "person_id": int, "at": int, "summary": str,
    }, pk="id")


def _m13_indexes(db: sqlite_utils.Database) -> None:
    """Indexes for what sync's scoring and the reports look up at 16x the programme (3,600 attempts, 7,600
    people): a team's attempts in a quiz (by quiz and user; without it every team scanned every attempt: 44 s
    of scoring), an initiative's members, and a course's completions."""
    db["quiz_attempts"].create_index(["cmid", "userid"])
    db["memberships"].create_index(["cohort", "network_slug", "initiative_slug"])
    db["activity_completion"].create_index(["courseid"])


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
    Migration(6, "sync_runs: dry_run, pid, host, command (dry runs apart; dead runs marked interrupted)", _m6_run_owner),
    Migration(7, "timetable, invitations, role assignments outside courses", _m7_timetable_invitations_roles),
    Migration(8, "self-analysis results: analyses, analysis_scores, analysis_changes", _m8_analyses),
    Migration(9, "feedback messages: one per analysis and recipient, recorded before sending", _m9_feedback_messages),
    Migration(10, "moodle enrolments and group members as Moodle has them; attendance", _m10_streams_attendance),
    Migration(11, "certificates: printed details, PDF, publication, message; certificate_messages",
              _m11_certificate_details),
    Migration(12, "privacy log (export / forget), without e-mails", _m12_privacy_log),
    Migration(13, "indexes: attempts by quiz and user, members by initiative, completions by course", _m13_indexes),
)
LATEST_VERSION = MIGRATIONS[-1].version


# -- the store --------------------------------------------------------------------------------------

class Store:
    """Open (creating if needed) and migrate the programme store."""

    def __init__(self, path: str | os.PathLike[str], *, migrate_to: int | None = LATEST_VERSION):
        self.path = Path(path)
        if str(path) != ":memory:":
            self._check_existing(self.path)
            try:
                self._create_private(self.path)
            except OSError as exc:
                raise StoreError(f"cannot create the store {self.path}: {exc.strerror}; check store.path") from None
        try:
            conn = sqlite3.connect(str(self.path), isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
        except sqlite3.DatabaseError as exc:
            raise (_disk_error(self.path, exc) or StoreError(f"{self.path}: not a usable SQLite file ({exc})")) \
                from None
        # In WAL mode NORMAL keeps the store consistent in every case and makes a commit durable unless the
        # machine itself fails (power, kernel) in the moment after it; a killed process loses nothing. Every
        # command commits often (a run record, each page with its cursor), and the fsync FULL adds to each commit
        # was most of an unchanged run's own time. What Moodle also holds is read again or found by idnumber
        # after such a failure; what only the store holds is committed in durable() (certificates, messages,
        # erasure).
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA busy_timeout=5000")
        self.db = sqlite_utils.Database(conn)
        self._durable_depth = 0
        if migrate_to is not None:
            self.migrate(migrate_to)

    @staticmethod
    def _check_existing(path: Path) -> None:
        """Refuse a file that is not an SQLite database (an empty file included: it is not a store, and
        treating it as one would silently turn, say, a truncated backup into a fresh empty store), and make
        an existing store private again if others could read it (it holds personal data)."""
        if path.is_dir():
            raise StoreError(f"{path} is a folder, not a store file; set store.path to a file name")
        if not path.exists():
            return
        try:
            with path.open("rb") as handle:
                header = handle.read(len(SQLITE_HEADER))
        except OSError as exc:
            raise StoreError(f"{path}: cannot read the store ({exc.strerror})") from None
        if header != SQLITE_HEADER:
            what = "an empty file" if not header else "not an SQLite database"
            raise StoreError(f"{path} is {what}, not a programme store; nothing was changed. Point store.path "
                             "to the right file, or move this one away and run 'mintqo-lms init' for a new store")
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            try:
                os.chmod(path, mode & 0o700)
            except OSError as exc:
                raise StoreError(f"{path} is readable by other users and cannot be made private "
                                 f"({exc.strerror}); run: chmod 600 {path}") from None
            log.warning("%s was readable by other users (mode %o); made it private (mode %o)",
                        path, mode, mode & 0o700)
        for companion in (path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
            try:
                cmode = stat.S_IMODE(companion.stat().st_mode)
                if cmode & 0o077:
                    os.chmod(companion, cmode & 0o700)
            except OSError:
                pass

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
    def durable(self) -> Iterator[None]:
        """Commits inside are on disk before they return, even if the machine fails right after
        (``synchronous=FULL``): for what only the store knows and must never be forgotten or done twice — a
        certificate's code, a message recorded before it is sent, an erasure."""
        conn = self.db.conn
        if self._durable_depth == 0:
            if conn.in_transaction:
                raise StoreError("durable() must begin outside a transaction (SQLite cannot change how it "
                                 "commits inside one)")
            conn.execute("PRAGMA synchronous=FULL")
        self._durable_depth += 1
        try:
            yield
        finally:
            self._durable_depth -= 1
            if self._durable_depth == 0:
                conn.execute("PRAGMA synchronous=NORMAL")

    @contextmanager
    def transaction(self) -> Iterator[sqlite_utils.Database]:
        """All-or-nothing writes: nothing half-written survives an error or a kill."""
        conn = self.db.conn
        if conn.in_transaction:  # nested: join the outer transaction
            yield self.db
            return
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise (_disk_error(self.path, exc) or exc) from None
        try:
            yield self.db
        except BaseException as exc:
            if conn.in_transaction:  # SQLite may have rolled back on its own (a full disk)
                conn.execute("ROLLBACK")
            translated = _disk_error(self.path, exc) if isinstance(exc, sqlite3.OperationalError) else None
            if translated is not None:
                raise translated from None
            raise
        else:
            try:
                conn.execute("COMMIT")
            except sqlite3.OperationalError as exc:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise (_disk_error(self.path, exc) or exc) from None

    # -- bulk writes --------------------------------------------------------------------------------

    def upsert_rows(self, table: str, pk: Sequence[str], columns: Sequence[str],
                    rows: Iterable[Sequence[Any]]) -> None:
        """Insert or update many rows (values in ``columns`` order) with one prepared statement: what
        sqlite-utils' ``upsert_all`` writes (``ON CONFLICT (pk) DO UPDATE`` of the other columns), without its
        per-call schema reads and per-value conversions. Joins the caller's transaction."""
        self.db.conn.executemany(_upsert_sql(table, tuple(pk), tuple(columns)), rows)

    def insert_rows(self, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
        """Insert many rows (values in ``columns`` order) with one prepared statement."""
        self.db.conn.executemany(_upsert_sql(table, (), tuple(columns)), rows)

    def rows(self, sql: str, params: Sequence[Any] = ()) -> Iterator[dict[str, Any]]:
        """The rows of a SELECT as dicts, straight from the connection: sqlite-utils' ``query()`` wraps every
        statement in a savepoint (to refuse writes), a cost the per-page and per-sheet reads pay many times."""
        cursor = self.db.conn.execute(sql, params)
        names = [column[0] for column in cursor.description]
        return (dict(zip(names, row)) for row in cursor)

    def query_in(self, sql: str, values: Iterable[Any], params: Sequence[Any] = ()) -> Iterator[dict[str, Any]]:
        """The rows of ``sql``, whose ``{}`` stands for the placeholders of ``values`` (``IN ({})``), asked in
        chunks within SQLite's host-parameter limit; ``params`` are the placeholders before ``{}``."""
        values = list(values)
        for start in range(0, len(values), _IN_CHUNK):
            chunk = values[start:start + _IN_CHUNK]
            yield from self.rows(sql.format(",".join("?" * len(chunk))), [*params, *chunk])

    # -- cursors and runs ---------------------------------------------------------------------------

    def get_cursor(self, stream: str, default: str = "0") -> str:
        rows = list(self.db.query("SELECT cursor FROM sync_state WHERE stream = ?", [stream]))
        return rows[0]["cursor"] if rows else default

    def set_cursor(self, stream: str, cursor: str) -> None:
        self.db["sync_state"].upsert({"stream": stream, "cursor": str(cursor), "updated_at": _now()}, pk="stream")

    def start_run(self, kind: str, cohort: str | None = None, *, dry_run: bool = False,
                  command: str | None = None) -> int:
        """Record a run as ``running``, with this process as its owner; first mark runs whose process is
        gone as ``interrupted``. A dry run is recorded as one (``dry_run = 1``) and not counted as a run."""
        if kind.endswith("-dry-run"):  # the older spelling of a dry run
            kind, dry_run = kind[: -len("-dry-run")], True
        self.mark_interrupted_runs()
        # plain SQL: a run is recorded by every command, and sqlite-utils looks up the table's columns each time
        with self.transaction():
            return int(self.db.execute(
                "INSERT INTO sync_runs (kind, cohort, started_at, status, dry_run, pid, host, command) "
                "VALUES (?, ?, ?, 'running', ?, ?, ?, ?)",
                [kind, cohort, _now(), int(dry_run), os.getpid(), socket.gethostname(),
                 command or _command_line()]).lastrowid)

    def finish_run(self, run_id: int, *, status: str, summary: dict[str, Any] | None = None,
                   calls: dict[str, Any] | None = None, error: str | None = None) -> None:
        from mintqo_lms.moodle.client import redact_secrets  # an error may quote Moodle, which may echo the token

        with self.transaction():
            self.db.execute(
                "UPDATE sync_runs SET finished_at = ?, status = ?, summary = ?, calls = ?, error = ? WHERE id = ?",
                [_now(), status, redact_secrets(json.dumps(summary or {}, ensure_ascii=False, sort_keys=True)),
                 json.dumps(calls or {}, sort_keys=True), redact_secrets(error) if error is not None else None,
                 run_id])

    def run_number(self, run_id: int) -> int:
        """The run's number among the real (not dry) runs of its kind and cohort: 1 for the first provision
        of cohort 2025, whatever dry runs, syncs or other cohorts came before."""
        row = self.db["sync_runs"].get(run_id)
        return int(self.db.execute(
            "SELECT COUNT(*) FROM sync_runs WHERE kind = ? AND cohort IS ? AND dry_run = 0 AND id <= ?",
            [row["kind"], row["cohort"], run_id]).fetchone()[0])

    def _runs_have_owner(self) -> bool:
        """Whether ``sync_runs`` records the owning process (a store opened without migrating may be older)."""
        if not getattr(self, "_runs_have_pid", False):  # once true, a migration never takes it back
            self._runs_have_pid = "pid" in {row[1] for row in self.db.execute("PRAGMA table_info(sync_runs)")}
        return self._runs_have_pid

    def mark_interrupted_runs(self) -> list[int]:
        """Runs still ``running`` whose process no longer exists (killed, machine restarted) are marked
        ``interrupted``; returns their ids. Runs of other hosts are left alone (we cannot see their processes)."""
        if not self._runs_have_owner():
            return []
        host = socket.gethostname()
        dead = [row["id"] for row in self.db.query(
            "SELECT id, pid, host FROM sync_runs WHERE status = 'running'")
            if (row["host"] in (None, host)) and not _process_alive(row["pid"])]
        if dead:
            with self.transaction():
                for run_id in dead:
                    self.db["sync_runs"].update(run_id, {
                        "status": "interrupted", "finished_at": _now(),
                        "error": "the process ended before the run finished (killed or crashed)"})
            log.warning("marked %d earlier run(s) as interrupted (their process is gone): %s",
                        len(dead), ", ".join(f"#{i}" for i in dead))
        return dead


_IN_CHUNK = 500  # host parameters per query of query_in, well below every SQLite build's limit


@lru_cache(maxsize=64)
def _upsert_sql(table: str, pk: tuple[str, ...], columns: tuple[str, ...]) -> str:
    """``INSERT`` (no ``pk``) or an upsert by ``pk`` updating every other column."""
    names = ", ".join(f'"{c}"' for c in columns)
    sql = f'INSERT INTO "{table}" ({names}) VALUES ({", ".join("?" * len(columns))})'
    if not pk:
        return sql
    updates = ", ".join(f'"{c}" = excluded."{c}"' for c in columns if c not in pk)
    conflict = ", ".join(f'"{c}"' for c in pk)
    return f"{sql} ON CONFLICT ({conflict}) " + (f"DO UPDATE SET {updates}" if updates else "DO NOTHING")


def _disk_error(path: Path, exc: BaseException) -> StoreError | None:
    """A store that cannot be written (read-only file or folder, full disk) as one line saying so and that the
    write was rolled back, so nothing of the store was lost; None for any other error."""
    text = str(exc).lower()
    if "readonly" in text or "read-only" in text:
        return StoreError(f"the store {path} is read-only (file, folder or file system); nothing was written and "
                          f"nothing lost — make it writable for this user (its folder too: SQLite writes "
                          f"{path.name}-wal beside it) and run the command again")
    if "disk is full" in text or "database or disk is full" in text or "no space" in text:
        return StoreError(f"the disk holding the store {path} is full; this run's changes were rolled back and "
                          f"nothing was lost — free some space and run the command again")
    if "disk i/o error" in text:
        return StoreError(f"the store {path} could not be written (disk I/O error); this run's changes were rolled "
                          f"back — check the disk and run the command again")
    return None


def _process_alive(pid: int | None) -> bool:
    if not pid:
        return False  # recorded before runs had an owner: nothing can still be running it
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, belongs to someone else
    return True


def _command_line() -> str:
    args = [os.path.basename(sys.argv[0]) if sys.argv else "python", *sys.argv[1:]]
    return " ".join(args)[:200]
