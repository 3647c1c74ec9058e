"""Record what a real Moodle answers to the plugin's 1.3.0 sync functions (test data for the sandbox replay).

    . /tmp/moodle50/env.sh && PYTHONPATH=. python tests/realmoodle/record_sync_functions.py tests/data/moodle/recordings/5.0

writes ``10_sync_functions.json`` in the folder: every request of one scenario (a course with messy names, three
students and a teacher, a group, a staff-marked page, a quiz; then cursors, digests, overrides and their errors) in
the format of the other recordings (``recordings/README.json``) plus ``wait``: the seconds waited before the call
(keyset reads serve rows once they are settled). The token is replaced by ``<token>``; nothing else is secret.
``tests/test_sandbox_sync_replay.py`` replays the file against a fresh sandbox of the same release.
"""

from __future__ import annotations

import json
import os
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import requests

from mintqo_lms.moodle.encoding import encode_params

HERE = Path(__file__).resolve().parent
LIKERT_XML = HERE.parent / "data" / "moodle" / "recordings" / "likert_questions_export.xml"
ENDPOINT = "/webservice/rest/server.php"
WAIT = 3


class Recorder:
    def __init__(self, url: str, token: str) -> None:
        self.url, self.token = url.rstrip("/"), token
        self.records: list[dict[str, Any]] = []
        self.http = requests.Session()
        self.pending_wait = 0

    def wait(self) -> None:
        time.sleep(WAIT)
        self.pending_wait += WAIT

    def call(self, function: str, note: str, cursor_from: int | None = None, **params: Any) -> Any:
        """One request; ``cursor_from`` = the index of the record whose ``nextcursor`` is sent (for the replay)."""
        fields = [("wstoken", self.token), ("wsfunction", function), ("moodlewsrestformat", "json"),
                  *encode_params(params)]
        started = time.monotonic()
        answer = self.http.post(self.url + ENDPOINT, data=fields, timeout=60)
        elapsed = round((time.monotonic() - started) * 1000)
        text = answer.text
        try:
            parsed, is_json = json.loads(text), True
        except ValueError:
            parsed, is_json = text, False
        self.records.append({
            "function": function, "note": note, "http_method": "POST", "url": ENDPOINT,
            "request_content_type": "application/x-www-form-urlencoded",
            "params": {k: ("<token>" if k == "wstoken" else v) for k, v in fields},
            "http_status": answer.status_code, "content_type": answer.headers.get("Content-Type", ""),
            "elapsed_ms": elapsed, "response_is_json": is_json, "response": parsed,
            "response_raw": text.replace(self.token, "<token>"), "wait": self.pending_wait,
            "cursor_from": cursor_from,
        })
        self.pending_wait = 0
        return parsed


