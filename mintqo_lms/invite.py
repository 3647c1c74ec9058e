"""``mintqo-lms invite``: a German invitation to everyone of a cohort who has not had one yet.

Provisioning creates accounts without any mail (a random password nobody knows). When the cohort starts,
``invite`` sends each person one Moodle message (Moodle forwards it by e-mail to people who are not logged
in): what the programme is, the login page, their username, and how to set a password through
"Kennwort vergessen?" (the German login page's label).

Why it cannot send twice: every invitation is written to the store as ``sending`` *before* the message goes
out, one message per call (:func:`mintqo_lms.messaging.send_recorded`, shared with the feedback messages). The answer decides what follows:

* Moodle confirms it (a message id) -> ``sent``; later runs skip the person.
* Moodle refuses it (an error, or ``msgid`` -1 with a reason), or the request provably never reached Moodle
  -> ``failed``; the next run tries again.
* The answer was lost after the request may have reached Moodle (connection reset, timeout) -> stays
  ``sending`` ("uncertain"): never re-sent on its own, because the person may have it already. The run
  names them; after checking, ``--resend EMAIL`` sends again on purpose.
"""

from __future__ import annotations

import html
import time
from collections.abc import Collection
from dataclasses import dataclass, field

from mintqo_lms.keys import require_cohort
from mintqo_lms.moodle import Moodle
from mintqo_lms.messaging import send_recorded
from mintqo_lms.moodle.errors import MintqoError
from mintqo_lms.programme import Member, load_cohort
from mintqo_lms.store import Store

__all__ = ["InviteError", "InviteResult", "invitation_text", "invite"]

PROGRAMME = "MINT-Qualitätsoffensive"


class InviteError(MintqoError):
    """Invitations cannot be sent as asked (cohort not provisioned, --resend for someone not in the cohort …)."""


@dataclass
class InviteResult:
    cohort: str
    dry_run: bool = False
    sent: list[str] = field(default_factory=list)
    would_send: list[str] = field(default_factory=list)
    already: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)       # email -> why
    uncertain: list[str] = field(default_factory=list)         # may have it: answer lost
    not_provisioned: list[str] = field(default_factory=list)
    calls: int = 0
    stopped: str | None = None  # why the run stopped early (Moodle unreachable)

    @property
    def ok(self) -> bool:
        return not self.failed and not self.uncertain and self.stopped is None

    def summary(self) -> str:
        def people(n: int) -> str:
            return f"{n} {'person' if n == 1 else 'people'}"

        if self.dry_run:
            head = f"Would invite {people(len(self.would_send))} of cohort {self.cohort}"
        else:
            head = f"Invited {people(len(self.sent))} of cohort {self.cohort}"
        parts = [f"{len(self.already)} invited before"]
        if self.not_provisioned:
            parts.append(f"{len(self.not_provisioned)} without a Moodle account yet (run provision first)")
        return f"{head} ({', '.join(parts)}; {self.calls} web-service calls)."


def _role_line(member_roles: list[Member], networks: dict[str, dict], initiatives: dict[tuple[str, str], dict]) -> str:
    roles = {m.role: m for m in member_roles}
    if "coordinator" in roles:
        network = networks.get(roles["coordinator"].network_slug or "", {}).get("name", "")
        return f"als Regionalkoordination für das Netzwerk {network}" if network else "als Regionalkoordination"
    if "initiative" in roles:
        member = roles["initiative"]
        initiative = initiatives.get((member.network_slug or "", member.initiative_slug or ""), {}).get("name", "")
        network = networks.get(member.network_slug or "", {}).get("name", "")
        text = f"mit Ihrer Initiative {initiative}" if initiative else "mit Ihrer Initiative"
        return text + (f" im Netzwerk {network}" if network else "")
    if "buddy" in roles:
        return "als Alumni-Buddy einer Regionalkoordination"
    return "für die Geschäftsstelle"


