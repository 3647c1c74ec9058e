"""Certificates of participation: who has earned one, issuing it once, and answering whether a code is genuine.

Eligibility is data: the ``certificate`` rule of the qualification template names the activities a coordinator
must have completed (``requires``) and the in-person workshops whose attendance staff must have recorded
(``attendance_required``). Attendance counts when staff recorded it: a row of ``attendance import`` (not the
participant's own tick, ``source = 'self'``), or Moodle's completion of the in-person activity set by someone
else (an override: the plugin lets no participant mark an in-person activity themselves).

Issuing is idempotent: one certificate per coordinator and cohort (a unique index in the store), never a second.
The record is committed before its PDF is moved into place; a run that died in between finds a record without its
file and draws it again from the record (same code, name and date), so nothing is issued twice or lost.

Codes (``K7QM-2XVD-93HC``): 11 random symbols of Crockford's base 32 (55 bits from :mod:`secrets`) and a Luhn
mod 32 check symbol, which catches every single mistyped symbol and every swap of two neighbours but 0↔Z, so a
typo reads as *unknown*, never as someone else's certificate. Input is forgiving the usual way: case, spaces and
hyphens do not matter, O reads as 0 and I/L as 1.

Verification on the Moodle site: the QR code points at ``local/mintqo/verify.php?code=…``, which answers from
the records this module publishes to the plugin (``local_mintqo_publish_certificates``, idempotent by code):
valid / revoked / unknown, the name, the cohort, the date, nothing else.
"""

from __future__ import annotations

import getpass
import hashlib
import html
import io
import json
import os
import re
import secrets
import string
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from mintqo_lms.keys import require_cohort
from mintqo_lms.messaging import send_recorded
from mintqo_lms.moodle import Moodle
from mintqo_lms.moodle.errors import MintqoError, MoodleError
from mintqo_lms.store import Store
from mintqo_lms.templates import (TemplateError, _display_name, _from_validation_error, _line_for, _read_yaml,
                                  load_curriculum, templates_dir)

__all__ = [
    "CODE_ALPHABET",
    "CertificateError",
    "CertificateTemplate",
    "Eligibility",
    "IssueResult",
    "PublishResult",
    "Verification",
    "certificate_fonts",
    "check_symbol",
    "eligibility",
    "format_code",
    "issue_certificates",
    "list_certificates",
    "load_certificate_template",
    "new_code",
    "normalise_code",
    "pdf_file",
    "pseudonymise_certificates",
    "publish_certificates",
    "render_pdf",
    "revoke_certificate",
    "verify_certificate",
    "verify_url",
]

CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"   # Crockford's base 32: no I, L, O, U
CODE_DATA_SYMBOLS = 11                               # 11 × 5 = 55 random bits
CODE_GROUP = 4
_CONFUSABLE = str.maketrans({"O": "0", "I": "1", "L": "1"})
QUALIFICATION_TEMPLATE = "qualification"
CERTIFICATE_TEMPLATE = "certificate/certificate.yaml"
COMPLETE_STATES = (1, 2)
BERLIN = ZoneInfo("Europe/Berlin")
FONTS = Path(__file__).resolve().parent / "fonts"
# DejaVu Sans cut down to Latin, Greek, Cyrillic and punctuation (fonts/make_subsets.py): fpdf2 parses and
# subsets a font per document, and the cut takes a fraction of the time. A certificate with any character
# outside the cut is drawn with the full fonts, so no name ever lacks a glyph the full font has.
FULL_FONTS = {"": "DejaVuSans.ttf", "B": "DejaVuSans-Bold.ttf"}
SMALL_FONTS = {"": "DejaVuSans-LGC.ttf", "B": "DejaVuSans-Bold-LGC.ttf"}
PLACEHOLDERS = ("name", "network", "cohort", "date", "issuer", "code", "verify_url")
GERMAN_MONTHS = ("Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September", "Oktober",
                 "November", "Dezember")


class CertificateError(MintqoError):
    """A certificate cannot be issued, found or revoked as asked."""


# -- codes ------------------------------------------------------------------------------------------

def check_symbol(payload: str) -> str:
    """The Luhn mod 32 check symbol of ``payload`` (symbols of :data:`CODE_ALPHABET`)."""
    n = len(CODE_ALPHABET)
    total, factor = 0, 2
    for symbol in reversed(payload):
        addend = factor * CODE_ALPHABET.index(symbol)
        total += addend // n + addend % n
        factor = 1 if factor == 2 else 2
    return CODE_ALPHABET[(n - total % n) % n]


def format_code(symbols: str) -> str:
    return "-".join(symbols[i:i + CODE_GROUP] for i in range(0, len(symbols), CODE_GROUP))


def new_code() -> str:
    """A fresh, unguessable code: 55 random bits and the check symbol, in groups of four."""
    payload = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_DATA_SYMBOLS))
    return format_code(payload + check_symbol(payload))


