"""The one place that speaks Moodle's REST web-service protocol.

Why it looks the way it does:

* Everything is POSTed to ``/webservice/rest/server.php`` with ``wstoken``, ``wsfunction`` and
  ``moodlewsrestformat=json`` as the *first* form fields: a GET would put the token into server logs, and
  PHP's ``max_input_vars`` cut keeps the first fields, so the protocol fields must never be the ones lost.
* Moodle reports errors as HTTP 200 with an exception object, so every answer is inspected, whatever
  its status.
* Batches are chunked so that no request carries more form fields than ``max_form_fields``: PHP
  silently drops the rest and a batch would just shrink.
* Retries (exponential backoff with jitter) only where repeating cannot do harm: a read, or a write whose
  request provably never reached Moodle (connect failure) or was refused by a proxy (502/503/504).
  A Moodle exception is an answer, never retried.
* The token lives in one private attribute and is never formatted into a message, a log line or a repr.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import random
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import urlsplit

import requests
import urllib3
from pydantic import BaseModel, ValidationError

from mintqo_lms.moodle.ahead import read_ahead
from mintqo_lms.moodle.encoding import FormFields, PreparedForm, encode_params, flatten, form_body
from mintqo_lms.moodle.errors import (
    IncompleteBatchError,
    InsecureURLError,
    MoodleConnectionError,
    MoodleHTTPError,
    MoodleProtocolError,
    RequestTooLargeError,
    error_from_answer,
)

log = logging.getLogger(__name__)
ModelT = TypeVar("ModelT", bound=BaseModel)
T = TypeVar("T")

REST_PATH = "/webservice/rest/server.php"
RETRY_STATUSES = frozenset({502, 503, 504})
PROTOCOL_FIELDS = 3  # wstoken, wsfunction, moodlewsrestformat
FORM_HEADERS = {"Content-Type": "application/x-www-form-urlencoded"}


def is_loopback_host(host: str) -> bool:
    if host in {"localhost", "localhost.localdomain"}:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_url(url: str, *, allow_insecure_http: bool = False) -> str:
    """Return the site's base URL without trailing slash, refusing plain http off loopback."""
    parts = urlsplit(url.strip())
    if parts.scheme not in {"http", "https"}:
        hint = f"; did you mean https://{url.strip()}?" if not parts.scheme or "://" not in url else ""
        raise InsecureURLError(f"the Moodle URL must start with https:// (got {url!r}{hint})")
    try:
        port = parts.port
    except ValueError:
        port = -1
    host = parts.hostname or ""
    if not host or port == -1 or any(ch.isspace() or ch in "\"'<>\\" for ch in url.strip()):
        raise InsecureURLError(f"the Moodle URL must be like https://moodle.example.org with a host name and "
                               f"at most a port and a path (got {url!r})")
    if parts.scheme == "http" and not allow_insecure_http and not is_loopback_host(parts.hostname):
        raise InsecureURLError(
            f"refusing plain http:// for {parts.hostname}: the token would travel unencrypted; "
            "use https:// or set moodle.allow_insecure_http = true explicitly"
        )
    return url.strip().rstrip("/")


def is_read_function(function: str) -> bool:
    """Reads can always be repeated safely; Moodle names them get_*/view_* by convention."""
    name = function.split("_", 2)[-1] if function.count("_") >= 2 else function
    return name.startswith(("get_", "view_", "search_")) or "_get_" in function


@dataclass
class CallStats:
    calls: int = 0
    errors: int = 0
    retries: int = 0
    seconds: float = 0.0


