"""One Moodle message to one person, recorded so that it is never sent twice by accident.

``core_message_send_instant_messages`` is not all-or-nothing and a retried call would deliver again, so every
message we send (invitations, feedback after a self-analysis) goes through :func:`send_recorded`, one message
per call:

1. the row is written as ``sending`` (with a ``clientmsgid``) *before* the call, in its own transaction;
2. the answer decides the status:

   * Moodle confirms it (a message id) -> ``sent``;
   * Moodle refuses it (an error, ``msgid`` -1 with a reason, HTTP 5xx), or the request provably never reached
     Moodle -> ``failed``: safe to try again on the next run;
   * Moodle answers something unreadable (PHP output before the JSON, an HTML page, cut-off JSON) -> stays
     ``sending`` like a lost answer: the site may have sent it before the answer was spoiled;
   * the answer was lost after the request may have reached Moodle (connection reset, timeout) -> stays
     ``sending``: the person may have it, so it is never re-sent on its own (the caller reports it as
     unknown and only an explicit request sends it again).

A process killed during the call also leaves ``sending`` behind: the same rule applies. When Moodle is
unreachable or answers 5xx, :attr:`Outcome.stop` says why the run should stop rather than try everyone.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mintqo_lms.moodle import Moodle
from mintqo_lms.moodle.client import redact_secrets
from mintqo_lms.moodle.errors import MoodleConnectionError, MoodleProtocolError, MoodleRemoteError, MoodleTransportError
from mintqo_lms.store import Store

__all__ = ["Outcome", "send_recorded"]


@dataclass
class Outcome:
    status: str                  # sent, failed or sending (answer lost: unknown whether it arrived)
    error: str | None = None
    msgid: int | None = None
    stop: str | None = None      # Moodle unreachable / 5xx: stop the run here


def send_recorded(moodle: Moodle, store: Store, table: str, pk: tuple[str, ...], row: Mapping[str, Any], *,
                  touserid: int, text: str, clientmsgid: str) -> Outcome:
    """Record ``row`` in ``table`` as ``sending``, send ``text`` to Moodle user ``touserid``, record the outcome.

    ``row`` holds the primary key columns ``pk`` and whatever else the table keeps (``attempts``,
    ``created_at`` …); ``status``, ``clientmsgid``, ``msgid``, ``error``, ``updated_at`` and ``sent_at`` are set
    here."""
    with store.durable():
        return _send_recorded(moodle, store, table, pk, row, touserid=touserid, text=text, clientmsgid=clientmsgid)


def _send_recorded(moodle: Moodle, store: Store, table: str, pk: tuple[str, ...], row: Mapping[str, Any], *,
                   touserid: int, text: str, clientmsgid: str) -> Outcome:
    now = int(time.time())
    with store.transaction():  # recorded before it goes out: a lost answer is never re-sent on its own
        store.db[table].upsert({**row, "status": "sending", "clientmsgid": clientmsgid, "error": None,
                                "updated_at": now}, pk=pk)
    outcome = Outcome(status="failed")
    try:
        answer = moodle.core.send_instant_message(touserid, text, clientmsgid)
    except MoodleConnectionError as exc:
        if exc.maybe_applied:
            outcome.status, outcome.error = "sending", f"answer lost: {exc}"
        else:
            outcome.error = str(exc)
        outcome.stop = str(exc)
    except MoodleRemoteError as exc:
        outcome.error = redact_secrets(str(exc))
    except MoodleProtocolError as exc:    # Moodle answered, but not JSON (PHP output before it …): it may have
        outcome.status = "sending"        # sent the message, so it is unknown and never re-sent on its own
        outcome.error = outcome.stop = redact_secrets(f"answer unreadable: {exc}")
    except MoodleTransportError as exc:   # HTTP 5xx: Moodle (or its proxy) did not take the message
        outcome.error = redact_secrets(str(exc))
        outcome.stop = str(exc)
    else:
        if answer.msgid and answer.msgid > 0:
            outcome.status, outcome.msgid = "sent", answer.msgid
        else:
            outcome.error = answer.errormessage or "Moodle did not accept the message"
    now = int(time.time())
    with store.transaction():
        store.db[table].update(tuple(row[column] for column in pk), {
            "status": outcome.status, "msgid": outcome.msgid, "error": outcome.error, "updated_at": now,
            **({"sent_at": now} if outcome.status == "sent" else {})})
    return outcome