def normalise_code(text: str) -> str | None:
    """The code as it is stored (``XXXX-XXXX-XXXX``), or None when ``text`` cannot be a code (wrong length, a
    symbol outside the alphabet, a wrong check symbol: a typo)."""
    symbols = re.sub(r"[\s\-–_.]", "", str(text or "")).upper().translate(_CONFUSABLE)
    if len(symbols) != CODE_DATA_SYMBOLS + 1 or any(s not in CODE_ALPHABET for s in symbols):
        return None
    if check_symbol(symbols[:-1]) != symbols[-1]:
        return None
    return format_code(symbols)


def verify_url(site_url: str, code: str) -> str:
    return f"{site_url.rstrip('/')}/local/mintqo/verify.php?code={code}"


def german_date(timestamp: int) -> str:
    day = datetime.fromtimestamp(timestamp, BERLIN)
    return f"{day.day}. {GERMAN_MONTHS[day.month - 1]} {day.year}"


# -- the template (layout and wording) --------------------------------------------------------------

class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


def _check_placeholders(text: str) -> str:
    try:
        names = [name for _, name, _, _ in string.Formatter().parse(text) if name is not None]
    except ValueError as exc:
        raise ValueError(f"unreadable placeholder: {exc}") from None
    unknown = [name for name in names if name not in PLACEHOLDERS]
    if unknown:
        raise ValueError(f"unknown placeholder {{{unknown[0]}}}; known: "
                         + ", ".join(f"{{{p}}}" for p in PLACEHOLDERS))
    return text


class Page(_Model):
    margin: float = Field(20, ge=5, le=40)
    frame: float = Field(8, ge=0, le=20)
    accent: str = "#1B5E7A"

    @field_validator("accent")
    @classmethod
    def _colour(cls, value: str) -> str:
        if not re.fullmatch(r"#[0-9A-Fa-f]{6}", value):
            raise ValueError(f"accent must be a colour like #1B5E7A (got {value!r})")
        return value


class Block(_Model):
    text: str = ""
    size: float = Field(12, ge=6, le=40)
    bold: bool = False
    accent: bool = False
    align: str = "C"
    space_before: float = Field(0, ge=0, le=60)
    modules: bool = False
    verification: bool = False
    qr_size: float = Field(30, ge=20, le=60)

    _text = field_validator("text")(_check_placeholders)

    @field_validator("align")
    @classmethod
    def _align(cls, value: str) -> str:
        if value not in ("L", "C", "R", "J"):
            raise ValueError("align is one of L, C, R, J")
        return value

    @model_validator(mode="after")
    def _one_kind(self) -> "Block":
        if self.modules and self.verification:
            raise ValueError("a block is either the modules or the verification, not both")
        if not self.modules and not self.text:
            raise ValueError("missing German text")
        return self


class CertificateTemplate(_Model):
    version: str
    issuer: str = Field(min_length=1)
    page: Page = Field(default_factory=Page)
    blocks: list[Block] = Field(min_length=1)
    message: str = Field(min_length=1)

    _message = field_validator("message")(_check_placeholders)

    @field_validator("version", mode="before")
    @classmethod
    def _version(cls, value: Any) -> Any:
        return str(value) if isinstance(value, (int, float)) else value

    @model_validator(mode="after")
    def _needs(self) -> "CertificateTemplate":
        if sum(b.verification for b in self.blocks) != 1:
            raise ValueError("blocks: exactly one block must be the verification (verification: true)")
        if sum(b.modules for b in self.blocks) > 1:
            raise ValueError("blocks: at most one block lists the modules")
        texts = " ".join(b.text for b in self.blocks)
        missing = [p for p in ("name", "cohort", "date", "code") if "{" + p + "}" not in texts]
        if missing:
            raise ValueError(f"blocks: the certificate must print {{{missing[0]}}}")
        return self


def load_certificate_template(templates_root: str | os.PathLike[str] | None = None) -> CertificateTemplate:
    """``lms_templates/certificate/certificate.yaml``, validated; a mistake names the file, path and line."""
    root = templates_dir(templates_root)
    file = root / CERTIFICATE_TEMPLATE
    shown = _display_name(file, root)
    data, lines = _read_yaml(file, shown)
    try:
        return CertificateTemplate.model_validate(data)
    except ValidationError as exc:
        error = _from_validation_error(exc, shown, lines)
        if not error.path:  # a rule about the whole file: point at its blocks
            error = TemplateError(shown, "blocks", error.message.removeprefix("blocks: "), _line_for(lines, "blocks"))
        raise error from None


# -- eligibility ------------------------------------------------------------------------------------

