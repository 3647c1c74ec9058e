"""HTTP front of the sandbox: Moodle's REST endpoint, tokens, fault injection and latency.

Why faults live here: transport failures (a reset connection, an answer that never comes, a 503 from
a proxy) happen between client and Moodle, so they are injected before or after the call is
dispatched, without the handlers knowing.
"""

from __future__ import annotations

import secrets
import socket
import struct
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from . import plugin_certificates, protocol
from .functions import REGISTRY
from .params import Context, validate
from .protocol import MoodleError
from .registry import Call
from .releases import DEFAULT_RELEASE
from .simulation import SandboxSite

SERVICE_NAME = "MINT-QO Sync"
SERVICE_FUNCTIONS = frozenset({
    "local_mintqo_get_site_languages", "local_mintqo_upsert_sections", "local_mintqo_upsert_activities",
    "local_mintqo_import_quiz", "local_mintqo_get_quiz_responses", "local_mintqo_get_completions",
    "core_webservice_get_site_info", "core_course_create_categories", "core_course_get_categories",
    "core_course_create_courses", "core_course_update_courses", "core_course_get_courses_by_field",
    "core_course_get_contents", "core_user_create_users", "core_user_get_users_by_field", "enrol_manual_enrol_users",
    "enrol_manual_unenrol_users", "core_enrol_get_enrolled_users", "core_group_create_groups",
    "core_group_add_group_members", "core_group_get_course_groups",
    "core_completion_get_activities_completion_status", "core_completion_get_course_completion_status",
    "core_completion_override_activity_completion_status", "mod_quiz_get_quizzes_by_courses",
    "core_message_send_instant_messages", "local_mintqo_get_plugin_info", "core_role_assign_roles",
    "local_mintqo_configure_courses", "local_mintqo_upsert_events",
    "local_mintqo_get_enrolments", "local_mintqo_set_completions",
    "local_mintqo_get_course_state",
    "local_mintqo_publish_certificates",
    "local_mintqo_upsert_course_content",
})
ENDPOINT = "/webservice/rest/server.php"
FAULT_KINDS = ("exception", "reset", "timeout", "http503")


@dataclass
class Fault:
    function: str
    kind: str
    skip: int
    times: int
    errorcode: str
    exception: str
    message: str
    seconds: float
    execute: bool


