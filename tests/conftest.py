"""Shared fixtures: the real-Moodle recordings beside the project (../shared/moodle)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SHARED_MOODLE = PROJECT_ROOT.parent / "shared" / "moodle"


def load_recording(name: str) -> list[dict]:
    """A recording file; missing recordings fail the test loudly (they are the fidelity baseline)."""
    path = SHARED_MOODLE / "recordings" / name
    if not path.exists():
        raise FileNotFoundError(f"recording {path} is missing: the tests need ../shared/moodle beside the project")
    return json.loads(path.read_text(encoding="utf-8"))


def find_record(name: str, function: str, note_contains: str = "") -> dict:
    for record in load_recording(name):
        if record["function"] == function and note_contains in record["note"]:
            return record
    raise LookupError(f"no recorded {function} call with note containing {note_contains!r} in {name}")


@pytest.fixture
def recording():
    return find_record
