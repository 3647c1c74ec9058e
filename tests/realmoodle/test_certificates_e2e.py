"""Certificates of participation on a real Moodle (issue 11): a coordinator who completed everything gets exactly
one certificate, issuing again writes none, nobody incomplete gets one; the printed code verifies in the store and
on the plugin's public page ``local/mintqo/verify.php`` (opened without a login), both say revoked after
``revoke``, and a made-up code is unknown on both.

One cohort (key ``2099-c<digits>``) is provisioned from the example roster. In Moodle the coordinators' work and
the staff's attendance records are completion overrides by the service account (as staff record attendance);
``sync`` brings them into the store, and ``certificates issue`` decides from there. The publication runs with a
non-admin service user holding exactly the README's role (``MOODLE_DIR``), so the documented capability is enough.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
import requests

from mintqo_lms.certificates import (issue_certificates, normalise_code, pdf_file, revoke_certificate,
                                     verify_certificate)
from mintqo_lms.config import Config
from mintqo_lms.moodle import Moodle
from mintqo_lms.programme import import_roster
from mintqo_lms.provision import provision
from mintqo_lms.store import Store
from mintqo_lms.sync import sync_cohort
from mintqo_lms.templates import load_curriculum

pytestmark = pytest.mark.realmoodle

PROJECT = Path(__file__).resolve().parents[2]
EXAMPLE_ROSTER = PROJECT / "lms_templates" / "roster.example.csv"


def anonymous_page(url: str, code: str) -> tuple[str, str]:
    """The verify page as a visitor without an account sees it: (status attribute, main region's text)."""
    answer = requests.get(f"{url}/local/mintqo/verify.php", params={"code": code}, timeout=60, allow_redirects=False)
    assert answer.status_code == 200, answer.status_code     # no redirect to the login page
    html = answer.text
    status = re.search(r'data-status="(valid|revoked|unknown)"', html)
    main = html[html.find('id="region-main"'):]
    main = re.sub(r"<(script|style)\b.*?</\1>", " ", main, flags=re.S)
    return (status.group(1) if status else ""), " ".join(re.sub(r"<[^>]+>", " ", main).split())


@pytest.fixture(scope="module")
def cohort(moodle, restricted_moodle, tmp_path_factory):
    stamp = time.strftime("%Y%m%d%H%M%S") + f"{time.time_ns() % 1000:03d}"
    key, tmp = f"2099-c{stamp}", tmp_path_factory.mktemp("certificates")
    roster = tmp / "roster.csv"
    roster.write_text(re.sub(r"@[A-Za-z0-9.-]+\.example\b", f"@c{stamp}.example",
                             EXAMPLE_ROSTER.read_text(encoding="utf-8")), encoding="utf-8")
    site, store = Moodle(moodle), Store(tmp / "mintqo.db")
    import_roster(store, roster, key)
    provision(site, store, Config(), key)
    rule = load_curriculum("qualification").certificate
    cmids = {row["idnumber"].rsplit(":", 1)[-1]: row["cmid"] for row in store.db["activities"].rows_where(
        "course_idnumber = ?", [f"mintqo:cohort:{key}"])}
    coordinators = {row["last_name"]: row for row in store.db.query(
        "SELECT p.* FROM memberships m JOIN people p ON p.id = m.person_id "
        "WHERE m.cohort = ? AND m.role = 'coordinator'", [key])}
    complete, almost = coordinators["Weißmüller"], coordinators["Kaya"]
    for person, keys in ((complete, [*rule.requires, *rule.attendance_required]),
                         (almost, [*rule.requires, rule.attendance_required[0]])):   # the transfer workshop missed
        for activity in keys:
            site.core.override_activity_completion(person["moodle_user_id"], cmids[activity], 1)
    time.sleep(3)   # the plugin serves completions a few seconds old
    sync_cohort(site, store, key)
    yield {"key": key, "store": store, "site": Moodle(restricted_moodle), "url": moodle.url,
           "complete": complete, "almost": almost, "coordinators": coordinators, "rule": rule}
    store.close()


def test_exactly_one_certificate_for_who_completed_everything_and_none_again(cohort):
    store, key = cohort["store"], cohort["key"]
    first = issue_certificates(store, key, site_url=cohort["url"], moodle=cohort["site"])
    assert [name for _, name in first.issued] == ["Jürgen Weißmüller"], first
    assert first.ok and first.publish.published == [first.issued[0][0]] and first.messages_sent == ["Jürgen Weißmüller"]
    assert first.incomplete["Özlem Kaya"] == ["transfer-teilnahme (attendance not recorded by staff)"]
    assert len(first.incomplete) == len(cohort["coordinators"]) - 1
    row = next(store.db["certificates"].rows_where("cohort = ?", [key]))
    assert row["person_id"] == cohort["complete"]["id"] and pdf_file(store, row).exists()
    assert row["message_status"] == "sent"

    again = issue_certificates(store, key, site_url=cohort["url"], moodle=cohort["site"])
    assert again.issued == [] and len(again.already) == 1 and again.publish.calls == 0 and again.messages_sent == []
    assert store.db["certificates"].count_where("cohort = ?", [key]) == 1


def test_the_printed_code_verifies_in_the_store_and_on_the_public_page_then_both_say_revoked(cohort):
    store, key, url = cohort["store"], cohort["key"], cohort["url"]
    if not store.db["certificates"].count_where("cohort = ?", [key]):
        issue_certificates(store, key, site_url=url, moodle=cohort["site"])
    code = next(store.db["certificates"].rows_where("cohort = ?", [key]))["code"]
    assert normalise_code(code) == code

    assert verify_certificate(store, code).status == "valid"
    status, text = anonymous_page(url, code.lower().replace("-", " "))
    assert status == "valid" and "Jürgen Weißmüller" in text and key in text
    assert cohort["complete"]["email"] not in text

    made_up = "ZZZZ-ZZZZ-ZZZZ"
    assert verify_certificate(store, made_up).status == "unknown"
    status, text = anonymous_page(url, made_up)
    assert status == "unknown" and "Weißmüller" not in text

    _, changed, published = revoke_certificate(store, code, "Test: widerrufen", moodle=cohort["site"])
    assert changed and published.published == [code]
    assert verify_certificate(store, code).status == "revoked"
    status, text = anonymous_page(url, code)
    assert status == "revoked" and "Jürgen Weißmüller" in text and "Test: widerrufen" not in text