class Faults:
    """Planned failures: ``add(function=..., nth=1, kind="exception")`` hits the nth call from now."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._lock = threading.Lock()

    def add(self, function: str, nth: int = 1, kind: str = "exception", times: int = 1, *,
            errorcode: str = "dmlwriteexception", exception: str = "dml_write_exception",
            message: str = "Error writing to database", seconds: float = 1.0, execute: bool = False) -> None:
        """``execute=True`` lets the call run before the answer is lost (reset/http503) or delayed."""
        if kind not in FAULT_KINDS:
            raise ValueError(f"fault kind must be one of {', '.join(FAULT_KINDS)}, not {kind!r}")
        if nth < 1 or times < 1:
            raise ValueError("nth and times must be >= 1")
        with self._lock:
            self._faults.append(Fault(function, kind, nth - 1, times, errorcode, exception, message, seconds,
                                      execute or kind == "timeout"))

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def take(self, function: str) -> Fault | None:
        """Count one call of ``function``; return the fault that fires on it, if any."""
        fired = None
        with self._lock:
            for fault in self._faults:
                if fault.function != function or fault.times <= 0:
                    continue
                if fault.skip > 0:
                    fault.skip -= 1
                    continue
                if fired is None:
                    fault.times -= 1
                    fired = fault
            self._faults = [f for f in self._faults if f.times > 0]
        return fired


class CallLog(list):
    """Function names in call order; ``counter()`` for totals."""

    def counter(self) -> Counter:
        return Counter(self)


@dataclass
class Token:
    userid: int
    functions: frozenset[str] | None  # None = every implemented function

    def may_call(self, name: str) -> bool:
        return self.functions is None or name in self.functions


@dataclass
class Dispatcher:
    """Everything between the decoded request and the encoded answer (no sockets: easy to test)."""

    site: SandboxSite
    tokens: dict[str, Token]
    debug: bool = False
    max_input_vars: int = protocol.DEFAULT_MAX_INPUT_VARS
    calls: CallLog = field(default_factory=CallLog)
    state_file: Path | None = None

    def decode(self, query: str, body: str, content_type: str) -> dict:
        merged = protocol.decode_php_form(protocol.split_form_pairs(query), self.max_input_vars)
        if content_type.split(";")[0].strip().lower() == "application/x-www-form-urlencoded":
            posted = protocol.decode_php_form(protocol.split_form_pairs(body), self.max_input_vars)
            merged.update(posted)  # $_POST wins over $_GET, top-level keys only
        return merged

    def handle(self, request: dict) -> tuple[Any, str, MoodleError | None, str | None]:
        """Returns (result, format, error, function name)."""
        fmt = protocol.response_format(request.pop("moodlewsrestformat", None))
        token_text = request.pop("wstoken", None)
        name = request.pop("wsfunction", None)
        name = name if isinstance(name, str) else None
        token = self.tokens.get(token_text) if isinstance(token_text, str) else None
        try:
            if token is None:
                raise protocol.invalid_token()
            if not name:
                raise protocol.invalid_parameter("Missing function name")
            function = REGISTRY.get(name)
            if function is None:
                raise protocol.missing_record(
                    "external_functions",
                    f"SELECT * FROM {{external_functions}} WHERE name = ?\n[array (\n  0 => '{name}',\n)]")
            if not token.may_call(name):
                raise protocol.access_exception(
                    f"Access to the function {name}() is not allowed.\nThere could be multiple reasons for this:\n"
                    "1. The service linked to the user token does not contain the function.\n"
                    "2. The service is user-restricted and the user is not listed.\n"
                    "3. The service is IP-restricted and the user IP is not listed.\n"
                    "4. The service is time-restricted and the time has expired.\n"
                    "5. The token is time-restricted and the time has expired.\n"
                    "6. The service requires a specific capability which the user does not have.\n"
                    "7. The function is called with username/password (no user token is sent)\n"
                    "and one of the 6 previous conditions is not met.")
            with self.site.lock:
                params = validate(function.params, request, Context(languages=lambda: set(self.site.languages)))
                call = Call(self.site, token.userid, self.debug)
                self.site.current_token_functions = token.functions
                if function.write:
                    with self.site.transaction():
                        result = function(call, params)
                else:
                    result = function(call, params)
                if self.state_file is not None:
                    self.site.save_file(self.state_file)
            return result, fmt, None, name
        except MoodleError as error:
            return None, fmt, self.site.release.present(error, self.debug), name


class _Handler(BaseHTTPRequestHandler):
    server: "_Server"
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        """Switch Nagle's algorithm off: headers and body go out as two small writes, and with Nagle on the
        body waits for the client's delayed ACK (about 40 ms per call, twice the test suite's run time)."""
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - never log: URLs may carry tokens
        return

    def do_GET(self) -> None:  # noqa: N802
        self._serve(b"")

    def do_POST(self) -> None:  # noqa: N802
        length = int(self.headers.get("Content-Length") or 0)
        self._serve(self.rfile.read(length) if length else b"")

    def _serve(self, body: bytes) -> None:
        owner = self.server.owner
        parts = urlsplit(self.path)
        if parts.path == plugin_certificates.VERIFY_PATH:  # the plugin's public page: no login, no token
            code = (parse_qs(parts.query).get("code") or [""])[0]
            with owner.site.lock:
                page = plugin_certificates.verify_page(owner.site, code)
            self._send(200, "text/html; charset=utf-8", page.encode("utf-8"))
            return
        if parts.path != ENDPOINT:
            self._send(404, "text/plain", b"Not found")
            return
        if owner.latency:
            time.sleep(owner.latency)
        dispatcher = owner.dispatcher
        request = dispatcher.decode(parts.query, body.decode("utf-8", "replace"),
                                    self.headers.get("Content-Type") or "")
        name = request.get("wsfunction") if isinstance(request.get("wsfunction"), str) else None
        if name:
            dispatcher.calls.append(name)
        fault = dispatcher_fault = owner.faults.take(name) if name else None
        if fault is not None and not fault.execute:
            self._fault(fault, request)
            return
        result, fmt, error, _ = dispatcher.handle(request)
        if dispatcher_fault is not None:
            if fault.kind == "timeout":
                time.sleep(fault.seconds + 0.5)
            else:
                self._fault(fault, request)
                return
        if error is not None:
            text, ctype = protocol.encode_error(error, fmt, dispatcher.debug)
        else:
            text, ctype = protocol.encode_success(result, fmt)
        headers = {"Content-Disposition": 'inline; filename="response.xml"'} if ctype.startswith("application/xml") \
            else {}
        self._send(200, ctype, text.encode("utf-8"), headers)

    def _fault(self, fault: Fault, request: dict) -> None:
        if fault.kind == "reset":
            self.close_connection = True
            try:
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                self.connection.close()
            except OSError:
                pass
            return
        if fault.kind == "http503":
            self._send(503, "text/html", b"<html><body><h1>503 Service Unavailable</h1></body></html>")
            return
        if fault.kind == "timeout":
            time.sleep(fault.seconds + 0.5)
            return
        fmt = protocol.response_format(request.get("moodlewsrestformat"))
        error = MoodleError(fault.exception, fault.errorcode, fault.message)
        text, ctype = protocol.encode_error(error, fmt, False)
        self._send(200, ctype, text.encode("utf-8"))

    def _send(self, status: int, ctype: str, payload: bytes, extra: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-type", ctype)
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("Cache-Control", "private, must-revalidate, pre-check=0, post-check=0, max-age=0")
        self.send_header("Access-Control-Allow-Origin", "*")
        for key, value in (extra or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(payload)


HANGUPS = (BrokenPipeError, ConnectionResetError, ConnectionAbortedError)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], owner: "Sandbox") -> None:
        super().__init__(address, _Handler)
        self.owner = owner

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hangs up (a timeout, Ctrl+C, a test's reset) is normal life, not a traceback."""
        if isinstance(sys.exc_info()[1], HANGUPS):
            return
        super().handle_error(request, client_address)