def invitation_text(*, site: str, cohort: str, first_name: str, last_name: str, username: str, role_line: str) -> str:
    """The German invitation (HTML). Everything from the roster is escaped."""
    e = lambda text: html.escape(text, quote=True)  # noqa: E731
    login = f"{site}/login/index.php"
    forgot = f"{site}/login/forgot_password.php"
    return (
        f"<p>Guten Tag {e(first_name)} {e(last_name)},</p>"
        f"<p>herzlich willkommen im Durchgang {e(cohort)} der {PROGRAMME}! Sie sind {e(role_line)} dabei. "
        f"Die {PROGRAMME} stärkt die Qualität außerschulischer MINT-Bildung: Initiativen schauen mit der "
        "Selbstanalyse nach dem Orientierungsrahmen auf ihre Angebote und entwickeln sie gemeinsam weiter. "
        "Alles, was Sie online dafür brauchen, finden Sie auf unserer Lernplattform.</p>"
        "<p><strong>So melden Sie sich zum ersten Mal an:</strong></p>"
        "<ol>"
        f"<li>Legen Sie Ihr Passwort fest: Öffnen Sie <a href=\"{e(forgot)}\">{e(forgot)}</a> "
        "(„Kennwort vergessen?“ auf der Anmeldeseite) und geben Sie Ihren Anmeldenamen oder Ihre E-Mail-Adresse "
        "ein. Sie erhalten eine E-Mail mit einem Link, über den Sie Ihr eigenes Passwort wählen.</li>"
        f"<li>Melden Sie sich danach an unter <a href=\"{e(login)}\">{e(login)}</a>.</li>"
        "</ol>"
        f"<p>Ihr Anmeldename: <strong>{e(username)}</strong></p>"
        "<p>Bei Fragen hilft Ihnen die Geschäftsstelle der MINT-Qualitätsoffensive gern weiter.</p>"
    )


def invite(moodle: Moodle, store: Store, cohort: str, *, site_url: str, dry_run: bool = False,
           resend: Collection[str] = ()) -> InviteResult:
    """Send the invitations of ``cohort`` (see the module docstring); ``resend`` names people (e-mails) to
    invite again on purpose. Returns what happened to whom; the run is recorded like provision's."""
    require_cohort(store, cohort)
    run_id = store.start_run("invite", cohort, dry_run=dry_run)
    try:
        result = _invite(moodle, store, cohort, site_url=site_url, dry_run=dry_run, resend=resend)
    except Exception as exc:
        store.finish_run(run_id, status="failed", error=str(exc))
        raise
    store.finish_run(run_id, status="planned" if dry_run else ("ok" if result.ok else "failed"), summary={
        "sent": len(result.sent), "failed": result.failed, "uncertain": result.uncertain,
        "would_send": len(result.would_send)}, error=result.stopped)
    return result


def _invite(moodle: Moodle, store: Store, cohort: str, *, site_url: str, dry_run: bool,
            resend: Collection[str]) -> InviteResult:
    roster = load_cohort(store, cohort)
    people = roster.people()
    by_email = {m.email: m for m in people.values()}
    resend_set = {e.strip().lower() for e in resend}
    unknown = sorted(resend_set - set(by_email))
    if unknown:
        raise InviteError(f"--resend {unknown[0]}: not an active member of cohort {cohort}; nothing was sent")
    roles: dict[int, list[Member]] = {}
    for member in roster.members:
        roles.setdefault(member.person_id, []).append(member)
    records = {row["person_id"]: row for row in store.db["invitations"].rows_where("cohort = ?", [cohort])}

    result = InviteResult(cohort=cohort, dry_run=dry_run)
    todo: list[Member] = []
    for member in sorted(people.values(), key=lambda m: m.email):
        record = records.get(member.person_id)
        status = record["status"] if record else None
        if member.moodle_user_id is None:
            result.not_provisioned.append(member.email)
        elif member.email in resend_set or status in (None, "failed"):
            todo.append(member)
        elif status == "sent":
            result.already.append(member.email)
        else:  # "sending": the answer of an earlier attempt was lost
            result.uncertain.append(member.email)
    if dry_run:
        result.would_send = [m.email for m in todo]
        return result
    if not todo:
        return result

    stats = moodle.client.stats
    before = stats.total_calls
    usernames = {u.id: u.username for u in moodle.core.get_users_by_field("id", [m.moodle_user_id for m in todo])}
    site = site_url.rstrip("/")
    for member in todo:
        username = usernames.get(member.moodle_user_id or 0)
        if username is None:
            result.failed[member.email] = "the Moodle account no longer exists; run provision again"
            continue
        record = records.get(member.person_id) or {}
        attempt = int(record.get("attempts") or 0) + 1
        text = invitation_text(site=site, cohort=cohort, first_name=member.first_name, last_name=member.last_name,
                               username=username, role_line=_role_line(roles[member.person_id], roster.networks,
                                                                       roster.initiatives))
        outcome = send_recorded(moodle, store, "invitations", ("cohort", "person_id"), {
            "cohort": cohort, "person_id": member.person_id, "attempts": attempt,
            "created_at": record.get("created_at") or int(time.time())},
            touserid=member.moodle_user_id or 0, text=text,
            clientmsgid=f"mintqo-invite-{cohort}-{member.person_id}-{attempt}")
        status, error, result.stopped = outcome.status, outcome.error, outcome.stop
        if status == "sent":
            result.sent.append(member.email)
        elif status == "sending":
            result.uncertain.append(member.email)
        else:
            result.failed[member.email] = error or "unknown"
        if result.stopped:
            break
    result.calls = stats.total_calls - before
    return result
