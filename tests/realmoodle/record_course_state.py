"""Record what a real Moodle answers to ``local_mintqo_get_course_state`` for a provisioned cohort (test data).

    . /tmp/moodle50/env.sh && PYTHONPATH=. python tests/realmoodle/record_course_state.py tests/data/moodle/recordings/5.0

provisions the example roster and timetable as a new cohort (``2099-state<time>``, e-mail domain
``state<time>.example``) with the environment's token, then writes ``11_course_state.json`` into the folder:
``{release, cohort, domain, request, answer}`` with the raw answer of one state call for the cohort's category.
``tests/test_sandbox_course_state.py`` provisions the same cohort in a sandbox of that release and compares.
Nothing secret is written (no token; the accounts' random passwords are never read back).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

from mintqo_lms.config import Config
from mintqo_lms.moodle import Moodle, MoodleClient
from mintqo_lms.programme import import_roster
from mintqo_lms.provision import cohort_category_idnumber, provision
from mintqo_lms.store import Store
from mintqo_lms.timetable import import_timetable

HERE = Path(__file__).resolve().parent
EXAMPLE_ROSTER = HERE.parents[1] / "lms_templates" / "roster.example.csv"
EXAMPLE_TIMETABLE = EXAMPLE_ROSTER.with_name("timetable.example.csv")
FILE = "11_course_state.json"


def example_roster(target: Path, domain: str) -> Path:
    """The example roster with every e-mail domain replaced by ``domain`` (also in the Buddy-von column)."""
    import re

    text = EXAMPLE_ROSTER.read_text(encoding="utf-8")
    target.write_text(re.sub(r"@[A-Za-z0-9.-]+\.example\b", "@" + domain, text), encoding="utf-8")
    return target


def provision_example(moodle: Moodle, store: Store, cohort: str, domain: str, tmp: Path) -> None:
    import_roster(store, example_roster(tmp / "roster.csv", domain), cohort)
    import_timetable(store, EXAMPLE_TIMETABLE, cohort)
    provision(moodle, store, Config(), cohort)


def main(folder: str) -> None:
    client = MoodleClient(os.environ["MINTQO_TEST_MOODLE_URL"], os.environ["MINTQO_TEST_MOODLE_TOKEN"],
                          allow_insecure_http=True, timeout=(5.0, 300.0))
    moodle = Moodle(client)
    stamp = time.strftime("%Y%m%d%H%M%S")
    cohort, domain = f"2099-state{stamp}", f"state{stamp}.example"
    with tempfile.TemporaryDirectory() as tmp, Store(Path(tmp) / "mintqo.db") as store:
        provision_example(moodle, store, cohort, domain, Path(tmp))
    request = {"categoryidnumber": cohort_category_idnumber(cohort), "limitfrom": 0, "limitnum": 200}
    answer = client.call("local_mintqo_get_course_state", **request)
    release = moodle.core.get_site_info().release
    out = Path(folder) / FILE
    out.write_text(json.dumps({"release": release, "cohort": cohort, "domain": domain, "request": request,
                               "answer": answer}, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"{out}: {len(answer['courses'])} courses, {len(answer['users'])} users ({release})")


if __name__ == "__main__":
    main(sys.argv[1])