@dataclass
class Eligibility:
    """One coordinator measured against the rule: what is missing (empty: eligible)."""

    person_id: int
    email: str
    fullname: str
    network: str
    moodle_user_id: int | None
    missing: list[str] = field(default_factory=list)

    @property
    def eligible(self) -> bool:
        return not self.missing


def _cohort_course(store: Store, cohort: str) -> dict:
    from mintqo_lms.provision import cohort_course_idnumber

    rows = list(store.db["courses"].rows_where("idnumber = ?", [cohort_course_idnumber(cohort)]))
    if not rows:
        raise CertificateError(f"cohort {cohort} has no qualification course in Moodle yet; run "
                               f"'mintqo-lms provision --cohort {cohort}' and 'mintqo-lms sync --cohort {cohort}' first")
    return rows[0]


def eligibility(store: Store, cohort: str, templates_root: str | os.PathLike[str] | None = None
                ) -> tuple[list[Eligibility], list[str]]:
    """Every active coordinator of ``cohort`` measured against the rule, and the names of the modules (sections
    of the qualification course that hold a certificate requirement) a certificate lists. Reads the store only:
    run ``sync`` first for Moodle's latest completions."""
    require_cohort(store, cohort)
    curriculum = load_curriculum(QUALIFICATION_TEMPLATE, templates_root)
    rule = curriculum.certificate
    if rule is None or not (rule.requires or rule.attendance_required):
        raise CertificateError(f"the curriculum '{curriculum.key}' has no certificate rule (certificate: requires / "
                               "attendance_required); nobody can be eligible")
    course = _cohort_course(store, cohort)
    wanted = set(rule.requires) | set(rule.attendance_required)
    modules = [section.name for section in curriculum.sections if any(a.key in wanted for a in section.activities)]
    prefix = f"mintqo:{curriculum.key}:"
    cmids = {row["idnumber"].removeprefix(prefix): row["cmid"] for row in store.db["activities"].rows_where(
        "course_idnumber = ? AND idnumber LIKE ?", [course["idnumber"], prefix + "%"])}
    completion = {(row["cmid"], row["userid"]): row for row in store.db["activity_completion"].rows_where(
        "courseid = ?", [course["moodle_id"]])}
    attendance = {(row["activity_key"], row["person_id"]): row for row in store.db["attendance"].rows_where(
        "cohort = ? AND course_idnumber = ? AND (source IS NULL OR source != 'self')", [cohort, course["idnumber"]])}
    networks = {row["slug"]: row["name"] for row in store.db["networks"].rows_where("cohort = ?", [cohort])}
    coordinators = store.db.query(
        "SELECT m.person_id, m.network_slug, p.email, p.first_name, p.last_name, p.moodle_user_id "
        "FROM memberships m JOIN people p ON p.id = m.person_id WHERE m.cohort = ? AND m.role = 'coordinator' "
        "AND m.active = 1 ORDER BY p.last_name, p.first_name, p.id", [cohort])
    out: list[Eligibility] = []
    for row in coordinators:
        person = Eligibility(person_id=row["person_id"], email=row["email"],
                             fullname=f"{row['first_name']} {row['last_name']}".strip(),
                             network=networks.get(row["network_slug"] or "", ""), moodle_user_id=row["moodle_user_id"])
        userid = row["moodle_user_id"]
        for key in rule.requires:
            record = completion.get((cmids.get(key), userid))
            if userid is None or record is None or record["state"] not in COMPLETE_STATES:
                person.missing.append(f"{key} (not complete)")
        for key in rule.attendance_required:
            person.missing.extend(_attendance_missing(key, attendance.get((key, row["person_id"])),
                                                      completion.get((cmids.get(key), userid)), userid))
        out.append(person)
    return out, modules


def _attendance_missing(key: str, recorded: dict | None, record: dict | None, userid: int | None) -> list[str]:
    """Staff's attendance sheet decides when it has a row; else Moodle's completion set by someone else."""
    if recorded is not None:
        return [] if recorded["present"] else [f"{key} (recorded absent)"]
    if (userid is not None and record is not None and record["state"] in COMPLETE_STATES
            and record.get("overrideby") and record["overrideby"] != userid):
        return []
    return [f"{key} (attendance not recorded by staff)"]


# -- the PDF ----------------------------------------------------------------------------------------

