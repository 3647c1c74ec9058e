"""Wire format of Moodle's REST server, reproduced byte for byte where clients can notice.

Why: the sandbox is only useful if a client that works against it also works against a real
Moodle 4.4. That means decoding form fields the way PHP does (bracket arrays, max_input_vars
truncation), encoding JSON like PHP's json_encode (``\\/`` and ``\\uXXXX`` escapes, whole
floats without ``.0``) and answering errors as HTTP 200 with Moodle's exception objects.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any
from urllib.parse import unquote_plus

DEFAULT_MAX_INPUT_VARS = 5000

INVALID_PARAMETER = "Invalid parameter value detected"


class MoodleError(Exception):
    """A Moodle exception as the web-service layer serialises it.

    ``exception`` is the PHP class name, ``errorcode`` the language string key, ``debuginfo`` is only
    sent when the sandbox runs with ``debug`` on (like ``$CFG->debug``).
    """

    def __init__(self, exception: str, errorcode: str, message: str, debuginfo: str | None = None):
        super().__init__(f"{exception}/{errorcode}: {message}")
        self.exception = exception
        self.errorcode = errorcode
        self.message = message
        self.debuginfo = debuginfo

    def as_dict(self, debug: bool) -> dict[str, Any]:
        body: dict[str, Any] = {"exception": self.exception, "errorcode": self.errorcode, "message": self.message}
        if debug and self.debuginfo is not None:
            body["debuginfo"] = self.debuginfo
        return body


def invalid_parameter(debuginfo: str) -> MoodleError:
    return MoodleError("invalid_parameter_exception", "invalidparameter", INVALID_PARAMETER, debuginfo)


def missing_record(table: str, debuginfo: str | None = None) -> MoodleError:
    return MoodleError(
        "dml_missing_record_exception", "invalidrecord", f"Can't find data record in database table {table}.", debuginfo
    )


def moodle_exception(errorcode: str, message: str, debuginfo: str | None = None) -> MoodleError:
    return MoodleError("moodle_exception", errorcode, message, debuginfo)


def invalid_token() -> MoodleError:
    return moodle_exception("invalidtoken", "Invalid token - token not found")


def access_exception(debuginfo: str | None = None) -> MoodleError:
    return MoodleError("webservice_access_exception", "accessexception", "Access control exception", debuginfo)


def coding_error(text: str, debuginfo: str | None = None) -> MoodleError:
    return MoodleError(
        "coding_exception", "codingerror", f"Coding error detected, it must be fixed by a programmer: {text}", debuginfo
    )


# --------------------------------------------------------------------------------------------
# Form decoding (PHP's php_default_treat_data + php_register_variable_ex)
# --------------------------------------------------------------------------------------------

_INT_KEY = re.compile(r"^(0|-?[1-9][0-9]*)$")


def _php_key(text: str) -> int | str:
    """PHP turns canonical decimal strings into integer array keys ("01" stays a string)."""
    if _INT_KEY.match(text):
        number = int(text)
        if -(2**63) <= number < 2**63:
            return number
    return text


def split_form_pairs(raw: str) -> list[tuple[str, str]]:
    """Split an urlencoded string into decoded (name, value) pairs in order, skipping empty pieces."""
    pairs = []
    for piece in raw.split("&"):
        if not piece:
            continue
        name, _, value = piece.partition("=")
        pairs.append((unquote_plus(name), unquote_plus(value)))
    return pairs


def _parse_name(name: str) -> tuple[str, list[str | None]] | None:
    """Split ``users[0][customfields][1][value]`` into base name and sub-keys as PHP does.

    ``None`` as a sub-key stands for ``[]`` (append). Returns None when PHP would drop the variable.
    """
    name = name.lstrip(" ")
    bracket = name.find("[")
    base_raw = name if bracket < 0 else name[:bracket]
    subkeys: list[str | None] = []
    rest = ""
    if bracket >= 0:
        rest = name[bracket:]
        if "]" not in rest[1:]:
            # Unmatched "[": PHP keeps the whole text as the name, with this "[" turned into "_".
            base_raw = name[:bracket] + "_" + name[bracket + 1 :]
            rest = ""
    base = base_raw.replace(" ", "_").replace(".", "_")
    if rest:
        pos = 0
        while pos < len(rest) and rest[pos] == "[":
            close = rest.find("]", pos + 1)
            if close < 0:
                break  # PHP ignores the remainder after an unterminated sub-key
            inner = rest[pos + 1 : close]
            subkeys.append(None if inner == "" else inner)
            pos = close + 1
    if base == "":
        return None
    return base, subkeys


def _assign(container: dict, keys: list[int | str | None], value: str) -> None:
    node: dict = container
    for depth, key in enumerate(keys):
        last = depth == len(keys) - 1
        if key is None:
            key = _next_index(node)
        if last:
            node[key] = value
            return
        child = node.get(key)
        if not isinstance(child, dict):
            child = {}
            node[key] = child
        node = child


def _next_index(node: dict) -> int:
    ints = [k for k in node if isinstance(k, int)]
    return max(ints) + 1 if ints and max(ints) >= 0 else 0


def decode_php_form(pairs: list[tuple[str, str]], max_input_vars: int = DEFAULT_MAX_INPUT_VARS) -> dict:
    """Build PHP's $_POST/$_GET array from ordered pairs.

    Like the recorded PHP 8.2: the first ``max_input_vars + 1`` fields are kept, later ones are
    silently dropped (PHP only logs a warning).
    """
    result: dict = {}
    for index, (name, value) in enumerate(pairs):
        if index > max_input_vars:
            break
        parsed = _parse_name(name)
        if parsed is None:
            continue
        base, subkeys = parsed
        keys: list[int | str | None] = [base] + [None if k is None else _php_key(k) for k in subkeys]
        _assign(result, keys, value)
    return result


def php_array_to_python(value: Any) -> Any:
    """PHP arrays are ordered maps; keep dicts, the validator decides whether a list was meant."""
    return value


# --------------------------------------------------------------------------------------------
# Encoding
# --------------------------------------------------------------------------------------------


def _php_float(number: float) -> str:
    """PHP's json_encode with serialize_precision=-1: shortest repr, whole numbers without '.0'."""
    if math.isnan(number) or math.isinf(number):
        return "0"
    if number == int(number) and abs(number) < 1e15:
        return str(int(number))
    text = repr(number)
    if "e" in text:
        mantissa, exponent = text.split("e")
        sign = exponent[0] if exponent[0] in "+-" else "+"
        digits = exponent.lstrip("+-").lstrip("0") or "0"
        text = f"{mantissa}e{sign}{digits}"
    return text


