"""Shared fixtures: what real Moodle sites answered, kept in the repository as test data (tests/data/moodle)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]
MOODLE_DATA = PROJECT_ROOT / "tests" / "data" / "moodle"
RECORDINGS = MOODLE_DATA / "recordings"
LIKERT_EXPORT = RECORDINGS / "likert_questions_export.xml"


def load_recording(name: str) -> list[dict]:
    """A recording file; missing recordings fail the test loudly (they are the fidelity baseline)."""
    path = RECORDINGS / name
    if not path.exists():
        raise FileNotFoundError(f"recording {path} is missing: tests/data/moodle is part of the repository")
    return json.loads(path.read_text(encoding="utf-8"))


def find_record(name: str, function: str, note_contains: str = "") -> dict:
    for record in load_recording(name):
        if record["function"] == function and note_contains in record["note"]:
            return record
    raise LookupError(f"no recorded {function} call with note containing {note_contains!r} in {name}")


@pytest.fixture
def recording():
    return find_record


@pytest.fixture
def world(tmp_path):
    """The sandbox with the example roster's cohort 2025 provisioned: ``(sandbox, store, moodle)``."""
    from mintqo_lms.config import Config
    from mintqo_lms.moodle import Moodle, MoodleClient
    from mintqo_lms.programme import import_roster
    from mintqo_lms.provision import provision
    from mintqo_lms.sandbox import Sandbox
    from mintqo_lms.store import Store

    with Sandbox() as sb, Store(tmp_path / "s.db") as store:
        import_roster(store, PROJECT_ROOT / "lms_templates" / "roster.example.csv", "2025")
        moodle = Moodle(MoodleClient(sb.url, sb.token, retries=0))
        provision(moodle, store, Config(), "2025")
        yield sb, store, moodle


@pytest.fixture
def sandbox():
    """A fresh sandbox Moodle (4.4)."""
    from mintqo_lms.sandbox import Sandbox

    with Sandbox() as sb:
        yield sb


@pytest.fixture
def store(tmp_path):
    """An empty programme store."""
    from mintqo_lms.store import Store

    with Store(tmp_path / "mintqo.db") as s:
        yield s


def pytest_terminal_summary(terminalreporter):
    """The fault matrices count their cases (CASES in test_faults_all and test_sync_faults); print how many ran."""
    import sys

    cases: dict[str, int] = {}
    for name in ("test_faults_all", "test_sync_faults"):
        for label, count in getattr(sys.modules.get(name), "CASES", {}).items():
            cases[label] = cases.get(label, 0) + count
    if cases:
        detail = ", ".join(f"{label}: {count}" for label, count in sorted(cases.items()))
        terminalreporter.write_line(f"fault cases run: {sum(cases.values())} ({detail})")


@pytest.fixture
def no_settle():
    """The sandbox plugin serves rows at once instead of after its two-second settle (rows of the last seconds
    wait for the next sync; tests/test_sync.py tests that). For tests that sync right after simulated work.
    Not through ``monkeypatch``: a test's own ``monkeypatch.undo()`` must not bring the settle back."""
    from mintqo_lms.sandbox import plugin_sync

    saved, plugin_sync.SETTLE_SECONDS = plugin_sync.SETTLE_SECONDS, 0
    yield
    plugin_sync.SETTLE_SECONDS = saved
