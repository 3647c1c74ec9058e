"""Keys checked where they enter: the cohort key, and cohorts that must exist.

A cohort key ends up in every Moodle idnumber of the cohort (``mintqo:region:2025-herbst:…``) and in file
names, so it is a documented pattern and nothing else: a year, optionally followed by slugs of lowercase
letters and digits, each after a hyphen — ``2025``, ``2025-herbst``, ``2026-nrw-2``. Checked before anything is
stored or sent; every ``--cohort`` option uses :data:`COHORT_KEY` (or :func:`cohort_option`) to refuse a bad
key with the pattern in the message.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import click

from mintqo_lms.moodle.errors import MintqoError

if TYPE_CHECKING:
    from mintqo_lms.store import Store

__all__ = [
    "COHORT_KEY",
    "COHORT_KEY_EXAMPLES",
    "COHORT_KEY_PATTERN",
    "CohortKeyError",
    "CohortKeyType",
    "UnknownCohortError",
    "cohort_option",
    "existing_cohorts",
    "require_cohort",
    "validate_cohort_key",
]

COHORT_KEY_PATTERN = r"^\d{4}(-[a-z0-9]+)*$"
COHORT_KEY_EXAMPLES = ("2025", "2025-herbst")
_COHORT_KEY_RE = re.compile(COHORT_KEY_PATTERN)
_MAX_COHORT_KEY = 40  # idnumbers are at most 100 characters; the cohort shares them with network and initiative


class CohortKeyError(MintqoError, ValueError):
    """A cohort key does not match :data:`COHORT_KEY_PATTERN`."""

    def __init__(self, key: object, reason: str | None = None) -> None:
        self.key = key
        why = f" ({reason})" if reason else ""
        super().__init__(
            f"invalid cohort key {key!r}{why}: a cohort key is a year with an optional lowercase slug, "
            f"e.g. {' or '.join(COHORT_KEY_EXAMPLES)} (pattern {COHORT_KEY_PATTERN})")


class UnknownCohortError(MintqoError, LookupError):
    """The store has no cohort with this key; names the cohorts that exist."""

    def __init__(self, key: str, existing: list[str]) -> None:
        self.key = key
        self.existing = existing
        known = f"known cohorts: {', '.join(existing)}" if existing else "the store has no cohort yet"
        super().__init__(f"unknown cohort {key!r}: no roster yet ({known}); "
                         f"import one with: mintqo-lms roster import FILE --cohort {key}")


def _why_not(key: str) -> str | None:
    if key == "":
        return "it is empty"
    if key != key.strip():
        return "it has spaces around it"
    if any(ch.isspace() for ch in key):
        return "it contains a space"
    if key != key.lower() and _COHORT_KEY_RE.match(key.lower()):
        return "use lowercase letters"
    if len(key) > _MAX_COHORT_KEY:
        return f"it is longer than {_MAX_COHORT_KEY} characters"
    return None


def validate_cohort_key(key: object) -> str:
    """Return ``key`` unchanged if it is a valid cohort key, else raise :class:`CohortKeyError`.

    Deliberately no silent repair (no strip, no lowercasing): a key that differs from what the user typed
    would name a different cohort than the one they think they addressed.
    """
    if not isinstance(key, str):
        raise CohortKeyError(key, "it is not text")
    reason = _why_not(key)
    if reason is not None or not _COHORT_KEY_RE.match(key):
        raise CohortKeyError(key, reason)
    return key


class CohortKeyType(click.ParamType):
    """click parameter type for ``--cohort``: a bad key is a usage error (exit 2) with the pattern."""

    name = "cohort"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        try:
            return validate_cohort_key(value)
        except CohortKeyError as exc:
            self.fail(str(exc), param, ctx)

    def get_metavar(self, param: click.Parameter, ctx: click.Context | None = None) -> str:  # type: ignore[override]
        return "KEY"


COHORT_KEY = CohortKeyType()


def cohort_option(*, required: bool = True, default: str | None = None, help: str | None = None):
    """The ``--cohort`` option every command shares: ``@cohort_option()`` above the command function."""
    text = help or f"Cohort key: a year with an optional slug, e.g. {' or '.join(COHORT_KEY_EXAMPLES)}."
    if default is not None:
        return click.option("--cohort", type=COHORT_KEY, default=default, show_default=True, help=text)
    # No default argument at all: click 8.3 treats an explicit default=None as a value, and skips `required`.
    return click.option("--cohort", type=COHORT_KEY, required=required, help=text)


def existing_cohorts(store: Store) -> list[str]:
    """The cohort keys the store knows, sorted."""
    return sorted(row["key"] for row in store.db["cohorts"].rows)


def require_cohort(store: Store, cohort: str) -> str:
    """Return ``cohort`` if it is valid and the store knows it; else CohortKeyError / UnknownCohortError."""
    validate_cohort_key(cohort)
    if "cohorts" not in store.db.table_names() or not store.db["cohorts"].count_where("key = ?", [cohort]):
        existing = existing_cohorts(store) if "cohorts" in store.db.table_names() else []
        raise UnknownCohortError(cohort, existing)
    return cohort