def _rgb(colour: str) -> tuple[int, int, int]:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def render_pdf(template: CertificateTemplate, *, name: str, network: str, cohort: str, modules: Sequence[str],
               issued_at: int, code: str, url: str) -> bytes:
    """The one-page A4 certificate as PDF bytes: fpdf2 with the bundled DejaVu Sans (umlauts, ß, „…“), the QR
    code drawn by segno. Raises CertificateError when the content would not fit on one page."""
    import segno
    from fpdf import FPDF
    from fpdf.enums import XPos, YPos

    values = {"name": name, "network": network or "—", "cohort": cohort, "date": german_date(issued_at),
              "issuer": template.issuer, "code": code, "verify_url": url}
    page = template.page
    pdf = FPDF(orientation="portrait", unit="mm", format="A4")
    pdf.set_auto_page_break(False)
    pdf.set_margins(page.margin, page.margin, page.margin)
    pdf.set_creation_date(datetime.fromtimestamp(issued_at, timezone.utc))
    pdf.set_title(f"Teilnahmebescheinigung {cohort}")
    pdf.set_author(template.issuer)
    fonts = certificate_fonts([*values.values(), *(block.text for block in template.blocks), *modules, "• —"])
    for style, file in fonts.items():
        pdf.add_font("DejaVu", style, str(FONTS / file))
    pdf.add_page()
    accent = _rgb(page.accent)
    if page.frame:
        pdf.set_draw_color(*accent)
        pdf.set_line_width(0.8)
        pdf.rect(page.frame, page.frame, pdf.w - 2 * page.frame, pdf.h - 2 * page.frame)
        pdf.set_line_width(0.2)
        pdf.rect(page.frame + 1.5, page.frame + 1.5, pdf.w - 2 * page.frame - 3, pdf.h - 2 * page.frame - 3)
    width = pdf.w - 2 * page.margin
    bottom = pdf.h - page.margin
    pdf.set_y(page.margin)

    def line_height(size: float) -> float:
        return size * 0.3528 * 1.4

    for block in template.blocks:
        pdf.set_font("DejaVu", "B" if block.bold else "", block.size)
        pdf.set_text_color(*(accent if block.accent else (20, 20, 20)))
        if block.verification:
            _verification(pdf, segno, block, values, bottom, width, line_height(block.size), page.margin)
            continue
        pdf.set_y(pdf.get_y() + block.space_before)
        if block.modules:
            pdf.set_text_color(*accent)
            for module in modules:
                pdf.set_x(page.margin)
                pdf.multi_cell(width, line_height(block.size), f"• {module}", align=block.align,
                               new_x=XPos.LMARGIN, new_y=YPos.NEXT)
            continue
        pdf.multi_cell(width, line_height(block.size), " ".join(block.text.format(**values).split()),
                       align=block.align, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    if pdf.page_no() != 1 or getattr(pdf, "_mintqo_flow_end", pdf.get_y()) > bottom + 0.01:
        raise CertificateError("the certificate does not fit on one page: shorten the texts in "
                               f"{CERTIFICATE_TEMPLATE} or the module names")
    return bytes(pdf.output())


def certificate_fonts(texts: Iterable[str]) -> dict[str, str]:
    """The font files (by style) for a certificate printing ``texts``: the small cut when both of its styles
    have every character, else the full fonts. Line breaks and other control characters are never drawn."""
    needed = {ord(char) for text in texts for char in text if char >= " "}
    if all(needed <= _characters(file) for file in SMALL_FONTS.values()):
        return SMALL_FONTS
    return FULL_FONTS


@lru_cache(maxsize=None)
def _characters(file: str) -> frozenset[int]:
    """The characters a bundled font has a glyph for (its cmap; the files ship with the package)."""
    from fontTools.ttLib import TTFont

    with TTFont(FONTS / file, lazy=True) as font:
        return frozenset(font.getBestCmap())


def _verification(pdf: Any, segno: Any, block: Block, values: dict, bottom: float, width: float, lh: float,
                  margin: float) -> None:
    """QR code and the verification text, anchored at the bottom margin; the text flow above must end before it."""
    from fpdf.enums import XPos, YPos

    top = bottom - block.qr_size
    flow_end = pdf.get_y() + block.space_before
    if flow_end > top:
        pdf._mintqo_flow_end = flow_end + (bottom - top)  # reported by render_pdf as "does not fit"
    buffer = io.BytesIO()
    segno.make(values["verify_url"], error="m").save(buffer, kind="png", scale=10, border=4)
    buffer.seek(0)
    pdf.image(buffer, x=margin, y=top, w=block.qr_size, h=block.qr_size)
    text = "\n".join(" ".join(line.split()) for line in block.text.format(**values).splitlines())
    pdf.set_text_color(60, 60, 60)
    text_x = margin + block.qr_size + 5
    lines = pdf.multi_cell(width - block.qr_size - 5, lh, text, align="L", dry_run=True, output="LINES")
    pdf.set_xy(text_x, top + max(0.0, (block.qr_size - lh * len(lines)) / 2))
    pdf.multi_cell(width - block.qr_size - 5, lh, text, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)


# -- issuing ----------------------------------------------------------------------------------------

@dataclass
class PublishResult:
    published: list[str] = field(default_factory=list)   # codes whose current state the plugin now has
    error: str | None = None                             # why publishing stopped (the next run tries again)
    calls: int = 0


@dataclass
class IssueResult:
    cohort: str
    dry_run: bool = False
    issued: list[tuple[str, str]] = field(default_factory=list)        # (code, name)
    would_issue: list[str] = field(default_factory=list)
    already: list[tuple[str, str]] = field(default_factory=list)       # (code, name)
    incomplete: dict[str, list[str]] = field(default_factory=dict)      # name -> what is missing
    redrawn: list[str] = field(default_factory=list)                    # PDFs drawn again from the record
    publish: PublishResult | None = None
    messages_sent: list[str] = field(default_factory=list)
    messages_failed: dict[str, str] = field(default_factory=dict)
    messages_unknown: list[str] = field(default_factory=list)
    without_account: list[str] = field(default_factory=list)
    stopped: str | None = None
    render_s: float = 0.0    # seconds spent drawing PDFs (local work, apart from the store and Moodle)

    @property
    def ok(self) -> bool:
        return (not self.messages_failed and not self.messages_unknown and self.stopped is None
                and (self.publish is None or self.publish.error is None))

    def summary(self) -> str:
        def n(count: int, noun: str) -> str:
            return f"{count} {noun}{'' if count == 1 else 's'}"

        if self.dry_run:
            head = f"Would issue {n(len(self.would_issue), 'certificate')} for cohort {self.cohort}"
        else:
            head = f"Issued {n(len(self.issued), 'certificate')} for cohort {self.cohort}"
        parts = [f"{len(self.already)} issued before", f"{len(self.incomplete)} not eligible yet"]
        if self.redrawn:
            parts.append(f"{n(len(self.redrawn), 'missing PDF')} drawn again")
        if self.publish is not None and not self.dry_run:
            parts.append(f"{len(self.publish.published)} published to Moodle")
        if self.messages_sent:
            parts.append(f"{n(len(self.messages_sent), 'message')} sent")
        return f"{head} ({'; '.join(parts)})."


def certificates_dir(store: Store) -> Path:
    """``certificates/`` beside the store, private (0700): the PDFs carry names."""
    folder = store.path.resolve().parent / "certificates"
    folder.mkdir(mode=0o700, exist_ok=True)
    os.chmod(folder, 0o700)
    return folder


def pdf_file(store: Store, row: dict) -> Path:
    """Where a record's PDF is: ``pdf_path`` is kept relative to the store's folder (the pair moves together)."""
    return store.path.resolve().parent / row["pdf_path"]


def _write_private(path: Path, data: bytes) -> None:
    """Write through a 0600 temporary file in the same folder, then rename: never a half-written PDF."""
    tmp = _write_temporary(path.parent, data)
    try:
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _write_temporary(folder: Path, data: bytes) -> str:
    """``data`` in a new 0600 file ``.tmp-*.pdf`` of ``folder`` (a leftover of a killed run is deleted by the next)."""
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".pdf", dir=folder)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, 0o600)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return tmp


