"""What the sandbox and the store hold, read the way several tests need it (not a test module)."""

from __future__ import annotations

from mintqo_lms.sandbox import Sandbox
from mintqo_lms.store import Store


def messages(sb: Sandbox) -> dict[int, list[str]]:
    """The texts of the Moodle messages the sandbox holds, per recipient user id."""
    out: dict[int, list[str]] = {}
    for message in sb.site.tables["messages"].values():
        out.setdefault(message["useridto"], []).append(message["text"])
    return out


def userid(store: Store, email: str) -> int:
    """The Moodle user id the store knows for a person."""
    return next(store.db["people"].rows_where("email = ?", [email]))["moodle_user_id"]