def scenario(rec: Recorder) -> None:
    run = uuid.uuid4().hex[:8]
    course = rec.call("core_course_create_courses", "a course with a messy name", courses=[{
        "fullname": "Regionalkurs „Ümläute“ & \"Quotes\" O'Brien", "shortname": f"sync-rec-{run}",
        "categoryid": 1, "enablecompletion": 1, "format": "topics", "numsections": 1}])[0]["id"]
    users = rec.call("core_user_create_users", "three students and a teacher", users=[{
        "username": f"rec{run}{i}", "firstname": "Jörg & Söhne", "lastname": f"O'Brien \"{i}\"",
        "email": f"rec{run}{i}@example.invalid", "password": "Sync-pass-1!x"} for i in range(4)])
    s1, s2, s3, teacher = (u["id"] for u in users)
    rec.call("enrol_manual_enrol_users", "enrol them", enrolments=[
        {"roleid": 5, "userid": s, "courseid": course} for s in (s1, s2, s3)] + [
        {"roleid": 3, "userid": teacher, "courseid": course}])
    group = rec.call("core_group_create_groups", "a group with a messy name", groups=[{
        "courseid": course, "name": "Initiative „Ümläute“ & 'Partner'", "description": "",
        "idnumber": f"mintqo:ini:{run}"}])[0]["id"]
    rec.call("core_group_add_group_members", "two members", members=[
        {"groupid": group, "userid": s1}, {"groupid": group, "userid": s2}])
    cm = rec.call("local_mintqo_upsert_activities", "a staff-marked page", courseid=course, activities=[{
        "section": 1, "modname": "page", "idnumber": f"mintqo:ws1:{run}", "name": "Workshop 1 & „Anwesenheit“",
        "content": "<p>x</p>", "completion": 1, "selfcompletion": 0}])["activities"][0]["cmid"]
    quiz = rec.call("local_mintqo_import_quiz", "a quiz nobody attempted", courseid=course, section=1,
                    idnumber=f"mintqo:sa:{run}", name="Selbstanalyse „Team“ & Co", intro="",
                    questionsxml=LIKERT_XML.read_text(encoding="utf-8"),
                    sections=[{"heading": "Teil A", "questionidnumbers": ["sa-v1-ang-01", "sa-v1-ang-02",
                                                                          "sa-v1-ang-03", "sa-v1-ang-04"]}])["quizid"]
    rec.wait()
    first_at = len(rec.records)
    first = rec.call("local_mintqo_get_enrolments", "every row from the beginning, one digest", courseids=[course],
                     cursor="")
    rec.call("local_mintqo_set_completions", "one override written, one entry already so", cmid=cm, entries=[
        {"userid": s1, "completed": True}, {"userid": s2, "completed": False}])
    rec.call("local_mintqo_set_completions", "the same again: nothing written", cmid=cm, entries=[
        {"userid": s1, "completed": True}, {"userid": s2, "completed": False}])
    rec.call("local_mintqo_set_completions", "a teacher is not tracked: nothing written", cmid=cm, entries=[
        {"userid": s3, "completed": True}, {"userid": teacher, "completed": True}])
    rec.call("local_mintqo_set_completions", "a course module that does not exist", cmid=987654321,
             entries=[{"userid": s1, "completed": True}])
    rec.wait()
    page_at = len(rec.records)
    page = rec.call("local_mintqo_get_completions", "a keyset page of one row per list", courseids=[course],
                    cursor="", limitnum=1)
    rec.call("local_mintqo_get_completions", "the next page after the cursor", courseids=[course],
             cursor=page["nextcursor"], limitnum=1, cursor_from=page_at)
    rec.call("local_mintqo_get_completions", "without a cursor: the 1.2 answer", courseids=[course])
    rec.call("local_mintqo_get_completions", "a cursor of another function", courseids=[course], cursor="q1:1:1")
    rec.call("local_mintqo_get_quiz_responses", "a keyset read of a quiz without attempts", quizids=[quiz], cursor="")
    rec.call("enrol_manual_unenrol_users", "unenrol a member by hand", enrolments=[{"userid": s2, "courseid": course}])
    rec.wait()
    rec.call("local_mintqo_get_enrolments", "after the unenrolment: no row, another digest", courseids=[course],
             cursor=first["nextcursor"], cursor_from=first_at)
    rec.call("local_mintqo_get_enrolments", "a full read of the course", courseids=[course],
             cursor=first["nextcursor"], fullcourseids=[course], cursor_from=first_at)
    rec.call("local_mintqo_get_enrolments", "a full course that is not in courseids", courseids=[course],
             fullcourseids=[course + 100000])


def main(folder: str) -> None:
    url = os.environ["MINTQO_TEST_MOODLE_URL"]
    token = os.environ["MINTQO_TEST_MOODLE_TOKEN"]
    rec = Recorder(url, token)
    scenario(rec)
    out = Path(folder) / "10_sync_functions.json"
    text = json.dumps(rec.records, ensure_ascii=False, indent=1)
    assert token not in text
    out.write_text(text + "\n", encoding="utf-8")
    print(f"{len(rec.records)} calls recorded in {out}")


if __name__ == "__main__":
    main(sys.argv[1])
