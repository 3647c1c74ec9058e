"""Record what a real Moodle answers to ``local_mintqo_upsert_course_content`` (plugin 1.4.0, test data).

    . /tmp/moodle50/env.sh && PYTHONPATH=. python tests/realmoodle/record_course_content.py \
        tests/data/moodle/recordings/5.0

creates two fresh courses (``core_course_create_courses``; names with ``&``, quotes, an apostrophe, umlauts and
``3 < 5``: Moodle's PARAM_TEXT refuses ``<b>markup</b>`` in course and activity names, see 09_text_rules.json, so
the markup travels in summaries and descriptions) with the environment's token (MINTQO_TEST_MOODLE_URL / MINTQO_TEST_MOODLE_TOKEN), then records
raw request and answer of:

``content_created``
    one call with both courses' whole content: sections, a page, the self-analysis quiz (the bundled instrument
    ``selfanalysis/v1`` as ``to_moodle_xml`` makes it, one question set shared by both courses), a url with
    ``teamquiz`` after it, an assign, completion criteria and an event;
``content_unchanged``
    the same call again (everything ``unchanged``, the same ids);
``error_unknown_questionset`` and ``contents_after_error``
    a call that adds a section and a page to the first course and then names an unknown question set in the
    second course's entry (refused while checking, before any write), and ``core_course_get_contents`` of the
    first course afterwards: nothing of the refused call stayed;
``error_unknown_teamquiz`` and ``contents_after_rollback``
    the same additions to the first course, then a url whose ``teamquiz`` names no quiz in the second course's
    entry (found while writing, after the first course's section and page were created), and
    ``core_course_get_contents`` of the first course afterwards: the transaction took them back (all or nothing);
``error_quiz_without_structure``
    a quiz module without its ``quiz`` structure.

Writes ``12_course_content.json`` into the folder: ``{release, courses: [{id, fullname, shortname}],
calls: {name: {function, request, answer}}}``. ``request`` holds the keyword arguments given to
``MoodleClient.call`` (the client encodes them as PHP bracket form fields); ``answer`` is the decoded JSON answer,
or for an error Moodle's ``{exception, errorcode, message}`` (plus ``debuginfo`` when the site debugs). Nothing
secret is written (no token).
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from mintqo_lms.instrument import quiz_intro, quiz_sections, to_moodle_xml
from mintqo_lms.moodle import MoodleClient
from mintqo_lms.moodle.errors import MoodleRemoteError
from mintqo_lms.templates import load_instrument

FILE = "12_course_content.json"
FUNCTION = "local_mintqo_upsert_course_content"
NAMES = ["Werkstatt & „Praxis“: 3 < 5", "Regionaltreffen \"Köln\" & Düsseldorf's Ü-Gruppe"]


def answer_of(client: MoodleClient, function: str, request: dict[str, Any]) -> Any:
    """The decoded answer, or Moodle's error object as it arrived."""
    try:
        return client.call(function, **request)
    except MoodleRemoteError as error:
        answer = {"exception": error.exception, "errorcode": error.errorcode, "message": error.moodle_message}
        if error.debuginfo:
            answer["debuginfo"] = error.debuginfo
        return answer


def create_courses(client: MoodleClient, stamp: str) -> list[dict[str, Any]]:
    courses = [{"fullname": name, "shortname": f"mintqo-content-{stamp}-{index}", "categoryid": 1,
                "idnumber": f"mintqo:content:{stamp}:{index}", "enablecompletion": 1, "numsections": 0}
               for index, name in enumerate(NAMES)]
    created = client.call("core_course_create_courses", courses=courses)
    return [{"id": row["id"], "fullname": course["fullname"], "shortname": row["shortname"]}
            for row, course in zip(created, courses)]


