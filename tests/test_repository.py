"""The repository stands on its own: no machine path, and the recorded Moodle answers the tests replay are in it."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
MACHINE_PATH = re.compile(r"(?<![\w.])/(?:work|home|root|Users)/[\w.-]+")


def tracked_files() -> list[Path]:
    out = subprocess.run(["git", "ls-files"], cwd=PROJECT, capture_output=True, text=True, check=True).stdout
    return [PROJECT / line for line in out.splitlines() if line]


def test_no_file_names_a_path_of_one_machine():
    offenders = []
    for path in tracked_files():
        if "tests/data/" in str(path) or not path.is_file() or path.suffix in {".xlsx", ".png", ".pdf"}:
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        offenders += [f"{path.relative_to(PROJECT)}: {m.group(0)}" for m in MACHINE_PATH.finditer(text)]
    assert offenders == []


def test_the_recordings_every_release_replays_are_part_of_the_repository():
    tracked = {str(p.relative_to(PROJECT)) for p in tracked_files()}
    for release in ("", "5.0/", "5.1/"):
        for number in range(10):
            assert any(name.startswith(f"tests/data/moodle/recordings/{release}{number:02d}_") for name in tracked)
    assert "tests/data/moodle/recordings/likert_questions_export.xml" in tracked
