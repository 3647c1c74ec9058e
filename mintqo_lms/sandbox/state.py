"""In-memory data model of the sandbox site: tables of dict records with Moodle-like ids.

Why a journal instead of copies: Moodle web services run in a delegated transaction, so a failing
batch leaves nothing behind. Every write goes through ``insert``/``update``/``delete``, which record
an undo step while a transaction is open; rolling back replays them backwards. That keeps all-or-
nothing cheap even on a site with thousands of users.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
from collections import defaultdict
from pathlib import Path
from typing import Any, Callable, Iterator

from .releases import DEFAULT_RELEASE, Release, get_release

Record = dict[str, Any]

# Ids a fresh Moodle 4.4 site has already used (so the first created object gets the recorded id).
FRESH_SITE_NEXT_IDS = {
    "course_categories": 2,  # 1 = "Category 1" (Miscellaneous)
    "course": 2,  # 1 = site course
    "user": 3,  # 1 guest, 2 admin
    "course_sections": 1,
    "course_modules": 1,
    "context": 2,  # 1 = system context
}

ROLES = {
    1: ("manager", "Manager"),
    2: ("coursecreator", "Course creator"),
    3: ("editingteacher", "Teacher"),
    4: ("teacher", "Non-editing teacher"),
    5: ("student", "Student"),
    6: ("guest", "Guest"),
    7: ("user", "Authenticated user"),
    8: ("frontpage", "Authenticated user on site home"),
}
ASSIGNABLE_COURSE_ROLES = {1, 3, 4, 5}


class Site:
    """Tables + id sequences + clock + transaction journal. Domain logic lives in the handlers."""

    def __init__(self, clock: Callable[[], int] | None = None, german_language_pack: bool = True,
                 wwwroot: str = "http://127.0.0.1", release: str | Release = DEFAULT_RELEASE) -> None:
        self.release: Release = get_release(release)
        self.tables: dict[str, dict[int, Record]] = defaultdict(dict)
        self.next_ids: dict[str, int] = defaultdict(lambda: 1)
        self.next_ids.update(FRESH_SITE_NEXT_IDS)
        self._journal: list[Callable[[], None]] | None = None
        # Lookup indexes of find()/find_one(), per table and set of keys, built on first use and kept up to
        # date by insert/update/delete: without them every lookup scans the table, and a 16x site (7,600 users,
        # 100,000 completion rows) spends seconds per call. Records must change through these methods only
        # (the transaction journal needs that anyway).
        self._indexes: dict[str, dict[tuple[str, ...], dict[tuple[Any, ...], dict[int, Record]]]] = defaultdict(dict)
        self.lock = threading.RLock()
        self._clock: Callable[[], int] = clock or (lambda: int(time.time()))
        self.wwwroot = wwwroot
        self.languages: dict[str, str] = {"en": "English \u200e(en)\u200e"}
        if german_language_pack:
            self.languages["de"] = "Deutsch \u200e(de)\u200e"
        self.defaultlang = "en"
        self.sitename = "MINT-QO Sandbox"
        self.tokens: dict[str, str] = {}  # "service"/"admin" -> token; saved with the state (file mode 600)
        # Simulated permissions of the sandbox tokens' user (not saved): capabilities it lacks, everywhere
        # (None) or in one course, and courses it cannot enter (require_login fails).
        self.denied_capabilities: set[tuple[str, int | None]] = set()
        self.inaccessible_courses: set[int] = set()
        self._seed()

    # ---------------------------------------------------------------- clock
    @property
    def clock(self) -> Callable[[], int]:
        return self._clock

    @clock.setter
    def clock(self, value: Callable[[], int] | int) -> None:
        self._clock = value if callable(value) else (lambda: int(value))

    def now(self) -> int:
        return int(self._clock())

    # ---------------------------------------------------------------- seed
    def _seed(self) -> None:
        now = self.now()
        self.tables["context"][1] = {"id": 1, "contextlevel": 10, "instanceid": 0}
        self.tables["course_categories"][1] = {
            "id": 1, "name": "Category 1", "idnumber": "", "description": "", "descriptionformat": 0, "parent": 0,
            "sortorder": 10000, "coursecount": 0, "visible": 1, "visibleold": 1, "timemodified": now, "depth": 1,
            "path": "/1", "theme": "", "contextid": self.new_context(40, 1),
        }
        self.tables["course"][1] = {
            "id": 1, "category": 0, "fullname": self.sitename, "shortname": "sandbox", "idnumber": "", "summary": "",
            "summaryformat": 1, "format": "site", "numsections": 0, "startdate": 0, "enddate": 0, "visible": 1,
            "enablecompletion": 0, "timecreated": now, "timemodified": now, "contextid": self.new_context(50, 1),
            "lang": "", "showgrades": 1, "newsitems": 3,
        }
        for userid, (username, first, last, email) in {
            1: ("guest", "Guest user", " ", "root@localhost"),
            2: ("admin", "Admin", "User", "admin@example.org"),
        }.items():
            self.tables["user"][userid] = {
                "id": userid, "username": username, "firstname": first, "lastname": last, "email": email,
                "auth": "manual", "idnumber": "", "lang": "en", "city": "", "country": "", "department": "",
                "institution": "", "timezone": "99", "mailformat": 1, "suspended": 0, "confirmed": 1, "deleted": 0,
                "firstaccess": 0, "lastaccess": 0, "description": "", "descriptionformat": 1, "theme": "",
                "password": "", "timecreated": now, "timemodified": now, "customfields": [],
                "contextid": self.new_context(30, userid),
            }

    def lacks(self, capability: str, courseid: int | None = None) -> bool:
        return (capability, None) in self.denied_capabilities or (
            courseid is not None and (capability, courseid) in self.denied_capabilities)

    def new_context(self, level: int, instanceid: int) -> int:
        return self.insert("context", {"contextlevel": level, "instanceid": instanceid})

    # ---------------------------------------------------------------- table access
    def insert(self, table: str, record: Record) -> int:
        new_id = self.next_ids[table]
        self.next_ids[table] = new_id + 1
        record = dict(record, id=new_id)
        self.tables[table][new_id] = record
        self._index_add(table, record)
        if self._journal is not None:
            def undo(table=table, new_id=new_id) -> None:
                self.tables[table].pop(new_id, None)
                self.next_ids[table] = min(self.next_ids[table], new_id)
            self._journal.append(undo)
        return new_id

    def update(self, table: str, record_id: int, **changes: Any) -> Record:
        record = self.tables[table][record_id]
        if self._journal is not None:
            before = {k: record[k] for k in changes if k in record}
            missing = [k for k in changes if k not in record]

            def undo(record=record, before=before, missing=missing) -> None:
                record.update(before)
                for key in missing:
                    record.pop(key, None)
            self._journal.append(undo)
        moved = [keys for keys in self._indexes.get(table, {}) if not changes.keys().isdisjoint(keys)]
        for keys in moved:
            self._index_bucket(table, keys, record).pop(record["id"], None)
        record.update(changes)
        for keys in moved:
            self._index_bucket(table, keys, record)[record["id"]] = record
        return record

    def delete(self, table: str, record_id: int) -> None:
        record = self.tables[table].pop(record_id, None)
        if record is not None:
            for keys in self._indexes.get(table, {}):
                self._index_bucket(table, keys, record).pop(record_id, None)
        if record is not None and self._journal is not None:
            self._journal.append(lambda: self.tables[table].__setitem__(record_id, record))

    def get(self, table: str, record_id: Any) -> Record | None:
        try:
            return self.tables[table].get(int(record_id))
        except (TypeError, ValueError):
            return None

    def find(self, table: str, **equal: Any) -> list[Record]:
        """Records whose fields equal ``equal``, in id order (Moodle's usual ORDER BY id)."""
        if not equal:
            return list(self.tables[table].values())
        keys = tuple(sorted(equal))
        wanted = tuple(equal[k] for k in keys)
        try:
            hash(wanted)
        except TypeError:  # a list-valued field (conversation members): no index, scan
            return [r for r in self.tables[table].values() if all(r.get(k) == v for k, v in equal.items())]
        bucket = self._index(table, keys).get(wanted)
        if not bucket:
            return []
        return [bucket[i] for i in sorted(bucket)]

    def find_one(self, table: str, **equal: Any) -> Record | None:
        found = self.find(table, **equal)
        return found[0] if found else None

    def _index(self, table: str, keys: tuple[str, ...]) -> dict[tuple[Any, ...], dict[int, Record]]:
        index = self._indexes[table].get(keys)
        if index is None:
            index = {}
            self._indexes[table][keys] = index
            for record in self.tables[table].values():
                self._index_bucket(table, keys, record)[record["id"]] = record
        return index

    def _index_bucket(self, table: str, keys: tuple[str, ...], record: Record) -> dict[int, Record]:
        value = tuple(record.get(k) for k in keys)
        try:
            return self._indexes[table][keys].setdefault(value, {})
        except TypeError:  # an unhashable field value never equals a hashable looked-up one
            return {}

    def _index_add(self, table: str, record: Record) -> None:
        for keys in self._indexes.get(table, {}):
            self._index_bucket(table, keys, record)[record["id"]] = record

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """All-or-nothing block (nested blocks join the outer one, like delegated transactions)."""
        if self._journal is not None:
            yield
            return
        self._journal = []
        try:
            yield
        except BaseException:
            for undo in reversed(self._journal):
                undo()
            self._indexes.clear()  # the undo steps bypass the indexes; rebuilt on the next lookup
            raise
        finally:
            self._journal = None

    # ---------------------------------------------------------------- persistence
    def dump(self) -> dict[str, Any]:
        return {"tables": {t: list(rows.values()) for t, rows in self.tables.items()},
                "next_ids": dict(self.next_ids), "languages": self.languages, "tokens": self.tokens}

    def load(self, data: dict[str, Any]) -> None:
        self.tables = defaultdict(dict)
        self._indexes.clear()
        for table, rows in data["tables"].items():
            self.tables[table] = {int(r["id"]): r for r in rows}
        self.next_ids = defaultdict(lambda: 1)
        self.next_ids.update({k: int(v) for k, v in data["next_ids"].items()})
        self.languages = dict(data.get("languages", self.languages))
        self.tokens = dict(data.get("tokens", {}))

    def save_file(self, path: Path) -> None:
        """Atomic replace; readable by the owner only, since the file holds the sandbox's tokens."""
        tmp = Path(str(path) + ".tmp")
        descriptor = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(json.dumps(self.dump(), ensure_ascii=False))
        os.chmod(tmp, 0o600)
        tmp.replace(path)

    def load_file(self, path: Path) -> None:
        self.load(json.loads(Path(path).read_text(encoding="utf-8")))