def _pdf_for(template: CertificateTemplate, row: dict, site_url: str, result: IssueResult) -> bytes:
    started = time.perf_counter()
    try:
        return render_pdf(template, name=row["fullname"], network=row["network"] or "", cohort=row["cohort"],
                          modules=json.loads(row["modules"] or "[]"), issued_at=row["issued_at"], code=row["code"],
                          url=verify_url(site_url, row["code"]))
    finally:
        result.render_s += time.perf_counter() - started


def issue_certificates(store: Store, cohort: str, *, site_url: str, moodle: Moodle | None = None,
                       dry_run: bool = False, notify: bool = True,
                       templates_root: str | os.PathLike[str] | None = None, now: int | None = None) -> IssueResult:
    """Issue one certificate to every eligible coordinator of ``cohort`` who has none yet (see the module
    docstring); then, with ``moodle``, publish every record whose state the plugin does not have yet and (with
    ``notify``) send each new holder one German Moodle message. Recorded in ``sync_runs`` like the other runs."""
    with store.durable():
        return _issue_certificates(store, cohort, site_url=site_url, moodle=moodle, dry_run=dry_run, notify=notify,
                                   templates_root=templates_root, now=now)


def _issue_certificates(store: Store, cohort: str, *, site_url: str, moodle: Moodle | None = None,
                        dry_run: bool = False, notify: bool = True,
                        templates_root: str | os.PathLike[str] | None = None, now: int | None = None) -> IssueResult:
    require_cohort(store, cohort)
    template = load_certificate_template(templates_root)   # a template mistake stops before anything is issued
    people, modules = eligibility(store, cohort, templates_root)
    run_id = store.start_run("certificates", cohort, dry_run=dry_run)
    result = IssueResult(cohort=cohort, dry_run=dry_run)
    try:
        _issue(store, cohort, template, people, modules, site_url, dry_run, result, now)
        if moodle is not None and not dry_run:
            result.publish = publish_certificates(moodle, store, cohort=cohort)
            if notify and result.publish.error is None:
                _notify(moodle, store, cohort, template, site_url, result)
    except Exception as exc:
        store.finish_run(run_id, status="failed", error=str(exc))
        raise
    store.finish_run(run_id, status="planned" if dry_run else ("ok" if result.ok else "failed"), summary={
        "issued": len(result.issued), "would_issue": len(result.would_issue), "already": len(result.already),
        "not_eligible": len(result.incomplete), "redrawn": len(result.redrawn),
        "published": len(result.publish.published) if result.publish else 0,
        "messages_sent": len(result.messages_sent), "render_s": round(result.render_s, 3)},
        error=result.stopped or (result.publish.error if result.publish else None))
    return result


