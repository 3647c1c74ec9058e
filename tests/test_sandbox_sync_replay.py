"""Replay what real Moodle 4.4, 5.0 and 5.1 sites answered to the plugin's 1.3.0 sync functions against a fresh
sandbox of the same release (recordings/10_sync_functions.json, made by tests/realmoodle/record_sync_functions.py).

The scenario builds its own course, users, group, page and quiz, so the ids the recording site gave are learned from
the answers and translated; a cursor sent is the sandbox's own ``nextcursor`` of the call the recording took it
from; the seconds the recorder waited (reads serve settled rows only) are added to the sandbox's clock. Compared as
in test_sandbox_replay: status, content type, error exception/errorcode/message, the shape of data (keys, types,
empty or not) and every name by value.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import requests
from test_sandbox_replay import RELEASE_DIRS, compare

from mintqo_lms.sandbox import Sandbox

FILE = "10_sync_functions.json"
# Known gap, not of these functions: the sandbox creates a course completion record at enrolment, Moodle only
# when completion cron runs for a course with criteria; the scenario's course has none.
EMPTY_ON_MOODLE = {"local_mintqo_get_completions": ("courses",)}
KINDS = {"core_course_create_courses": "course", "core_user_create_users": "user", "core_group_create_groups": "group"}
FIELD_KIND = {"courseid": "course", "courseids": "course", "fullcourseids": "course", "userid": "user",
              "groupid": "group", "cmid": "cm", "quizids": "quiz"}


class SyncReplayer:
    def __init__(self, sandbox: Sandbox, now: list[int]) -> None:
        self.sb, self.now = sandbox, now
        self.http = requests.Session()
        self.ids: dict[tuple[str, str], str] = {}
        self.answers: list[Any] = []

    def learn(self, function: str, recorded: Any, actual: Any) -> None:
        if function in KINDS and isinstance(recorded, list) and isinstance(actual, list):
            for old, new in zip(recorded, actual):
                self.ids[(KINDS[function], str(old["id"]))] = str(new["id"])
        if function == "local_mintqo_upsert_activities" and isinstance(actual, dict):
            for old, new in zip(recorded["activities"], actual["activities"]):
                self.ids[("cm", str(old["cmid"]))] = str(new["cmid"])
        if function == "local_mintqo_import_quiz" and isinstance(actual, dict):
            self.ids[("quiz", str(recorded["quizid"]))] = str(actual["quizid"])

    def field(self, record: dict, name: str, value: str) -> str:
        if name == "wstoken":
            return self.sb.admin_token
        if name == "cursor" and record.get("cursor_from") is not None:
            return self.answers[record["cursor_from"]]["nextcursor"]
        keys = [name.split("[")[0], *re.findall(r"\[([a-z]+)\]", name)]
        kind = next((FIELD_KIND[k] for k in reversed(keys) if k in FIELD_KIND), None)
        if kind is None:
            return value
        # A course id the scenario made up (one that does not exist) stays what it was: a missing one.
        return self.ids.get((kind, value), value)

    def translated(self, record: dict) -> dict:
        """The record with the user id an error message names translated (usernottracked names the user)."""
        response = record["response"]
        if not (isinstance(response, dict) and "exception" in response):
            return record
        message = re.sub(r"User (\d+) ", lambda m: f"User {self.ids.get(('user', m.group(1)), m.group(1))} ",
                         response["message"])
        return dict(record, response=dict(response, message=message))

    def send(self, record: dict) -> requests.Response:
        self.now[0] += record.get("wait", 0)
        fields = [(k, self.field(record, k, str(v))) for k, v in record["params"].items()]
        answer = self.http.post(self.sb.url + record["url"], data=fields, timeout=30)
        actual = answer.json()
        self.learn(record["function"], record["response"], actual)
        self.answers.append(actual)
        return answer


def without_known_gaps(record: dict, answer_json: Any) -> Any:
    for key in EMPTY_ON_MOODLE.get(record["function"], ()):
        if isinstance(answer_json, dict) and key in answer_json and record["response"].get(key) == []:
            answer_json = dict(answer_json, **{key: []})
    return answer_json


@pytest.mark.parametrize("release", sorted(RELEASE_DIRS))
def test_replay_sync_function_recordings(release: str) -> None:
    path = RELEASE_DIRS[release] / FILE
    if not path.exists():
        pytest.fail(f"recording {path} is missing: tests/data/moodle belongs to the repository")
    records = json.loads(path.read_text(encoding="utf-8"))
    now = [1_795_000_000]
    failures = []
    with Sandbox(release=release, clock=lambda: now[0]) as sb:
        rp = SyncReplayer(sb, now)
        for index, record in enumerate(records):
            answer = rp.send(record)
            adjusted = without_known_gaps(record, answer.json())
            fake = _Answer(answer, adjusted)
            for problem in compare(rp.translated(record), fake):
                failures.append(f"[{index}] {record['function']} ({record['note']}): {problem}")
    assert len(records) == 21
    assert not failures, "\n".join(failures)


class _Answer:
    """The sandbox's response with a known gap taken out of its JSON (what compare() reads)."""

    def __init__(self, response: requests.Response, data: Any) -> None:
        self.status_code = response.status_code
        self.headers = response.headers
        self.text = json.dumps(data)
