"""Reads running ahead (mintqo_lms.moodle.ahead) and the client's one-request-at-a-time rule."""

from __future__ import annotations

import threading
import time

import pytest
import requests

from mintqo_lms.moodle import MoodleClient
from mintqo_lms.moodle.ahead import Ahead, read_ahead
from mintqo_lms.moodle.errors import MoodleError


def test_ahead_returns_the_value_and_raises_the_error_in_the_callers_thread():
    assert Ahead(lambda a, b=0: a + b, 2, b=3).result() == 5

    def fails():
        raise MoodleError("nope")

    with pytest.raises(MoodleError, match="nope"):
        Ahead(fails).result()


def _wait_for(condition, seconds: float = 2.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.001)


def test_the_next_page_is_read_while_the_caller_works_on_the_current_one():
    caller: dict[str, object] = {"working_on": None}
    read_during: list[object] = []

    def pages():
        for number in range(3):
            if number:  # a read ahead would now find the caller busy with the page before
                _wait_for(lambda: caller["working_on"] is not None)
            read_during.append(caller["working_on"])
            yield number

    seen = []
    for page in read_ahead(pages()):
        caller["working_on"] = page
        if page < 2:  # the caller's own work, long enough for a read ahead to happen
            _wait_for(lambda: len(read_during) > page + 1)
        caller["working_on"] = None
        seen.append(page)
    assert seen == [0, 1, 2]
    # page 0 is read before the caller has anything; pages 1 and 2 while it works on the page before
    assert read_during == [None, 0, 1]


def test_an_error_arrives_after_the_pages_before_it():
    def pages():
        yield "a"
        yield "b"
        raise MoodleError("page 3 broke")

    seen = []
    with pytest.raises(MoodleError, match="page 3 broke"):
        for page in read_ahead(pages()):
            seen.append(page)
    assert seen == ["a", "b"]


def test_a_caller_that_stops_early_leaves_no_read_running_and_closes_the_source():
    state = {"closed": False, "reading": False}
    release = threading.Event()

    def pages():
        try:
            for number in range(10):
                state["reading"] = True
                if number == 1:
                    release.wait(5)
                state["reading"] = False
                yield number
        finally:
            state["closed"] = True

    stream = read_ahead(pages())
    assert next(stream) == 0
    threading.Timer(0.05, release.set).start()
    stream.close()  # waits for the read of page 1, then closes the source
    assert state == {"closed": True, "reading": False}


class _SlowSession(requests.Session):
    """Answers after a pause and notes how many requests were in flight at once."""

    def __init__(self) -> None:
        super().__init__()
        self.in_flight = 0
        self.most_in_flight = 0
        self.guard = threading.Lock()

    def post(self, url, data=None, **kwargs):  # type: ignore[override]
        with self.guard:
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
        time.sleep(0.02)
        with self.guard:
            self.in_flight -= 1
        response = requests.Response()
        response.status_code = 200
        function = dict(pair.split("=", 1) for pair in data.split("&"))["wsfunction"]
        response._content = ('{"function": "%s"}' % function).encode()
        return response


def test_the_client_sends_one_request_at_a_time_and_remembers_the_last_function_per_thread():
    session = _SlowSession()
    client = MoodleClient("http://127.0.0.1:9", "secret-token-123", session=session)
    reads = [Ahead(client.call, "core_webservice_get_site_info") for _ in range(4)]
    assert client.call("local_mintqo_get_enrolments") == {"function": "local_mintqo_get_enrolments"}
    assert client.last_function == "local_mintqo_get_enrolments"
    assert [r.result() for r in reads] == [{"function": "core_webservice_get_site_info"}] * 4
    assert client.last_function == "local_mintqo_get_enrolments"  # the reads ahead ran in other threads
    assert session.most_in_flight == 1
    assert client.stats.total_calls == 5


class _EchoSession:
    """Answers every request with one record per item it was sent, noting the thread that sent it."""

    def __init__(self):
        self.threads: list[str] = []

    def post(self, url, data, headers=None, timeout=None):
        self.threads.append(threading.current_thread().name)
        items = sum(1 for pair in data.split("&") if pair.startswith("items%5B") and "%5D%5Bid%5D=" in pair)
        response = requests.Response()
        response.status_code = 200
        response._content = ("[" + ",".join(['{"ok": 1}'] * items) + "]").encode()
        return response


def test_a_batch_of_one_request_starts_no_thread_and_a_longer_one_keeps_every_chunk_in_order(monkeypatch):
    started: list[str] = []
    real_start = threading.Thread.start
    monkeypatch.setattr(threading.Thread, "start", lambda self: (started.append(self.name), real_start(self))[1])
    session = _EchoSession()
    client = MoodleClient("http://127.0.0.1:9", "secret-token-123", session=session, max_form_fields=20)

    assert len(client.call_batched("local_x", "items", [{"id": 1}, {"id": 2}], expect_one_result_each=True)) == 2
    assert started == [] and session.threads == [threading.current_thread().name]

    answers = client.call_batched("local_x", "items", [{"id": i} for i in range(40)], expect_one_result_each=True)
    assert len(answers) == 40 and client.stats.total_calls > 2   # several chunks, none lost
    assert started and all(name == "mintqo-ahead" for name in started)  # encoded ahead, as before