def _issue(store: Store, cohort: str, template: CertificateTemplate, people: list[Eligibility], modules: list[str],
           site_url: str, dry_run: bool, result: IssueResult, now: int | None) -> None:
    existing = {row["person_id"]: row for row in store.db["certificates"].rows_where(
        "cohort = ? AND person_id IS NOT NULL", [cohort])}
    for person in people:
        if person.person_id in existing:
            result.already.append((existing[person.person_id]["code"], person.fullname))
        elif not person.eligible:
            result.incomplete[person.fullname] = person.missing
        elif dry_run:
            result.would_issue.append(person.fullname)
    if dry_run:
        return
    folder = certificates_dir(store)
    # A run killed while drawing leaves its temporary PDF (with a name on it) behind; issuing holds the store's
    # one writer lock, so any temporary file found now is such a leftover.
    for leftover in folder.glob(".tmp-*.pdf"):
        leftover.unlink(missing_ok=True)
    # Records without their PDF (a run that died between commit and rename): draw them again from the record.
    for row in list(store.db["certificates"].rows_where("cohort = ? AND fullname IS NOT NULL", [cohort])):
        if row["pdf_path"] and not pdf_file(store, row).exists():
            data = _pdf_for(template, row, site_url, result)
            _write_private(pdf_file(store, row), data)
            with store.transaction():
                store.db["certificates"].update(row["id"], {"pdf_sha256": hashlib.sha256(data).hexdigest()})
            result.redrawn.append(row["code"])
    issued_by = _operator()
    drawn: list[tuple[dict, str]] = []   # records with their temporary PDFs, all recorded in one commit
    try:
        for person in people:
            if person.person_id in existing or not person.eligible:
                continue
            code = _unused_code(store, {row["code"] for row, _ in drawn})
            issued_at = int(now if now is not None else time.time())
            row = {"cohort": cohort, "person_id": person.person_id, "code": code, "issued_at": issued_at,
                   "fullname": person.fullname, "network": person.network,
                   "modules": json.dumps(modules, ensure_ascii=False), "issued_by": issued_by,
                   "moodle_user_id": person.moodle_user_id}
            data = _pdf_for(template, row, site_url, result)
            name = f"Teilnahmebescheinigung-{cohort}-{code}.pdf"   # no name of a person in the file name
            drawn.append(({**row, "pdf_path": f"{folder.name}/{name}", "pdf_sha256": hashlib.sha256(data).hexdigest()},
                          _write_temporary(folder, data)))
    finally:   # what was drawn before a failure is issued, as it would have been one by one
        _record_drawn(store, drawn, result)


def _record_drawn(store: Store, drawn: list[tuple[dict, str]], result: IssueResult) -> None:
    """The records in one commit, then each PDF renamed into place: a record always exists before its PDF. A run
    killed in between leaves records whose PDF the next run draws again and temporary files it deletes."""
    try:
        if drawn:
            with store.transaction():   # the unique index (cohort, person_id) makes a second one impossible
                store.db["certificates"].insert_all([row for row, _ in drawn])
        for row, tmp in drawn:
            os.replace(tmp, pdf_file(store, row))
            result.issued.append((row["code"], row["fullname"]))
    finally:
        for _, tmp in drawn:
            Path(tmp).unlink(missing_ok=True)


def _unused_code(store: Store, taken: set[str]) -> str:
    """A code neither in the store nor ``taken`` (drawn in this run, not recorded yet)."""
    while True:   # 2^55 codes: a collision is astronomically rare, but the unique index would refuse it
        code = new_code()
        if code not in taken and not store.db["certificates"].count_where("code = ?", [code]):
            return code


def _operator() -> str:
    try:
        return getpass.getuser()
    except Exception:   # noqa: BLE001 - no user name (a container without passwd entry): not worth failing
        return "unknown"


# -- publishing to the plugin -----------------------------------------------------------------------

def _state(row: dict) -> str:
    """What the plugin should show for a record: valid or revoked, with or without the name."""
    return f"{'revoked' if row['revoked_at'] else 'valid'}:{'named' if row['fullname'] else 'anonymous'}"


