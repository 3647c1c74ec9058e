"""The Moodle releases the sandbox can act as, and what each answers differently (one table, not scattered ifs).

Why: the plugin supports 4.4 to 5.1, and real 5.0.6+ and 5.1.3 sites answer the same calls with renamed
errors, a question-bank module in section 0, more keys and other defaults
(tests/data/moodle/recordings/releases.md lists every difference per call). A client that works against
``Sandbox(release="5.1")`` must work against a real 5.1. 4.4 is the baseline; the handlers ask
``call.release`` for the few facts that differ, and ``extra(kind)`` adds a release's new keys to a record.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .protocol import MoodleError

MISSING_RECORD_UNKNOWN = "Can't find data record in database."


@dataclass(frozen=True)
class Release:
    name: str  # "4.4", "5.0", "5.1": what Sandbox(release=...) and `sandbox serve --release` take
    release: str  # $CFG->release as core_webservice_get_site_info reports it
    version: str  # $CFG->version
    branch: int  # $CFG->branch
    namespaced_exceptions: bool = False  # core\exception\moodle_exception instead of moodle_exception
    hide_missing_table: bool = False  # debugging off: invalidrecordunknown, message without the table
    enrol_missing_user_is_missing_record: bool = False  # 4.4: codingerror (enrol) / invalidparameter (unenrol)
    qbank_module: bool = False  # questions live in a mod_qbank instance in section 0
    default_section_name: str | None = None  # None: "Topic N"
    default_course_dates: bool = False  # no startdate given: today 00:00, enddate one year later
    message_batch_raises: bool = True  # one bad recipient in a batch: formatnotsupported (valid ones delivered)
    cantsendtouser: bool = False  # failed message items carry cantsendtouser: ""
    unanswered_lastactiontime: int | None = None  # None: the attempt's time; 5.x: -1
    manual_welcome_message: bool = False  # 4.5+: manual enrolment sends a course welcome message (customint1)
    new_keys: dict[str, dict[str, Any]] = field(default_factory=dict)  # record kind -> keys added by the release

    def extra(self, kind: str) -> dict[str, Any]:
        """New keys of this release for one kind of record (values are copied: callers may mutate them)."""
        return {k: (list(v) if isinstance(v, list) else dict(v) if isinstance(v, dict) else v)
                for k, v in self.new_keys.get(kind, {}).items()}

    def present(self, error: MoodleError, debug: bool) -> MoodleError:
        """The error as this release words it on the wire."""
        exception, errorcode, message = error.exception, error.errorcode, error.message
        if self.hide_missing_table and not debug and exception == "dml_missing_record_exception":
            errorcode, message = "invalidrecordunknown", MISSING_RECORD_UNKNOWN
        if self.namespaced_exceptions and exception in NAMESPACED:
            exception = "core\\exception\\" + exception
        if (exception, errorcode, message) == (error.exception, error.errorcode, error.message):
            return error
        return MoodleError(exception, errorcode, message, error.debuginfo)


# Exception classes that moved into core\exception (5.0+). Recorded: moodle_exception and
# invalid_parameter_exception; the others moved with them in the same change (not in the recordings).
# dml_missing_record_exception and webservice_access_exception keep their names.
NAMESPACED = frozenset({"moodle_exception", "invalid_parameter_exception", "coding_exception",
                        "required_capability_exception", "require_login_exception"})

_FIVE = dict(
    namespaced_exceptions=True, hide_missing_table=True, enrol_missing_user_is_missing_record=True,
    qbank_module=True, default_section_name="New section", default_course_dates=True, unanswered_lastactiontime=-1,
    manual_welcome_message=True,
)
_FIVE_KEYS: dict[str, dict[str, Any]] = {
    "site_info": {"policyagreed": 0},
    "advancedfeatures": {"enablecompetencies": 1},
    "course": {"showactivitydates": True},
    "user": {"trackforums": 0},
    "section": {"component": None, "itemid": None},
    "module": {"purpose": None, "branded": False, "candisplay": True},  # purpose, candisplay: per module
    "completiondata": {"isoverallcomplete": False},  # follows the state (completion.with_release_keys)
    "completionstatus": {"isoverallcomplete": False},
    "quiz": {"precreateattempts": None},
    "attempt": {"gradeitemmarks": []},
    "question": {"stateclass": None},  # set from the question's state by core_misc
    "conversation_member": {"cancreatecontact": False},
}

RELEASES: dict[str, Release] = {
    # 4.4 as released (the recordings come from 4.4dev, 2023112400, below the plugin's requires)
    "4.4": Release("4.4", "4.4 (Build: 20240422)", "2024042200", 404),
    "5.0": Release("5.0", "5.0.6+ (Build: 20260403)", "2025041406.11", 500, **_FIVE,  # type: ignore[arg-type]
                   message_batch_raises=False, cantsendtouser=True, new_keys=_FIVE_KEYS),
    "5.1": Release("5.1", "5.1.3 (Build: 20260216)", "2025100603", 501, **_FIVE,  # type: ignore[arg-type]
                   new_keys={**_FIVE_KEYS, "quiz": {"precreateattempts": None, "enableaitools": None,
                                                    "enabledaiactions": None},
                             "conversation": {"cansendmessagetoconversation": True}}),
}
DEFAULT_RELEASE = "4.4"


def get_release(name: str | Release) -> Release:
    if isinstance(name, Release):
        return name
    try:
        return RELEASES[str(name)]
    except KeyError:
        raise ValueError(f"unknown Moodle release {name!r}; the sandbox acts as {', '.join(RELEASES)}") from None


__all__ = ["Release", "RELEASES", "DEFAULT_RELEASE", "get_release"]