@dataclass
class ClientStats:
    """Calls and time per web-service function, for benchmarks and the ``sync_runs`` table."""

    by_function: dict[str, CallStats] = field(default_factory=dict)
    # Seconds spent inside the HTTP request itself (sending, Moodle working, receiving), retries included:
    # wall time minus this is the client's own overhead (planning, encoding, decoding, the store).
    wait_s: float = 0.0

    def record(self, function: str, seconds: float, *, error: bool = False, retries: int = 0) -> None:
        stats = self.by_function.setdefault(function, CallStats())
        stats.calls += 1
        stats.seconds += seconds
        stats.retries += retries
        stats.errors += int(error)

    @property
    def total_calls(self) -> int:
        return sum(s.calls for s in self.by_function.values())

    @property
    def total_seconds(self) -> float:
        return sum(s.seconds for s in self.by_function.values())

    def as_dict(self) -> dict[str, dict[str, float]]:
        return {name: vars(stats).copy() for name, stats in sorted(self.by_function.items())}

    def delta(self, before: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
        """Calls per function since the snapshot ``before`` (an earlier :meth:`as_dict`)."""
        out = {}
        for name, now in self.as_dict().items():
            then = before.get(name, {})
            diff = {key: value - then.get(key, 0) for key, value in now.items()}
            if diff["calls"]:
                out[name] = diff
        return out

    def reset(self) -> None:
        self.by_function.clear()
        self.wait_s = 0.0


_SECRETS: set[str] = set()
_base_record_factory = logging.getLogRecordFactory()


def _redacting_record_factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
    """Belt and braces: scrub every registered token from any log record, whoever logs it."""
    record = _base_record_factory(*args, **kwargs)
    if _SECRETS:
        message = record.getMessage()
        if any(secret in message for secret in _SECRETS):
            for secret in _SECRETS:
                message = message.replace(secret, "***")
            record.msg, record.args = message, ()
    return record


logging.setLogRecordFactory(_redacting_record_factory)


def redact_secrets(text: str) -> str:
    """``text`` with every token a client of this process has used replaced by ``***`` (for messages that
    may quote something we did not build ourselves, such as an unexpected exception)."""
    for secret in _SECRETS:
        if len(secret) >= 6:  # a real token is 32 characters; a toy one like "t" would garble every message
            text = text.replace(secret, "***")
    return text


class MoodleClient:
    """A Moodle web-service client: ``client.call("core_course_get_contents", courseid=2)``."""

    def __init__(
        self,
        url: str,
        token: str,
        *,
        allow_insecure_http: bool = False,
        timeout: tuple[float, float] = (5.0, 60.0),
        retries: int = 3,
        backoff: float = 0.5,
        max_form_fields: int = 1000,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ):
        if not token:
            raise InsecureURLError("no web-service token configured")
        self.url = check_url(url, allow_insecure_http=allow_insecure_http)
        self.endpoint = self.url + REST_PATH
        parts = urlsplit(self.url)
        self._where = parts.netloc.rsplit("@", 1)[-1] or self.url  # host[:port], never user:password
        self.__token = token
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.max_form_fields = max_form_fields
        self.session = session or requests.Session()
        self.stats = ClientStats()
        # one request at a time, also when a read runs ahead in another thread (moodle/ahead.py)
        self._one_request = threading.Lock()
        self._thread_state = threading.local()
        self._sleep = sleep
        _SECRETS.add(token)

    def __repr__(self) -> str:
        return f"MoodleClient(url={self.url!r}, token=***)"

    @property
    def last_function(self) -> str | None:
        """The function this thread called last (named by errors about the answer's shape, moodle/shape.py);
        per thread, so a read running ahead does not change what a shape error names."""
        return getattr(self._thread_state, "last_function", None)

    @last_function.setter
    def last_function(self, function: str | None) -> None:
        self._thread_state.last_function = function

    def redact(self, text: str) -> str:
        return text.replace(self.__token, "***") if self.__token else text

    # -- single calls -------------------------------------------------------------------------------

    def call(self, function: str, **params: Any) -> Any:
        """Call one web-service function and return its decoded JSON answer.

        Raises a :class:`~mintqo_lms.moodle.errors.MoodleError` subclass for every failure.
        """
        return self.call_prepared(function, self.prepare(function, **params))

    def prepare(self, function: str, **params: Any) -> PreparedForm:
        """``params`` encoded for :meth:`call_prepared` (pure work, no request: may run in another thread)."""
        fields = encode_params(params)
        if len(fields) + PROTOCOL_FIELDS > self.max_form_fields:
            raise RequestTooLargeError(
                f"{function}: {len(fields) + PROTOCOL_FIELDS} form fields exceed the limit of "
                f"{self.max_form_fields}; use call_batched()"
            )
        return PreparedForm(form_body(fields), len(fields))

    def call_prepared(self, function: str, form: PreparedForm) -> Any:
        """:meth:`call` with parameters :meth:`prepare` encoded."""
        return self._post(function, form)

    def prepare_each(self, function: str, calls: Sequence[T], params: Callable[[T], Mapping[str, Any]]
                     ) -> Iterator[tuple[T, PreparedForm]]:
        """Each of ``calls`` with its parameters (``params(call)``) encoded, in order. With more than one, the next
        is encoded while the previous request travels (:func:`read_ahead`); a single one is encoded here, since a
        thread hand-off would only add Python's thread switch interval (up to 5 ms)."""
        prepared = ((call, self.prepare(function, **params(call))) for call in calls)
        return read_ahead(prepared) if len(calls) > 1 else prepared

    def call_model(self, function: str, model: type[ModelT], **params: Any) -> ModelT:
        """:meth:`call`, the answer validated as ``model`` straight from its bytes (one pass in pydantic's core
        instead of json.loads and a walk over the objects: big state answers)."""
        return self._post(function, self.prepare(function, **params), model)

    def _post(self, function: str, fields: FormFields | PreparedForm, model: type[BaseModel] | None = None) -> Any:
        with self._one_request:
            return self._post_alone(function, fields, model)

    def _post_alone(self, function: str, fields: FormFields | PreparedForm,
                    model: type[BaseModel] | None = None) -> Any:
        head = form_body([("wstoken", self.__token), ("wsfunction", function), ("moodlewsrestformat", "json")])
        tail = fields.text if isinstance(fields, PreparedForm) else form_body(fields)
        body = f"{head}&{tail}" if tail else head   # encoded once, before the clock starts: the client's work
        self.last_function = function
        retry_any_failure = is_read_function(function)
        attempt = 0
        started = time.perf_counter()
        while True:
            try:
                response = self._send(body)
            except requests.exceptions.ConnectTimeout as exc:
                error: Exception = MoodleConnectionError(
                    function, f"connect timeout: no answer from {self._where} within {self.timeout[0]:g} s "
                    "(is the host right and reachable from here?)", maybe_applied=False)
                cause: Exception = exc
            except requests.exceptions.ConnectionError as exc:
                error = MoodleConnectionError(function, _reason(exc, self._where),
                                              maybe_applied=not _never_sent(exc))
                cause = exc
            except requests.exceptions.Timeout as exc:
                error = MoodleConnectionError(
                    function, f"read timeout: {self._where} did not answer within {self.timeout[1]:g} s "
                    "(raise moodle.read_timeout for a slow site)", maybe_applied=True)
                cause = exc
            else:
                if response.status_code in RETRY_STATUSES:
                    error, cause = MoodleHTTPError(function, response.status_code), None
                elif response.status_code != 200:
                    self.stats.record(function, time.perf_counter() - started, error=True, retries=attempt)
                    raise MoodleHTTPError(function, response.status_code)
                else:
                    self.stats.record(function, time.perf_counter() - started, retries=attempt)
                    return self._decode(function, response, model)
            retryable = retry_any_failure or isinstance(error, MoodleHTTPError) or (
                isinstance(error, MoodleConnectionError) and not error.maybe_applied
            )
            if not retryable or attempt >= self.retries:
                self.stats.record(function, time.perf_counter() - started, error=True, retries=attempt)
                raise error from cause
            delay = self.backoff * (2 ** attempt) * (0.5 + random.random())
            log.info("%s: %s; retry %d/%d in %.2fs", function, error, attempt + 1, self.retries, delay)
            self._sleep(delay)
            attempt += 1

    def _send(self, body: str) -> requests.Response:
        """One HTTP request; its duration (requests reads the whole body) is counted as waiting for Moodle."""
        sent = time.perf_counter()
        try:
            return self.session.post(self.endpoint, data=body, headers=FORM_HEADERS, timeout=self.timeout)
        finally:
            self.stats.wait_s += time.perf_counter() - sent

    def _decode(self, function: str, response: requests.Response, model: type[BaseModel] | None = None) -> Any:
        if model is not None and b'"exception"' not in response.content:
            try:
                return model.model_validate_json(response.content)
            except ValidationError:
                pass   # the ordinary way below raises the error it always raised (not JSON, wrong shape)
        text = response.text
        try:
            answer = json.loads(text) if text.strip() else None
        except ValueError as exc:
            raise MoodleProtocolError(function, self.redact(describe_non_json(text, exc))) from None
        # PHP fatal errors surface as {"exception": "Error", "message": …} without an errorcode.
        if isinstance(answer, dict) and "exception" in answer and ("errorcode" in answer or "message" in answer):
            error = error_from_answer(function, answer)
            self.stats.by_function[function].errors += 1
            raise error
        return answer if model is None else model.model_validate(answer)

    # -- batches ------------------------------------------------------------------------------------

    def chunks(self, items: Sequence[Any], list_param: str, **params: Any) -> Iterator[list[Any]]:
        """Split ``items`` so that each request stays within ``max_form_fields``."""
        fixed = len(encode_params(params)) + PROTOCOL_FIELDS
        budget = self.max_form_fields - fixed
        chunk: list[Any] = []
        used = 0
        for item in items:
            size = len(flatten(item, f"{list_param}[0]"))
            if size > budget:
                raise RequestTooLargeError(
                    f"one item of {list_param} needs {size} form fields; the limit leaves {budget}"
                )
            if chunk and used + size > budget:
                yield chunk
                chunk, used = [], 0
            chunk.append(item)
            used += size
        if chunk:
            yield chunk

    def call_batched(self, function: str, list_param: str, items: Sequence[Any], *,
                     expect_one_result_each: bool = False, **params: Any) -> list[Any]:
        """Call ``function`` once per chunk of ``items`` and return the answers' items concatenated.

        With ``expect_one_result_each`` a create that returns fewer records than it was sent raises
        :class:`IncompleteBatchError` instead of silently losing records.
        """
        results: list[Any] = []
        chunks = list(self.chunks(items, list_param, **params))
        for chunk, form in self.prepare_each(function, chunks, lambda chunk: {**params, list_param: chunk}):
            answer = self._post(function, form)
            if answer is None:
                continue
            if isinstance(answer, Mapping):
                results.append(answer)
                continue
            if expect_one_result_each and len(answer) != len(chunk):
                raise IncompleteBatchError(
                    f"{function}: sent {len(chunk)} items, Moodle returned {len(answer)}"
                )
            results.extend(answer)
        return results


def describe_non_json(text: str, error: ValueError | None = None) -> str:
    """What came back instead of JSON, in words that point at the cause on the Moodle side (one line)."""
    head = text.lstrip()[:2000]
    lower = head.lower()
    start = min((i for i in (text.find("{"), text.find("[")) if i >= 0), default=-1)
    if start > 0 and ("warning" in lower[:start + 1] or "notice" in lower[:start + 1]
                      or "deprecated" in lower[:start + 1] or "<b>" in lower[:start + 1]):
        first = " ".join(re.sub(r"<[^>]+>", " ", text[:start]).split())[:120]
        return (f"PHP printed text before the JSON ({first!r}); switch off display_errors and debug display "
                f"on the site (Site administration → Development → Debugging)")
    if head.startswith("<?xml") or head.startswith("<RESPONSE") or head.startswith("<EXCEPTION"):
        return f"XML instead of JSON ({len(text)} bytes); is the REST protocol asked for moodlewsrestformat=json?"
    if lower.startswith(("<!doctype html", "<html")) or "<body" in lower:
        title = re.search(r"<title[^>]*>(.*?)</title>", head, re.IGNORECASE | re.DOTALL)
        named = f" titled {' '.join(title.group(1).split())[:80]!r}" if title else ""
        return (f"an HTML page{named} instead of JSON ({len(text)} bytes): a login page, a maintenance page or a "
                f"proxy's error; check moodle.url and that the site is up")
    if head.startswith(("{", "[")):
        where = f" at character {error.pos}" if error is not None and hasattr(error, "pos") else ""
        return f"JSON cut off or broken{where} ({len(text)} bytes); the answer was cut short, try again"
    return f"non-JSON text ({len(text)} bytes) starting {' '.join(head[:60].split())!r}"


def _never_sent(exc: requests.exceptions.ConnectionError) -> bool:
    """True when the connection failed before a byte of the request left (refused, DNS): safe to retry."""
    inner = exc.args[0] if exc.args else None
    inner = getattr(inner, "reason", inner)  # urllib3 MaxRetryError wraps the real cause
    return isinstance(inner, urllib3.exceptions.NewConnectionError)


def _reason(exc: Exception, where: str = "the site") -> str:
    """Why a connection failed, in words an operator can act on, naming the host (never the token)."""
    text = str(exc)
    lower = text.lower()
    inner = exc.args[0] if exc.args else None
    inner = getattr(inner, "reason", inner)
    if isinstance(exc, requests.exceptions.SSLError) or "SSLError(" in text or "certificate verify" in lower:
        detail = "certificate not trusted" if "certificate verify failed" in lower else (
            "certificate does not match the host name" if "hostname" in lower or "match" in lower else
            "TLS handshake failed")
        return (f"TLS error with {where}: {detail} (check the URL; for a private CA set REQUESTS_CA_BUNDLE)")
    if isinstance(inner, urllib3.exceptions.NameResolutionError) or "name or service not known" in lower \
            or "nodename nor servname" in lower or "name resolution" in lower or "getaddrinfo failed" in lower:
        host = where.rsplit(":", 1)[0] if where.count(":") == 1 else where
        return f"host name {host} not found (check moodle.url for a typo; is the network up?)"
    if "refused" in lower:
        return f"connection refused by {where} (is the site up and moodle.url right?)"
    if "reset" in lower:
        return f"connection reset by {where}"
    if "timed out" in lower:
        return f"connect timeout: no answer from {where}"
    if "RemoteDisconnected" in text or "closed" in lower or "aborted" in lower:
        return f"{where} closed the connection without an answer"
    if "unreachable" in lower:
        return f"network unreachable for {where}"
    return f"{where}: {exc.__class__.__name__}"
