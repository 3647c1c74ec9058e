"""People's rights over their data (GDPR Art. 15 and 17): ``privacy export`` and ``privacy forget``.

Why it looks the way it does:

* **Export** gathers every row the store holds about one person, found by e-mail: the person, their roster
  memberships, what we enrolled them in, what Moodle says about them (enrolments, groups, completions), their
  self-analysis attempts with the answers and the scores computed from them, the messages sent to them
  (invitations, feedback), attendance, certificates, and the runs that touched them. Other people's e-mails
  that a run's command line happens to name are masked: one person's export never shows another person.
* **Forget** pseudonymises rather than deletes where a record must survive for someone else: the person row
  stays as a tombstone without e-mail, name or Moodle account (foreign keys and the team's history keep a
  valid target), a certificate keeps its code so it still verifies as valid, but without the name; the
  self-analysis answers a team gave stay the initiative's, without the person who clicked "submit". Rows
  that are only about them (messages, enrolments, completions, attendance) are deleted. All in one
  transaction: a kill leaves the person either fully there or fully forgotten.
* **The log** (``privacy_log``) records each request with a one-way hash of the e-mail, never the e-mail,
  so the log itself is not a list of who asked.

Moodle's side is forgotten by Moodle: an administrator files a deletion request in Moodle's data-request tool
(Site administration → Users → Privacy and policies → Data requests → New request → "Delete all of my personal
data"); the local_mintqo privacy provider then deletes the plugin's rows for that user, core deletes the rest.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mintqo_lms.moodle.errors import MintqoError
from mintqo_lms.store import Store

__all__ = ["FORGOTTEN_DOMAIN", "ForgetResult", "PrivacyError", "export_person", "forget_person", "subject_hash",
           "write_export", "MOODLE_SIDE_HINT"]

FORGOTTEN_DOMAIN = "forgotten.invalid"  # RFC 2606: can never be a real address
MOODLE_SIDE_HINT = ("In Moodle, an administrator files a deletion request for the account: Site administration → "
                    "Users → Privacy and policies → Data requests → New request, type 'Delete all of my personal "
                    "data'; Moodle's privacy API (with the local_mintqo provider) deletes it there.")
_EMAIL = re.compile(r"[^\s@;,'\"<>()]+@[^\s@;,'\"<>()]+\.[A-Za-z]{2,}")


class PrivacyError(MintqoError):
    """A privacy request that cannot be carried out (unknown e-mail, a person already forgotten …)."""


def subject_hash(email: str) -> str:
    """The one-way name of a person in ``privacy_log``: the same e-mail always gives the same hash, so a
    later request can be matched to an earlier one, but the log does not list anyone's address."""
    return hashlib.sha256(("mintqo-privacy:" + email.strip().lower()).encode("utf-8")).hexdigest()


def _normalise(email: str) -> str:
    email = (email or "").strip().lower()
    if "@" not in email:
        raise PrivacyError(f"--email {email!r} is not an e-mail address")
    return email


def _person(store: Store, email: str) -> dict[str, Any]:
    rows = list(store.db.query("SELECT * FROM people WHERE email = ?", [email]))
    if not rows:
        raise PrivacyError(f"no person with e-mail {email} in the store {store.path.name} (nothing was changed); "
                           "check the spelling")
    return rows[0]


def _rows(store: Store, sql: str, params: Iterable[Any] = ()) -> list[dict[str, Any]]:
    return [dict(row) for row in store.db.query(sql, list(params))]


def _has(store: Store, table: str) -> bool:
    return table in store.db.table_names()


def _in(values: list[Any]) -> str:
    return ",".join("?" * len(values)) or "NULL"


# -- export ------------------------------------------------------------------------------------------

def _runs(store: Store, person: dict[str, Any], stamps: list[int]) -> list[dict[str, Any]]:
    """Runs that touched the person: those whose command, summary or error names them, and those during which
    one of their rows was written (our rows carry the time they were written, a run its start and end)."""
    names = [person["email"]]
    full = " ".join(part for part in (person.get("first_name"), person.get("last_name")) if part)
    if full:
        names.append(full)
    runs = []
    for run in _rows(store, "SELECT * FROM sync_runs ORDER BY id"):
        text = " ".join(str(run.get(k) or "") for k in ("command", "summary", "error"))
        named = any(n and n.lower() in text.lower() for n in names)
        end = run.get("finished_at") or run.get("started_at")
        during = any(run["started_at"] <= t <= (end or t) for t in stamps if t)
        if named or during:
            runs.append({key: _mask_others(run.get(key), person["email"]) for key in
                         ("id", "kind", "cohort", "started_at", "finished_at", "status", "dry_run", "command",
                          "summary", "error") if key in run})
    return runs


