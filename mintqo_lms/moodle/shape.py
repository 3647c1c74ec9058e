"""Answers of the right format but the wrong shape (a missing key, a string where a list belongs …) become one
clear error naming the web-service function, instead of a ``KeyError`` or a pydantic trace from deep inside a
wrapper.

Why a wrapper around the typed APIs rather than a check in each method: every method of
:class:`~mintqo_lms.moodle.api.CoreAPI` and :class:`~mintqo_lms.moodle.plugin.PluginAPI` reads Moodle's answer the
same way (index it, validate it with a model); catching the reading errors in one place covers the methods
others add later as well. Only errors raised while a method reads an answer are translated: the client records
which function it called last, and that is the function the error names.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Iterator
from typing import Any

from pydantic import ValidationError

from mintqo_lms.moodle.errors import MintqoError, MoodleProtocolError

SHAPE_ERRORS = (ValidationError, KeyError, IndexError, TypeError, AttributeError, ValueError)


class MoodleAnswerShapeError(MoodleProtocolError):
    """Moodle's JSON did not have the keys or types the function's answer must have."""


def describe(exc: BaseException) -> str:
    """One line: which key or item was wrong and how."""
    if isinstance(exc, ValidationError):
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first.get("loc", ())) or "the answer"
        extra = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        return f"key '{where}': {first.get('msg', 'invalid')}{extra}"
    if isinstance(exc, KeyError):
        return f"key {exc.args[0]!r} is missing"
    if isinstance(exc, IndexError):
        return "a list is shorter than expected (empty answer?)"
    return " ".join(f"{exc.__class__.__name__}: {exc}".split())[:200]


class ShapeChecked:
    """Wraps a typed API (``CoreAPI``/``PluginAPI``); its methods raise :class:`MoodleAnswerShapeError` for an
    answer of the wrong shape. Attribute reads and writes pass through, so tests can patch methods as before."""

    def __init__(self, api: Any):
        object.__setattr__(self, "_api", api)

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._api, name)
        if name.startswith("_") or not callable(value):
            return value
        client = getattr(self._api, "client", None)

        @functools.wraps(value)
        def checked(*args: Any, **kwargs: Any) -> Any:
            if client is not None:
                client.last_function = None
            try:
                result = value(*args, **kwargs)
            except MintqoError:
                raise
            except SHAPE_ERRORS as exc:
                raise _shape_error(client, name, exc) from exc
            if inspect.isgenerator(result):
                return _checked_iter(result, client, name)
            return result

        return checked

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._api, name, value)

    def __repr__(self) -> str:
        return f"ShapeChecked({self._api!r})"


def _checked_iter(items: Iterator[Any], client: Any, name: str) -> Iterator[Any]:
    try:
        yield from items
    except MintqoError:
        raise
    except SHAPE_ERRORS as exc:
        raise _shape_error(client, name, exc) from exc


def _shape_error(client: Any, method: str, exc: BaseException) -> Exception:
    function = getattr(client, "last_function", None)
    if function is None:  # the method failed before it called Moodle: a bug of ours, not Moodle's answer
        return exc
    return MoodleAnswerShapeError(function, f"the answer does not have the expected shape: {describe(exc)}")


__all__ = ["MoodleAnswerShapeError", "ShapeChecked", "describe"]