def publish_certificates(moodle: Moodle, store: Store, *, cohort: str | None = None,
                         codes: Iterable[str] | None = None) -> PublishResult:
    """Send every certificate record whose current state the plugin has not confirmed yet (new, revoked,
    pseudonymised) with ``local_mintqo_publish_certificates``; idempotent by code, so a lost answer is simply
    sent again next time. Marks each confirmed record ``published_state`` in the transaction that reads the
    answer. Moodle errors are reported in the result, not raised: the store stays right and the next run retries."""
    where, params = ["1 = 1"], []
    if cohort is not None:
        where.append("cohort = ?")
        params.append(cohort)
    if codes is not None:
        codes = list(codes)
        where.append(f"code IN ({', '.join('?' for _ in codes)})")
        params.extend(codes)
    rows = [row for row in store.db["certificates"].rows_where(" AND ".join(where), params, order_by="id")
            if row["published_state"] != _state(row)]
    result = PublishResult()
    if not rows:
        return result
    before = moodle.client.stats.total_calls
    try:
        answers = moodle.plugin.publish_certificates([{
            "code": row["code"], "userid": int(row["moodle_user_id"] or 0), "fullname": row["fullname"] or "",
            "cohort": row["cohort"], "timeissued": int(row["issued_at"]), "revoked": 1 if row["revoked_at"] else 0,
            "timerevoked": int(row["revoked_at"] or 0)} for row in rows])
    except MoodleError as exc:
        result.error = str(exc)
        result.calls = moodle.client.stats.total_calls - before
        return result
    confirmed = {answer.code for answer in answers}
    now = int(time.time())
    with store.transaction():
        for row in rows:
            if row["code"] in confirmed:
                store.db["certificates"].update(row["id"], {"published_at": now, "published_state": _state(row)})
                result.published.append(row["code"])
    result.calls = moodle.client.stats.total_calls - before
    return result


# -- messages ---------------------------------------------------------------------------------------

def message_text(template: CertificateTemplate, *, name: str, cohort: str, issued_at: int, code: str,
                 url: str, network: str = "") -> str:
    """The German Moodle message (HTML); every value is escaped."""
    values = {"name": name, "network": network, "cohort": cohort, "date": german_date(issued_at),
              "issuer": template.issuer, "code": code, "verify_url": url}
    return " ".join(template.message.format(**{k: html.escape(v, quote=True) for k, v in values.items()}).split())


def _notify(moodle: Moodle, store: Store, cohort: str, template: CertificateTemplate, site_url: str,
            result: IssueResult) -> None:
    """One message per valid, named certificate, recorded before sending (mintqo_lms.messaging): a refused send
    is tried again by the next run, a lost answer is reported and never re-sent on its own."""
    sent = {row["code"]: row for row in store.db["certificate_messages"].rows_where("cohort = ?", [cohort])}
    # Read all first: writing to the table while an SQLite cursor still walks it fails ("table is locked").
    rows = list(store.db["certificates"].rows_where(
        "cohort = ? AND revoked_at IS NULL AND fullname IS NOT NULL", [cohort], order_by="id"))
    for row in rows:
        record = sent.get(row["code"])
        status = record["status"] if record else None
        if status == "sent":
            continue
        if status == "sending":
            result.messages_unknown.append(row["fullname"])
            continue
        if not row["moodle_user_id"]:
            result.without_account.append(row["fullname"])
            continue
        attempt = int((record or {}).get("attempts") or 0) + 1
        text = message_text(template, name=row["fullname"], cohort=cohort, issued_at=row["issued_at"],
                            code=row["code"], url=verify_url(site_url, row["code"]), network=row["network"] or "")
        outcome = send_recorded(moodle, store, "certificate_messages", ("code",), {
            "code": row["code"], "cohort": cohort, "person_id": row["person_id"], "userid": row["moodle_user_id"],
            "attempts": attempt, "created_at": (record or {}).get("created_at") or int(time.time())},
            touserid=int(row["moodle_user_id"]), text=text,
            clientmsgid=f"mintqo-certificate-{row['code']}-{attempt}")
        if outcome.status == "sent":
            result.messages_sent.append(row["fullname"])
        elif outcome.status == "sending":
            result.messages_unknown.append(row["fullname"])
        else:
            result.messages_failed[row["fullname"]] = outcome.error or "unknown"
        if outcome.stop:
            result.stopped = outcome.stop
            break
    _copy_message_status(store, cohort)


