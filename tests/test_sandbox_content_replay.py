"""Replay what real Moodle 4.4, 5.0 and 5.1 answered to ``local_mintqo_upsert_course_content`` (plugin 1.4.0;
recordings/12_course_content.json, made by tests/realmoodle/record_course_content.py) against a sandbox of the same
release: two courses created like the recorder's, then every recorded call with the course ids translated.

Answers are compared whole after normalising ids (each id key numbered in order of first appearance, per side, so
"the unchanged call names the same cmid as the created one" is compared too); errors by exception, errorcode and
message (course ids in the message translated); ``core_course_get_contents`` by sections and their modules."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from test_sandbox_replay import RELEASE_DIRS

from mintqo_lms.moodle import MoodleClient
from mintqo_lms.moodle.errors import MoodleRemoteError
from mintqo_lms.sandbox import Sandbox

FILE = "12_course_content.json"
ID_KEYS = {"courseid", "id", "cmid", "instanceid", "quizid", "questionid", "questioncategoryid"}


class Ids:
    """Each kind of id numbered in order of first appearance (a section's and an event's ``id`` are different
    kinds, so are the instance ids of different module types)."""

    def __init__(self) -> None:
        self.seen: dict[tuple[str, int], int] = {}

    def __call__(self, value: Any, parent: str = "") -> Any:
        if isinstance(value, dict):
            return {k: (self.number(self.kind(k, value, parent), v) if k in ID_KEYS and isinstance(v, int)
                        else self(v, k)) for k, v in value.items()}
        if isinstance(value, list):
            return [self(v, parent) for v in value]
        return value

    @staticmethod
    def kind(key: str, record: dict, parent: str) -> str:
        if key == "id":
            return f"{parent} id"
        if key in ("instanceid", "quizid"):
            return f"{record.get('modname', 'quiz')} instance"
        return "course" if key == "courseid" else key

    def number(self, kind: str, value: int) -> str:
        return f"{kind}#{self.seen.setdefault((kind, value), len(self.seen))}"


def answer_of(client: MoodleClient, function: str, request: dict[str, Any]) -> Any:
    try:
        return client.call(function, **request)
    except MoodleRemoteError as error:
        return {"exception": error.exception, "errorcode": error.errorcode, "message": error.moodle_message}


def with_courses(value: Any, ids: dict[int, int]) -> Any:
    """``value`` (a request) with every courseid translated to the sandbox's."""
    if isinstance(value, dict):
        return {k: (ids[v] if k == "courseid" else with_courses(v, ids)) for k, v in value.items()}
    if isinstance(value, list):
        return [with_courses(v, ids) for v in value]
    return value


def contents(sections: list[dict]) -> list[tuple]:
    return [(s["section"], s["name"], [(m["modname"], m["name"]) for m in s["modules"]]) for s in sections]


@pytest.mark.parametrize("release", sorted(RELEASE_DIRS))
def test_the_sandbox_answers_as_the_real_plugin(release: str) -> None:
    recording = json.loads((RELEASE_DIRS[release] / FILE).read_text(encoding="utf-8"))
    with Sandbox(german_language_pack=False, release=release) as sb:
        client = MoodleClient(sb.url, sb.admin_token, timeout=(5.0, 120.0))
        created = client.call("core_course_create_courses", courses=[
            {"fullname": c["fullname"], "shortname": c["shortname"], "categoryid": 1, "enablecompletion": 1,
             "numsections": 0} for c in recording["courses"]])
        ids = {c["id"]: new["id"] for c, new in zip(recording["courses"], created)}
        recorded_ids, sandbox_ids = Ids(), Ids()
        failures = []
        for name, call in recording["calls"].items():
            wanted, actual = call["answer"], answer_of(client, call["function"], with_courses(call["request"], ids))
            if isinstance(wanted, dict) and "exception" in wanted:
                wanted = dict(wanted, message=re.sub(r"\(course (\d+)\)",
                                                     lambda m: f"(course {ids[int(m.group(1))]})", wanted["message"]))
                wanted.pop("debuginfo", None)
            elif call["function"] == "core_course_get_contents":
                wanted, actual = contents(wanted), contents(actual)
            else:
                wanted, actual = recorded_ids(wanted), sandbox_ids(actual)
            if wanted != actual:
                failures.append(f"{name}:\n  Moodle  {json.dumps(wanted, ensure_ascii=False)[:1500]}\n"
                                f"  sandbox {json.dumps(actual, ensure_ascii=False)[:1500]}")
    assert not failures, f"{recording['release']}:\n" + "\n".join(failures)