def _mask_others(value: Any, email: str) -> Any:
    """Another person's e-mail in a run's text is not this person's data: masked."""
    if not isinstance(value, str):
        return value
    return _EMAIL.sub(lambda m: m.group(0) if m.group(0).lower() == email else "***@***", value)


def export_person(store: Store, email: str) -> dict[str, Any]:
    """Everything the store holds about the person with ``email``, as one JSON-ready dict (see module doc)."""
    email = _normalise(email)
    person = _person(store, email)
    pid, uid = person["id"], person["moodle_user_id"]
    uids = [uid] if uid is not None else []
    out: dict[str, Any] = {"subject": {"email": email}, "exported_at": int(time.time()), "people": [person]}
    out["memberships"] = _rows(store, "SELECT * FROM memberships WHERE person_id = ? ORDER BY cohort, role", [pid])
    out["coordinators"] = _rows(store, "SELECT * FROM coordinators WHERE person_id = ?", [pid])
    out["networks_coordinated"] = _rows(store, "SELECT cohort, slug, name FROM networks WHERE coordinator_id = ?",
                                        [pid])
    out["enrolments"] = _rows(store, "SELECT * FROM enrolments WHERE person_id = ? ORDER BY course_idnumber", [pid])
    out["role_assignments"] = _rows(store, "SELECT * FROM role_assignments WHERE person_id = ?", [pid])
    by_user = {
        "moodle_enrolments": "SELECT * FROM moodle_enrolments WHERE userid IN ({}) ORDER BY courseid",
        "moodle_group_members": "SELECT * FROM moodle_group_members WHERE userid IN ({}) ORDER BY groupid",
    }
    for key, sql in by_user.items():
        out[key] = _rows(store, sql.format(_in(uids)), uids) if _has(store, key) else []
    out["completions"] = {
        "activities": _rows(store, f"SELECT * FROM activity_completion WHERE userid IN ({_in(uids)}) "
                                   "ORDER BY cmid", uids),
        "courses": _rows(store, f"SELECT * FROM course_completion WHERE userid IN ({_in(uids)}) ORDER BY courseid",
                         uids),
    }
    attempts = _rows(store, f"SELECT * FROM quiz_attempts WHERE userid IN ({_in(uids)}) ORDER BY attemptid", uids)
    ids = [a["attemptid"] for a in attempts]
    out["attempts"] = attempts
    out["answers"] = _rows(store, f"SELECT * FROM responses WHERE attemptid IN ({_in(ids)}) ORDER BY attemptid, slot",
                           ids)
    analyses = _rows(store, f"SELECT * FROM analyses WHERE person_id = ? OR attemptid IN ({_in(ids)}) "
                            "ORDER BY attemptid", [pid, *ids])
    out["analyses"] = analyses
    aids = [a["attemptid"] for a in analyses]
    out["scores"] = _rows(store, f"SELECT * FROM analysis_scores WHERE attemptid IN ({_in(aids)}) "
                                 "ORDER BY attemptid, level, key", aids)
    out["messages"] = {
        "invitations": _rows(store, "SELECT * FROM invitations WHERE person_id = ?", [pid]),
        "feedback": _rows(store, "SELECT * FROM feedback_messages WHERE person_id = ? ORDER BY attemptid", [pid]),
    }
    out["attendance"] = _rows(store, "SELECT * FROM attendance WHERE person_id = ? ORDER BY cohort, activity_key",
                              [pid]) if _has(store, "attendance") else []
    out["certificates"] = _rows(store, "SELECT * FROM certificates WHERE person_id = ? ORDER BY id", [pid])
    out["messages"]["certificates"] = _rows(store, "SELECT * FROM certificate_messages WHERE person_id = ?",
                                            [pid]) if _has(store, "certificate_messages") else []
    stamps = [person.get("created_at"), person.get("updated_at")]
    for rows, keys in ((out["memberships"], ("updated_at",)), (out["enrolments"], ("updated_at",)),
                       (out["role_assignments"], ("updated_at",)),
                       (out["messages"]["invitations"], ("created_at", "sent_at", "updated_at")),
                       (out["messages"]["feedback"], ("created_at", "sent_at", "updated_at")),
                       (out["attendance"], ("recorded_at", "pushed_at")), (out["certificates"], ("issued_at",)),
                       (out["moodle_enrolments"], ("seen_at",)), (out["analyses"], ("computed_at",))):
        stamps.extend(row.get(k) for row in rows for k in keys)
    out["runs"] = _runs(store, person, [s for s in stamps if isinstance(s, int)])
    out["privacy_log"] = _rows(store, "SELECT action, at, summary FROM privacy_log WHERE subject_hash = ? "
                                      "ORDER BY id", [subject_hash(email)])
    counts = {key: (len(value) if isinstance(value, list) else sum(len(v) for v in value.values()))
              for key, value in out.items() if isinstance(value, (list, dict)) and key != "subject"}
    _log(store, "export", email, pid, {"rows": counts})
    return out


