"""The sandbox's HTTP front as a long-running service: sockets, hang-ups, tokens that survive a restart."""

from __future__ import annotations

import socket
import stat
import struct
import threading
from pathlib import Path

import pytest
import requests

from mintqo_lms.sandbox import Sandbox
from mintqo_lms.sandbox import server as server_module

SITE_INFO = "wsfunction=core_webservice_get_site_info&moodlewsrestformat=json&wstoken="


def site_info(sb: Sandbox, token: str) -> dict:
    return requests.post(sb.url + "/webservice/rest/server.php", timeout=10, data={
        "wstoken": token, "wsfunction": "core_webservice_get_site_info", "moodlewsrestformat": "json"}).json()


def test_handler_sockets_have_nagle_off(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[int] = []
    original = server_module._Handler.handle

    def handle(self: server_module._Handler) -> None:
        seen.append(self.connection.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
        original(self)

    monkeypatch.setattr(server_module._Handler, "handle", handle)
    with Sandbox() as sb:
        assert "sitename" in site_info(sb, sb.token)
    assert seen and all(seen)


def test_client_hanging_up_leaves_no_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    """The client resets the connection while the call runs; the server's write fails and stays quiet."""
    entered, release, done = threading.Event(), threading.Event(), threading.Event()
    errors: list[BaseException] = []
    with Sandbox() as sb:
        original_handle = sb.dispatcher.handle

        def slow_handle(request: dict):  # type: ignore[no-untyped-def]
            entered.set()
            release.wait(10)
            return original_handle(request)

        sb.dispatcher.handle = slow_handle  # type: ignore[method-assign]
        srv = sb._server
        assert srv is not None
        original_error, original_shutdown = srv.handle_error, srv.shutdown_request

        def record_error(request, address):  # type: ignore[no-untyped-def]
            import sys
            errors.append(sys.exc_info()[1])
            original_error(request, address)

        def shutdown_request(request):  # type: ignore[no-untyped-def]
            original_shutdown(request)
            done.set()

        srv.handle_error, srv.shutdown_request = record_error, shutdown_request  # type: ignore[method-assign]
        host, port = srv.server_address[:2]
        body = (SITE_INFO + sb.token).encode()
        client = socket.create_connection((host, port))
        client.sendall(b"POST /webservice/rest/server.php HTTP/1.1\r\nHost: x\r\n"
                       b"Content-Type: application/x-www-form-urlencoded\r\n"
                       b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
        assert entered.wait(10)
        client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        client.close()  # RST: the answer has nowhere to go
        release.set()
        assert done.wait(10)
        assert "sitename" in site_info(sb, sb.token)  # still serving
    assert errors and all(isinstance(e, server_module.HANGUPS) for e in errors)
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err and "BrokenPipeError" not in captured.err
    assert "ConnectionResetError" not in captured.err


def test_other_server_errors_are_still_reported(capsys: pytest.CaptureFixture[str]) -> None:
    with Sandbox() as sb:
        assert sb._server is not None
        try:
            raise RuntimeError("a real bug")
        except RuntimeError:
            sb._server.handle_error(None, ("127.0.0.1", 1))
    assert "RuntimeError: a real bug" in capsys.readouterr().err


def test_state_file_keeps_the_tokens(tmp_path: Path) -> None:
    state = tmp_path / "site.json"
    with Sandbox(state_file=state) as first:
        tokens = (first.token, first.admin_token)
        assert "sitename" in site_info(first, first.token)
    assert stat.S_IMODE(state.stat().st_mode) == 0o600
    with Sandbox(state_file=state) as second:
        assert (second.token, second.admin_token) == tokens
        assert "sitename" in site_info(second, tokens[0])


def test_state_file_written_before_the_first_call(tmp_path: Path) -> None:
    """A sandbox that is started and stopped without a call still keeps its tokens for the next start."""
    state = tmp_path / "site.json"
    first = Sandbox(state_file=state)
    second = Sandbox(state_file=state)
    assert (second.token, second.admin_token) == (first.token, first.admin_token)


def test_sandboxes_without_state_get_their_own_tokens() -> None:
    one, two = Sandbox(), Sandbox()
    assert len({one.token, one.admin_token, two.token, two.admin_token}) == 4
    with one:
        assert site_info(one, two.token)["errorcode"] == "invalidtoken"