class Sandbox:
    """A local stand-in for a Moodle 4.4, 5.0 or 5.1 site with the local_mintqo plugin, for tests and demos.

    ``release`` picks what the site answers like (``releases.RELEASES``). The tokens are throwaway sandbox
    tokens, generated per instance, or kept in ``state_file`` across restarts. Both belong to the admin
    user; ``deny_capability`` and ``deny_course_access`` take rights away from it to exercise a client's
    handling of ``nopermissions`` and ``requireloginerror``.
    """

    def __init__(self, latency: float = 0.0, german_language_pack: bool = True, *, host: str = "127.0.0.1",
                 port: int = 0, debug: bool = False, max_input_vars: int = protocol.DEFAULT_MAX_INPUT_VARS,
                 state_file: str | Path | None = None, clock: Any = None, release: str = DEFAULT_RELEASE) -> None:
        self.latency = latency
        self.faults = Faults()
        self._host, self._port = host, port
        self.site = SandboxSite(clock=clock, german_language_pack=german_language_pack, release=release)
        self.state_file = Path(state_file) if state_file else None
        if self.state_file is not None and self.state_file.exists():
            self.site.load_file(self.state_file)
        # Tokens live in the site (and so in the state file): a restarted sandbox hands out the same ones,
        # so a saved config keeps working.
        self.token = self.site.tokens.setdefault("service", secrets.token_hex(16))
        self.admin_token = self.site.tokens.setdefault("admin", secrets.token_hex(16))
        if self.state_file is not None:
            self.site.save_file(self.state_file)
        self.dispatcher = Dispatcher(
            self.site, {self.token: Token(2, SERVICE_FUNCTIONS), self.admin_token: Token(2, None)}, debug,
            max_input_vars, state_file=self.state_file)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def __repr__(self) -> str:
        return f"Sandbox(url={self.url!r})"  # never the tokens

    @property
    def release(self) -> str:
        return self.site.release.name

    # simulated permissions
    def deny_capability(self, capability: str, courseid: int | None = None) -> None:
        """The tokens' user lacks ``capability`` (everywhere, or only in course ``courseid``): calls that
        need it fail with ``required_capability_exception``/``nopermissions`` as on a real site."""
        with self.site.lock:
            self.site.denied_capabilities.add((capability, courseid))

    def deny_course_access(self, courseid: int) -> None:
        """The tokens' user cannot enter course ``courseid`` (not enrolled, no moodle/course:view): calls in
        that course fail with ``require_login_exception``/``requireloginerror``."""
        with self.site.lock:
            self.site.inaccessible_courses.add(int(courseid))

    def allow_everything(self) -> None:
        """Undo every deny_capability/deny_course_access."""
        with self.site.lock:
            self.site.denied_capabilities.clear()
            self.site.inaccessible_courses.clear()

    # knobs forwarded to the dispatcher
    @property
    def calls(self) -> CallLog:
        return self.dispatcher.calls

    @property
    def debug(self) -> bool:
        return self.dispatcher.debug

    @debug.setter
    def debug(self, value: bool) -> None:
        self.dispatcher.debug = value

    @property
    def max_input_vars(self) -> int:
        return self.dispatcher.max_input_vars

    @max_input_vars.setter
    def max_input_vars(self, value: int) -> None:
        self.dispatcher.max_input_vars = value

    @property
    def url(self) -> str:
        if self._server is None:
            return f"http://{self._host}:{self._port}"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> "Sandbox":
        self._server = _Server((self._host, self._port), self)
        self.site.wwwroot = self.url
        # A short poll interval: stop() waits for the loop to notice, and tests start hundreds of sandboxes.
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="mintqo-sandbox", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> "Sandbox":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    @classmethod
    def serve_forever(cls, host: str = "127.0.0.1", port: int = 0, state_file: str | Path | None = None,
                      latency: float = 0.0, release: str = DEFAULT_RELEASE) -> None:
        """Run in the foreground (``mintqo-lms sandbox serve``) until interrupted."""
        sandbox = cls(latency=latency, host=host, port=port, state_file=state_file, release=release).start()
        print(f"MINT-QO sandbox Moodle {sandbox.site.release.release} running at {sandbox.url}")
        print(f"SANDBOX token (service {SERVICE_NAME}): {sandbox.token}")
        print(f"SANDBOX admin token (all functions):  {sandbox.admin_token}")
        print("These are throwaway tokens of this local sandbox only. Press Ctrl+C to stop.", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
        finally:
            sandbox.stop()
