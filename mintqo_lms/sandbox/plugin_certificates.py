"""local_mintqo's certificate records and its public verify page, per moodle/local/mintqo/README.md.

``local_mintqo_publish_certificates`` keeps one record per code in ``local_mintqo_certificates`` (idempotent by
code, the whole batch or nothing); ``local/mintqo/verify.php?code=…`` answers anyone, without a login, from those
records: valid, revoked or unknown, the name, the cohort and the date of issue — nothing else, and an unknown
code gets the same page shape. The sandbox server serves the page (:func:`verify_page`) so that the QR code of a
certificate issued against the sandbox opens in a browser.
"""

from __future__ import annotations

import html
import re
from datetime import datetime
from zoneinfo import ZoneInfo

from .common import require_capability
from .params import ALPHANUMEXT, INT, TEXT, M, Params, S, V
from .protocol import invalid_parameter
from .registry import Call, ws
from .state import Site

TABLE = "local_mintqo_certificates"
CAPABILITY = "local/mintqo:publishcertificates"
CODE_RE = re.compile(r"^[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}$")
FIELDS = ("userid", "fullname", "cohort", "timeissued", "revoked", "timerevoked")
VERIFY_PATH = "/local/mintqo/verify.php"
_CONFUSABLE = str.maketrans({"O": "0", "I": "1", "L": "1"})
_MONTHS = ("Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September", "Oktober", "November",
           "Dezember")


@ws("local_mintqo_publish_certificates", Params(certificates=M(S(
    code=V(ALPHANUMEXT), userid=V(INT, 0), fullname=V(TEXT, ""), cohort=V(ALPHANUMEXT), timeissued=V(INT),
    revoked=V(INT, 0), timerevoked=V(INT, 0)))), write=True)
def publish_certificates(call: Call, certificates: list[dict]) -> dict:
    site = call.site
    require_capability(call, CAPABILITY)
    seen: set[str] = set()
    for item in certificates:
        if not CODE_RE.match(item["code"]):
            raise invalid_parameter(f"certificates: code {item['code']} is not a certificate code (XXXX-XXXX-XXXX)")
        if item["code"] in seen:
            raise invalid_parameter(f"certificates: code {item['code']} appears twice")
        seen.add(item["code"])
        if item["timeissued"] <= 0:
            raise invalid_parameter("certificates: timeissued must be a unix time")
        if item["cohort"] == "":
            raise invalid_parameter("certificates: cohort is required")
    results = []
    for item in certificates:
        user = site.get("user", item["userid"]) if item["userid"] else None
        wanted = {
            "userid": user["id"] if user and not user.get("deleted") else None,
            "fullname": item["fullname"].strip(),
            "cohort": item["cohort"],
            "timeissued": item["timeissued"],
            "revoked": 1 if item["revoked"] else 0,
            "timerevoked": item["timerevoked"] if item["revoked"] else 0,
        }
        existing = site.find_one(TABLE, code=item["code"])
        if existing is None:
            site.insert(TABLE, {"code": item["code"], **wanted, "timecreated": site.now(), "timemodified": site.now()})
            status = "created"
        else:
            changes = {k: v for k, v in wanted.items() if existing.get(k) != v}
            if changes:
                site.update(TABLE, existing["id"], timemodified=site.now(), **changes)
            status = "updated" if changes else "unchanged"
        results.append({"code": item["code"], "status": status})
    return {"certificates": results}


def normalise(code: str) -> str:
    """The plugin's reading of a typed code: case, spaces and hyphens do not matter, O is 0, I and L are 1."""
    symbols = re.sub(r"[^0-9A-Za-z]", "", code or "").upper().translate(_CONFUSABLE)
    return "-".join(symbols[i:i + 4] for i in range(0, len(symbols), 4)) if len(symbols) == 12 else symbols


def _date(timestamp: int) -> str:
    day = datetime.fromtimestamp(timestamp, ZoneInfo("Europe/Berlin"))
    return f"{day.day}. {_MONTHS[day.month - 1]} {day.year}"


def verify_page(site: Site, code: str | None) -> str:
    """The German verify page for ``code`` (None or empty: only the form)."""
    e = lambda text: html.escape(str(text), quote=True)  # noqa: E731
    code = (code or "").strip()
    result = ""
    if code:
        record = site.find_one(TABLE, code=normalise(code))
        if record is None:
            state, heading, text = "unknown", "Unbekannt", ("Zu diesem Prüfcode gibt es keine Teilnahmebescheinigung. "
                                                           "Bitte prüfen Sie die Eingabe.")
            name = cohort = date = "—"
        else:
            revoked = bool(record["revoked"])
            state = "revoked" if revoked else "valid"
            heading = "Widerrufen" if revoked else "Gültig"
            text = ("Diese Teilnahmebescheinigung wurde widerrufen und ist nicht mehr gültig." if revoked else
                    "Diese Teilnahmebescheinigung ist echt und gültig.")
            name = record["fullname"] or "(auf Wunsch der Person nicht mehr gespeichert)"
            cohort, date = record["cohort"], _date(record["timeissued"])
        result = (f'<section class="mintqo-verification" data-status="{state}"><h3>{e(heading)}</h3><p>{e(text)}</p>'
                  f"<dl><dt>Name</dt><dd>{e(name)}</dd><dt>Durchgang</dt><dd>{e(cohort)}</dd>"
                  f"<dt>Ausgestellt am</dt><dd>{e(date)}</dd></dl></section>")
    return ("<!DOCTYPE html><html lang=\"de\"><head><meta charset=\"utf-8\"><title>Teilnahmebescheinigung prüfen"
            "</title></head><body><h2>Teilnahmebescheinigung prüfen</h2>"
            f'<form method="get" action="{VERIFY_PATH}"><label for="code">Prüfcode</label> '
            f'<input id="code" name="code" value="{e(code)}"> <button type="submit">Prüfen</button></form>'
            f"{result}</body></html>")