def entry(courseid: int, instrument: Any) -> dict[str, Any]:
    """One course's whole content, as provisioning sends it (quiz first, its team page right after it)."""
    return {
        "courseid": courseid,
        "sections": [{"section": 1, "name": "Auftakt & „Ziele“", "summary": "<p>Willkommen, <b>l'équipe</b></p>"},
                     {"section": 2, "name": "Praxis"}],
        "modules": [
            {"section": 1, "modname": "page", "idnumber": "mintqo:rec:page", "name": "Ablauf & Ziele",
             "content": "<p>Inhalt „Ü“</p>", "completion": 2, "completionview": 1},
            {"section": 1, "modname": "quiz", "idnumber": "mintqo:rec:sa", "name": "Selbstanalyse & „Team“",
             "intro": quiz_intro(instrument),
             "quiz": {"questionset": "sa_v1", "sections": [dict(s) for s in quiz_sections(instrument)],
                      "settings": {"attempts": 1, "grademethod": 4, "questionsperpage": 0}}},
            {"section": 1, "modname": "url", "idnumber": "mintqo:rec:sa:team", "name": "Unsere Antworten im Team",
             "teamquiz": "mintqo:rec:sa"},
            {"section": 2, "modname": "assign", "idnumber": "mintqo:rec:plan", "name": "Maßnahmenplan",
             "intro": "<p>Laden Sie den Plan hoch.</p>", "completion": 2, "completionsubmit": 1,
             "duedate": 4102444800, "teamsubmission": 1},
        ],
        "completioncriteria": [{"idnumber": "mintqo:rec:page"}, {"idnumber": "mintqo:rec:plan"}],
        "events": [{"idnumber": "mintqo:rec:ws1", "name": "Workshop 1 & „Austausch“", "timestart": 4102480800,
                    "timeduration": 7200, "location": "Köln"}],
    }


def main(folder: str) -> None:
    client = MoodleClient(os.environ["MINTQO_TEST_MOODLE_URL"], os.environ["MINTQO_TEST_MOODLE_TOKEN"],
                          allow_insecure_http=True, timeout=(5.0, 600.0))
    stamp = time.strftime("%Y%m%d%H%M%S")
    courses = create_courses(client, stamp)
    instrument = load_instrument("selfanalysis/v1")
    questionsets = [{"key": "sa_v1", "questionsxml": to_moodle_xml(instrument)}]
    full = {"questionsets": questionsets, "courses": [entry(course["id"], instrument) for course in courses]}

    first = courses[0]["id"]
    refused_first = {"courseid": first, "sections": [{"section": 3, "name": "Darf nicht bleiben"}],
                     "modules": [{"section": 3, "modname": "page", "idnumber": "mintqo:rec:gone", "name": "Weg"}]}
    refused_second = entry(courses[1]["id"], instrument)
    refused_second["modules"][1]["quiz"]["questionset"] = "unknown_set"
    no_teamquiz = entry(courses[1]["id"], instrument)
    no_teamquiz["modules"][2]["teamquiz"] = "mintqo:rec:missing"
    no_structure = {"courseid": first, "modules": [{"section": 1, "modname": "quiz", "idnumber": "mintqo:rec:bare",
                                                   "name": "Ohne Struktur"}]}
    plan = [
        ("content_created", FUNCTION, full),
        ("content_unchanged", FUNCTION, full),
        ("error_unknown_questionset", FUNCTION, {"questionsets": questionsets,
                                                 "courses": [refused_first, refused_second]}),
        ("contents_after_error", "core_course_get_contents", {"courseid": first}),
        ("error_unknown_teamquiz", FUNCTION, {"questionsets": questionsets, "courses": [refused_first, no_teamquiz]}),
        ("contents_after_rollback", "core_course_get_contents", {"courseid": first}),
        ("error_quiz_without_structure", FUNCTION, {"courses": [no_structure]}),
    ]
    calls = {name: {"function": function, "request": request, "answer": answer_of(client, function, request)}
             for name, function, request in plan}
    release = client.call("core_webservice_get_site_info")["release"]
    out = Path(folder) / FILE
    out.write_text(json.dumps({"release": release, "courses": courses, "calls": calls}, ensure_ascii=False,
                              indent=1) + "\n", encoding="utf-8")
    statuses = [m["status"] for c in calls["content_unchanged"]["answer"]["courses"] for m in c["modules"]]
    after = [(section["section"], [m["name"] for m in section["modules"]]) for section in
             calls["contents_after_rollback"]["answer"]]
    print(f"{out}: {release}; second call {sorted(set(statuses))}; after the rollback {after}")
    for name in ("error_unknown_questionset", "error_unknown_teamquiz", "error_quiz_without_structure"):
        print(f"  {name}: {calls[name]['answer']}")


if __name__ == "__main__":
    main(sys.argv[1])