def write_export(data: dict[str, Any], path: str | os.PathLike[str]) -> Path:
    """Write the export as JSON readable by its owner only (it is all about one person)."""
    target = Path(path)
    text = json.dumps(data, ensure_ascii=False, indent=2, sort_keys=False)
    try:
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text + "\n")
        os.chmod(target, 0o600)
    except OSError as exc:
        raise PrivacyError(f"cannot write {target}: {exc.strerror}") from None
    return target


# -- forget ------------------------------------------------------------------------------------------

@dataclass
class ForgetResult:
    person_id: int
    deleted: dict[str, int] = field(default_factory=dict)
    pseudonymised: dict[str, int] = field(default_factory=dict)
    certificates: int = 0
    files_removed: int = 0
    republished: int = 0
    republish_error: str | None = None

    def lines(self) -> list[str]:
        out = [f"Person #{self.person_id}: e-mail, name, Moodle account id and idnumber removed "
               f"(a pseudonymous record stays so the team's history and certificates keep a valid reference)."]
        for table, count in sorted(self.deleted.items()):
            if count:
                out.append(f"  deleted {count} row(s) from {table}")
        for table, count in sorted(self.pseudonymised.items()):
            if count:
                out.append(f"  pseudonymised {count} row(s) in {table}")
        if self.certificates:
            out.append(f"  {self.certificates} certificate(s) kept without the name: the code still verifies "
                       f"as valid ({self.files_removed} PDF(s) with the name deleted)")
        if self.republished:
            out.append(f"  republished {self.republished} certificate record(s) without the name to Moodle")
        if self.republish_error:
            out.append(f"  the certificate record could not be republished to Moodle ({self.republish_error}); "
                       f"'mintqo-lms certificates publish' sends it later")
        return out


def _exec(store: Store, sql: str, params: Iterable[Any] = ()) -> int:
    return store.db.execute(sql, list(params)).rowcount


def forget_person(store: Store, email: str, *, moodle: Any = None) -> ForgetResult:
    """Remove or pseudonymise everything the store holds about the person with ``email`` (see module doc).

    ``moodle`` (optional) lets the certificates module republish a pseudonymised certificate record to the
    plugin's verification page."""
    with store.durable():
        return _forget_person(store, email, moodle=moodle)


def _forget_person(store: Store, email: str, *, moodle: Any = None) -> ForgetResult:
    email = _normalise(email)
    person = _person(store, email)
    pid, uid = person["id"], person["moodle_user_id"]
    uids = [uid] if uid is not None else []
    result = ForgetResult(person_id=pid)
    names = [email]
    full = " ".join(part for part in (person.get("first_name"), person.get("last_name")) if part)
    if full:
        names.append(full)
    now = int(time.time())
    pdfs: list[Path] = []
    with store.transaction():
        d, p = result.deleted, result.pseudonymised
        d["feedback_messages"] = _exec(store, "DELETE FROM feedback_messages WHERE person_id = ?", [pid])
        d["invitations"] = _exec(store, "DELETE FROM invitations WHERE person_id = ?", [pid])
        d["enrolments"] = _exec(store, "DELETE FROM enrolments WHERE person_id = ?", [pid])
        d["role_assignments"] = _exec(store, "DELETE FROM role_assignments WHERE person_id = ?", [pid])
        if _has(store, "attendance"):
            d["attendance"] = _exec(store, "DELETE FROM attendance WHERE person_id = ?", [pid])
            p["attendance"] = _exec(store, f"UPDATE attendance SET recorded_by = 'vergessen' "
                                           f"WHERE lower(recorded_by) IN ({_in(names)})", [n.lower() for n in names])
        for table in ("activity_completion", "course_completion", "moodle_enrolments", "moodle_group_members"):
            if _has(store, table):
                d[table] = _exec(store, f"DELETE FROM {table} WHERE userid IN ({_in(uids)})", uids)
        # The team's answers and scores stay the initiative's; only the link to who submitted goes.
        p["quiz_attempts"] = _exec(store, f"UPDATE quiz_attempts SET userid = NULL WHERE userid IN ({_in(uids)})",
                                   uids)
        p["analyses"] = _exec(store, f"UPDATE analyses SET person_id = NULL, userid = NULL "
                                     f"WHERE person_id = ? OR userid IN ({_in(uids)})", [pid, *uids])
        p["memberships"] = _exec(store, "UPDATE memberships SET active = 0, removed_at = coalesce(removed_at, ?), "
                                        "roster_line = NULL, updated_at = ? WHERE person_id = ?", [now, now, pid])
        codes = [r["code"] for r in _rows(store, "SELECT code FROM certificates WHERE person_id = ?", [pid])]
        result.certificates, pdfs = _pseudonymise_certificates(store, pid, moodle)
        if _has(store, "certificate_messages"):
            d["certificate_messages"] = _exec(store, "DELETE FROM certificate_messages WHERE person_id = ?", [pid])
        digest = str(person.get("idnumber") or "").rsplit(":", 1)[-1]
        for table, count in _scrub_text(store, names, digest, pid).items():
            p[table] = p.get(table, 0) + count
        store.db.execute(
            "UPDATE people SET email = ?, first_name = NULL, last_name = NULL, idnumber = ?, moodle_user_id = NULL, "
            "updated_at = ? WHERE id = ?",
            [f"person-{pid}@{FORGOTTEN_DOMAIN}", f"mintqo:forgotten:{pid}", now, pid])
        p["people"] = 1
        _log(store, "forget", email, pid, {"deleted": d, "pseudonymised": p, "certificates": result.certificates})
        # Before the commit: were it to fail, the record still names the person and the certificates module draws
        # the PDF again; after it, a PDF with the name could outlive a record that no longer says whose it is.
        for pdf in pdfs:
            if pdf.exists():
                pdf.unlink()
            result.files_removed += 1
    if moodle is not None and codes:
        try:
            from mintqo_lms.certificates import publish_certificates

            publish_certificates(moodle, store, codes=codes)
            result.republished = len(codes)
        except (ImportError, MintqoError) as exc:
            result.republish_error = str(exc)
    return result


