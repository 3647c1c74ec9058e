"""PHP-style form encoding of nested web-service parameters.

Moodle's REST server reads ``$_POST``: nested arrays travel as bracket keys
(``users[0][customfields][1][value]=…``), booleans only as ``1``/``0``, and an absent optional
parameter must simply not be sent (PHP has no null in a form).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any

from pydantic import BaseModel

FormFields = list[tuple[str, str]]


@dataclass(frozen=True)
class PreparedForm:
    """A call's parameters already encoded (:func:`form_body`, without the protocol fields): made in a background
    thread while the previous request travels, so the encoding hides inside that wait."""

    text: str
    fields: int


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def flatten(value: Any, prefix: str) -> FormFields:
    """Flatten one parameter into ``(key, value)`` pairs, in order."""
    fields: FormFields = []
    _flatten_into(fields, value, prefix)
    return fields


def _flatten_into(fields: FormFields, value: Any, prefix: str) -> None:
    # Exact types first: the ABC checks cost more than the rest of the work, and a 16x provisioning flattens
    # hundreds of thousands of values.
    kind = type(value)
    if kind is str:
        fields.append((prefix, value))
    elif kind is int:
        fields.append((prefix, str(value)))
    elif kind is dict or (kind is not list and kind is not tuple and isinstance(value, Mapping)):
        for key, item in value.items():
            _flatten_into(fields, item, f"{prefix}[{key}]")
    elif kind is list or kind is tuple or isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            _flatten_into(fields, item, f"{prefix}[{index}]")
    elif isinstance(value, BaseModel):
        _flatten_into(fields, value.model_dump(exclude_none=True), prefix)
    elif value is not None:
        fields.append((prefix, _scalar(value)))


def encode_params(params: Mapping[str, Any]) -> FormFields:
    """Encode the keyword parameters of one call (without the protocol fields)."""
    fields: FormFields = []
    for name, value in params.items():
        fields.extend(flatten(value, name))
    return fields


def count_fields(items: Iterable[Any], prefix: str) -> list[int]:
    """How many form fields each item of a batch parameter needs."""
    return [len(flatten(item, f"{prefix}[0]")) for item in items]


_UNRESERVED = re.compile(r"[A-Za-z0-9_.~-]*\Z")
_BRACKET_KEY = re.compile(r"[A-Za-z0-9_.~\[\]-]*\Z")
_UNSAFE_RUNS = re.compile(r"([^A-Za-z0-9_.~ -]+)")   # what quote_plus escapes (a space becomes "+")
_HEX = ["%{:02X}".format(byte) for byte in range(256)]
BIG_VALUE = 4096   # a value this long (a quiz's XML) is quoted once per process, however many calls carry it


@lru_cache(maxsize=4096)
def _quote_run(run: str) -> str:
    return "".join([_HEX[byte] for byte in run.encode("utf-8")])


def _quote_text(text: str) -> str:
    """``quote_plus``, byte for byte: only the runs of unsafe characters go through Python (urllib quotes
    every byte in Python, and a provisioning sends megabytes of HTML and XML)."""
    parts = _UNSAFE_RUNS.split(text)
    parts[1::2] = map(_quote_run, parts[1::2])
    return "".join(parts).replace(" ", "+")


@lru_cache(maxsize=32)
def _quote_big(text: str) -> str:
    return _quote_text(text)


def _quote(text: str) -> str:
    """``quote_plus`` with fast paths: most values are numbers or plain keys, most names only add brackets
    (a 16x provisioning encodes hundreds of thousands of fields)."""
    if _UNRESERVED.match(text):
        return text
    if _BRACKET_KEY.match(text):
        return text.replace("[", "%5B").replace("]", "%5D")
    return _quote_big(text) if len(text) >= BIG_VALUE else _quote_text(text)


def form_body(fields: Iterable[tuple[str, str]]) -> str:
    """The ``application/x-www-form-urlencoded`` body of ``fields``: exactly what ``urlencode`` writes."""
    return "&".join([f"{_quote(key)}={_quote(value)}" for key, value in fields])