def _php_string(text: str) -> str:
    out = ['"']
    for char in text:
        code = ord(char)
        if char == '"':
            out.append('\\"')
        elif char == "\\":
            out.append("\\\\")
        elif char == "/":
            out.append("\\/")
        elif char == "\n":
            out.append("\\n")
        elif char == "\r":
            out.append("\\r")
        elif char == "\t":
            out.append("\\t")
        elif char == "\b":
            out.append("\\b")
        elif char == "\f":
            out.append("\\f")
        elif code < 0x20:
            out.append(f"\\u{code:04x}")
        elif code < 0x80:
            out.append(char)
        elif code < 0x10000:
            out.append(f"\\u{code:04x}")
        else:
            code -= 0x10000
            out.append(f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}")
    out.append('"')
    return "".join(out)


def php_json_encode(value: Any) -> str:
    """Encode like PHP ``json_encode($value)`` with default flags."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _php_float(value)
    if isinstance(value, str):
        return _php_string(value)
    if isinstance(value, dict):
        return "{" + ",".join(_php_string(str(k)) + ":" + php_json_encode(v) for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(php_json_encode(v) for v in value) + "]"
    raise TypeError(f"cannot encode {type(value).__name__}")


def _xml_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;").replace("'", "&#039;")


def _xml_value(value: Any) -> str:
    if isinstance(value, dict):
        inner = "".join(f'<KEY name="{_xml_escape(str(k))}">{_xml_value(v)}</KEY>\n' for k, v in value.items())
        return "<SINGLE>\n" + inner + "</SINGLE>\n"
    if isinstance(value, list):
        return "<MULTIPLE>\n" + "".join(_xml_value(v) for v in value) + "</MULTIPLE>\n"
    if value is None:
        return '<VALUE null="null"/>\n'
    if value is True:
        return "<VALUE>1</VALUE>\n"
    if value is False:
        return "<VALUE>0</VALUE>\n"
    if isinstance(value, float):
        return f"<VALUE>{_php_float(value)}</VALUE>\n"
    return f"<VALUE>{_xml_escape(str(value))}</VALUE>\n"


def xml_response(value: Any) -> str:
    """Moodle's REST XML document for a successful call (null returns give an empty RESPONSE)."""
    body = "" if value is None else _xml_value(value)
    return f'<?xml version="1.0" encoding="UTF-8" ?>\n<RESPONSE>\n{body}</RESPONSE>\n'


def xml_error(error: MoodleError, debug: bool) -> str:
    parts = [
        '<?xml version="1.0" encoding="UTF-8" ?>\n',
        f'<EXCEPTION class="{_xml_escape(error.exception)}">\n',
        f"<ERRORCODE>{_xml_escape(error.errorcode)}</ERRORCODE>\n",
        f"<MESSAGE>{_xml_escape(error.message)}</MESSAGE>\n",
    ]
    if debug and error.debuginfo is not None:
        parts.append(f"<DEBUGINFO>{_xml_escape(error.debuginfo)}</DEBUGINFO>\n")
    parts.append("</EXCEPTION>\n")
    return "".join(parts)


JSON_CONTENT_TYPE = "application/json"
XML_CONTENT_TYPE = "application/xml; charset=utf-8"


def response_format(raw_format: Any) -> str:
    """``moodlewsrestformat`` is cleaned as PARAM_ALPHA; anything but exactly 'json' means XML."""
    if not isinstance(raw_format, str):
        return "xml"
    cleaned = re.sub(r"[^a-zA-Z]", "", raw_format)
    return "json" if cleaned == "json" else "xml"


def encode_success(value: Any, fmt: str) -> tuple[str, str]:
    if fmt == "json":
        return php_json_encode(value), JSON_CONTENT_TYPE
    return xml_response(value), XML_CONTENT_TYPE


def encode_error(error: MoodleError, fmt: str, debug: bool) -> tuple[str, str]:
    if fmt == "json":
        return php_json_encode(error.as_dict(debug)), JSON_CONTENT_TYPE
    return xml_error(error, debug), XML_CONTENT_TYPE


def loads(text: str) -> Any:
    """Parse a Moodle JSON answer (helper for tests)."""
    return json.loads(text)
