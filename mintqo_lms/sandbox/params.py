"""Parameter descriptions and validation as Moodle's ``external_api::validate_parameters`` does it.

Why: a client bug that a real Moodle rejects (a string where an int belongs, ``true`` for a
PARAM_BOOL, an unexpected key, a scalar where an array belongs) must be rejected by the sandbox too,
with the same generic "Invalid parameter value detected" and, in debug mode, the same debuginfo text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable

from .protocol import MoodleError, invalid_parameter

REQUIRED, DEFAULT, OPTIONAL = 1, 0, 2

# Moodle PARAM_* names as they appear in the debuginfo ("the server was expecting \"int\" type").
INT, BOOL, FLOAT, RAW, RAW_TRIMMED, TEXT, NOTAGS, ALPHA, ALPHANUM, ALPHANUMEXT, ALPHAEXT = (
    "int", "bool", "float", "raw", "raw_trimmed", "text", "notags", "alpha", "alphanum", "alphanumext", "alphaext",
)
USERNAME, EMAIL, LANG, AUTH, TIMEZONE, THEME, PLUGIN, COMPONENT, CAPABILITY, URL, SAFEDIR, LOCALURL, SEQUENCE = (
    "username", "email", "lang", "auth", "timezone", "theme", "plugin", "component", "capability", "url", "safedir",
    "localurl", "sequence",
)


@dataclass(frozen=True)
class Value:
    type: str
    req: int = REQUIRED
    default: Any = None
    null: bool = False


@dataclass(frozen=True)
class Single:
    keys: dict[str, Any]
    req: int = REQUIRED
    default: Any = None


@dataclass(frozen=True)
class Multiple:
    content: Any
    req: int = REQUIRED
    default: Any = None


def V(type_: str, default: Any = ..., *, opt: bool = False, null: bool = False) -> Value:
    """Compact constructor: ``V(INT)`` required, ``V(INT, 0)`` default 0, ``V(INT, opt=True)`` optional."""
    if opt:
        return Value(type_, OPTIONAL, None, null)
    if default is ...:
        return Value(type_, REQUIRED, None, null)
    return Value(type_, DEFAULT, default, null)


def S(req: int = REQUIRED, default: Any = None, **keys: Any) -> Single:
    """A structure; giving ``default`` makes it VALUE_DEFAULT, ``req=2`` VALUE_OPTIONAL."""
    if default is not None and req == REQUIRED:
        req = DEFAULT
    return Single(keys, req, default)


def M(content: Any, req: int = REQUIRED, default: Any = None) -> Multiple:
    """A list; giving ``default`` makes it VALUE_DEFAULT, ``req=2`` VALUE_OPTIONAL."""
    if default is not None and req == REQUIRED:
        req = DEFAULT
    return Multiple(content, req, default)


def Params(**keys: Any) -> Single:
    """The top level ``external_function_parameters``."""
    return Single(keys)


@dataclass
class Context:
    """What validation needs to know about the site (installed languages)."""

    languages: Callable[[], set[str]] = field(default=lambda: {"en"})


def _php_str(value: Any) -> str:
    return value if isinstance(value, str) else str(value)


_USERNAME_BAD = re.compile(r"[^-\.@_a-z0-9]")


# --------------------------------------------------------------------------------------------
# Text: PHP's strip_tags() and PARAM_TEXT's multilang exception, written from their documented behaviour
# --------------------------------------------------------------------------------------------

def strip_tags(text: str, allowed: frozenset[str] = frozenset()) -> str:
    """What PHP's strip_tags() leaves of ``text``: everything from a "<" to its ">" goes, so does an
    unterminated tag up to the end. A "<" followed by white space is kept as text ("3 < 5") unless allowed
    tags are given, a lone ">" is text, quotes inside a tag may hide a ">", comments and "<?…?>" go too.
    Tags whose lower-case name is in ``allowed`` are kept."""
    out: list[str] = []
    tag: list[str] = []
    state, depth, quote = "text", 0, ""
    index = 0
    while index < len(text):
        char = text[index]
        following = text[index + 1] if index + 1 < len(text) else ""
        if state == "text":
            if char == "<" and not (following.isspace() and not allowed):
                if text.startswith("<!--", index):
                    state, index = "comment", index + 4
                    continue
                state, tag = "tag", [char]
            else:
                out.append(char)
        elif state == "comment":
            if text.startswith("-->", index):
                state, index = "text", index + 3
                continue
        else:  # inside a tag
            tag.append(char)
            if quote:
                if char == quote:
                    quote = ""
            elif char in "\"'":
                quote = char
            elif char == "<":
                depth += 1
            elif char == ">":
                if depth:
                    depth -= 1
                else:
                    state = "text"
                    name = re.match(r"</?\s*([A-Za-z0-9]+)", "".join(tag))
                    if allowed and name and name.group(1).lower() in allowed:
                        out.append("".join(tag))
        index += 1
    return "".join(out)


_MULTILANG = {  # closing tag -> (tag name, what an opening tag must look like)
    "</lang>": ("lang", re.compile(r'^<lang lang="[a-zA-Z0-9_-]+"\s*>$')),
    "</span>": ("span", re.compile(r'^<span(\s+lang="[a-zA-Z0-9_-]+"|\s+class="multilang"){2}\s*>$')),
}


def clean_text(value: str) -> str:
    """PARAM_TEXT: all tags go, except well-formed multilang blocks (``<span lang="de" class="multilang">…
    </span>`` or ``<lang lang="de">…</lang>``), which Moodle keeps for its multilang filter."""
    value = value.replace("\0", "")
    for closing, (name, opening) in _MULTILANG.items():
        if closing not in value:
            continue
        kept = strip_tags(value, frozenset({name}))
        tags = re.findall(r"<.*?>", kept, re.S)
        inside = False
        for tag in tags:
            if tag == closing and inside:
                inside = False
            elif tag != closing and opening.match(tag) and not inside:
                inside = True
            else:
                break
        else:
            if tags and not inside:
                return kept
        break
    return strip_tags(value)


def clean_param(value: str, type_: str, ctx: Context) -> Any:
    """A useful subset of Moodle's clean_param(); the result is compared to the input like validate_param()."""
    if type_ == INT:
        match = re.match(r"^\s*[+-]?\d+", value)
        return str(int(match.group(0))) if match else "0"
    if type_ == BOOL:
        lowered = value.lower()
        if lowered in ("on", "yes", "true"):
            return "1"
        if lowered in ("off", "no", "false"):
            return "0"
        return "0" if value in ("", "0") else "1"
    if type_ == RAW:
        return value
    if type_ == TEXT:
        return clean_text(value)
    if type_ == NOTAGS:
        return strip_tags(value.replace("\0", ""))
    if type_ == RAW_TRIMMED:
        return value.strip()
    if type_ == ALPHA:
        return re.sub(r"[^a-zA-Z]", "", value)
    if type_ == ALPHAEXT:
        return re.sub(r"[^a-zA-Z/_-]", "", value)
    if type_ == ALPHANUM:
        return re.sub(r"[^A-Za-z0-9]", "", value)
    if type_ in (ALPHANUMEXT, AUTH, THEME):
        return re.sub(r"[^A-Za-z0-9_-]", "", value)
    if type_ in (PLUGIN, COMPONENT, SAFEDIR):
        return value if re.match(r"^[a-z][a-z0-9_]*$", value) else ""
    if type_ == USERNAME:
        return _USERNAME_BAD.sub("", value.strip().lower())
    if type_ == EMAIL:
        return value if re.match(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", value) else ""
    if type_ == LANG:
        return value if value in ctx.languages() else ""
    if type_ == CAPABILITY:
        return value if re.match(r"^[a-z]+/[a-z_:0-9]+$", value) else ""
    if type_ == SEQUENCE:
        return re.sub(r"[^0-9,]", "", value)
    return value


def _scalar(value: Any, spec: Value, ctx: Context) -> Any:
    if isinstance(value, dict):
        raise invalid_parameter("Invalid external api parameter: the value is an array, the server was expecting "
                                f"\"{spec.type}\" type")
    if value is None:
        if spec.null:
            return None
        raise invalid_parameter("Invalid external api parameter: the value is null, but null is not allowed")
    text = _php_str(value)
    if spec.type == FLOAT:
        if not re.match(r"^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$", text):
            raise invalid_parameter(
                f'Invalid external api parameter: the value is "{text}", the server was expecting "float" type')
        return float(text)
    cleaned = clean_param(text, spec.type, ctx)
    if cleaned != text:
        raise invalid_parameter(
            f'Invalid external api parameter: the value is "{text}", the server was expecting "{spec.type}" type')
    if spec.type == INT:
        return int(text)
    if spec.type == BOOL:
        return text == "1"
    return text


def _wrap(key: str, error: MoodleError) -> MoodleError:
    return invalid_parameter(f"{key} => {error.message}: {error.debuginfo}")


def validate(spec: Any, value: Any, ctx: Context) -> Any:
    """Validate and convert ``value`` (PHP-decoded form data) against ``spec``; raises MoodleError."""
    if isinstance(spec, Value):
        return _scalar(value, spec, ctx)
    if isinstance(spec, Single):
        if not isinstance(value, dict):
            raise invalid_parameter(f"Only arrays accepted. The bad value is: '{_php_str(value)}'")
        result: dict[str, Any] = {}
        remaining = dict(value)
        for key, sub in spec.keys.items():
            if key not in remaining:
                if sub.req == REQUIRED:
                    raise invalid_parameter(f"Missing required key in single structure: {key}")
                if sub.req == DEFAULT:
                    result[key] = sub.default
                continue
            raw = remaining.pop(key)
            try:
                result[key] = validate(sub, raw, ctx)
            except MoodleError as error:
                raise _wrap(key, error) from None
        if remaining:
            names = ", ".join(str(k) for k in remaining)
            raise invalid_parameter(f"Unexpected keys ({names}) detected in parameter array.")
        return result
    if isinstance(spec, Multiple):
        if not isinstance(value, dict):
            raise invalid_parameter(f"Only arrays accepted. The bad value is: '{_php_str(value)}'")
        return [validate(spec.content, item, ctx) for item in value.values()]
    raise TypeError(f"bad spec {spec!r}")