def _pseudonymise_certificates(store: Store, pid: int, moodle: Any) -> tuple[int, list[Path]]:
    """The certificates module's ``pseudonymise_certificates`` when it exists (it also republishes the
    record to the plugin), else the same in the store: the name goes, the code and validity stay."""
    rows = _rows(store, "SELECT * FROM certificates WHERE person_id = ?", [pid])
    if not rows:
        return 0, []
    pdfs = [Path(row["pdf_path"]) for row in rows if row.get("pdf_path")]
    base = store.path.parent
    pdfs = [path if path.is_absolute() else base / path for path in pdfs]
    try:
        from mintqo_lms import certificates as certificates_module  # the certificates engineer's module
        pseudonymise = certificates_module.pseudonymise_certificates
    except (ImportError, AttributeError):
        pseudonymise = None
    if pseudonymise is not None:
        pseudonymise(store, pid)  # republished to the plugin after our commit (forget_person)
    columns = store.db["certificates"].columns_dict
    blank = {c: None for c in ("fullname", "pdf_path", "moodle_user_id") if c in columns}
    if blank:
        sets = ", ".join(f"{c} = NULL" for c in blank)
        store.db.execute(f"UPDATE certificates SET {sets} WHERE person_id = ?", [pid])
    return len(rows), pdfs


def _scrub_text(store: Store, names: list[str], digest: str, pid: int) -> dict[str, int]:
    """Belt and braces: the e-mail and the full name (any case), and the idnumber's hash of the e-mail, wherever
    else they stand as text (a run's command line, a buddy group named after its coordinator …), are replaced
    by ``[vergessen]`` (the hash by ``vergessen-<id>``, which keeps keys unique). Returns rows per table."""
    patterns = [(re.compile(re.escape(n), re.IGNORECASE), "[vergessen]") for n in names if n]
    if len(digest) >= 12:
        patterns.append((re.compile(re.escape(digest)), f"vergessen-{pid}"))
    changed: dict[str, int] = {}
    for table in store.db.table_names():
        if table in ("people", "privacy_log", "schema_migrations") or table.startswith("sqlite_"):
            continue
        for column in [name for name, kind in store.db[table].columns_dict.items() if kind is str]:
            where = " OR ".join(f'instr(lower("{column}"), ?) > 0' for _ in patterns)
            needles = [n for n in (names + ([digest] if len(digest) >= 12 else [])) if n]
            rows = list(store.db.execute(f'SELECT rowid, "{column}" FROM "{table}" WHERE {where}',
                                         [n.lower() for n in needles]))
            for rowid, value in rows:
                new = value
                for pattern, replacement in patterns:
                    new = pattern.sub(replacement, new)
                if new != value:
                    store.db.execute(f'UPDATE "{table}" SET "{column}" = ? WHERE rowid = ?', [new, rowid])
                    changed[table] = changed.get(table, 0) + 1
    return changed


def _log(store: Store, action: str, email: str, pid: int, summary: dict[str, Any]) -> None:
    with store.transaction():
        store.db["privacy_log"].insert({"action": action, "subject_hash": subject_hash(email), "person_id": pid,
                                        "at": int(time.time()),
                                        "summary": json.dumps(summary, ensure_ascii=False, sort_keys=True)})
