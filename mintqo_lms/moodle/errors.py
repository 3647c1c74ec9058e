"""Typed errors for everything that can go wrong between us and a Moodle site.

Moodle answers errors with HTTP 200 and a JSON object ``{exception, errorcode, message[, debuginfo]}``;
the error code decides which class is raised, so callers can catch "the token is bad" apart from
"this record does not exist" without parsing messages. No error ever carries the web-service token:
messages are built from the function name and Moodle's answer only.
"""

from __future__ import annotations


class MintqoError(Exception):
    """Base class of every error this package raises on purpose."""


class ConfigError(MintqoError):
    """A configuration value is missing or wrong; names the file and the key."""

    def __init__(self, message: str, *, key: str | None = None, file: str | None = None):
        self.key = key
        self.file = file
        where = ", ".join(part for part in (f"file {file}" if file else "", f"key '{key}'" if key else "") if part)
        super().__init__(f"{message} ({where})" if where else message)


class InsecureURLError(ConfigError):
    """Plain http to a non-loopback host would send the token in clear text."""


class MoodleError(MintqoError):
    """Anything that went wrong talking to Moodle."""

    function: str | None = None


class MoodleRemoteError(MoodleError):
    """Moodle answered with an exception object."""

    def __init__(self, function: str | None, exception: str, errorcode: str, message: str,
                 debuginfo: str | None = None):
        self.function = function
        self.exception = exception
        self.errorcode = errorcode
        self.moodle_message = message
        self.debuginfo = debuginfo
        text = f"{function or '(no function)'}: {errorcode}: {message}"
        if debuginfo:
            text += f" [debuginfo: {debuginfo}]"
        super().__init__(text)


class InvalidTokenError(MoodleRemoteError):
    """The token is unknown, expired, or not allowed from this address."""


class AccessDeniedError(MoodleRemoteError):
    """The token's user or service may not call this function or act in this context."""


class InvalidParameterError(MoodleRemoteError):
    """Moodle rejected a parameter. With debugging off Moodle does not say which one, so callers
    should check what they can before sending and name the cause themselves."""


class MissingRecordError(MoodleRemoteError):
    """A record (course, user, function …) that the call refers to does not exist."""


class MoodleTransportError(MoodleError):
    """The request did not produce a Moodle answer at all."""


class MoodleHTTPError(MoodleTransportError):
    def __init__(self, function: str | None, status: int):
        self.function = function
        self.status = status
        super().__init__(f"{function}: HTTP {status} from Moodle")


class MoodleConnectionError(MoodleTransportError):
    """Connection refused, reset or timed out.

    ``maybe_applied`` is True when the request may have reached Moodle (a write is then not retried:
    the next run converges by idnumber instead of risking a duplicate).
    """

    def __init__(self, function: str | None, reason: str, *, maybe_applied: bool):
        self.function = function
        self.maybe_applied = maybe_applied
        super().__init__(f"{function}: cannot reach Moodle: {reason}")


class MoodleProtocolError(MoodleTransportError):
    """Moodle answered something that is not the JSON we asked for (HTML error page, XML …)."""

    def __init__(self, function: str | None, reason: str):
        self.function = function
        super().__init__(f"{function}: unexpected answer from Moodle: {reason}")


class RequestTooLargeError(MoodleError):
    """One item alone needs more form fields than PHP's max_input_vars would keep."""


class IncompleteBatchError(MoodleError):
    """A create returned fewer records than were sent: PHP may have cut the request silently."""


_ACCESS_CODES = {
    "accessexception", "nopermissions", "requireloginerror", "wsusercannotassign",
    "servicerequireslogin", "notingroup", "coursehidden", "invalidcoursemodule_access",
}


# Error codes that mean the same thing but were renamed between releases (4.4 → 5.0: a missing record
# with debugging off is ``invalidrecordunknown``; a missing user in enrol/unenrol is ``invaliduser``).
_MISSING_RECORD_CODES = {"invalidrecord", "invalidrecordunknown", "invaliduser"}


def exception_name(exception: str) -> str:
    """Moodle 5.x namespaces its exception classes (``core\\exception\\moodle_exception``); 4.4 does not.
    We key on the class's own name so every release maps the same way."""
    return exception.rsplit("\\", 1)[-1]


def error_from_answer(function: str | None, answer: dict) -> MoodleRemoteError:
    """Map Moodle's ``{exception, errorcode, message}`` object to our typed error (never on message text)."""
    exception = str(answer.get("exception", ""))
    errorcode = str(answer.get("errorcode") or exception_name(exception))
    message = str(answer.get("message", ""))
    debuginfo = answer.get("debuginfo")
    name = exception_name(exception)
    if errorcode == "invalidtoken":
        cls: type[MoodleRemoteError] = InvalidTokenError
    elif errorcode in _ACCESS_CODES or name in {"webservice_access_exception", "required_capability_exception",
                                              "require_login_exception"}:
        cls = AccessDeniedError
    elif errorcode == "invalidparameter" or name == "invalid_parameter_exception":
        cls = InvalidParameterError
    elif errorcode in _MISSING_RECORD_CODES or name == "dml_missing_record_exception":
        cls = MissingRecordError
    else:
        cls = MoodleRemoteError
    return cls(function, exception, errorcode, message, str(debuginfo) if debuginfo is not None else None)