def _copy_message_status(store: Store, cohort: str) -> None:
    """Each certificate shows its message's status (``certificates list``): copied from the message records
    once per run, not once per message (a commit each); this also mends a copy a killed run left behind."""
    with store.transaction():
        store.db.execute(
            "UPDATE certificates SET message_status = (SELECT status FROM certificate_messages m WHERE m.code = "
            "certificates.code), message_id = (SELECT msgid FROM certificate_messages m WHERE m.code = "
            "certificates.code) WHERE cohort = ? AND code IN (SELECT m.code FROM certificate_messages m "
            "WHERE m.cohort = ? AND (m.status IS NOT certificates.message_status OR "
            "m.msgid IS NOT certificates.message_id))", [cohort, cohort])


# -- reading, verifying, revoking -------------------------------------------------------------------

@dataclass
class Verification:
    status: str                 # valid, revoked or unknown
    code: str | None = None     # the code as stored (None when the input cannot be a code)
    fullname: str | None = None
    cohort: str | None = None
    issued_at: int | None = None
    revoked_at: int | None = None

    def line(self) -> str:
        if self.status == "unknown":
            return "unknown: no certificate has this code (check it for typos)"
        name = self.fullname or "(name not kept: pseudonymised on request)"
        text = f"{self.status}: {self.code} — {name}, cohort {self.cohort}, issued {german_date(self.issued_at or 0)}"
        if self.revoked_at:
            text += f", revoked {german_date(self.revoked_at)}"
        return text


def _find(store: Store, text: str) -> dict | None:
    code = normalise_code(text)
    if code is None:
        return None
    rows = list(store.db["certificates"].rows_where("code = ?", [code]))
    return rows[0] if rows else None


def verify_certificate(store: Store, text: str) -> Verification:
    """valid / revoked / unknown for a typed or scanned code; a typo (wrong check symbol) is unknown."""
    row = _find(store, text)
    if row is None:
        return Verification(status="unknown")
    return Verification(status="revoked" if row["revoked_at"] else "valid", code=row["code"],
                        fullname=row["fullname"], cohort=row["cohort"], issued_at=row["issued_at"],
                        revoked_at=row["revoked_at"])


def revoke_certificate(store: Store, text: str, reason: str, *, moodle: Moodle | None = None
                       ) -> tuple[dict, bool, PublishResult | None]:
    """Mark a certificate revoked (the record stays) and, with ``moodle``, publish the revocation at once.
    Returns the record, whether this call revoked it (False: it was revoked before) and the publication."""
    with store.durable():
        return _revoke_certificate(store, text, reason, moodle=moodle)


def _revoke_certificate(store: Store, text: str, reason: str, *, moodle: Moodle | None = None
                        ) -> tuple[dict, bool, PublishResult | None]:
    reason = " ".join((reason or "").split())
    if not reason:
        raise CertificateError("--reason is required: say why the certificate is revoked")
    row = _find(store, text)
    if row is None:
        raise CertificateError(f"no certificate has the code {text!r} (check it for typos: "
                               "'mintqo-lms certificates list' shows the codes)")
    changed = not row["revoked_at"]
    if changed:
        with store.transaction():
            store.db["certificates"].update(row["id"], {"revoked_at": int(time.time()), "revoked_reason": reason})
        row = store.db["certificates"].get(row["id"])
    published = publish_certificates(moodle, store, codes=[row["code"]]) if moodle is not None else None
    return row, changed, published


def list_certificates(store: Store, cohort: str | None = None) -> list[dict]:
    """The records, oldest first, with ``status`` (valid / revoked) added; ``cohort`` None: every cohort."""
    if cohort is not None:
        require_cohort(store, cohort)
    rows = store.db["certificates"].rows_where("cohort = ?" if cohort else None, [cohort] if cohort else [],
                                               order_by="cohort, issued_at, id")
    return [{**row, "status": "revoked" if row["revoked_at"] else "valid"} for row in rows]


def pseudonymise_certificates(store: Store, person_id: int, *, moodle: Moodle | None = None) -> list[str]:
    """For ``privacy forget``: keep each certificate of ``person_id`` as a record without the person (code,
    cohort, date, revocation), so its code still answers valid or revoked, and delete its PDF and message
    records. Runs in the caller's transaction when there is one. Returns the codes. With ``moodle`` the records
    are republished to the plugin at once without name and user (a failure is left to the next
    :func:`publish_certificates`, which sends every record whose state the plugin lacks)."""
    with store.transaction():
        rows = list(store.db["certificates"].rows_where("person_id = ?", [person_id]))
        for row in rows:
            store.db["certificates"].update(row["id"], {
                "person_id": None, "fullname": None, "network": None, "moodle_user_id": None, "pdf_path": None,
                "pdf_sha256": None, "message_status": None, "message_id": None})
            store.db.execute("DELETE FROM certificate_messages WHERE code = ?", [row["code"]])
    for row in rows:
        if row["pdf_path"]:
            pdf_file(store, row).unlink(missing_ok=True)
    codes = [row["code"] for row in rows]
    if moodle is not None and codes:
        publish_certificates(moodle, store, codes=codes)
    return codes
